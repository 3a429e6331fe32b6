//! The zlib rule of the payload segment (STUB).
use super::DecodeError;

/// JSON bytes → payload segment: `.` + b64url(zlib) when that saves ≥ 2 bytes, else b64url(json).
pub(crate) fn payload_segment(json: &[u8]) -> String {
    let _ = json;
    todo!()
}

/// Payload segment → JSON bytes, inflating at most `max_inflated` bytes.
pub(crate) fn decode_payload_segment(
    segment: &[u8],
    max_inflated: usize,
) -> Result<Vec<u8>, DecodeError> {
    let _ = (segment, max_inflated);
    todo!()
}
