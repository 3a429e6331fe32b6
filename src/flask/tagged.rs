//! Flask's tagged JSON (STUB).
use super::DecodeError;
use crate::value::Map;

/// Session → tagged JSON text.
pub(crate) fn to_json(session: &Map) -> String {
    let _ = session;
    todo!()
}

/// Tagged JSON text → session (object top level only).
pub(crate) fn from_json(text: &[u8], max_depth: usize) -> Result<Map, DecodeError> {
    let _ = (text, max_depth);
    todo!()
}
