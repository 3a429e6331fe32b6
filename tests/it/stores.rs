//! Every server-side store against the conformance suite, with real servers, plus the
//! store-level fault tests: SQLite killed mid-write, Redis killed and restarted.
//!
//! Run all of them with
//! `cargo test --features memory,sqlite,redis,postgres,test-util --test it stores -- --nocapture`.
//! Redis (127.0.0.1:6379) and PostgreSQL (postgres://postgres@127.0.0.1:5432/test) must be
//! running; without them those tests skip loudly, or fail when `CI` is set.

#[cfg(all(
    feature = "memory",
    feature = "sqlite",
    feature = "redis",
    feature = "postgres"
))]
mod any;
#[cfg(feature = "memory")]
mod memory;
#[cfg(any(feature = "redis", feature = "postgres"))]
pub(crate) mod outage;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_registry;
#[cfg(feature = "sqlite")]
mod sqlite;

use flagon::store::conformance::{RegistryReport, Report};

/// Prints the registry race's numbers, then asserts no revoked session came back.
pub(crate) fn check_registry_report(store: &str, report: &RegistryReport) {
    eprintln!(
        "[{store}] registry: revoked sessions revived: {} with {} writes in flight",
        report.revived, report.writes_in_flight
    );
    assert_eq!(report.writes_in_flight, 1000);
    assert_eq!(report.revived, 0, "{store}: a revoked session came back");
}

/// Prints the measured numbers so they can be quoted, then asserts the goals.
pub(crate) fn check_report(store: &str, report: &Report) {
    eprintln!(
        "[{store}] keys lost: {} of {}; resurrections: {} of {} purge races; \
         old key alive: {} of {} renew races",
        report.keys_lost,
        report.keys_written,
        report.resurrections,
        report.purge_races,
        report.old_key_alive,
        report.renew_races,
    );
    assert_eq!(report.keys_written, 16_000);
    assert_eq!(report.keys_lost, 0, "{store}: concurrent writes were lost");
    assert_eq!(
        report.resurrections, 0,
        "{store}: a purged session came back"
    );
    assert_eq!(
        report.old_key_alive, 0,
        "{store}: a renewed-away key stayed alive"
    );
}

/// Skips a test whose outside service is missing, or fails it under CI.
pub(crate) fn skip_or_fail(what: &str, why: &dyn std::fmt::Display) {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required under CI but unavailable: {why}");
    }
    eprintln!("SKIPPED: {what} unavailable ({why}); set CI=1 to make this a failure");
}

/// A name unique to this test run, for key prefixes, tables and files.
pub(crate) fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("t{}_{}", std::process::id(), nanos)
}
