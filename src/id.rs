//! Session ids for server-side stores.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::key::random_bytes;

/// Bytes of randomness in a session id (192 bits).
const ID_BYTES: usize = 24;

/// A session id: 192 bits from the operating system's CSPRNG. Only flagon makes one.
///
/// It is a bearer token: `Debug` redacts it and it has no `Display`. Stores never see it,
/// only its [`StoreKey`].
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId([u8; ID_BYTES]);

impl SessionId {
    /// A fresh random id.
    pub(crate) fn generate() -> SessionId {
        SessionId(random_bytes::<ID_BYTES>())
    }

    /// The id from the bytes of a verified cookie.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<SessionId> {
        bytes.try_into().ok().map(SessionId)
    }

    /// The raw id bytes, for signing into the cookie.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
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

    /// The key the store files this session under: SHA-256 of the id.
    pub fn store_key(&self) -> StoreKey {
        StoreKey(Sha256::digest(self.0).into())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

/// What a store files a session under: SHA-256 of its [`SessionId`].
///
/// Knowing a `StoreKey` does not let anyone present the session, so it may appear in a
/// database; `Debug` still shows only a short prefix.
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
