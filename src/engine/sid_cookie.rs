//! The id cookie of [`IdScheme::FlaskSession`]: Flask-Session 0.8's sid, so a Flask app
//! and a flagon app behind the same domain can present each other's sessions. The format
//! itself is in [`crate::id`]; here the engine finds it among the request's cookies and
//! writes it with the session's expiry.
//!
//! The sid is `secrets.token_urlsafe(32)`: 32 random bytes as 43 base64url characters.
//! Unsigned (Flask-Session's default) the cookie is the sid itself. With
//! `SESSION_USE_SIGNER` it is `sid.SIGNATURE`, itsdangerous' plain `Signer`. flagon also
//! accepts a sid signed with a fallback key and re-signs it with the current one;
//! Flask-Session knows only `SECRET_KEY`.
//!
//! Only the exact shapes Flask-Session writes with its default `SESSION_ID_LENGTH` are
//! accepted; anything else starts an empty session, as an unknown sid does in
//! Flask-Session.

use super::{cookie_expiry, Shared};
use crate::id::{IdScheme, SessionId};
use crate::session::{State, PERMANENT_KEY};

/// The first cookie value that holds a well-formed sid (verified, if the scheme signs):
/// the id and whether it was signed with a fallback key.
pub(super) fn read<'a>(
    shared: &Shared,
    cookie_headers: impl IntoIterator<Item = &'a [u8]> + 'a,
) -> Option<(SessionId, bool)> {
    let signed = matches!(
        shared.id_scheme,
        IdScheme::FlaskSession { signed: true, .. }
    );
    for value in shared.candidates(cookie_headers) {
        match parse(shared, value, signed) {
            Ok(found) => return Some(found),
            Err(reason) => tracing::debug!(
                reason,
                "Flask-Session id cookie rejected; trying the next one or starting empty"
            ),
        }
    }
    None
}

fn parse(shared: &Shared, value: &[u8], signed: bool) -> Result<(SessionId, bool), &'static str> {
    SessionId::from_flask_session_cookie(value, signed.then_some(&shared.config.keys))
}

/// The cookie value for `id`: the sid, signed if the scheme says so.
pub(super) fn value(shared: &Shared, id: &SessionId) -> String {
    let signed = matches!(
        shared.id_scheme,
        IdScheme::FlaskSession { signed: true, .. }
    );
    id.flask_session_cookie(signed.then(|| shared.config.keys.current()))
}

/// `Set-Cookie` carrying the sid, with `Expires` when the session is permanent (Flask's
/// `get_expiration_time`, which Flask-Session uses too). A session without a
/// `_permanent` key is permanent when the scheme says new sessions are, since the store
/// adds `_permanent: True` to the record it creates.
pub(super) fn write(shared: &Shared, id: &SessionId, state: &State, now: u64) -> String {
    let permanent_by_default = matches!(
        shared.id_scheme,
        IdScheme::FlaskSession {
            permanent: true,
            ..
        }
    ) && !state.data.contains_key(PERMANENT_KEY);
    let expires = if permanent_by_default {
        Some(now.saturating_add(shared.config.permanent_lifetime.as_secs()))
    } else {
        cookie_expiry(&shared.config, state, now)
    };
    shared.writer.set_cookie(&value(shared, id), expires)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flask::base64::decode_segment_small;
    use crate::{Key, SessionConfig};

    fn shared(signed: bool) -> Shared {
        let key = Key::new("correct horse battery staple").expect("key");
        let mut shared = Shared::new(SessionConfig::flask(key)).expect("config");
        shared.id_scheme = IdScheme::FlaskSession {
            signed,
            permanent: true,
        };
        shared
    }

    #[test]
    fn unsigned_sid_round_trips_and_bad_shapes_are_refused() {
        let shared = shared(false);
        let id = SessionId::generate_for(shared.id_scheme);
        let text = value(&shared, &id);
        assert_eq!(text.len(), 43);
        let (back, stale) = parse(&shared, text.as_bytes(), false).expect("parses");
        assert_eq!(back, id);
        assert!(!stale);
        for bad in [
            "",
            "abc",
            &text[..42],
            &format!("{text}A"),
            &text.replace(|_| true, "+"),
        ] {
            assert!(parse(&shared, bad.as_bytes(), false).is_err(), "{bad}");
        }
    }

    /// itsdangerous: `Signer("correct horse battery staple", salt="flask-session",
    /// key_derivation="hmac").sign("A"*43)`.
    #[test]
    fn signed_sid_matches_itsdangerous() {
        let shared = shared(true);
        let id = SessionId::from_flask_session_sid(
            decode_segment_small::<32>(&[b'A'; 43]).expect("sid").0,
        );
        let text = value(&shared, &id);
        assert_eq!(
            text,
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.fGPyERLcNM21Pe-Ll1nfQSHUYK8"
        );
        assert!(parse(&shared, text.as_bytes(), true).is_ok());
        let mut tampered = text.into_bytes();
        tampered[3] = b'B';
        assert!(parse(&shared, &tampered, true).is_err());
    }

    #[test]
    fn a_sid_signed_with_a_fallback_key_verifies_and_asks_for_a_new_signature() {
        let old = shared(true);
        let id = SessionId::generate_for(old.id_scheme);
        let text = value(&old, &id);
        let rotated = Key::new("the new secret").expect("key");
        let config = SessionConfig::flask(rotated)
            .fallback_key(Key::new("correct horse battery staple").expect("key"));
        let mut new = Shared::new(config).expect("config");
        new.id_scheme = IdScheme::FlaskSession {
            signed: true,
            permanent: true,
        };
        let (back, stale) = parse(&new, text.as_bytes(), true).expect("verifies");
        assert_eq!(back, id);
        assert!(
            stale,
            "signed with a fallback key: re-sign with the current one"
        );
        assert_ne!(value(&new, &id), text);
    }
}
