//! Shared helpers for the integration tests.

pub(crate) mod app;
pub(crate) mod flask_peer;
pub(crate) mod http;
pub(crate) mod logs;
#[cfg(feature = "redis")]
pub(crate) mod redis_cluster;
#[cfg(feature = "redis")]
pub(crate) mod redis_server;
pub(crate) mod webdriver;
