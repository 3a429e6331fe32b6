//! The Rust half of a site that is moving from Flask to Rust one route at a time.
//!
//! ```text
//! SECRET_KEY=change-me PORT=5000 .venv/bin/python examples/flask_seam/app.py
//! SECRET_KEY=change-me PORT=3000 cargo run --example flask_seam --features flask-login,csrf
//! ```
//!
//! examples/flask_seam/app.py is the Flask half (Flask-Login, Flask-WTF's `CSRFProtect`,
//! optionally Flask-Session). With the same `SECRET_KEY` both halves read and write one
//! session: log in on either and both know the user, log out on either and both forget,
//! and a form rendered by either can be posted to the other. Browsers keep cookies per
//! host, not per port, so two ports on 127.0.0.1 behave like two routes of one site.
//!
//! Routes, all plain text unless noted:
//!
//! - `GET /rust/me`: the Flask-Login user id as the whole body, or 401;
//! - `POST /rust/login`: fields `username`, `csrf_token` and optional `remember`; logs
//!   the user in as Flask-Login's `login_user(user, remember=...)` does (fresh),
//!   `Logged in as USERNAME`; 400 on a missing, invalid or expired CSRF token;
//! - `GET /rust/logout`: `logout_user()`, `Logged out`;
//! - `GET /rust/form`: an HTML form whose hidden `csrf_token` holds a fresh
//!   Flask-WTF-compatible token;
//! - `POST /rust/submit`: `ok` for a valid token (form field or `X-CSRFToken` header),
//!   else 400.
//!
//! Settings, from the environment, named as the Flask half's:
//!
//! - `SECRET_KEY`: Flask's `SECRET_KEY`, required;
//! - `PORT`: the port on 127.0.0.1 (default 3000);
//! - `SESSION_STORE`: `cookie` (default), Flask's signed cookie session; or
//!   `flask-session+redis://HOST:PORT`, Flask-Session's records on that Redis, with
//!   `SESSION_KEY_PREFIX` (default `session:`) and `SESSION_USE_SIGNER` (default `false`)
//!   as Flask-Session's settings. That store needs the cargo feature `flask-session`
//!   (see [`flask_session_layer`]).

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use flagon::axum::SessionLayer;
use flagon::csrf::axum::{CsrfLayer, CsrfToken};
use flagon::csrf::CsrfConfig;
use flagon::flask_login::axum::{Login, LoginLayer};
use flagon::flask_login::{CurrentUser, LoginConfig, LoginOptions};
use flagon::{ConfigError, Key, SessionConfig};
use serde::Deserialize;

/// Where sessions live: `SESSION_STORE` and the settings that go with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Store {
    /// Flask's signed cookie session (`SESSION_STORE=cookie`, the default).
    Cookie,
    /// Flask-Session 0.8's Redis records (`SESSION_STORE=flask-session+redis://HOST:PORT`).
    FlaskSessionRedis {
        /// `redis://HOST:PORT`: the part after `flask-session+`.
        url: String,
        /// `SESSION_KEY_PREFIX` (default `session:`).
        key_prefix: String,
        /// `SESSION_USE_SIGNER` (default `false`).
        use_signer: bool,
    },
}

impl Store {
    /// Reads `SESSION_STORE`, `SESSION_KEY_PREFIX` and `SESSION_USE_SIGNER` through `env`
    /// (a lookup, so tests need not touch the process environment).
    ///
    /// # Errors
    /// A message naming the variable and the accepted values.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Store, String> {
        let spec = env("SESSION_STORE").unwrap_or_else(|| "cookie".to_owned());
        if spec == "cookie" {
            return Ok(Store::Cookie);
        }
        let Some(url) = spec
            .strip_prefix("flask-session+")
            .filter(|url| url.starts_with("redis://"))
        else {
            return Err(format!(
                "SESSION_STORE must be `cookie` or `flask-session+redis://HOST:PORT`, got {spec:?}"
            ));
        };
        let use_signer = match env("SESSION_USE_SIGNER") {
            None => false,
            Some(value) => parse_bool(&value).ok_or_else(|| {
                format!("SESSION_USE_SIGNER must be true or false, got {value:?}")
            })?,
        };
        Ok(Store::FlaskSessionRedis {
            url: url.to_owned(),
            key_prefix: env("SESSION_KEY_PREFIX").unwrap_or_else(|| "session:".to_owned()),
            use_signer,
        })
    }
}

/// `true`/`false` as the Flask half reads them (`1`/`0`, `yes`/`no`, `on`/`off` too).
fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "" | "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The session layer for `store`, with Flask's cookie settings (`SessionConfig::flask`)
/// so both halves write the same `session` cookie.
///
/// # Errors
/// A message when the store cannot be used (see [`flask_session_layer`]).
pub async fn session_layer(
    key: &Key,
    store: &Store,
) -> Result<SessionLayer, Box<dyn std::error::Error>> {
    let config = SessionConfig::flask(key.clone());
    match store {
        Store::Cookie => Ok(SessionLayer::new(config)?),
        Store::FlaskSessionRedis {
            url,
            key_prefix,
            use_signer,
        } => flask_session_layer(config, url, key_prefix, *use_signer).await,
    }
}

/// **The Flask-Session seam.** Sessions in Flask-Session's Redis records, through
/// `flagon::store::flask_session::FlaskSessionRedisStore` (cargo feature
/// `flask-session`). A build without that feature refuses to start in this mode rather
/// than silently falling back to cookies (the two halves would then not share sessions).
async fn flask_session_layer(
    config: SessionConfig,
    url: &str,
    key_prefix: &str,
    use_signer: bool,
) -> Result<SessionLayer, Box<dyn std::error::Error>> {
    #[cfg(feature = "flask-session")]
    {
        use flagon::store::flask_session::{FlaskSessionOptions, FlaskSessionRedisStore};
        let options = FlaskSessionOptions::default()
            .key_prefix(key_prefix)
            .use_signer(use_signer);
        let store = FlaskSessionRedisStore::connect_with(url, options).await?;
        Ok(SessionLayer::new(config)?.with_store(store))
    }
    #[cfg(not(feature = "flask-session"))]
    {
        let _ = (config, key_prefix, use_signer);
        Err(format!(
            "SESSION_STORE=flask-session+{url}: this build of flagon is not built with feature \
             flask-session (Flask-Session's Redis store); add `--features flask-session`"
        )
        .into())
    }
}

/// Flask-Login's and Flask-WTF's settings with their defaults, under `key`.
pub fn login_and_csrf(key: &Key) -> (LoginConfig, CsrfConfig) {
    (LoginConfig::new(key.clone()), CsrfConfig::new(key.clone()))
}

#[derive(Deserialize)]
struct LoginForm {
    username: Option<String>,
    remember: Option<String>,
}

/// `GET /rust/me`: the user id, or the extractor's 401.
async fn me(user: CurrentUser) -> String {
    user.id
}

/// `POST /rust/login`; the CSRF layer has already checked the token.
async fn login(login: Login, Form(form): Form<LoginForm>) -> Response {
    let Some(username) = form.username.filter(|name| !name.is_empty()) else {
        let message = "Bad Request: a username is required.\n";
        return (StatusCode::BAD_REQUEST, message).into_response();
    };
    // WTForms' BooleanField: anything but a missing field, "" or "false" is true.
    let remember = form
        .remember
        .is_some_and(|value| !value.is_empty() && value != "false");
    // There is no password in this example; a real app checks it here.
    login.login_user(&username, &LoginOptions::new().remember(remember));
    format!("Logged in as {username}").into_response()
}

/// `GET /rust/logout`.
async fn logout(login: Login) -> &'static str {
    login.logout_user();
    "Logged out"
}

/// `GET /rust/form`. The token is base64url and dots, so it needs no HTML escaping.
async fn form(CsrfToken(token): CsrfToken) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>A form (Rust half)</title></head>
<body>
  <form method="post" action="/rust/submit">
    <input id="csrf_token" name="csrf_token" type="hidden" value="{token}">
    <label>Message <textarea id="message" name="message"></textarea></label>
    <button type="submit">Send</button>
  </form>
</body>
</html>
"#
    ))
}

/// `POST /rust/submit`; only reached with a valid token.
async fn submit() -> &'static str {
    "ok"
}

/// The Rust half's routes over `session`.
///
/// Serve it with [`serve`] (or with `ConnectInfo<SocketAddr>` yourself): Flask-Login puts
/// a hash of the client's address in the session, and the Rust half must see the same
/// address as the Flask half or every crossing would mark the login not fresh.
///
/// # Errors
/// The first [`ConfigError`] in `login_config`'s remember cookie settings.
pub fn app(
    session: SessionLayer,
    login_config: LoginConfig,
    csrf_config: CsrfConfig,
) -> Result<Router, ConfigError> {
    let peer = |ext: &axum::http::Extensions| -> Option<IpAddr> {
        ext.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())
    };
    Ok(Router::new()
        .route("/rust/me", get(me))
        .route("/rust/login", post(login))
        .route("/rust/logout", get(logout))
        .route("/rust/form", get(form))
        .route("/rust/submit", post(submit))
        .layer(CsrfLayer::new(csrf_config))
        .layer(LoginLayer::new(login_config)?.peer_address(peer))
        .layer(session))
}

/// Serves `app` on `listener`, telling it each connection's peer address.
///
/// # Errors
/// The listener's I/O error.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

#[allow(dead_code)] // `main` is unused when the integration tests include this file.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("SECRET_KEY")
        .map_err(|_| "SECRET_KEY is not set: give both halves the same secret key")?;
    let key = Key::new(secret)?;
    let store = Store::from_env(|name| std::env::var(name).ok())?;
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT must be a port number, got {port:?}"))?,
        Err(_) => 3000,
    };
    let (login, csrf) = login_and_csrf(&key);
    let app = app(session_layer(&key, &store).await?, login, csrf)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e} (set PORT to use another port)"))?;
    let sessions = match &store {
        Store::Cookie => "Flask's cookie session".to_owned(),
        Store::FlaskSessionRedis { url, .. } => format!("Flask-Session on {url}"),
    };
    println!(
        "Rust half on http://{}/rust/me ({sessions})",
        listener.local_addr()?
    );
    serve(listener, app).await?;
    Ok(())
}
