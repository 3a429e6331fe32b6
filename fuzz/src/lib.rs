//! Shared code of flagon's fuzz targets: the oracles (also replayed by
//! `tests/it/fuzz_regressions.rs`) and the session generator of `tagged_roundtrip`.

pub mod gen;
pub mod oracle;
