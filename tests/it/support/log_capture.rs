//! Every log of the test binary, at `trace`, into a file: the input of the log-leak scan
//! (`tests/log-leak/run`).
//!
//! With `FLAGON_LOG_CAPTURE=<path>` set, [`install`] makes a `tracing` subscriber that
//! writes every event and span field of every crate, `log` records included (the
//! PostgreSQL driver logs through `log`), the process-wide default. Without the variable
//! it does nothing. Tests that install their own scoped subscriber keep their events to
//! themselves (and check them themselves).

use std::fs::OpenOptions;
use std::sync::Mutex;

/// Installs the capturing subscriber when `FLAGON_LOG_CAPTURE` names a file; `true` when
/// it did.
pub(crate) fn install() -> bool {
    let Some(path) = std::env::var_os("FLAGON_LOG_CAPTURE").filter(|p| !p.is_empty()) else {
        return false;
    };
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.to_string_lossy()));
    let subscriber = tracing_subscriber::fmt()
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .with_thread_names(true)
        .with_target(true)
        .finish();
    // Another test may have made `log` forward already; either way records reach `tracing`.
    let _ = tracing_log::LogTracer::init();
    tracing::subscriber::set_global_default(subscriber)
        .expect("no other process-wide subscriber is installed before the first test");
    tracing::info!(target: "flagon_log_capture", "log capture installed");
    true
}
