//! Session ids for server-side stores, and the formats of the id cookies that carry them:
//! flagon's own (signed like Flask's session cookie) and Flask-Session's sid.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::flask::signer::{self, Expiry};
use crate::key::{random_bytes, Key, KeyRing, Purpose};

/// Bytes of randomness in a session id (192 bits).
const ID_BYTES: usize = 24;

/// Bytes of randomness in a Flask-Session sid: `secrets.token_urlsafe(32)`, Flask-Session's
/// default `SESSION_ID_LENGTH`.
pub(crate) const FLASK_SESSION_SID_BYTES: usize = 32;

/// How the cookie names a session, and what the store files it under.
///
/// A store picks its scheme with [`SessionStore::id_scheme`](crate::store::SessionStore::id_scheme);
/// the [`Session`](crate::Session) API and the framework adapters are the same for both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdScheme {
    /// flagon's own: 24 random bytes in base64url, signed like Flask's session cookie
    /// but with the salt `flagon.session-id`; the store sees only the SHA-256 of the id.
    #[default]
    Flagon,
    /// Flask-Session 0.8's: the cookie holds `secrets.token_urlsafe(32)` (43 base64url
    /// characters), as it is, or signed by itsdangerous' `Signer` (salt `flask-session`,
    /// no timestamp) when `signed` (`SESSION_USE_SIGNER = True`). The store is handed the
    /// sid's 32 bytes themselves, because the record's name must be `PREFIX + sid`.
    FlaskSession {
        /// Sign the sid (`SESSION_USE_SIGNER`).
        signed: bool,
        /// New sessions are permanent (`SESSION_PERMANENT`): while a session has no
        /// `_permanent` key yet, its cookie carries `Expires` as a permanent one does.
        permanent: bool,
    },
}

/// A session id: random bytes from the operating system's CSPRNG. Only flagon (or, under
/// [`IdScheme::FlaskSession`], Flask-Session) makes one, and it never leaves the crate
/// except in the signed cookie.
///
/// It is a bearer token: `Debug` redacts it and it has no `Display`. Under
/// [`IdScheme::Flagon`] stores never see it, only its [`StoreKey`].
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SessionId(Repr);

#[derive(Clone, PartialEq, Eq)]
enum Repr {
    Flagon([u8; ID_BYTES]),
    FlaskSession([u8; FLASK_SESSION_SID_BYTES]),
}

impl SessionId {
    /// A fresh random id of flagon's own scheme.
    pub(crate) fn generate() -> SessionId {
        SessionId(Repr::Flagon(random_bytes::<ID_BYTES>()))
    }

    /// A fresh random id of `scheme`.
    pub(crate) fn generate_for(scheme: IdScheme) -> SessionId {
        match scheme {
            IdScheme::Flagon => SessionId::generate(),
            IdScheme::FlaskSession { .. } => SessionId(Repr::FlaskSession(random_bytes())),
        }
    }

    /// The id from the bytes of a verified cookie.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<SessionId> {
        bytes.try_into().ok().map(|b| SessionId(Repr::Flagon(b)))
    }

    /// A Flask-Session sid from its 32 decoded bytes.
    pub(crate) fn from_flask_session_sid(bytes: [u8; FLASK_SESSION_SID_BYTES]) -> SessionId {
        SessionId(Repr::FlaskSession(bytes))
    }

    /// The raw id bytes, for signing into the cookie.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Flagon(bytes) => bytes,
            Repr::FlaskSession(bytes) => bytes,
        }
    }

    /// A short digest of the id that is safe to log: 16 hex digits of
    /// `SHA-256("flagon-log-id" ‖ store key)`. It tells sessions apart in the logs and
    /// cannot be turned back into the id, nor presented as a session.
    pub(crate) fn log_hash(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"flagon-log-id")
            .chain_update(self.store_key().as_bytes())
            .finalize();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The key the store files this session under: SHA-256 of a flagon id, the bytes
    /// themselves of a Flask-Session sid.
    pub(crate) fn store_key(&self) -> StoreKey {
        match &self.0 {
            Repr::Flagon(bytes) => StoreKey(Sha256::digest(bytes).into()),
            Repr::FlaskSession(bytes) => StoreKey(*bytes),
        }
    }

    /// The value of the id cookie: the id in base64url, signed at `now` with the
    /// session-id purpose of `key`.
    pub(crate) fn sign_cookie(&self, key: &Key, now: u64) -> String {
        let payload = URL_SAFE_NO_PAD.encode(self.as_bytes());
        signer::sign(key, Purpose::SessionId, &payload, now)
    }

    /// The id in a signed id cookie value, and whether a fallback key signed it. The
    /// error is a reason for the logs; it never holds the value.
    pub(crate) fn verify_cookie(
        value: &[u8],
        keys: &KeyRing,
        expiry: Expiry,
        max_len: usize,
    ) -> Result<(SessionId, bool), String> {
        let unsigned = signer::unsign(value, keys, Purpose::SessionId, expiry, max_len)
            .map_err(|e| e.to_string())?;
        let raw = URL_SAFE_NO_PAD
            .decode(unsigned.payload)
            .map_err(|_| "id is not base64url".to_owned())?;
        let id = SessionId::from_bytes(&raw).ok_or_else(|| "id has the wrong length".to_owned())?;
        Ok((id, unsigned.key_index > 0))
    }
}

/// Characters of a Flask-Session sid: 32 bytes in base64url without padding.
const SID_LEN: usize = 43;
/// Characters of a Flask-Session sid's signature: 20 bytes of HMAC-SHA1 in base64url
/// without padding.
const SIGNATURE_LEN: usize = 27;

/// The id cookie of [`IdScheme::FlaskSession`], in the exact shapes Flask-Session 0.8
/// writes with its default `SESSION_ID_LENGTH`.
impl SessionId {
    /// The cookie value of this sid: the sid itself, or, with `signer`, `sid.SIGNATURE`
    /// as itsdangerous' plain `Signer` makes it (no timestamp, HMAC-SHA1 over the sid
    /// text under the key derived with the salt `flask-session`).
    pub(crate) fn flask_session_cookie(&self, signer: Option<&Key>) -> String {
        let mut value = URL_SAFE_NO_PAD.encode(self.as_bytes());
        if let Some(key) = signer {
            let signature = key.sign(Purpose::FlaskSessionSid, value.as_bytes());
            value.push('.');
            URL_SAFE_NO_PAD.encode_string(signature, &mut value);
        }
        value
    }

    /// The sid in a cookie value, verified with `keys` when the scheme signs, and
    /// whether a fallback key signed it. Only canonical base64url of the exact lengths is
    /// accepted. The error is a reason for the logs; it never holds the value.
    pub(crate) fn from_flask_session_cookie(
        value: &[u8],
        keys: Option<&KeyRing>,
    ) -> Result<(SessionId, bool), &'static str> {
        let (sid, stale) = match keys {
            Some(keys) => {
                if value.len() != SID_LEN + 1 + SIGNATURE_LEN || value[SID_LEN] != b'.' {
                    return Err("not a signed sid (sid.signature of 43 and 27 characters)");
                }
                let (sid, signature) = (&value[..SID_LEN], &value[SID_LEN + 1..]);
                let signature = decode_exact::<20>(signature)
                    .ok_or("the signature is not canonical base64url")?;
                let index = keys
                    .verify(Purpose::FlaskSessionSid, sid, &signature)
                    .ok_or("bad signature: no configured key signed this sid")?;
                (sid, index > 0)
            }
            None => (value, false),
        };
        if sid.len() != SID_LEN {
            return Err("the sid is not 43 characters (token_urlsafe(32))");
        }
        let bytes = decode_exact::<FLASK_SESSION_SID_BYTES>(sid)
            .ok_or("the sid is not canonical base64url")?;
        Ok((SessionId::from_flask_session_sid(bytes), stale))
    }
}

/// Exactly `N` bytes from canonical base64url without padding.
fn decode_exact<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    URL_SAFE_NO_PAD.decode(text).ok()?.try_into().ok()
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

/// What a store files a session under: SHA-256 of its session id, or under
/// [`IdScheme::FlaskSession`] the 32 bytes of the sid itself.
///
/// Under flagon's scheme, knowing a `StoreKey` does not let anyone present the session, so
/// it may appear in a database; under Flask-Session's it *is* the token (Flask-Session
/// names its records by the sid). `Debug` shows only a short prefix either way.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    /// The 32 hash bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex of the hash (64 characters), for stores keyed by text.
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(64);
        for byte in self.0 {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 15)]));
        }
        text
    }

    /// A store key from its 32 hash bytes (for stores and tests).
    pub fn from_bytes(bytes: [u8; 32]) -> StoreKey {
        StoreKey(bytes)
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "StoreKey({:02x}{:02x}{:02x}{:02x}..)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_and_two_digits_per_byte() {
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = (i as u8).wrapping_mul(37) ^ 0xa5;
        }
        let want: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(StoreKey::from_bytes(bytes).to_hex(), want);
        assert_eq!(StoreKey::from_bytes([0; 32]).to_hex(), "0".repeat(64));
    }
}
