//! The engine's answer to an adapter, as plain data: the headers to add to the handler's
//! response, or the plain-text response that replaces it. Every decision about status,
//! headers and body is made here; an adapter only converts names, values and statuses
//! into its framework's types, so both frameworks answer byte for byte alike.

use http::StatusCode;

use super::{Failure, FailureKind, Outcome};
use crate::error::SessionError;
use crate::store::StoreError;

/// A response flagon answers itself: a status, headers and a plain-text body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Plain {
    pub(crate) status: StatusCode,
    /// Header names (lower case) and values, in order; several may share a name.
    pub(crate) headers: Vec<(&'static str, &'static str)>,
    pub(crate) body: &'static str,
}

/// The body of the 500 for a route without the session layer: the fix is for the
/// developer and goes to the log; the visitor learns nothing about the server.
const MISSING_LAYER_MESSAGE: &str = "Internal Server Error\n";

/// The body of a store-failure response: nothing about the store's internals.
pub(crate) const STORE_FAILURE_MESSAGE: &str =
    "The session store is unavailable; please try again shortly.\n";

/// The body of the 500 for a [`SessionError`] a handler returned.
const HANDLER_ERROR_MESSAGE: &str = "The session could not be read or written.\n";

impl Plain {
    /// `body` as `text/plain` with `status`.
    pub(crate) fn text(status: StatusCode, body: &'static str) -> Plain {
        Plain {
            status,
            headers: vec![("content-type", "text/plain; charset=utf-8")],
            body,
        }
    }

    /// The answer when the session could not be saved (or loaded): a 503 asks the client
    /// to retry in a second; `vary` when the answer depends on the cookie.
    fn failure(failure: &Failure, vary: bool) -> Plain {
        let mut plain = Plain::text(failure.status, failure.message);
        if failure.status == StatusCode::SERVICE_UNAVAILABLE {
            plain.headers.push(("retry-after", "1"));
        }
        if vary {
            plain.headers.push(("vary", "Cookie"));
        }
        plain
    }

    /// A route without the layer an extractor needs: a plain 500 for the visitor, and
    /// `fix` (which names the layer to add) in the log.
    pub(crate) fn missing_layer(fix: &dyn std::fmt::Display) -> Plain {
        tracing::error!("{fix}");
        Plain::text(StatusCode::INTERNAL_SERVER_ERROR, MISSING_LAYER_MESSAGE)
    }

    /// The store failed to load the session: the configured status, the cookie left
    /// alone, the reason in the log.
    pub(crate) fn load_failed(status: StatusCode, error: &StoreError) -> Plain {
        tracing::error!(
            error = super::error_chain(error),
            "session store failed while loading; the cookie is left unchanged"
        );
        let failure = Failure {
            status,
            message: STORE_FAILURE_MESSAGE,
            kind: FailureKind::Store,
        };
        // The answer depends on the cookie like any session-dependent response.
        Plain::failure(&failure, true)
    }

    /// A handler returned a [`SessionError`] (a value that did not convert, a cookie too
    /// large): a generic 500; the details (key and type) go to the log, not the client.
    pub(crate) fn handler_error(error: &SessionError) -> Plain {
        tracing::error!(error = %error, "session error in handler");
        Plain::text(StatusCode::INTERNAL_SERVER_ERROR, HANDLER_ERROR_MESSAGE)
    }
}

/// A framework's response headers, as [`apply`] reads and adds to them.
pub(crate) trait Headers {
    /// Does any value of `name` satisfy `test`?
    fn any(&self, name: &'static str, test: impl Fn(&[u8]) -> bool) -> bool;
    /// Appends `value` under `name`; `false` if `value` is not a valid header value.
    fn append(&mut self, name: &'static str, value: &str) -> bool;
}

/// Adds the outcome's headers to the handler's response, or returns the response that
/// replaces it.
pub(crate) fn apply(outcome: Outcome, headers: &mut impl Headers) -> Option<Plain> {
    if let Some(failure) = outcome.failure {
        return Some(Plain::failure(&failure, outcome.vary));
    }
    if outcome.vary && !headers.any("vary", vary_covers_cookie) {
        headers.append("vary", "Cookie");
    }
    if outcome.private && !headers.any("cache-control", |_| true) {
        headers.append("cache-control", "private");
    }
    if let Some(cookie) = outcome.set_cookie {
        if !headers.append("set-cookie", &cookie) {
            // Unreachable with a validated config: every part is visible ASCII.
            tracing::error!("session Set-Cookie value is not a valid header; nothing sent");
            let failure = Failure {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                message: "The session could not be saved.\n",
                kind: FailureKind::Store,
            };
            return Some(Plain::failure(&failure, false));
        }
    }
    None
}

/// Does this `Vary` header value already cover `Cookie` (or vary on everything)?
fn vary_covers_cookie(value: &[u8]) -> bool {
    std::str::from_utf8(value).is_ok_and(|list| {
        list.split(',')
            .map(str::trim)
            .any(|token| token == "*" || token.eq_ignore_ascii_case("cookie"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headers as a list of pairs; values with a control byte are refused, as by `http`.
    #[derive(Default)]
    struct List(Vec<(&'static str, String)>);

    impl Headers for List {
        fn any(&self, name: &'static str, test: impl Fn(&[u8]) -> bool) -> bool {
            self.0.iter().any(|(n, v)| *n == name && test(v.as_bytes()))
        }
        fn append(&mut self, name: &'static str, value: &str) -> bool {
            let valid = !value.bytes().any(|b| b.is_ascii_control());
            if valid {
                self.0.push((name, value.to_owned()));
            }
            valid
        }
    }

    fn outcome(vary: bool, set_cookie: Option<&str>, private: bool) -> Outcome {
        Outcome {
            vary,
            set_cookie: set_cookie.map(str::to_owned),
            private,
            failure: None,
        }
    }

    #[test]
    fn vary_is_added_once_and_cache_control_only_when_absent() {
        let mut headers = List::default();
        headers.append("vary", "Accept-Encoding, cookie");
        headers.append("cache-control", "no-store");
        assert_eq!(apply(outcome(true, Some("s=1"), true), &mut headers), None);
        assert_eq!(
            headers.0,
            [
                ("vary", "Accept-Encoding, cookie".to_owned()),
                ("cache-control", "no-store".to_owned()),
                ("set-cookie", "s=1".to_owned()),
            ]
        );
        let mut bare = List::default();
        apply(outcome(true, Some("s=1"), true), &mut bare);
        let names: Vec<_> = bare.0.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["vary", "cache-control", "set-cookie"]);
    }

    #[test]
    fn vary_star_covers_cookie() {
        assert!(vary_covers_cookie(b"*"));
        assert!(vary_covers_cookie(b"Origin, Cookie"));
        assert!(!vary_covers_cookie(b"Cookies"));
        assert!(!vary_covers_cookie(b"\xff"));
    }

    #[test]
    fn a_failure_replaces_the_response_and_a_503_asks_for_a_retry() {
        let failed = Outcome {
            vary: true,
            failure: Some(Failure {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: STORE_FAILURE_MESSAGE,
                kind: FailureKind::Store,
            }),
            ..Outcome::default()
        };
        let plain = apply(failed, &mut List::default()).expect("replaced");
        assert_eq!(plain.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            plain.headers,
            [
                ("content-type", "text/plain; charset=utf-8"),
                ("retry-after", "1"),
                ("vary", "Cookie"),
            ]
        );
    }

    #[test]
    fn an_invalid_cookie_value_is_a_500_and_nothing_is_sent() {
        let mut headers = List::default();
        let plain = apply(outcome(false, Some("s=\n"), false), &mut headers).expect("500");
        assert_eq!(plain.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!headers.any("set-cookie", |_| true));
    }
}
