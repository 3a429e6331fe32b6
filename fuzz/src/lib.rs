//! Shared code of flagon's fuzz targets: the oracles (also replayed by
//! `tests/it/fuzz_regressions.rs`) and the session generator of `tagged_roundtrip`.
//! `header`, `set_cookie`, `store_record` and `id` hold the oracles of the targets that
//! reach crate-private code through `flagon::fuzz_hooks`.

pub mod gen;
pub mod header;
pub mod id;
pub mod oracle;
pub mod set_cookie;
pub mod store_record;
