//! The classic Flask login app, in Rust.
//!
//! ```text
//! cargo run --example login
//! SECRET_KEY=... PORT=8000 SESSION_STORE=sqlite:sessions.db cargo run --example login --features sqlite
//! cargo run --example login --features redis -- --store redis://127.0.0.1:6379
//! SESSION_STORE=flask-session+redis://127.0.0.1:6379 SESSION_KEY_PREFIX=session: \
//!     cargo run --example login --features flask-session
//! HOST=0.0.0.0 cargo run --example login      # reachable from other machines
//! ```
//!
//! The same routes and texts as the Flask version. With the same `SECRET_KEY`, a login
//! cookie from the Flask app works here and the other way round (cookie sessions).
//! A browser (`Accept: text/html`) gets each text as a small page with links back to the
//! form, the dashboard and logging out, errors included; other clients get the bare text.
//!
//! `SESSION_STORE` (or `--store`) picks where sessions live; the handlers do not change:
//! `cookie` (default), `memory`, `sqlite:PATH`, `redis://HOST:PORT`,
//! `redis+cluster://H1:P1,H2:P2,…`, `postgres://…` and `flask-session+redis://HOST:PORT`
//! (SQLite, Redis, PostgreSQL and Flask-Session need `--features sqlite` /
//! `--features redis` / `--features postgres` / `--features flask-session`).
//!
//! `flask-session+redis://` shares the sessions of a Flask app that uses Flask-Session 0.8
//! on that Redis: give both the same `SECRET_KEY`, and set `SESSION_KEY_PREFIX` (default
//! `session:`) and `SESSION_USE_SIGNER` (default `false`) in the environment as the Flask
//! app has them in its config.
//!
//! `SESSION_COOKIE` picks how a cookie session is kept: `signed` (default, Flask's
//! format), `sealed` (encrypted: the user cannot read it, and Flask cannot either) or
//! `sealed-accepting-signed` (the transition: reads both, writes sealed).
//!
//! `SESSION_OWNER=username` makes a login own its session (server-side stores), so
//! `GET /sessions` lists the user's sessions as JSON (`handle`, `created`, `last_seen`,
//! `expires`, `current`, `labels`) and `POST /sessions/revoke` ends one (form `handle`)
//! or all the others (`all_but_current=1`), on every store but Flask-Session's.
//!
//! `GET /metrics` serves flagon's metrics (`flagon::telemetry`) as Prometheus text, and
//! `RUST_LOG` filters the traces on stderr (`RUST_LOG=flagon=debug` shows why each
//! rejected cookie was rejected, inside its `flagon.session` span).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use flagon::axum::SessionLayer;
use flagon::error::Report;
use flagon::registry::{Registry, SessionHandle};
use flagon::store::any::AnyStore;
use flagon::store::sweeper::spawn_sweeper;
use flagon::{CookieMode, Key, Session, SessionConfig, SessionError};
use http::StatusCode;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;

const INDEX: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>flagon login</title></head>
<body>
  <h1>flagon login demo</h1>
  <form method="post" action="/login">
    <label>Username <input name="username" autofocus></label>
    <button type="submit">Log in</button>
  </form>
  <p>Try <code>admin</code>. Then: <a href="/dashboard">dashboard</a> ·
     <a href="/logout">log out</a></p>
</body>
</html>
"#;

/// The way back from every other page: the handlers answer Flask's bare texts, and for a
/// browser [`with_way_back`] puts them in this page.
fn page(message: &str) -> String {
    let message = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>flagon login</title></head>
<body>
  <p id="message">{message}</p>
  <p><a href="/">login form</a> · <a href="/dashboard">dashboard</a> ·
     <a href="/logout">log out</a></p>
</body>
</html>
"#
    )
}

/// A browser's visitor lands on plain text nowhere: every plain-text answer (a handler's
/// text, a session error, an unknown route) becomes [`page`] for a request that accepts
/// HTML, with its status kept. Other clients get the text as Flask's app sends it.
async fn with_way_back(request: Request, next: Next) -> Response {
    let browser = request
        .headers()
        .get(ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let response = next.run(request).await;
    let plain = response
        .headers()
        .get(CONTENT_TYPE)
        .is_none_or(|kind| kind.as_bytes().starts_with(b"text/plain"));
    if !browser || !plain {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html(page("Something went wrong.")),
        )
            .into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    let message = match text.trim() {
        "" => parts
            .status
            .canonical_reason()
            .unwrap_or("Something went wrong."),
        text => text,
    };
    parts.headers.remove(CONTENT_LENGTH);
    parts.headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(parts, Body::from(page(message)))
}

#[derive(Deserialize)]
struct Login {
    username: String,
}

async fn index() -> Html<&'static str> {
    Html(INDEX)
}

async fn login(
    options: Option<Extension<Options>>,
    headers: HeaderMap,
    session: Session,
    Form(form): Form<Login>,
) -> Result<&'static str, SessionError> {
    if form.username == "admin" {
        // A new id on login defeats session fixation (server-side stores).
        session.renew();
        session.insert("logged_in", true)?;
        if options.is_some_and(|o| o.owner_is_username) {
            session.set_owner(&form.username);
            if let Some(agent) = headers.get(USER_AGENT).and_then(|v| v.to_str().ok()) {
                session.set_label("agent", &agent.chars().take(60).collect::<String>());
            }
        }
        Ok("Logged in successfully!")
    } else {
        Ok("Login failed!")
    }
}

async fn dashboard(session: Session) -> &'static str {
    // Python's truthiness, so a Flask-written `logged_in = 1` counts too.
    if session.is_truthy("logged_in") {
        "Welcome to the dashboard!"
    } else {
        "Access denied!"
    }
}

async fn logout(session: Session) -> &'static str {
    if session.owner().is_some() {
        // An owned session ends for good: it leaves the owner's list of sessions.
        session.purge();
    } else {
        session.remove("logged_in");
    }
    "Logged out successfully!"
}

/// What `main` read from the environment, for the handlers.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// `SESSION_OWNER=username`: login makes the username the session's owner.
    pub owner_is_username: bool,
}

/// The registry of the store, when the store has one.
pub type SharedRegistry = Arc<Registry<AnyStore>>;

/// `GET /sessions`: the current user's live sessions, as JSON.
async fn sessions(
    registry: Option<Extension<SharedRegistry>>,
    session: Session,
) -> (StatusCode, String) {
    let (registry, owner) = match owner_and_registry(registry, &session) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    match registry.list(&owner, session.handle().as_ref()).await {
        Ok(list) => {
            let list: Vec<serde_json::Value> = list
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "handle": s.handle.as_str(),
                        "created": s.created_at,
                        "last_seen": s.last_seen,
                        "expires": s.expires_at,
                        "current": s.current,
                        "labels": s.labels,
                    })
                })
                .collect();
            (StatusCode::OK, serde_json::Value::from(list).to_string())
        }
        Err(e) => registry_failed(&e),
    }
}

#[derive(Deserialize)]
struct Revoke {
    handle: Option<String>,
    all_but_current: Option<String>,
}

/// `POST /sessions/revoke`: form `handle=…` ends one session, `all_but_current=1` every
/// other one.
async fn revoke(
    registry: Option<Extension<SharedRegistry>>,
    session: Session,
    Form(form): Form<Revoke>,
) -> (StatusCode, String) {
    let (registry, owner) = match owner_and_registry(registry, &session) {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    let ended = if form.all_but_current.as_deref() == Some("1") {
        registry.revoke_all(&owner, session.handle().as_ref()).await
    } else {
        let Some(handle) = form.handle.as_deref().and_then(SessionHandle::parse) else {
            return (
                StatusCode::BAD_REQUEST,
                "send handle=… or all_but_current=1\n".into(),
            );
        };
        registry.revoke(&owner, &handle).await.map(u64::from)
    };
    match ended {
        Ok(n) => (StatusCode::OK, format!("{{\"revoked\":{n}}}")),
        Err(e) => registry_failed(&e),
    }
}

fn owner_and_registry(
    registry: Option<Extension<SharedRegistry>>,
    session: &Session,
) -> Result<(SharedRegistry, String), (StatusCode, String)> {
    let Some(Extension(registry)) = registry else {
        return Err((
            StatusCode::NOT_IMPLEMENTED,
            "sessions are listed only with a server-side SESSION_STORE\n".into(),
        ));
    };
    let Some(owner) = session.owner() else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "log in with SESSION_OWNER=username set first\n".into(),
        ));
    };
    Ok((registry, owner))
}

fn registry_failed(error: &flagon::store::StoreError) -> (StatusCode, String) {
    eprintln!("session registry failed: {error}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the session registry is unavailable\n".into(),
    )
}

/// Where `GET /metrics` reads the Prometheus text from, once `main` installed it.
pub static METRICS: OnceLock<PrometheusHandle> = OnceLock::new();

async fn metrics() -> (StatusCode, String) {
    match METRICS.get() {
        Some(handle) => (StatusCode::OK, handle.render()),
        None => (
            StatusCode::NOT_FOUND,
            "no metrics recorder installed\n".to_owned(),
        ),
    }
}

/// The app's routes, behind `layer`; `/metrics` is outside the session layer and stays
/// plain text for browsers too.
pub fn app(layer: SessionLayer) -> Router {
    app_with(layer, Options::default(), None)
}

/// [`app`] with the environment's options and, for a store that has one, its registry
/// (`GET /sessions`, `POST /sessions/revoke`).
pub fn app_with(layer: SessionLayer, options: Options, registry: Option<SharedRegistry>) -> Router {
    let mut router = Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/dashboard", get(dashboard))
        .route("/logout", get(logout))
        .route("/sessions", get(sessions))
        .route("/sessions/revoke", post(revoke));
    if let Some(registry) = registry {
        router = router.layer(Extension(registry));
    }
    router
        .layer(Extension(options))
        .layer(layer)
        // Outside the session layer, so its failure answers get the way back too.
        .layer(middleware::from_fn(with_way_back))
        .route("/metrics", get(metrics))
}

/// Installs the Prometheus recorder for the whole process and publishes its handle.
fn install_metrics() -> Result<(), Box<dyn std::error::Error>> {
    let handle = PrometheusBuilder::new().install_recorder()?;
    flagon::telemetry::describe();
    let _ = METRICS.set(handle);
    Ok(())
}

/// The key from `SECRET_KEY`, or a random one with a warning.
fn key_from_env() -> Result<Key, flagon::ConfigError> {
    match std::env::var_os("SECRET_KEY") {
        Some(_) => Key::from_env("SECRET_KEY"),
        None => {
            eprintln!(
                "SECRET_KEY is not set: using a random key, so sessions will not survive a restart \
                 (set SECRET_KEY, e.g. from `flagon keygen`, to keep them)"
            );
            Ok(Key::generate())
        }
    }
}

/// `--store SPEC` or `SESSION_STORE`, else `cookie`.
fn store_spec() -> String {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--store" {
            if let Some(spec) = args.next() {
                return spec;
            }
        } else if let Some(spec) = arg.strip_prefix("--store=") {
            return spec.to_owned();
        }
    }
    std::env::var("SESSION_STORE").unwrap_or_else(|_| "cookie".to_owned())
}

/// `SESSION_COOKIE`: `signed` (default), `sealed` or `sealed-accepting-signed`.
pub fn cookie_mode(spec: Option<&str>) -> Result<CookieMode, String> {
    match spec.unwrap_or("signed") {
        "signed" => Ok(CookieMode::Signed),
        "sealed" => Ok(CookieMode::Sealed),
        "sealed-accepting-signed" => Ok(CookieMode::SealedAcceptingSigned),
        other => Err(format!(
            "SESSION_COOKIE must be signed, sealed or sealed-accepting-signed, got {other:?}"
        )),
    }
}

#[allow(dead_code)] // `main` is unused when the integration tests include this file.
#[tokio::main]
async fn main() -> ExitCode {
    // flagon reports through `tracing`: startup warnings, the reason behind every session
    // error that becomes a 500, and (`RUST_LOG=flagon=debug`) why each cookie was
    // rejected. Without a subscriber they are lost.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Display with its causes, never `Debug`: each of flagon's errors says what to do.
            eprintln!("error: {}", Report(&*error));
            ExitCode::FAILURE
        }
    }
}

#[allow(dead_code)]
async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    install_metrics()?;
    let mode = cookie_mode(std::env::var("SESSION_COOKIE").ok().as_deref())?;
    // flagon's defaults, `Secure` included: browsers keep Secure cookies from plain http
    // on localhost and 127.0.0.1, and `check_served_at` below warns about any other name.
    let config = SessionConfig::new(key_from_env()?).cookie_mode(mode);
    let store = store_spec();
    let options = Options {
        owner_is_username: std::env::var("SESSION_OWNER").is_ok_and(|v| v == "username"),
    };
    let (layer, registry) = match store.as_str() {
        "cookie" => (SessionLayer::new(config.clone())?, None),
        spec => {
            let store = Arc::new(AnyStore::connect_with_env(spec).await?);
            // Expired sessions are never served; this only reclaims their space.
            spawn_sweeper(store.clone(), Duration::from_secs(300));
            let registry = Arc::new(Registry::new(store.clone(), &config));
            (
                SessionLayer::new(config.clone())?.with_store(store),
                Some(registry),
            )
        }
    };
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT must be a port number, got {port:?}"))?,
        Err(_) => 3000,
    };
    let host: IpAddr = match std::env::var("HOST") {
        Ok(host) => host
            .parse()
            .map_err(|_| format!("HOST must be an IP address to listen on, got {host:?}"))?,
        Err(_) => IpAddr::from([127, 0, 0, 1]),
    };
    let addr = SocketAddr::from((host, port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e} (set PORT to use another port)"))?;
    let kind = store.split(':').next().unwrap_or_default();
    let url = format!("http://{addr}/");
    println!("flagon login example on {url} (sessions: {kind})");
    if let Some(warning) = config.check_served_at(&url) {
        println!("warning: {warning}");
    }
    axum::serve(listener, app_with(layer, options, registry)).await?;
    Ok(())
}
