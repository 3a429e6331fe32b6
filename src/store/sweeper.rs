//! A background task that removes expired sessions and survives store errors.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::SessionStore;

/// Longest wait between attempts while the store keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Spawns a task that calls [`SessionStore::sweep`] every `every`, until the returned
/// handle is aborted (or the runtime stops).
///
/// Correctness never depends on it: stores check expiry on every read. A failed sweep is
/// logged at `warn` and retried with a doubling wait (at most five minutes, never less
/// than `every`); the task never ends because of an error, and resumes normal sweeping as
/// soon as the store answers again. Several processes may sweep the same store at once.
pub fn spawn_sweeper<S: SessionStore>(
    store: Arc<S>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = every.max(Duration::from_millis(10));
        let mut wait = every;
        let mut failures: u32 = 0;
        loop {
            tokio::time::sleep(wait).await;
            match store.sweep(unix_now()).await {
                Ok(removed) => {
                    if failures > 0 {
                        tracing::info!(failures, "session sweeper: store answers again");
                    }
                    tracing::debug!(removed, "session sweeper removed expired sessions");
                    failures = 0;
                    wait = every;
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    wait = (wait * 2).min(MAX_BACKOFF.max(every));
                    tracing::warn!(failures, ?wait, error = %error, "session sweep failed; will retry");
                }
            }
        }
    })
}

/// The current time in UTC Unix seconds.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
