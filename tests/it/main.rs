//! flagon's integration tests: one binary, one module per area.

mod support;

mod a_log_capture;

#[cfg(feature = "actix")]
mod actix_scenarios;
#[cfg(feature = "memory")]
mod browser;
mod debug_output;

#[cfg(all(feature = "redis", feature = "postgres", feature = "test-util"))]
mod faults;
#[cfg(feature = "axum")]
mod flask_diff;
#[cfg(all(feature = "flask-login", feature = "csrf", feature = "axum"))]
mod flask_login;
#[cfg(all(feature = "flask-login", feature = "csrf", feature = "axum"))]
mod flask_seam;
#[cfg(all(feature = "flask-session", feature = "axum"))]
mod flask_session;
mod fuzz_hooks;
mod fuzz_regressions;
mod interop;
mod login_example;
mod markers;
#[cfg(all(feature = "metrics", feature = "memory"))]
mod metrics;
#[cfg(feature = "redis")]
mod outage;
#[cfg(all(
    feature = "memory",
    feature = "sqlite",
    feature = "redis",
    feature = "postgres",
    feature = "test-util"
))]
mod promises;
mod proptests;
#[cfg(all(feature = "memory", feature = "sqlite", feature = "test-util"))]
mod registry;
mod save_rules;
mod scenarios;
mod sealed;
#[cfg(all(
    feature = "memory",
    feature = "sqlite",
    feature = "redis",
    feature = "postgres"
))]
mod soak;
#[cfg(feature = "memory")]
mod store_scenarios;
#[cfg(feature = "test-util")]
mod stores;
mod tamper;
mod vectors;
