//! Python-compatible JSON reading and writing (STUB).
