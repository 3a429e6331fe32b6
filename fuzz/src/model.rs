//! The key holder's side, written without flagon: itsdangerous' timestamp signer
//! recomputed with the `hmac` and `sha1` crates (derived key = HMAC-SHA1(secret,
//! "cookie-session"), signature = HMAC-SHA1(derived, "payload.timestamp"), base64url
//! without padding), and a zlib writer that needs no compressor.

use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// The test key: the one `tests/flask/vectors.json` signs with, so seeds verify.
pub const SECRET: &str = "correct horse battery staple";
/// The fixed clock of every check (the vectors' `verify_at`).
pub const NOW: u64 = 1_700_000_100;
/// Flask's default `PERMANENT_SESSION_LIFETIME` (31 days), the vectors' `max_age`.
pub const MAX_AGE: u64 = 2_678_400;

type HmacSha1 = Hmac<Sha1>;

/// The model's derived key, computed once.
fn derived_mac() -> &'static HmacSha1 {
    static MAC: OnceLock<HmacSha1> = OnceLock::new();
    MAC.get_or_init(|| {
        let mut outer = HmacSha1::new_from_slice(SECRET.as_bytes()).expect("any key length");
        outer.update(b"cookie-session");
        let derived = outer.finalize().into_bytes();
        HmacSha1::new_from_slice(&derived).expect("any key length")
    })
}

/// base64url without padding (the model's own encoder, not flagon's).
pub fn b64url(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// The signature segment a key holder writes for `signed` (`payload.timestamp`).
pub fn model_signature(signed: &[u8]) -> String {
    let mut mac = derived_mac().clone();
    mac.update(signed);
    b64url(&mac.finalize().into_bytes())
}

/// `payload.b64(timestamp).signature`, signed by the model.
pub fn model_sign(payload: &[u8], timestamp: u64) -> Vec<u8> {
    let be = timestamp.to_be_bytes();
    let first = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    let mut cookie = payload.to_vec();
    cookie.push(b'.');
    cookie.extend_from_slice(b64url(&be[first..]).as_bytes());
    let signature = model_signature(&cookie);
    cookie.push(b'.');
    cookie.extend_from_slice(signature.as_bytes());
    cookie
}

/// Would a key holder have written this signature segment?
pub fn genuine(value: &[u8]) -> bool {
    match value.iter().rposition(|&b| b == b'.') {
        Some(dot) => value[dot + 1..] == *model_signature(&value[..dot]).as_bytes(),
        None => false,
    }
}

/// A zlib stream of stored (uncompressed) deflate blocks: valid zlib without a compressor.
pub fn zlib_stored(raw: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    if raw.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    let mut chunks = raw.chunks(usize::from(u16::MAX)).peekable();
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = u16::try_from(chunk.len()).expect("chunks of at most 65535 bytes");
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}
