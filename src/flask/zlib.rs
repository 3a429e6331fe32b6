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
use crate::scratch::{with_scratch, Scratch};

/// zlib's default level, which `zlib.compress` uses.
const LEVEL: u32 = 6;

/// JSON bytes → payload segment: `.` + b64url(zlib) when that saves ≥ 2 bytes, else
/// b64url(json). The string has `spare` bytes of capacity left for what follows.
#[cfg(test)]
pub(crate) fn payload_segment(json: &[u8], spare: usize) -> String {
    let mut out = String::with_capacity((json.len() * 4).div_ceil(3) + 1 + spare);
    payload_segment_into(json, &mut out);
    out
}

/// [`payload_segment`], appended to `out`.
pub(crate) fn payload_segment_into(json: &[u8], out: &mut String) {
    with_scratch(&DEFLATE, KEEP, |state| segment_into(state, json, out));
}

fn segment_into(state: &mut Deflate, json: &[u8], out: &mut String) {
    match compress_if_smaller(state, json) {
        Some(packed) => {
            out.push('.');
            base64::encode_segment_into(packed, out);
        }
        None => base64::encode_segment_into(json, out),
    }
}

thread_local! {
    /// One deflate state per thread, reset before each use: `deflateReset` keeps zlib's
    /// ~256 KiB of buffers, so a small cookie does not pay `deflateInit` every request.
    /// The output is the same bytes a fresh state gives. The output buffer is kept too.
    static DEFLATE: RefCell<Deflate> = const {
        RefCell::new(Deflate {
            zlib: None,
            packed: Vec::new(),
        })
    };
/// Likewise for inflating, with the buffers a decode reuses.
    static INFLATE: RefCell<Inflate> = const {
        RefCell::new(Inflate {
            zlib: None,
            packed: Vec::new(),
            json: Vec::new(),
        })
    };
}

/// A thread's reusable encoding state.
#[derive(Default)]
struct Deflate {
    zlib: Option<Compress>,
    /// Room for the compressed payload; zero-filled once, then only overwritten.
    packed: Vec<u8>,
}

/// A thread's reusable decoding state: saves a `malloc`/`free` pair per buffer per cookie.
#[derive(Default)]
struct Inflate {
    zlib: Option<Decompress>,
    /// The payload segment, base64-decoded.
    packed: Vec<u8>,
    /// The inflated JSON.
    json: Vec<u8>,
}

/// Buffers above this size are freed after use rather than kept for the next cookie.
const KEEP: usize = 64 * 1024;

impl Scratch for Deflate {
    /// `packed` is only resized, never shrunk: its length is what it holds.
    fn trim(&mut self, keep: usize) {
        if self.packed.len() > keep {
            self.packed = Vec::new();
        }
    }
}

impl Scratch for Inflate {
    fn trim(&mut self, keep: usize) {
        self.packed.trim(keep);
        self.json.trim(keep);
    }
}

/// `zlib.compress(raw)` when its output is at least two bytes shorter than `raw`.
///
/// zlib writes into a buffer of `raw.len() - 2` bytes: if the stream does not end within
/// it, the compressed form would not pay, and zlib stops early instead of finishing.
fn compress_if_smaller<'a>(state: &'a mut Deflate, raw: &[u8]) -> Option<&'a [u8]> {
    if cannot_pay(raw) {
        return None;
    }
    let room = raw.len().checked_sub(2)?;
    let z = state
        .zlib
        .get_or_insert_with(|| Compress::new(Compression::new(LEVEL), true));
    z.reset();
    if state.packed.len() < room {
        state.packed.resize(room, 0);
    }
    let out = &mut state.packed[..room];
    let status = z.compress(raw, out, FlushCompress::Finish).ok()?;
    let written = usize::try_from(z.total_out()).ok()?;
    (status == Status::StreamEnd && written <= room).then(|| &out[..written])
}

/// True when zlib at level 6 provably cannot make `raw` two bytes shorter, so calling it
/// can be skipped without changing a byte of output. `deflateReset` clears a 64 KiB hash
/// table, which is most of the cost of signing a small session.
///
/// The bound: when no 3-byte sequence occurs twice, deflate finds no match and emits only
/// literals, in one block (zlib ends a block at 16 Ki symbols; we stop at 1 KiB). That
/// block is stored (at least `n + 5` bytes), fixed Huffman (3 header bits, 8 or 9 bits per
/// literal, 7 for end-of-block) or dynamic (at least 29 header bits, `n·H` bits of
/// literals where `H` is the bytes' empirical entropy, since no prefix code beats it, and
/// 1 bit of end-of-block). zlib adds a 2-byte header and a 4-byte Adler-32.
fn cannot_pay(raw: &[u8]) -> bool {
    let n = raw.len();
    if n == 0 {
        return true;
    }
    if n > 1024 || may_repeat_a_trigram(raw) {
        return false;
    }
    let mut counts = [0u32; 256];
    let mut fixed_bits: usize = 3 + 7;
    for &byte in raw {
        counts[usize::from(byte)] += 1;
        fixed_bits += if byte < 144 { 8 } else { 9 };
    }
    let total = n as f64;
    let repeats: f64 = counts
        .iter()
        .filter(|&&c| c > 1)
        .map(|&c| f64::from(c) * f64::from(c).log2())
        .sum();
    // n·H, less a margin for floating-point error: the bound must stay a lower bound.
    let literal_bits = (total * total.log2() - repeats - 1e-6 * total).max(0.0);
    let dynamic_bytes = ((29.0 + literal_bits + 1.0) / 8.0).ceil() as usize;
    let least = 6 + dynamic_bytes.min(fixed_bits.div_ceil(8)).min(n + 5);
    least + 2 > n
}

/// Might some 3-byte sequence occur twice? A hashed bitset: a collision only answers
/// "maybe", which sends the input to zlib, so it never changes the output.
fn may_repeat_a_trigram(raw: &[u8]) -> bool {
    let mut seen = [0u64; 64];
    for w in raw.windows(3) {
        let h = (u32::from(w[0]) << 16 | u32::from(w[1]) << 8 | u32::from(w[2]))
            .wrapping_mul(0x9E37_79B1)
            >> 20;
        let (word, bit) = ((h >> 6) as usize, 1u64 << (h & 63));
        if seen[word] & bit != 0 {
            return true;
        }
        seen[word] |= bit;
    }
    false
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

/// Payload segment → JSON bytes, inflating at most `max_inflated` bytes (tests only).
#[cfg(test)]
pub(crate) fn decode_payload_segment(
    segment: &[u8],
    max_inflated: usize,
) -> Result<Vec<u8>, DecodeError> {
    with_payload_json(segment, max_inflated, |json| Ok(json.to_vec()))
}

/// Payload segment → JSON bytes, inflating at most `max_inflated` bytes, handed to `read`.
///
/// The bytes live in this thread's reusable buffers, so `read` must not decode another
/// payload (if it did, that one would run on fresh buffers: correct, only slower).
pub(crate) fn with_payload_json<T>(
    segment: &[u8],
    max_inflated: usize,
    read: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    with_scratch(&INFLATE, KEEP, |scratch| {
        decode_with(scratch, segment, max_inflated, read)
    })
}

fn decode_with<T>(
    scratch: &mut Inflate,
    segment: &[u8],
    max_inflated: usize,
    read: impl FnOnce(&[u8]) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let (body, compressed) = match segment.strip_prefix(b".") {
        None => (segment, false),
        Some([]) => {
            return Err(DecodeError::Payload(
                "compression flag set but the payload is empty",
            ))
        }
        Some(body) => (body, true),
    };
    if !base64::decode_segment_reusing(body, &mut scratch.packed) {
        return Err(DecodeError::Payload(if compressed {
            "compressed payload is not canonical base64url"
        } else {
            "payload is not canonical base64url"
        }));
    }
    if !compressed {
        return read(&scratch.packed);
    }
    let z = scratch.zlib.get_or_insert_with(|| Decompress::new(true));
    z.reset(true);
    let mut json = std::mem::take(&mut scratch.json);
    json.clear();
    if json.capacity() > max_inflated.saturating_add(1) {
        // Kept from a call with a larger cap: never inflate past this call's cap.
        json = Vec::new();
    }
    let got = inflate_into(z, &scratch.packed, max_inflated, &mut json).and_then(|()| read(&json));
    scratch.json = json;
    got
}

/// Inflates one complete zlib stream of at most `cap` bytes with nothing after it.
#[cfg(test)]
fn inflate(packed: &[u8], cap: usize) -> Result<Vec<u8>, DecodeError> {
    let mut z = Decompress::new(true);
    let mut out = Vec::new();
    inflate_into(&mut z, packed, cap, &mut out)?;
    Ok(out)
}

/// Inflates `packed` into `out` (empty, capacity at most `cap + 1`) with a freshly reset
/// state.
fn inflate_into(
    z: &mut Decompress,
    packed: &[u8],
    cap: usize,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    // Grow as needed, never past cap + 1 (one byte over proves the cap was exceeded).
    let limit = cap.saturating_add(1);
    let want = limit.min(packed.len().saturating_mul(4).max(256));
    out.reserve_exact(want);
    loop {
        let consumed = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let input = packed.get(consumed..).unwrap_or_default();
        let before = (z.total_in(), z.total_out());
        let status = z
            .decompress_vec(input, out, FlushDecompress::None)
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut never skips an input zlib would have made two bytes shorter.
    #[test]
    fn skipping_zlib_never_changes_the_output() {
        let mut rng = crate::flask::XorShift::new(0x2545_F491_4F6C_DD1D);
        let mut next = |m: u64| rng.below(m);
        let mut skipped = 0;
        for round in 0..60_000u64 {
            let len = next(120) as usize;
            let alphabet = 1 + next([2, 4, 8, 16, 64, 95, 256][(round % 7) as usize]);
            let base = if alphabet == 256 { 0 } else { 32 };
            let raw: Vec<u8> = (0..len).map(|_| (base + next(alphabet)) as u8).collect();
            if cannot_pay(&raw) {
                skipped += 1;
                let packed = compress(&raw).unwrap();
                assert!(
                    packed.len() + 1 >= raw.len(),
                    "{raw:?} compresses to {}",
                    packed.len()
                );
            }
        }
        assert!(
            skipped > 5_000,
            "the shortcut should apply to many short inputs: {skipped}"
        );
        assert!(cannot_pay(br#"{"logged_in":true}"#));
        assert!(cannot_pay(br#"{"n":1}"#));
    }

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
            payload_segment(saves_2, 0),
            ".eJyrVipWslJKT8wrKykoKcovSs_KykqtzExKzCnISFRAIpVqAWC0ECU"
        );
        let saves_1 = br#"{"s":"ucwolgpfqhqiaoewhbtyfhmdbeta alpha alpha beta"}"#;
        assert_eq!(compress(saves_1).unwrap().len(), 52);
        assert_eq!(payload_segment(saves_1, 0), base64::encode_segment(saves_1));
        assert_eq!(
            payload_segment(br#"{"logged_in":true}"#, 0),
            "eyJsb2dnZWRfaW4iOnRydWV9"
        );
    }

    #[test]
    fn reads_both_forms_and_any_level() {
        let json = br#"{"data":"xyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyzxyz"}"#;
        let seg = payload_segment(json, 0);
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

    /// Deflate must be the stock zlib compiled into the crate, never a host library
    /// (which may be zlib-ng, whose output differs from Flask's byte for byte).
    #[cfg(target_os = "linux")]
    #[test]
    fn zlib_is_compiled_in_not_a_host_library() {
        let _ = zlib_at(b"{}", 6); // make sure zlib is in use
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let libz: Vec<&str> = maps.lines().filter(|l| l.contains("libz.so")).collect();
        assert!(libz.is_empty(), "a host libz is mapped: {libz:?}");
    }
}
