//! Cookie sessions: Flask's `open_session` and `save_session`, plus flagon's own rules.

use std::cell::RefCell;
use std::sync::Arc;

use http::StatusCode;

use super::{cookie_expiry, Failure, FailureKind, Opened, Origin, Outcome, Shared};
use crate::config::{CookieMode, OversizePolicy, SessionConfig};
use crate::flask::{self, DecodeError};
use crate::scratch::with_scratch;
use crate::sealed;
use crate::session::{Lifecycle, Session, State};
use crate::telemetry::{self, OpenOutcome};

/// How a cookie session was opened, for the metrics; the caller records it (after the
/// revocation check, which may still turn the session away).
#[derive(Clone, Copy, Debug)]
pub(super) struct OpenStats {
    pub(super) outcome: OpenOutcome,
    pub(super) rejected: usize,
    pub(super) fallback_key: bool,
}

impl OpenStats {
    pub(super) fn record(self) {
        telemetry::opened(self.outcome, self.rejected, self.fallback_key);
    }
}

/// The first of our cookies that verifies, or an empty session. Every rejection is traced
/// with its reason, never with the cookie.
pub(super) fn open<'a>(
    shared: &Arc<Shared>,
    cookie_headers: impl IntoIterator<Item = &'a [u8]> + 'a,
    now: u64,
) -> (Opened, OpenStats) {
    let config = &shared.config;
    let mut data = None;
    let mut reissue = false;
    let mut rejected = 0;
    let mut fallback_key = false;
    for (position, value) in shared.candidates(cookie_headers).enumerate() {
        match decode(config, value, now) {
            Ok((verified, sealed)) => {
                if verified.key_index > 0 {
                    fallback_key = true;
                    tracing::debug!(
                        fallback = verified.key_index,
                        "session cookie verified with a fallback key"
                    );
                }
                // The transition window: a signed cookie is re-written sealed.
                reissue = config.cookie_mode.seals() && !sealed;
                data = Some(verified.session);
                break;
            }
            Err(reason) => {
                rejected += 1;
                telemetry::rejected(telemetry::reason(&reason));
                tracing::debug!(%reason, position, "session cookie rejected; trying the next one or starting empty");
            }
        }
    }
    let stats = OpenStats {
        outcome: OpenOutcome::of(data.is_some(), rejected),
        rejected,
        fallback_key,
    };
    let opened = Opened {
        session: Session::from_state(
            State::untracked(data.unwrap_or_default()),
            Some(shared.clone()),
        ),
        origin: Origin::Cookie { reissue },
        span: tracing::Span::current(),
    };
    (opened, stats)
}

/// Decodes one cookie value as the configured mode reads it; with it, "it was sealed".
fn decode(
    config: &SessionConfig,
    value: &[u8],
    now: u64,
) -> Result<(flask::Verified, bool), DecodeError> {
    let max_age = config.permanent_lifetime.as_secs();
    let skew = config.clock_skew.as_secs();
    let (keys, limits, name) = (&config.keys, &config.limits, config.cookie_name.as_str());
    let sealed = match config.cookie_mode {
        CookieMode::Signed => false,
        CookieMode::Sealed => true,
        CookieMode::SealedAcceptingSigned => sealed::looks_sealed(value),
    };
    if sealed {
        sealed::open(value, keys, name, now, max_age, skew, limits).map(|v| (v, true))
    } else {
        flask::verify(value, keys, now, max_age, skew, limits).map(|v| (v, false))
    }
}

/// Flask's save decision (FORMAT.md §9.2), with flagon's size rule. `reissue`: the
/// cookie that came in must be re-written even if unchanged (a signed cookie read in the
/// signed-to-sealed transition).
pub(super) fn finish(shared: &Shared, state: State, reissue: bool, now: u64) -> Outcome {
    let config = &shared.config;
    let mut outcome = Outcome {
        vary: state.accessed,
        ..Outcome::default()
    };
    if state.data.is_empty() || state.lifecycle == Lifecycle::Purge {
        if state.modified {
            outcome.set_cookie = Some(shared.writer.deletion().to_owned());
            outcome.vary = true;
        }
        return outcome;
    }
    let permanent = state.is_permanent();
    if !(state.modified || reissue || (permanent && config.refresh_each_request)) {
        return outcome;
    }
    let header = encode(shared, &state, now);
    outcome.vary = true;
    if header.len() > config.max_cookie_size {
        if !state.modified {
            // Only a refresh: the cookie the client holds still works (it came in, so it
            // fit the input limit). Failing here would fail every request for the
            // cookie's whole lifetime, handlers that never touch the session included.
            tracing::warn!(
                size = header.len(),
                limit = config.max_cookie_size,
                "refreshed session cookie would be too large; keeping the client's cookie \
                 unrefreshed (it still expires at its old time)"
            );
            return outcome;
        }
        match config.oversize {
            OversizePolicy::Error => {
                tracing::error!(
                    size = header.len(),
                    limit = config.max_cookie_size,
                    "session cookie too large; not sent, answering 500"
                );
                outcome.failure = Some(Failure {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message: "The session is too large to store in a cookie; nothing was saved.\n",
                    kind: FailureKind::TooLarge,
                });
                return outcome;
            }
            OversizePolicy::InsecureSendAnyway => {
                tracing::warn!(
                    size = header.len(),
                    limit = config.max_cookie_size,
                    "session cookie too large; browsers may drop it"
                );
            }
        }
    }
    outcome.set_cookie = Some(header);
    outcome
}

/// The full `Set-Cookie` value for `state`, signed (or sealed) now with the current key.
///
/// Written in one pass into a reused buffer, then copied once into a string of exactly
/// its length (which becomes the header value without another allocation).
pub(crate) fn encode(shared: &Shared, state: &State, now: u64) -> String {
    let write = |out: &mut String| {
        let expires = cookie_expiry(&shared.config, state, now);
        let config = &shared.config;
        shared.writer.write_set_cookie(out, expires, |out| {
            let key = config.keys.current();
            if config.cookie_mode.seals() {
                sealed::seal_into(&state.data, key, &config.cookie_name, now, out);
            } else {
                flask::sign_into(&state.data, key, now, out);
            }
        });
    };
    with_scratch(&HEADER, KEEP, |buffer| {
        buffer.clear();
        write(buffer);
        String::from(buffer.as_str())
    })
}

thread_local! {
    /// The buffer [`encode`] writes `Set-Cookie` values into.
    static HEADER: RefCell<String> = const { RefCell::new(String::new()) };
}

/// A buffer that grew past this (a cookie over the size limit) is not kept.
const KEEP: usize = 16 * 1024;
