//! Sealed session cookies: the session encrypted and authenticated, unreadable by the
//! user who holds it.
//!
//! **A sealed cookie is not a Flask cookie.** Flask cannot read it and flagon's signed
//! mode cannot either; use it only when no Flask app has to share the session. Switch a
//! live app with [`CookieMode::SealedAcceptingSigned`](crate::config::CookieMode) first
//! (read both, write sealed), then to [`CookieMode::Sealed`](crate::config::CookieMode).
//!
//! # Format (version 1)
//!
//! The cookie value is base64url without padding of
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format version, `0x01` |
//! | 24 | XChaCha20 nonce, fresh from the OS CSPRNG for every cookie |
//! | n | ciphertext of the plaintext below |
//! | 16 | Poly1305 tag |
//!
//! The plaintext is the issue time (Unix seconds, 8 bytes big-endian) followed by the
//! session as Flask's tagged JSON, uncompressed: compressing attacker-influenced data
//! next to secrets before encrypting would let the ciphertext's length leak them.
//! The associated data is the version byte followed by the cookie name, so a sealed value
//! moved to another cookie name (or read as another version) does not open. The key is
//! `HMAC-SHA256(secret, "flagon-sealed-cookie-v1")`, made once per [`Key`];
//! the current key seals, and opening tries the current key then the fallbacks, as
//! signed cookies verify.
//!
//! XChaCha20-Poly1305 rather than AES-256-GCM: with 24-byte random nonces, every server
//! can draw nonces independently for the key's whole life without a birthday-bound
//! budget to track (AES-GCM's 12-byte random nonces allow about 2^32 cookies per key),
//! and the implementation is constant time in software on every CPU, AES-NI or not.
//!
//! Opening checks, in order: the length cap, canonical base64url, the version, the tag
//! (every key, constant time), the issue time (age and clock skew, Flask's rules as for
//! signed cookies), and only then parses the JSON. Every failure is a [`DecodeError`];
//! none says anything about the contents.

use std::cell::RefCell;

use crate::flask::signer::{self, DecodeError, Expiry};
use crate::flask::{base64, tagged, Limits, Verified};
use crate::key::{random_bytes, Key, KeyRing, NONCE_LEN, TAG_LEN};
use crate::scratch::with_scratch;
use crate::value::Map;

/// The first byte of every version-1 sealed cookie.
pub const VERSION: u8 = 1;

/// Bytes of the decoded value that are not ciphertext: version, nonce and tag.
const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;
/// Bytes of plaintext before the JSON: the issue time.
const TIME_LEN: usize = 8;

/// Seals `session` under `key` for the cookie called `cookie_name`, issued at Unix time
/// `issued_at`. Every call draws a fresh nonce, so the same session seals differently
/// each time.
///
/// ```
/// use flagon::{sealed, flask::Limits, Key, KeyRing, Map, Value};
/// let key = Key::new("a long random secret from configuration")?;
/// let mut session = Map::new();
/// session.insert("user".into(), Value::from("alice"));
/// let cookie = sealed::seal(&session, &key, "session", 1_700_000_000);
/// assert!(!cookie.contains("alice"));
/// let ring = KeyRing::new(key);
/// let opened = sealed::open(cookie.as_bytes(), &ring, "session", 1_700_000_060, 3600, 0,
///     &Limits::default())?;
/// assert_eq!(opened.session, session);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn seal(session: &Map, key: &Key, cookie_name: &str, issued_at: u64) -> String {
    let mut out = String::new();
    seal_into(session, key, cookie_name, issued_at, &mut out);
    out
}

thread_local! {
    /// The binary form of a cookie while it is sealed or opened.
    static BYTES: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Scratch buffers that grew past this (an oversized cookie) are not kept.
const KEEP: usize = 16 * 1024;

/// [`seal`], appended to `out`.
pub(crate) fn seal_into(
    session: &Map,
    key: &Key,
    cookie_name: &str,
    issued_at: u64,
    out: &mut String,
) {
    let nonce = random_bytes::<NONCE_LEN>();
    with_scratch(&BYTES, KEEP, |bytes| {
        bytes.clear();
        bytes.push(VERSION);
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&issued_at.to_be_bytes());
        tagged::with_json(session, |json| bytes.extend_from_slice(json.as_bytes()));
        let tag = with_associated(cookie_name, |associated| {
            key.seal(&nonce, associated, &mut bytes[1 + NONCE_LEN..])
        });
        bytes.extend_from_slice(&tag);
        base64::encode_segment_into(bytes, out);
    });
}

/// Opens a sealed cookie value with `keys` and decodes it.
///
/// The rules for `now`, `max_age` and `clock_skew` are [`flask::verify`]'s: older than
/// `max_age` seconds is expired, issued more than `clock_skew` seconds in the future is
/// rejected. `Verified::timestamp` is the issue time.
///
/// # Errors
/// A [`DecodeError`]: [`TooLong`](DecodeError::TooLong), [`Malformed`](DecodeError::Malformed)
/// (not base64url, too short, unknown version), [`BadSeal`](DecodeError::BadSeal) (no key
/// opens it: tampered, another key, or another cookie name), [`Expired`](DecodeError::Expired),
/// [`FromTheFuture`](DecodeError::FromTheFuture) or [`Payload`](DecodeError::Payload).
/// Its `Display` never contains the cookie, the key or the contents.
///
/// [`flask::verify`]: crate::flask::verify
pub fn open(
    value: &[u8],
    keys: &KeyRing,
    cookie_name: &str,
    now: u64,
    max_age: u64,
    clock_skew: u64,
    limits: &Limits,
) -> Result<Verified, DecodeError> {
    signer::check_len(value, limits.max_cookie_len)?;
    with_scratch(&BYTES, KEEP, |bytes| {
        if !base64::decode_segment_reusing(value, bytes) {
            return Err(DecodeError::Malformed(
                "sealed cookie is not canonical base64url",
            ));
        }
        if bytes.len() < OVERHEAD + TIME_LEN {
            return Err(DecodeError::Malformed("sealed cookie is too short"));
        }
        if bytes[0] != VERSION {
            return Err(DecodeError::Malformed("unknown sealed cookie version"));
        }
        let (head, rest) = bytes.split_at(1 + NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        let nonce: &[u8; NONCE_LEN] = head[1..].try_into().expect("split at the nonce's end");
        let tag: &[u8; TAG_LEN] = tag.try_into().expect("split at the tag's start");
        let mut plain = Vec::with_capacity(ciphertext.len());
        let key_index = with_associated(cookie_name, |associated| {
            keys.open(nonce, associated, ciphertext, tag, &mut plain)
        })
        .ok_or(DecodeError::BadSeal)?;
        let (time, json) = plain.split_at(TIME_LEN);
        let issued_at = u64::from_be_bytes(time.try_into().expect("8 bytes"));
        signer::check_age(
            issued_at,
            Expiry {
                now,
                max_age,
                clock_skew,
            },
        )?;
        Ok(Verified {
            session: tagged::from_json(json, limits.max_depth)?,
            timestamp: issued_at,
            key_index,
        })
    })
}

/// Does this cookie value look sealed rather than signed? A signed (Flask) value always
/// holds a `.`, which base64url never does. Only a routing hint: [`open`] decides.
pub(crate) fn looks_sealed(value: &[u8]) -> bool {
    !value.contains(&b'.')
}

/// Runs `work` with the associated data: the version byte, then the cookie name.
fn with_associated<T>(cookie_name: &str, work: impl FnOnce(&[u8]) -> T) -> T {
    let mut small = [0u8; 64];
    let name = cookie_name.as_bytes();
    if let Some(room) = small.get_mut(..1 + name.len()) {
        room[0] = VERSION;
        room[1..].copy_from_slice(name);
        return work(room);
    }
    let mut long = Vec::with_capacity(1 + name.len());
    long.push(VERSION);
    long.extend_from_slice(name);
    work(&long)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    const NOW: u64 = 1_700_000_000;

    fn session() -> Map {
        let mut s = Map::new();
        s.insert("user".into(), Value::from("alice-the-admin"));
        s.insert("n".into(), Value::Int(42));
        s
    }

    fn key(secret: &str) -> Key {
        Key::new(secret).unwrap()
    }

    fn open_at(value: &str, ring: &KeyRing, name: &str, now: u64) -> Result<Verified, DecodeError> {
        open(
            value.as_bytes(),
            ring,
            name,
            now,
            3600,
            0,
            &Limits::default(),
        )
    }

    #[test]
    fn round_trip_and_fresh_nonce_each_time() {
        let k = key("sealing secret");
        let a = seal(&session(), &k, "session", NOW);
        let b = seal(&session(), &k, "session", NOW);
        assert_ne!(a, b, "a fresh nonce per cookie");
        let got = open_at(&a, &KeyRing::new(k), "session", NOW + 10).unwrap();
        assert_eq!(
            (got.session, got.timestamp, got.key_index),
            (session(), NOW, 0)
        );
        assert!(looks_sealed(a.as_bytes()));
    }

    #[test]
    fn every_flipped_bit_and_byte_is_rejected() {
        let k = key("sealing secret");
        let ring = KeyRing::new(k.clone());
        let cookie = seal(&session(), &k, "session", NOW);
        let mut raw = base64::decode_segment(cookie.as_bytes()).unwrap();
        for i in 0..raw.len() {
            for bit in 0..8 {
                raw[i] ^= 1 << bit;
                let mut text = String::new();
                base64::encode_segment_into(&raw, &mut text);
                let err = open_at(&text, &ring, "session", NOW).unwrap_err();
                let expected = if i == 0 {
                    DecodeError::Malformed("unknown sealed cookie version")
                } else {
                    DecodeError::BadSeal
                };
                assert_eq!(err, expected, "byte {i} bit {bit}");
                raw[i] ^= 1 << bit;
            }
        }
        for cut in 0..cookie.len() {
            assert!(open_at(&cookie[..cut], &ring, "session", NOW).is_err());
        }
    }

    #[test]
    fn wrong_key_and_wrong_name_do_not_open() {
        let cookie = seal(&session(), &key("one"), "session", NOW);
        let other = KeyRing::new(key("two"));
        assert_eq!(
            open_at(&cookie, &other, "session", NOW),
            Err(DecodeError::BadSeal)
        );
        let right = KeyRing::new(key("one"));
        assert_eq!(
            open_at(&cookie, &right, "remember", NOW),
            Err(DecodeError::BadSeal)
        );
        let long_name = "n".repeat(100);
        let cookie = seal(&session(), &key("one"), &long_name, NOW);
        assert!(open_at(&cookie, &right, &long_name, NOW).is_ok());
        assert!(open_at(&cookie, &right, &long_name[1..], NOW).is_err());
    }

    #[test]
    fn fallback_keys_open_with_their_index() {
        let old = key("old");
        let ring = KeyRing::new(key("new")).with_fallback(old.clone());
        let cookie = seal(&session(), &old, "session", NOW);
        assert_eq!(
            open_at(&cookie, &ring, "session", NOW).unwrap().key_index,
            1
        );
    }

    #[test]
    fn age_is_checked_inside_the_seal() {
        let k = key("k");
        let ring = KeyRing::new(k.clone());
        let cookie = seal(&session(), &k, "session", NOW);
        assert!(open_at(&cookie, &ring, "session", NOW + 3600).is_ok());
        assert_eq!(
            open_at(&cookie, &ring, "session", NOW + 3601),
            Err(DecodeError::Expired {
                age: 3601,
                max_age: 3600
            })
        );
        assert_eq!(
            open_at(&cookie, &ring, "session", NOW - 5),
            Err(DecodeError::FromTheFuture {
                ahead: 5,
                allowed: 0
            })
        );
    }

    #[test]
    fn values_are_not_readable_and_signed_cookies_are_not_sealed() {
        let k = key("k");
        let cookie = seal(&session(), &k, "session", NOW);
        let raw = base64::decode_segment(cookie.as_bytes()).unwrap();
        let hay = String::from_utf8_lossy(&raw);
        assert!(!hay.contains("alice") && !cookie.contains("alice"));
        let signed = crate::flask::sign(&session(), &k, NOW);
        assert!(!looks_sealed(signed.as_bytes()));
        let err = open_at(&signed, &KeyRing::new(k), "session", NOW).unwrap_err();
        assert!(matches!(err, DecodeError::Malformed(_)), "{err}");
    }

    #[test]
    fn junk_is_malformed_or_too_long() {
        let ring = KeyRing::new(key("k"));
        for junk in [
            "",
            "A",
            "AQ",
            "!!!!",
            "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(
                matches!(
                    open_at(junk, &ring, "session", NOW),
                    Err(DecodeError::Malformed(_))
                ),
                "{junk}"
            );
        }
        let long = "A".repeat(5000);
        assert!(matches!(
            open_at(&long, &ring, "session", NOW),
            Err(DecodeError::TooLong { .. })
        ));
    }
}
