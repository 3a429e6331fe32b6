//! flagon's integration tests: one binary, one module per area.

mod support;

mod login_example;
mod markers;
mod save_rules;
mod scenarios;
mod vectors;
#[cfg(feature = "memory")]
mod store_scenarios;
#[cfg(feature = "test-util")]
mod stores;
