//! flagon's integration tests: one binary, one module per area.

mod support;

#[cfg(feature = "actix")]
mod actix_scenarios;

mod fuzz_regressions;
mod interop;
mod login_example;
mod markers;
mod proptests;
mod save_rules;
mod scenarios;
mod tamper;
mod vectors;
#[cfg(feature = "memory")]
mod store_scenarios;
#[cfg(feature = "test-util")]
mod stores;
