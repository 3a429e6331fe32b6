//! Flask-WTF 1.3.0's CSRF tokens, shared with a Flask app (feature `csrf`).
//!
//! A form rendered by either side can be posted to the other: both keep the same raw
//! token in the session and sign it the same way.
//!
//! # The format, in our words
//!
//! - **The raw token** is 40 lower-case hex characters (SHA-1 of 64 random bytes), kept in
//!   the session under `csrf_token` (Flask-WTF's `WTF_CSRF_FIELD_NAME`). It is made once,
//!   the first time a token is needed, and stays for the life of the session.
//! - **The form token** is itsdangerous' `URLSafeTimedSerializer(secret_key,
//!   salt="wtf-csrf-token").dumps(raw)`: the raw token as a JSON string (`"…"`),
//!   zlib-compressed when that is shorter by two bytes or more (it usually is: hex
//!   compresses; the segment then starts with `.`), base64url without padding, then
//!   `.timestamp.signature` like Flask's session cookie (HMAC-SHA1), but with another
//!   signing key: itsdangerous' default `django-concat` derivation,
//!   `SHA1("wtf-csrf-token" + "signer" + secret_key)`, where Flask's session uses
//!   `HMAC-SHA1(secret_key, "cookie-session")`. A fresh form token is
//!   signed on every request, so it changes every second while the raw token does not.
//! - **Checking** a submitted token (Flask-WTF's `validate_csrf`), in this order, each
//!   failure with Flask-WTF's own words ([`CsrfError::reason`]):
//!   1. nothing submitted: "The CSRF token is missing.";
//!   2. no raw token in the session: "The CSRF session token is missing.";
//!   3. signed longer ago than the time limit (3600 s by default), or in the future: "The
//!      CSRF token has expired.";
//!   4. bad signature or unreadable: "The CSRF token is invalid.";
//!   5. the signed raw token is not the session's (constant-time comparison): "The CSRF
//!      tokens do not match.".
//!
//! The token is looked for, as Flask-WTF's `CSRFProtect` does, in the form field
//! `csrf_token`, then in any form field whose name ends with `csrf_token` (prefixed
//! forms), then in the `X-CSRFToken` and `X-CSRF-Token` headers. Only `POST`, `PUT`,
//! `PATCH` and `DELETE` are checked.
//!
//! The secret key is Flask-WTF's `WTF_CSRF_SECRET_KEY`, which defaults to `SECRET_KEY`.
//! Flask-WTF does not try `SECRET_KEY_FALLBACKS`: after a key change, forms rendered
//! before it fail with "invalid". flagon does the same.
//!
//! # Use
//!
//! [`generate_csrf`] and [`validate_csrf`] work on a [`Session`]; the adapters add a
//! layer that checks every unsafe request and an extractor that hands out tokens (see
//! [`axum`] and [`actix`]).
//!
//! # Differences from Flask-WTF
//!
//! - Flask-WTF's referrer check for HTTPS requests (`WTF_CSRF_SSL_STRICT`) is not done;
//!   rely on `SameSite` cookies and the token.
//! - Flask-WTF caches the form token per request; flagon signs a new one per call (equal
//!   within the same second).
//! - A session value under `csrf_token` that is not a string is replaced by a new raw
//!   token when generating, and counts as "do not match" when checking (Flask-WTF would
//!   answer 500).
//! - The layers read `application/x-www-form-urlencoded` bodies; for multipart forms
//!   send the token in a header, or read it yourself and call [`validate_csrf`].

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;

use std::time::Duration;

use subtle::ConstantTimeEq;

use crate::config::Clock;
use crate::flask::signer::{self, Expiry};
use crate::flask::{json_write, tagged, zlib, DecodeError};
use crate::key::{Key, KeyRing, Purpose};
use crate::session::Session;
use crate::value::Value;

/// Flask-WTF's `WTF_CSRF_TIME_LIMIT` default: 3600 seconds.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(3600);

/// The longest form token looked at; Flask-WTF's are under 100 bytes.
const MAX_TOKEN_LEN: usize = 1024;
/// The most a compressed token may inflate to.
const MAX_INFLATED: usize = 4096;

/// Flask-WTF's CSRF settings.
///
/// [`CsrfConfig::new`] gives Flask-WTF's defaults: field and session key `csrf_token`,
/// headers `X-CSRFToken` and `X-CSRF-Token`, a time limit of 3600 s, and checks on
/// `POST`, `PUT`, `PATCH` and `DELETE`.
///
/// ```
/// use flagon::csrf::CsrfConfig;
/// let config = CsrfConfig::new(flagon::Key::new("change me")?)
///     .time_limit(Some(std::time::Duration::from_secs(600)));
/// # Ok::<(), flagon::ConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CsrfConfig {
    keys: KeyRing,
    time_limit: Option<Duration>,
    field_name: String,
    headers: Vec<http::HeaderName>,
    methods: Vec<http::Method>,
    max_form_size: usize,
    clock: Clock,
}

impl CsrfConfig {
    /// Flask-WTF's defaults, signing with `key` (`WTF_CSRF_SECRET_KEY`, which Flask-WTF
    /// defaults to `SECRET_KEY`).
    pub fn new(key: Key) -> CsrfConfig {
        CsrfConfig {
            keys: KeyRing::new(key),
            time_limit: Some(DEFAULT_TIME_LIMIT),
            field_name: "csrf_token".to_owned(),
            headers: vec![
                http::HeaderName::from_static("x-csrftoken"),
                http::HeaderName::from_static("x-csrf-token"),
            ],
            methods: vec![
                http::Method::POST,
                http::Method::PUT,
                http::Method::PATCH,
                http::Method::DELETE,
            ],
            max_form_size: 2 * 1024 * 1024,
            clock: Clock::default(),
        }
    }

    /// How long a form token is accepted (`WTF_CSRF_TIME_LIMIT`, default 3600 s);
    /// `None` accepts any age, as Flask-WTF does with `None`.
    pub fn time_limit(mut self, limit: Option<Duration>) -> Self {
        self.time_limit = limit;
        self
    }

    /// The form field and session key (`WTF_CSRF_FIELD_NAME`, default `csrf_token`).
    pub fn field_name(mut self, name: impl Into<String>) -> Self {
        self.field_name = name.into();
        self
    }

    /// The headers a token may come in (`WTF_CSRF_HEADERS`, default `X-CSRFToken` and
    /// `X-CSRF-Token`), tried in order.
    pub fn headers(mut self, headers: Vec<http::HeaderName>) -> Self {
        self.headers = headers;
        self
    }

    /// The methods the layers check (`WTF_CSRF_METHODS`, default `POST`, `PUT`, `PATCH`,
    /// `DELETE`).
    pub fn methods(mut self, methods: Vec<http::Method>) -> Self {
        self.methods = methods;
        self
    }

    /// The largest form body the layers read to find the token (default 2 MiB); a larger
    /// one is answered with 413.
    pub fn max_form_size(mut self, bytes: usize) -> Self {
        self.max_form_size = bytes;
        self
    }

    /// Reads the time from `clock` instead of the system clock (for tests).
    pub fn clock(
        mut self,
        clock: impl Fn() -> std::time::SystemTime + Send + Sync + 'static,
    ) -> Self {
        self.clock = Clock::custom(clock);
        self
    }

    /// Is `method` one the layers check?
    pub fn checks(&self, method: &http::Method) -> bool {
        self.methods.contains(method)
    }

    /// The form field and session key.
    pub fn get_field_name(&self) -> &str {
        &self.field_name
    }
}

/// Why a submitted CSRF token was refused. `Display` gives Flask-WTF's reason and what
/// to do; neither shows the token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrfError {
    /// Nothing was submitted in the form field or the headers.
    #[error("The CSRF token is missing. Send the token from the form (field `csrf_token`) or the X-CSRFToken header.")]
    Missing,
    /// The session holds no raw token: it expired, was cleared, or the form came from
    /// another session.
    #[error(
        "The CSRF session token is missing. Reload the page to get a new form and submit it again."
    )]
    SessionTokenMissing,
    /// The token was signed longer ago than the time limit.
    #[error("The CSRF token has expired. Reload the page to get a new form and submit it again.")]
    Expired,
    /// The token's signature or format is bad (tampered, or another secret key).
    #[error("The CSRF token is invalid. Reload the page to get a new form and submit it again.")]
    Invalid,
    /// The token is genuine but belongs to another session.
    #[error(
        "The CSRF tokens do not match. Reload the page to get a new form and submit it again."
    )]
    Mismatch,
}

impl CsrfError {
    /// Flask-WTF's own message for this failure, word for word.
    pub fn reason(self) -> &'static str {
        match self {
            CsrfError::Missing => "The CSRF token is missing.",
            CsrfError::SessionTokenMissing => "The CSRF session token is missing.",
            CsrfError::Expired => "The CSRF token has expired.",
            CsrfError::Invalid => "The CSRF token is invalid.",
            CsrfError::Mismatch => "The CSRF tokens do not match.",
        }
    }

    /// The response status: always 400 Bad Request, as Flask-WTF's `CSRFError`.
    pub fn status(self) -> http::StatusCode {
        http::StatusCode::BAD_REQUEST
    }
}

/// A form token for this session (Flask-WTF's `generate_csrf()`): makes the session's raw
/// token if there is none, and signs it now.
pub fn generate_csrf(session: &Session, config: &CsrfConfig) -> String {
    let raw = match session.get_value(&config.field_name) {
        Some(Value::Str(raw)) => raw,
        _ => {
            let raw = new_raw_token();
            session.insert_value(&config.field_name, raw.as_str());
            raw
        }
    };
    sign_token(&raw, config.keys.current(), config.clock.now())
}

/// Checks a submitted form token against the session (Flask-WTF's `validate_csrf`).
///
/// # Errors
/// The first failed check, in Flask-WTF's order (see the module docs).
pub fn validate_csrf(
    session: &Session,
    config: &CsrfConfig,
    submitted: Option<&str>,
) -> Result<(), CsrfError> {
    let submitted = submitted
        .filter(|t| !t.is_empty())
        .ok_or(CsrfError::Missing)?;
    let Some(stored) = session.get_value(&config.field_name) else {
        return Err(CsrfError::SessionTokenMissing);
    };
    let signed = unsign_token(submitted.as_bytes(), config)?;
    let matches = match &stored {
        Value::Str(stored) => bool::from(stored.as_bytes().ct_eq(signed.as_bytes())),
        _ => false,
    };
    if !matches {
        return Err(CsrfError::Mismatch);
    }
    Ok(())
}

/// SHA-1 hex of 64 random bytes, as Flask-WTF makes a raw token.
fn new_raw_token() -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(crate::key::random_bytes::<64>());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `URLSafeTimedSerializer(key, salt="wtf-csrf-token").dumps(raw)` at `timestamp`.
fn sign_token(raw: &str, key: &Key, timestamp: u64) -> String {
    let mut json = String::with_capacity(raw.len() + 2);
    json_write::write_str(&mut json, raw);
    let mut out = String::with_capacity(96);
    zlib::payload_segment_into(json.as_bytes(), &mut out);
    signer::append_signature(key, Purpose::WtfCsrf, &mut out, 0, timestamp);
    out
}

/// The signed raw token, or why the form token is refused.
fn unsign_token(token: &[u8], config: &CsrfConfig) -> Result<String, CsrfError> {
    let expiry = match config.time_limit {
        Some(limit) => Expiry {
            now: config.clock.now(),
            max_age: limit.as_secs(),
            clock_skew: 0,
        },
        None => Expiry {
            now: 0,
            max_age: u64::MAX,
            clock_skew: u64::MAX,
        },
    };
    let unsigned = signer::unsign(token, &config.keys, Purpose::WtfCsrf, expiry, MAX_TOKEN_LEN)
        .map_err(|error| {
            tracing::debug!(%error, "CSRF token refused");
            match error {
                DecodeError::Expired { .. } | DecodeError::FromTheFuture { .. } => {
                    CsrfError::Expired
                }
                _ => CsrfError::Invalid,
            }
        })?;
    let value = zlib::with_payload_json(unsigned.payload, MAX_INFLATED, |json| {
        tagged::value_from_json(json, 4)
    });
    match value {
        Ok(Value::Str(raw)) => Ok(raw),
        _ => {
            tracing::debug!("CSRF token refused: validly signed payload is not a JSON string");
            Err(CsrfError::Invalid)
        }
    }
}

/// The submitted token in `X-CSRFToken`, `X-CSRF-Token` (or the configured headers):
/// the first non-empty one.
pub fn token_from_headers(headers: &http::HeaderMap, config: &CsrfConfig) -> Option<String> {
    config
        .headers
        .iter()
        .filter_map(|name| headers.get(name)?.to_str().ok())
        .find(|value| !value.is_empty())
        .map(str::to_owned)
}

/// The submitted token in an `application/x-www-form-urlencoded` body: the field named
/// like the config's field, else the first non-empty field whose name ends with it.
pub fn token_from_form(body: &[u8], config: &CsrfConfig) -> Option<String> {
    let fields: Vec<(String, String)> = body
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..]),
                None => (pair, &b""[..]),
            };
            Some((form_decode(name)?, form_decode(value)?))
        })
        .collect();
    let field = config.field_name.as_str();
    let exact = fields.iter().find(|(name, _)| name == field);
    if let Some((_, value)) = exact.filter(|(_, value)| !value.is_empty()) {
        return Some(value.clone());
    }
    fields
        .into_iter()
        .find(|(name, value)| name.ends_with(field) && !value.is_empty())
        .map(|(_, value)| value)
}

/// Form decoding: `+` is a space, `%XX` a byte; the result must be UTF-8.
fn form_decode(text: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                text.get(i + 1).and_then(hex_digit),
                text.get(i + 2).and_then(hex_digit),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex_digit(b: &u8) -> Option<u8> {
    char::from(*b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests;
