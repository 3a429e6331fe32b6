//! Secret keys: the only place in flagon that holds secret bytes.
//!
//! A [`Key`] is Flask's `SECRET_KEY`; a [`KeyRing`] is the current key plus Flask's
//! `SECRET_KEY_FALLBACKS`. flagon derives the signing keys once, when the key is made,
//! instead of on every request as itsdangerous does; the derived keys are the same.
//!
//! Nothing here prints a secret: `Debug` shows only how many keys there are, and the
//! bytes are zeroed when the key is dropped.

use std::fmt;

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;
#[cfg(feature = "flask-login")]
use sha2::Sha512;
#[cfg(feature = "flask-login")]
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::ConfigError;

type HmacSha1 = Hmac<Sha1>;
type HmacSha256 = Hmac<Sha256>;
#[cfg(feature = "flask-login")]
type HmacSha512 = Hmac<Sha512>;

/// The salt Flask's `SecureCookieSessionInterface` uses for the session cookie.
const FLASK_COOKIE_SALT: &[u8] = b"cookie-session";
/// The salt of the signed session-id cookie of server-side stores: a flagon format, so
/// an id cookie can never verify as a Flask session cookie or the other way round.
const SESSION_ID_SALT: &[u8] = b"flagon.session-id";
/// The salt Flask-WTF's `generate_csrf` and `validate_csrf` sign CSRF tokens with (with
/// itsdangerous' default `django-concat` derivation, not Flask's `hmac`).
const WTF_CSRF_SALT: &[u8] = b"wtf-csrf-token";
/// The salt Flask-Session's `SESSION_USE_SIGNER` signs its session id cookie with.
const FLASK_SESSION_SID_SALT: &[u8] = b"flask-session";
/// The label the sealed-cookie key is derived with: `HMAC-SHA256(secret, label)` is the
/// 32-byte XChaCha20-Poly1305 key. No HMAC-SHA1 purpose uses SHA-256, so the sealing key
/// is independent of every signing key made from the same secret.
const SEALED_COOKIE_LABEL: &[u8] = b"flagon-sealed-cookie-v1";

/// Length of a sealed cookie's nonce (XChaCha20's 192 bits: random nonces never repeat
/// in practice, so no counter has to be kept across servers).
pub(crate) const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag that authenticates a sealed cookie.
pub(crate) const TAG_LEN: usize = 16;

/// What a signature is for; each purpose has its own derived key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Flask's session cookie (salt `cookie-session`).
    FlaskCookie,
    /// flagon's signed session id for server-side stores.
    SessionId,
    /// Flask-WTF's signed CSRF token (salt `wtf-csrf-token`, `django-concat` derivation).
    #[cfg_attr(not(feature = "csrf"), allow(dead_code))]
    WtfCsrf,
    /// Flask-Session's signed sid (salt `flask-session`, `SESSION_USE_SIGNER`).
    FlaskSessionSid,
}

/// A secret key, like Flask's `SECRET_KEY`.
///
/// Any bytes are accepted except an empty key; a string key is used as its UTF-8 bytes,
/// as Flask does. Use at least 32 random bytes ([`Key::generate`], or `flagon keygen`).
///
/// ```
/// let key = flagon::Key::new("correct horse battery staple")?;
/// assert_eq!(format!("{key:?}"), "Key(..)");
/// # Ok::<(), flagon::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Key {
    secret: Zeroizing<Vec<u8>>,
    cookie_mac: HmacSha1,
    id_mac: HmacSha1,
    csrf_mac: HmacSha1,
    flask_session_mac: HmacSha1,
    /// The sealed-cookie AEAD; the cipher zeroes its key when dropped.
    sealer: XChaCha20Poly1305,
}

impl Key {
    /// Makes a key from secret bytes (a `&str` is taken as its UTF-8 bytes).
    ///
    /// # Errors
    /// [`ConfigError::EmptyKey`] when the secret is empty: Flask would silently disable
    /// sessions, flagon refuses at startup instead.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Key, ConfigError> {
        let secret = secret.as_ref();
        if secret.is_empty() {
            return Err(ConfigError::EmptyKey);
        }
        Ok(Key {
            secret: Zeroizing::new(secret.to_vec()),
            cookie_mac: derive(secret, FLASK_COOKIE_SALT),
            id_mac: derive(secret, SESSION_ID_SALT),
            csrf_mac: derive_django_concat(secret, WTF_CSRF_SALT),
            flask_session_mac: derive(secret, FLASK_SESSION_SID_SALT),
            sealer: derive_sealer(secret),
        })
    }

    /// Reads the key from the environment variable `var` (Flask's `SECRET_KEY`), taking
    /// its UTF-8 bytes as [`Key::new`] does.
    ///
    /// ```
    /// use flagon::Key;
    ///
    /// let error = Key::from_env("FLAGON_DOC_UNSET_VARIABLE").unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "environment variable FLAGON_DOC_UNSET_VARIABLE is not set: set it to the app's \
    ///      secret key (`flagon keygen` prints a new one)"
    /// );
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::KeyEnv`] when the variable is not set or not valid UTF-8, and
    /// [`ConfigError::EmptyKey`] when it is empty.
    pub fn from_env(var: &str) -> Result<Key, ConfigError> {
        let why = match std::env::var(var) {
            Ok(secret) => return Key::new(secret),
            Err(std::env::VarError::NotPresent) => "is not set",
            Err(std::env::VarError::NotUnicode(_)) => "is not valid UTF-8",
        };
        Err(ConfigError::KeyEnv {
            var: var.to_owned(),
            why,
        })
    }

    /// Makes a new random 32-byte key from the operating system's CSPRNG.
    ///
    /// Sessions signed with it do not survive a restart unless you save the key; prefer
    /// a key from configuration (`flagon keygen` prints one).
    pub fn generate() -> Key {
        Key::new(random_bytes::<32>()).expect("32 random bytes are not empty")
    }

    /// The secret as lower-case hex, for printing a freshly generated key once.
    ///
    /// This is the only way to read a key back; do not log it.
    pub fn to_hex(&self) -> String {
        self.secret.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The secret's length in bytes (for the short-key warning; never the secret).
    pub(crate) fn secret_len(&self) -> usize {
        self.secret.len()
    }

    fn mac(&self, purpose: Purpose) -> &HmacSha1 {
        match purpose {
            Purpose::FlaskCookie => &self.cookie_mac,
            Purpose::SessionId => &self.id_mac,
            Purpose::WtfCsrf => &self.csrf_mac,
            Purpose::FlaskSessionSid => &self.flask_session_mac,
        }
    }

    /// HMAC-SHA1 of `message` under this key's derived key for `purpose`.
    pub(crate) fn sign(&self, purpose: Purpose, message: &[u8]) -> [u8; 20] {
        let mut mac = self.mac(purpose).clone();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Checks `signature` over `message` in constant time.
    pub(crate) fn verify(&self, purpose: Purpose, message: &[u8], signature: &[u8]) -> bool {
        let mut mac = self.mac(purpose).clone();
        mac.update(message);
        mac.verify_slice(signature).is_ok()
    }

    /// Encrypts `buffer` in place under the sealed-cookie key; the authentication tag.
    pub(crate) fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        associated: &[u8],
        buffer: &mut [u8],
    ) -> [u8; TAG_LEN] {
        self.sealer
            .encrypt_in_place_detached(XNonce::from_slice(nonce), associated, buffer)
            .expect("XChaCha20-Poly1305 seals any buffer a cookie can hold")
            .into()
    }

    /// Checks `tag` and decrypts `buffer` in place; false (buffer untouched) when the tag
    /// does not verify under this key. The tag is compared in constant time.
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        associated: &[u8],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> bool {
        self.sealer
            .decrypt_in_place_detached(
                XNonce::from_slice(nonce),
                associated,
                buffer,
                Tag::from_slice(tag),
            )
            .is_ok()
    }
}

#[cfg(feature = "flask-login")]
impl Key {
    /// Flask-Login's remember-cookie digest: HMAC-SHA512 keyed with the secret itself
    /// (no derivation, no salt) over `payload`, as lower-case hex.
    pub(crate) fn remember_digest(&self, payload: &[u8]) -> String {
        let mut mac =
            HmacSha512::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(payload);
        let digest = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(128);
        for b in digest {
            hex.push(char::from(HEX[usize::from(b >> 4)]));
            hex.push(char::from(HEX[usize::from(b & 15)]));
        }
        hex
    }

    /// Does `digest` equal [`remember_digest`](Self::remember_digest) of `payload`?
    /// Compared as text in constant time, like Flask-Login's `hmac.compare_digest`, so
    /// upper-case hex does not verify there either.
    pub(crate) fn verify_remember_digest(&self, payload: &[u8], digest: &[u8]) -> bool {
        let expected = self.remember_digest(payload);
        bool::from(expected.as_bytes().ct_eq(digest))
    }
}

#[cfg(feature = "flask-login")]
const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

/// itsdangerous' `hmac` key derivation: `HMAC-SHA1(secret, salt)`, keyed for signing.
fn derive(secret: &[u8], salt: &[u8]) -> HmacSha1 {
    let mut outer = HmacSha1::new_from_slice(secret).expect("HMAC takes keys of any length");
    outer.update(salt);
    let derived: Zeroizing<[u8; 20]> = Zeroizing::new(outer.finalize().into_bytes().into());
    HmacSha1::new_from_slice(derived.as_slice()).expect("HMAC takes keys of any length")
}

/// The sealed-cookie cipher: key `HMAC-SHA256(secret, "flagon-sealed-cookie-v1")`.
fn derive_sealer(secret: &[u8]) -> XChaCha20Poly1305 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(SEALED_COOKIE_LABEL);
    let derived: Zeroizing<[u8; 32]> = Zeroizing::new(mac.finalize().into_bytes().into());
    // Named in full: importing `KeyInit` would make `Hmac::new_from_slice` ambiguous.
    <XChaCha20Poly1305 as chacha20poly1305::KeyInit>::new(chacha20poly1305::Key::from_slice(
        derived.as_slice(),
    ))
}

/// itsdangerous' default `django-concat` key derivation, which `URLSafeTimedSerializer`
/// uses unless told otherwise (Flask-WTF does not): `SHA1(salt + "signer" + secret)`.
fn derive_django_concat(secret: &[u8], salt: &[u8]) -> HmacSha1 {
    use sha1::Digest;
    let mut hash = Sha1::new();
    hash.update(salt);
    hash.update(b"signer");
    hash.update(secret);
    let derived: Zeroizing<[u8; 20]> = Zeroizing::new(hash.finalize().into());
    HmacSha1::new_from_slice(derived.as_slice()).expect("HMAC takes keys of any length")
}

/// `N` bytes from the operating system's CSPRNG.
///
/// # Panics
/// When the OS has no randomness to give, which no supported platform does after boot;
/// a session library must not go on with predictable ids.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    buf
}

/// The current key and the fallback keys still accepted for verification.
///
/// Signing always uses the current key. Verification tries the current key first, then
/// the fallbacks newest first, as Flask does with `SECRET_KEY_FALLBACKS`.
#[derive(Clone)]
pub struct KeyRing {
    current: Key,
    /// Newest first (the reverse of Flask's `SECRET_KEY_FALLBACKS` list).
    fallbacks: Vec<Key>,
}

impl KeyRing {
    /// A ring with only the current key.
    pub fn new(current: Key) -> KeyRing {
        KeyRing {
            current,
            fallbacks: Vec::new(),
        }
    }

    /// Adds an older key that is still accepted when verifying, never used for signing.
    ///
    /// Add them oldest first, in the order of Flask's `SECRET_KEY_FALLBACKS`.
    pub fn with_fallback(mut self, key: Key) -> KeyRing {
        self.fallbacks.insert(0, key);
        self
    }

    /// The key that signs.
    pub fn current(&self) -> &Key {
        &self.current
    }

    /// Every key in verification order: current first, then fallbacks newest first.
    pub(crate) fn verification_order(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(self.fallbacks.iter())
    }

    /// Opens a sealed `ciphertext` with each key in verification order, decrypting into
    /// `out`; the position of the key that sealed it (0 = the current key).
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        associated: &[u8],
        ciphertext: &[u8],
        tag: &[u8; TAG_LEN],
        out: &mut Vec<u8>,
    ) -> Option<usize> {
        self.verification_order().position(|key| {
            out.clear();
            out.extend_from_slice(ciphertext);
            key.open(nonce, associated, out, tag)
        })
    }

    /// Finds the key that signed `message`, by its position in verification order
    /// (0 = the current key).
    pub(crate) fn verify(
        &self,
        purpose: Purpose,
        message: &[u8],
        signature: &[u8],
    ) -> Option<usize> {
        self.verification_order()
            .position(|key| key.verify(purpose, message, signature))
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("fallbacks", &self.fallbacks.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn derivation_matches_flask_worked_example() {
        // FORMAT.md §5: secret "correct horse battery staple", signing input below.
        let key = Key::new("correct horse battery staple").unwrap();
        let sig = key.sign(Purpose::FlaskCookie, b"eyJsb2dnZWRfaW4iOnRydWV9.ZVPxAA");
        assert_eq!(hex(&sig), "9e3b94b1a0ae81320e9ff1bcaf94c0870a48f98c");
    }

    #[test]
    #[cfg(feature = "flask-login")]
    fn remember_digest_is_hmac_sha512_of_the_raw_secret() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let key = Key::new("Jefe").unwrap();
        let digest = key.remember_digest(b"what do ya want for nothing?");
        assert_eq!(
            digest,
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        assert!(key.verify_remember_digest(b"what do ya want for nothing?", digest.as_bytes()));
        let upper = digest.to_ascii_uppercase();
        assert!(!key.verify_remember_digest(b"what do ya want for nothing?", upper.as_bytes()));
        assert!(!key.verify_remember_digest(b"what do ya want for nothing?", b""));
    }

    #[test]
    fn empty_key_is_a_config_error() {
        assert!(matches!(Key::new(""), Err(ConfigError::EmptyKey)));
    }

    #[test]
    fn debug_prints_no_secret() {
        let key = Key::new("hunter2-hunter2").unwrap();
        let ring = KeyRing::new(key.clone()).with_fallback(Key::new("old-secret").unwrap());
        let shown = format!("{key:?} {ring:?} {key:#?} {ring:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("old-secret"), "{shown}");
        assert!(!shown.contains(&hex(b"hunter2")), "{shown}");
    }

    #[test]
    fn purposes_do_not_cross() {
        let key = Key::new("k").unwrap();
        let sig = key.sign(Purpose::SessionId, b"m");
        assert!(key.verify(Purpose::SessionId, b"m", &sig));
        assert!(!key.verify(Purpose::FlaskCookie, b"m", &sig));
        assert!(!key.verify(Purpose::WtfCsrf, b"m", &sig));
    }

    #[test]
    fn ring_tries_current_then_newest_fallback() {
        let oldest = Key::new("oldest").unwrap();
        let newer = Key::new("newer").unwrap();
        let ring = KeyRing::new(Key::new("current").unwrap())
            .with_fallback(oldest.clone())
            .with_fallback(newer.clone());
        let sig = newer.sign(Purpose::FlaskCookie, b"m");
        assert_eq!(ring.verify(Purpose::FlaskCookie, b"m", &sig), Some(1));
        let sig = oldest.sign(Purpose::FlaskCookie, b"m");
        assert_eq!(ring.verify(Purpose::FlaskCookie, b"m", &sig), Some(2));
        assert_eq!(ring.verify(Purpose::FlaskCookie, b"m", &[0; 20]), None);
    }
}
