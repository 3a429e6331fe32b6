//! # flagon: Flask-style sessions for Rust web applications
//!
//! flagon gives axum handlers the `session` object Flask users know: a dict-like store
//! that persists across requests in a cookie signed with your secret key, or on the
//! server in a store. The cookie is Flask's own format, byte for byte, so a Rust service
//! and a Flask app with the same `SECRET_KEY` share one login.
#![doc = include_str!("../docs/guide.md")]
// Without a framework adapter (codec-only builds such as the CLI) the engine has no
// caller; it is still compiled so those builds type-check it.
#![cfg_attr(
    not(any(feature = "axum", feature = "actix")),
    allow(dead_code, unused_imports)
)]

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;
pub mod config;
mod cookie;
#[cfg(feature = "csrf")]
pub mod csrf;
mod engine;
pub mod error;
pub mod flask;
#[cfg(feature = "flask-login")]
pub mod flask_login;
pub mod id;
pub mod key;
pub mod registry;
mod scratch;
pub mod sealed;
mod session;
pub mod store;
pub mod telemetry;
pub mod value;
pub mod value_serde;

pub use config::{CookieMode, OversizePolicy, SameSite, SessionConfig};
pub use error::{ConfigError, SessionError};
pub use key::{Key, KeyRing};
pub use session::Session;
pub use value::{BigInt, Map, Value};
