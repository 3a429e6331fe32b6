//! Named to sort first, so that with `--test-threads=1` (as `tests/log-leak/run` runs the
//! suite) the capturing subscriber is in place before any other test logs.

#[test]
fn install() {
    let installed = crate::support::log_capture::install();
    // When `FLAGON_LOG_CAPTURE` asked for it, a process-wide subscriber is in place. (The
    // converse cannot be checked: `has_been_set` is also true once any test has used a
    // thread-scoped subscriber.)
    if installed {
        assert!(tracing::dispatcher::has_been_set());
    }
    if installed {
        tracing::trace!(target: "flagon_log_capture", "trace events are captured");
    }
}
