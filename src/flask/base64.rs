//! Strict, canonical base64 (STUB).
