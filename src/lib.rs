//! # flagon: Flask-style sessions for Rust web applications
//!
//! flagon gives axum and actix-web handlers the `session` object Flask users know: a
//! dict-like store that persists across requests in a cookie signed with your secret
//! key, or on the server in a store. The cookie is Flask's own format, byte for byte, so
//! a Rust service and a Flask app with the same `SECRET_KEY` share one login.
//!
//! Both frameworks get the same [`Session`] handle from the same engine: on axum, add
//! `flagon::axum::SessionLayer` to the `Router` (feature `axum`); on actix-web, wrap the
//! `App` in `flagon::actix::SessionMiddleware` (feature `actix`). Handlers then take
//! `session: Session` as an argument in either framework.
#![doc = include_str!("../docs/guide.md")]
#![doc = ""]
#![cfg_attr(feature = "axum", doc = "[porting]: crate::porting")]
#![cfg_attr(
    not(feature = "axum"),
    doc = "[porting]: https://docs.rs/flagon/latest/flagon/porting/index.html"
)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Without a framework adapter (codec-only builds such as the CLI) the engine has no
// caller; it is still compiled so those builds type-check it.
#![cfg_attr(
    not(any(feature = "axum", feature = "actix")),
    allow(dead_code, unused_imports)
)]

#[cfg(feature = "actix")]
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
pub mod actix;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
pub mod config;
mod cookie;
#[cfg(feature = "csrf")]
#[cfg_attr(docsrs, doc(cfg(feature = "csrf")))]
pub mod csrf;
mod engine;
pub mod error;
pub mod flask;
#[cfg(feature = "flask-login")]
#[cfg_attr(docsrs, doc(cfg(feature = "flask-login")))]
pub mod flask_login;
#[doc(hidden)]
pub mod fuzz_hooks;
pub mod id;
pub mod key;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod porting {
    //! A guide, not code: this module has no items.
    #![doc = include_str!("../docs/porting.md")]
}
pub mod registry;
mod scratch;
pub mod sealed;
mod session;
pub mod store;
pub mod telemetry;
pub mod value;
/// Moved to [`value`]: one module for session values and their serde conversions.
#[deprecated(note = "use `flagon::value::{to_value, from_value, ValueError}`")]
pub mod value_serde {
    pub use crate::value::{from_value, to_value, ValueError};
}

pub use config::{CookieMode, OversizePolicy, SameSite, SessionConfig};
pub use error::{ConfigError, SessionError};
pub use key::{Key, KeyRing};
pub use session::Session;
pub use value::{BigInt, Map, Value};

/// The README's Rust snippets, compiled as doctests so they stay true.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
