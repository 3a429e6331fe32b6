//! Shared helpers for the integration tests.

pub(crate) mod app;
#[cfg(all(feature = "redis", feature = "postgres"))]
pub(crate) mod fault_proxy;
pub(crate) mod flask_peer;
pub(crate) mod http;
pub(crate) mod log_capture;
pub(crate) mod logs;
#[cfg(feature = "redis")]
pub(crate) mod redis_cluster;
#[cfg(feature = "redis")]
pub(crate) mod redis_server;
pub(crate) mod webdriver;
