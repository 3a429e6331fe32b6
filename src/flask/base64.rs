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

/// base64url, no padding, canonical decoding only.
const SEGMENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Standard alphabet with `=` padding, canonical decoding only.
const TAG_BYTES: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(false),
);

/// Cookie segment encoding: base64url without padding.
pub(crate) fn encode_segment(bytes: &[u8]) -> String {
    SEGMENT.encode(bytes)
}

/// Appends the base64url form of `bytes` to `out`.
pub(crate) fn encode_segment_into(bytes: &[u8], out: &mut String) {
    SEGMENT.encode_string(bytes, out);
}

/// Decodes a cookie segment; `None` unless it is canonical base64url without padding.
pub(crate) fn decode_segment(text: &[u8]) -> Option<Vec<u8>> {
    SEGMENT.decode(text).ok()
}

/// Decodes a canonical cookie segment of at most `N` decoded bytes into a buffer.
///
/// Returns the buffer and how many bytes of it are used; `None` when the text is not
/// canonical or would decode to more than `N` bytes. Nothing is allocated.
pub(crate) fn decode_segment_small<const N: usize>(text: &[u8]) -> Option<([u8; N], usize)> {
    // Canonical unpadded base64 of n bytes is ceil(4n/3) characters.
    if text.len() > (N * 4).div_ceil(3) {
        return None;
    }
    // `decode_slice` wants room for its rounded-up estimate, so decode into a bigger
    // scratch buffer and copy.
    let mut scratch = [0u8; 64];
    let scratch = scratch.get_mut(..N + 3)?;
    let used = SEGMENT.decode_slice(text, scratch).ok()?;
    if used > N {
        return None;
    }
    let mut out = [0u8; N];
    out[..used].copy_from_slice(&scratch[..used]);
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
