//! The payload segment: JSON, zlib-compressed when that pays, in base64url.
//!
//! Writing runs real zlib (through flate2's `zlib` backend) at level 6 with the whole
//! input in one call, as Python's `zlib.compress` does, so compressed cookies are the
//! same bytes Flask writes. The compressed form is used only when it is at least two
//! bytes shorter than the JSON (`len(packed) < len(raw) - 1`).
//!
//! Reading is stricter than Python: the inflated size is capped while streaming (nothing
//! beyond the cap is ever allocated), bytes after the end of the zlib stream are an
//! error (DV2), and so are a truncated stream, a bad Adler-32, raw deflate, gzip and an
//! empty segment after the compression dot.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use super::{base64, DecodeError};

/// zlib's default level, which `zlib.compress` uses.
const LEVEL: u32 = 6;

/// JSON bytes → payload segment: `.` + b64url(zlib) when that saves ≥ 2 bytes, else b64url(json).
pub(crate) fn payload_segment(json: &[u8]) -> String {
    match compress_if_smaller(json) {
        Some(packed) => {
            let mut out = String::with_capacity(1 + packed.len().div_ceil(3) * 4);
            out.push('.');
            base64::encode_segment_into(&packed, &mut out);
            out
        }
        None => base64::encode_segment(json),
    }
}

thread_local! {
    /// One deflate state per thread, reset before each use: `deflateReset` keeps zlib's
    /// ~256 KiB of buffers, so a small cookie does not pay `deflateInit` every request.
    /// The output is the same bytes a fresh state gives.
    static DEFLATE: RefCell<Option<Compress>> = const { RefCell::new(None) };
    /// Likewise for inflating.
    static INFLATE: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// `zlib.compress(raw)` when its output is at least two bytes shorter than `raw`.
///
/// zlib writes into a buffer of `raw.len() - 2` bytes: if the stream does not end within
/// it, the compressed form would not pay, and zlib stops early instead of finishing.
fn compress_if_smaller(raw: &[u8]) -> Option<Vec<u8>> {
    let room = raw.len().checked_sub(2)?;
    DEFLATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let z = slot.get_or_insert_with(|| Compress::new(Compression::new(LEVEL), true));
        z.reset();
        let mut out = Vec::with_capacity(room);
        let status = z.compress_vec(raw, &mut out, FlushCompress::Finish).ok()?;
        (status == Status::StreamEnd && out.len() <= room).then_some(out)
    })
}

/// `zlib.compress(raw)`: one deflate call with all input and `Z_FINISH` (tests only).
#[cfg(test)]
fn compress(raw: &[u8]) -> Option<Vec<u8>> {
    let mut z = Compress::new(Compression::new(LEVEL), true);
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 1000 + 64);
    loop {
        let consumed = usize::try_from(z.total_in()).ok()?;
        let status = z
            .compress_vec(&raw[consumed..], &mut out, FlushCompress::Finish)
            .ok()?;
        match status {
            Status::StreamEnd => return Some(out),
            Status::Ok | Status::BufError => out.reserve(out.capacity().max(64)),
        }
    }
}

/// Payload segment → JSON bytes, inflating at most `max_inflated` bytes.
pub(crate) fn decode_payload_segment(
    segment: &[u8],
    max_inflated: usize,
) -> Result<Vec<u8>, DecodeError> {
    match segment.strip_prefix(b".") {
        None => base64::decode_segment(segment)
            .ok_or(DecodeError::Payload("payload is not canonical base64url")),
        Some([]) => Err(DecodeError::Payload(
            "compression flag set but the payload is empty",
        )),
        Some(body) => {
            let packed = base64::decode_segment(body).ok_or(DecodeError::Payload(
                "compressed payload is not canonical base64url",
            ))?;
            inflate(&packed, max_inflated)
        }
    }
}

/// Inflates one complete zlib stream of at most `cap` bytes with nothing after it.
fn inflate(packed: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    INFLATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let z = slot.get_or_insert_with(|| Decompress::new(true));
        z.reset(true);
        inflate_with(z, packed, cap)
    })
}

fn inflate_with(z: &mut Decompress, packed: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    // Grow as needed, never past cap + 1 (one byte over proves the cap was exceeded).
    let limit = cap.saturating_add(1);
    let mut out = Vec::with_capacity(limit.min(packed.len().saturating_mul(4).max(256)));
    loop {
        let consumed = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let input = packed.get(consumed..).unwrap_or_default();
        let before = (z.total_in(), z.total_out());
        let status = z
            .decompress_vec(input, &mut out, FlushDecompress::None)
            .map_err(|_| DecodeError::Payload("compressed payload is not a valid zlib stream"))?;
        if out.len() > cap {
            return Err(DecodeError::Payload(
                "compressed payload inflates beyond the configured limit",
            ));
        }
        match status {
            Status::StreamEnd => break,
            _ if out.len() == out.capacity() => {
                let grow = out.capacity().max(256).min(limit - out.len());
                out.reserve_exact(grow);
            }
            _ if before == (z.total_in(), z.total_out()) => {
                return Err(DecodeError::Payload("compressed payload is truncated"));
            }
            _ => {}
        }
    }
    if usize::try_from(z.total_in()).ok() != Some(packed.len()) {
        return Err(DecodeError::Payload(
            "bytes after the end of the compressed payload",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: usize = 1 << 20;

    fn zlib_at(raw: &[u8], level: u32) -> Vec<u8> {
        let mut z = Compress::new(Compression::new(level), true);
        let mut out = Vec::with_capacity(raw.len() + 64);
        z.compress_vec(raw, &mut out, FlushCompress::Finish)
            .unwrap();
        out
    }

    fn dotted(packed: &[u8]) -> Vec<u8> {
        format!(".{}", base64::encode_segment(packed)).into_bytes()
    }

    #[test]
    fn compression_boundary_rows() {
        let saves_2 = br#"{"s":"ganvtptrorgjjjeyibalpha alpha alpha"}"#;
        assert_eq!(
            payload_segment(saves_2),
            ".eJyrVipWslJKT8wrKykoKcovSs_KykqtzExKzCnISFRAIpVqAWC0ECU"
        );
        let saves_1 = br#"{"s":"ucwolgpfqhqiaoewhbtyfhmdbeta alpha alpha beta"}"#;
        assert_eq!(compress(saves_1).unwrap().len(), 52);
        assert_eq!(payload_segment(saves_1), base64::encode_segment(saves_1));
        assert_eq!(
            payload_segment(br#"{"logged_in":true}"#),
            "eyJsb2dnZWRfaW4iOnRydWV9"
        );
    }

    #[test]
    fn reads_both_forms_and_any_level() {
        let json = br#"{"data":"xyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyz"}"#;
        let seg = payload_segment(json);
        assert!(seg.starts_with(".eJ"));
        assert_eq!(decode_payload_segment(seg.as_bytes(), 1024).unwrap(), json);
        let plain = base64::encode_segment(json);
        assert_eq!(decode_payload_segment(plain.as_bytes(), 0).unwrap(), json);
        for level in [0, 1, 9] {
            let seg = dotted(&zlib_at(json, level));
            assert_eq!(decode_payload_segment(&seg, 1024).unwrap(), json);
        }
        // compressed although it grew (D4)
        let seg = dotted(&zlib_at(b"{}", 6));
        assert_eq!(decode_payload_segment(&seg, 2).unwrap(), b"{}");
    }

    #[test]
    fn inflate_stops_at_the_cap() {
        let bomb = zlib_at(&vec![b'a'; 4 * MB], 9);
        assert!(bomb.len() < 8 * 1024, "{}", bomb.len());
        let err = decode_payload_segment(&dotted(&bomb), 256 * 1024).unwrap_err();
        assert!(matches!(err, DecodeError::Payload(m) if m.contains("limit")));
        let exact = zlib_at(&[b'a'; 1000], 6);
        assert!(inflate(&exact, 1000).is_ok());
        assert!(inflate(&exact, 999).is_err());
        assert!(inflate(&zlib_at(b"", 6), 0).unwrap().is_empty());
    }

    #[test]
    fn broken_streams_are_rejected() {
        let json = br#"{"a":"qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"}"#;
        let good = zlib_at(json, 6);
        let mut trailing = good.clone();
        trailing.extend_from_slice(b"JUNK");
        let mut bad_adler = good.clone();
        *bad_adler.last_mut().unwrap() ^= 1;
        let truncated = &good[..good.len() - 1];
        let raw_deflate = &good[2..good.len() - 4];
        let mut gzip = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        gzip.extend_from_slice(raw_deflate);
        for (name, packed) in [
            ("trailing", &trailing[..]),
            ("adler", &bad_adler[..]),
            ("truncated", truncated),
            ("raw", raw_deflate),
            ("gzip", &gzip[..]),
            ("header only", &good[..2]),
            ("json", &json[..]),
        ] {
            assert!(inflate(packed, MB).is_err(), "{name}");
        }
        assert!(decode_payload_segment(b".", MB).is_err());
        assert!(decode_payload_segment(b".eyJhIjoxfQ", MB).is_err());
        assert!(decode_payload_segment(b"eyJhIjoxfQ=", MB).is_err());
    }
}
