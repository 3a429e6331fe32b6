//! Named to sort first, so that with `--test-threads=1` (as `tests/log-leak/run` runs the
//! suite) the capturing subscriber is in place before any other test logs.

#[test]
fn install() {
    let installed = crate::support::log_capture::install();
    // Nothing else in the suite makes a process-wide subscriber: one exists exactly when
    // `FLAGON_LOG_CAPTURE` asked for it.
    assert_eq!(installed, tracing::dispatcher::has_been_set());
    if installed {
        tracing::trace!(target: "flagon_log_capture", "trace events are captured");
    }
}
