//! The two base64 dialects of a Flask cookie.
//!
//! * Cookie segments (payload, timestamp, signature) are base64url without padding.
//!   flagon reads them **canonically only** (DV1): no `=`, no `+` or `/`, no byte outside
//!   the alphabet, no non-zero unused bits in the last character, no impossible length.
//!   itsdangerous is lenient here, but it never writes anything but the canonical form,
//!   so strictness loses no cookie Flask produced and removes signature malleability.
//! * The ` b` tag inside the JSON holds standard base64 with `=` padding. Python's
//!   `b64decode` skips characters outside the alphabet and ignores unused bits; Flask
//!   itself only writes the canonical padded form, which is all flagon accepts: the
//!   alphabet `A–Z a–z 0–9 + /`, padding to a multiple of four, zero unused bits.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

/// Standard alphabet with `=` padding, canonical decoding only.
const TAG_BYTES: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(false),
);

// Cookie segments are coded by hand: three short segments per cookie made the base64
// crate's per-call set-up a visible share of a small cookie's cost. The tests below check
// this code against the crate's canonical base64url engine.

/// The base64url alphabet.
const URL_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Marks a byte outside the alphabet in [`URL_DECODE`]; its high bit is what is tested.
const INVALID: u8 = 0xff;

/// Byte → 6-bit value, or [`INVALID`].
static URL_DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[URL_ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// How many bytes a canonical unpadded text of `chars` characters decodes to; `None` for
/// the impossible lengths (one character over a multiple of four).
fn decoded_len(chars: usize) -> Option<usize> {
    match chars % 4 {
        1 => None,
        rem => Some(chars / 4 * 3 + rem.saturating_sub(1)),
    }
}

/// Decodes canonical unpadded base64url `text` into `out`, which is exactly
/// `decoded_len(text.len())` bytes long. `None` on a byte outside the alphabet or
/// non-zero unused bits in the last character.
fn decode_url_exact(text: &[u8], out: &mut [u8]) -> Option<()> {
    let whole = text.len() / 8;
    for i in 0..whole {
        let mut n = 0u64;
        let mut seen = 0u8;
        for &c in &text[i * 8..i * 8 + 8] {
            let v = URL_DECODE[usize::from(c)];
            seen |= v;
            n = n << 6 | u64::from(v);
        }
        if seen & 0x80 != 0 {
            return None;
        }
        out[i * 6..i * 6 + 6].copy_from_slice(&n.to_be_bytes()[2..]);
    }
    // 0, 2..=7 characters left: at most 42 bits.
    let tail = &text[whole * 8..];
    let mut n = 0u64;
    let mut seen = 0u8;
    for &c in tail {
        let v = URL_DECODE[usize::from(c)];
        seen |= v;
        n = n << 6 | u64::from(v);
    }
    let unused = tail.len() * 6 % 8;
    if seen & 0x80 != 0 || n & ((1 << unused) - 1) != 0 {
        return None;
    }
    let n = n >> unused;
    let bytes = n.to_be_bytes();
    let bytes = bytes.get(8 - tail.len() * 6 / 8..)?;
    let rest = out.get_mut(whole * 6..)?;
    if rest.len() != bytes.len() {
        return None;
    }
    rest.copy_from_slice(bytes);
    Some(())
}

/// Cookie segment encoding: base64url without padding.
#[cfg(test)]
pub(crate) fn encode_segment(bytes: &[u8]) -> String {
    let mut out = String::with_capacity((bytes.len() * 4).div_ceil(3));
    encode_segment_into(bytes, &mut out);
    out
}

/// Appends the base64url form of `bytes` (no padding) to `out`.
pub(crate) fn encode_segment_into(bytes: &[u8], out: &mut String) {
    out.reserve((bytes.len() * 4).div_ceil(3));
    // 768 bytes → 1024 characters per round through a stack buffer; whole groups of
    // three except in the last round.
    let mut buf = [0u8; 1024];
    for chunk in bytes.chunks(768) {
        let mut used = 0;
        let mut groups = chunk.chunks_exact(3);
        for group in &mut groups {
            let n = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
            for (k, slot) in buf[used..used + 4].iter_mut().enumerate() {
                *slot = URL_ALPHABET[(n >> (18 - 6 * k) & 63) as usize];
            }
            used += 4;
        }
        let rest = groups.remainder();
        if !rest.is_empty() {
            let n = rest.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - rest.len()));
            for k in 0..=rest.len() {
                buf[used] = URL_ALPHABET[(n >> (18 - 6 * k) & 63) as usize];
                used += 1;
            }
        }
        // Alphabet characters only: always ASCII.
        if let Ok(text) = std::str::from_utf8(&buf[..used]) {
            out.push_str(text);
        }
    }
}

/// Decodes a cookie segment; `None` unless it is canonical base64url without padding.
#[cfg(test)]
pub(crate) fn decode_segment(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = vec![0u8; decoded_len(text.len())?];
    decode_url_exact(text, &mut out)?;
    Some(out)
}

/// Decodes a cookie segment into `out`, replacing what it held and keeping its
/// allocation; false (and `out` unspecified) unless the text is canonical.
pub(crate) fn decode_segment_reusing(text: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(len) = decoded_len(text.len()) else {
        return false;
    };
    out.clear();
    out.resize(len, 0);
    decode_url_exact(text, out).is_some()
}

/// Decodes a canonical cookie segment of at most `N` decoded bytes into a buffer.
///
/// Returns the buffer and how many bytes of it are used; `None` when the text is not
/// canonical or would decode to more than `N` bytes. Nothing is allocated.
pub(crate) fn decode_segment_small<const N: usize>(text: &[u8]) -> Option<([u8; N], usize)> {
    let used = decoded_len(text.len())?;
    let mut out = [0u8; N];
    decode_url_exact(text, out.get_mut(..used)?)?;
    Some((out, used))
}

/// The ` b` tag's encoding: standard base64 with padding.
pub(crate) fn encode_std_into(bytes: &[u8], out: &mut String) {
    TAG_BYTES.encode_string(bytes, out);
}

/// Decodes a ` b` tag value; `None` unless it is canonical padded standard base64.
pub(crate) fn decode_std(text: &str) -> Option<Vec<u8>> {
    TAG_BYTES.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip_without_padding() {
        assert_eq!(encode_segment(b"{\"a\":1}"), "eyJhIjoxfQ");
        assert_eq!(encode_segment(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode_segment(b"eyJhIjoxfQ").unwrap(), b"{\"a\":1}");
        assert_eq!(decode_segment(b"").unwrap(), b"");
    }

    #[test]
    fn non_canonical_segments_are_rejected() {
        // padding, standard alphabet, junk, trailing bits, impossible length
        for bad in [
            &b"eyJhIjoxfQ=="[..],
            b"+_8",
            b"-/8",
            b"eyJh!IjoxfQ",
            b"eyJh IjoxfQ",
            b"-_9",
            b"eyJhI",
            b"e",
            b"\xc3\xa9AA",
        ] {
            assert_eq!(
                decode_segment(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn small_segments_decode_without_allocating() {
        let (buf, used) = decode_segment_small::<8>(b"ZVPxAA").unwrap();
        assert_eq!(&buf[..used], &[0x65, 0x53, 0xf1, 0x00]);
        let (_, used) = decode_segment_small::<8>(b"").unwrap();
        assert_eq!(used, 0);
        // 8 bytes fit, 9 do not
        assert!(decode_segment_small::<8>(b"AQEBAQEBAQE").is_some());
        assert!(decode_segment_small::<8>(b"AQEBAQEBAQEB").is_none());
        let sig = encode_segment(&[7u8; 20]);
        assert_eq!(sig.len(), 27);
        let (buf, used) = decode_segment_small::<20>(sig.as_bytes()).unwrap();
        assert_eq!((buf, used), ([7u8; 20], 20));
        assert!(decode_segment_small::<20>(encode_segment(&[7u8; 21]).as_bytes()).is_none());
        assert!(decode_segment_small::<20>(b"AAAA=").is_none());
    }

    /// The base64 crate's canonical base64url engine: the reference for the hand code.
    const REFERENCE: GeneralPurpose = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(false),
    );

    fn agrees(text: &[u8]) {
        let want = REFERENCE.decode(text).ok();
        assert_eq!(decode_segment(text), want, "{text:?}");
        let small = decode_segment_small::<8>(text).map(|(buf, used)| buf[..used].to_vec());
        assert_eq!(small, want.clone().filter(|w| w.len() <= 8), "{text:?}");
        let mut reused = vec![1, 2, 3];
        let ok = decode_segment_reusing(text, &mut reused);
        assert_eq!(ok.then_some(reused), want, "{text:?}");
    }

    #[test]
    fn decoding_agrees_with_the_base64_crate_on_every_short_text() {
        // every text of up to three characters over the alphabet and its neighbours
        let mut symbols: Vec<u8> = URL_ALPHABET.to_vec();
        symbols.extend_from_slice(b"=+/. \0\x7f\x80\xc3\xff");
        agrees(b"");
        for &a in &symbols {
            agrees(&[a]);
            for &b in &symbols {
                agrees(&[a, b]);
                for &c in &symbols {
                    agrees(&[a, b, c]);
                }
            }
        }
    }

    #[test]
    fn decoding_agrees_with_the_base64_crate_on_random_texts() {
        let mut rng = crate::flask::XorShift::new(0x9E37_79B9_7F4A_7C15);
        let mut next = |m: u64| rng.below(m);
        for _ in 0..50_000 {
            let len = next(80) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next(256) as u8).collect();
            let mut text = REFERENCE.encode(&bytes).into_bytes();
            // sometimes one byte changed to anything (also a neighbour of the alphabet),
            // sometimes a character dropped or added
            match next(4) {
                0 if !text.is_empty() => {
                    let at = next(text.len() as u64) as usize;
                    text[at] = next(256) as u8;
                }
                1 if !text.is_empty() => {
                    text.pop();
                }
                2 => text.push(URL_ALPHABET[next(64) as usize]),
                _ => {}
            }
            agrees(&text);
        }
    }

    #[test]
    fn encoding_agrees_with_the_base64_crate() {
        let mut rng = crate::flask::XorShift::new(0x2545_F491_4F6C_DD1D);
        let mut next = || rng.below(256) as u8;
        for len in (0..1600).chain([2303, 2304, 2305, 4000]) {
            let bytes: Vec<u8> = (0..len).map(|_| next()).collect();
            let want = REFERENCE.encode(&bytes);
            assert_eq!(encode_segment(&bytes), want, "{len}");
            let mut out = String::from("x.");
            encode_segment_into(&bytes, &mut out);
            assert_eq!(out, format!("x.{want}"));
            assert_eq!(decode_segment(want.as_bytes()).unwrap(), bytes);
        }
    }

    #[test]
    fn tag_bytes_use_padded_standard_base64() {
        let mut out = String::new();
        encode_std_into(&[0x00, 0x01, 0xfe, 0xff], &mut out);
        assert_eq!(out, "AAH+/w==");
        assert_eq!(decode_std("AAH+/w==").unwrap(), [0, 1, 0xfe, 0xff]);
        assert_eq!(decode_std("").unwrap(), b"");
        // Flask's writer never omits padding, uses `-_` or leaves bits set.
        for bad in [
            "abc",
            "AAH+/w",
            "AAH-_w==",
            "AAH+/x==",
            "AA H+/w==",
            "AAH+/w===",
        ] {
            assert_eq!(decode_std(bad), None, "{bad}");
        }
    }
}
