//! flagon's integration tests: one binary, one module per area.

mod support;

#[cfg(feature = "actix")]
mod actix_scenarios;

#[cfg(all(feature = "flask-login", feature = "csrf", feature = "axum"))]
mod flask_login;
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
#[cfg(feature = "memory")]
mod store_scenarios;
#[cfg(feature = "test-util")]
mod stores;
mod tamper;
mod vectors;
