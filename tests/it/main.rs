//! flagon's integration tests: one binary, one module per area.

mod support;

mod login_example;
mod save_rules;
mod scenarios;
#[cfg(feature = "test-util")]
mod stores;
