//! The classic Flask login app, in Rust.
//!
//! ```text
//! cargo run --example login
//! SECRET_KEY=... PORT=8000 SESSION_STORE=sqlite:sessions.db cargo run --example login
//! cargo run --example login --features redis -- --store redis://127.0.0.1:6379
//! ```
//!
//! The same routes and texts as the Flask version. With the same `SECRET_KEY`, a login
//! cookie from the Flask app works here and the other way round (cookie sessions).
//!
//! `SESSION_STORE` (or `--store`) picks where sessions live; the handlers do not change:
//! `cookie` (default), `memory`, `sqlite:PATH`, `redis://HOST:PORT`,
//! `redis+cluster://H1:P1,H2:P2,…` and `postgres://…` (Redis and PostgreSQL need
//! `--features redis` / `--features postgres`).
//!
//! `SESSION_COOKIE` picks how a cookie session is kept: `signed` (default, Flask's
//! format), `sealed` (encrypted: the user cannot read it, and Flask cannot either) or
//! `sealed-accepting-signed` (the transition: reads both, writes sealed).
//!
//! `GET /metrics` serves flagon's metrics (`flagon::telemetry`) as Prometheus text, and
//! `RUST_LOG` filters the traces on stderr (`RUST_LOG=flagon=debug` shows why each
//! rejected cookie was rejected, inside its `flagon.session` span).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::response::Html;
use axum::routing::{get, post};
use axum::{Form, Router};
use flagon::axum::SessionLayer;
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

#[derive(Deserialize)]
struct Login {
    username: String,
}

async fn index() -> Html<&'static str> {
    Html(INDEX)
}

async fn login(session: Session, Form(form): Form<Login>) -> Result<&'static str, SessionError> {
    if form.username == "admin" {
        // A new id on login defeats session fixation (server-side stores).
        session.renew();
        session.insert("logged_in", true)?;
        Ok("Logged in successfully!")
    } else {
        Ok("Login failed!")
    }
}

async fn dashboard(session: Session) -> &'static str {
    let logged_in = session
        .get_value("logged_in")
        .is_some_and(|v| v.is_truthy());
    if logged_in {
        "Welcome to the dashboard!"
    } else {
        "Access denied!"
    }
}

async fn logout(session: Session) -> &'static str {
    session.remove("logged_in");
    "Logged out successfully!"
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

/// The app's routes, behind `layer`; `/metrics` is outside the session layer.
pub fn app(layer: SessionLayer) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/dashboard", get(dashboard))
        .route("/logout", get(logout))
        .layer(layer)
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
    match std::env::var("SECRET_KEY") {
        Ok(secret) => Key::new(secret),
        Err(_) => {
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
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    install_metrics()?;
    // Plain HTTP on localhost, so no `Secure`; keep flagon's other defaults.
    let mode = cookie_mode(std::env::var("SESSION_COOKIE").ok().as_deref())?;
    let config = SessionConfig::new(key_from_env()?)
        .secure(false)
        .cookie_mode(mode);
    let store = store_spec();
    let layer = match store.as_str() {
        "cookie" => SessionLayer::new(config)?,
        spec => {
            let store = Arc::new(AnyStore::connect(spec).await?);
            // Expired sessions are never served; this only reclaims their space.
            spawn_sweeper(store.clone(), Duration::from_secs(300));
            SessionLayer::new(config)?.with_store(store)
        }
    };
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT must be a port number, got {port:?}"))?,
        Err(_) => 3000,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e} (set PORT to use another port)"))?;
    let kind = store.split(':').next().unwrap_or_default();
    println!("flagon login example on http://{addr}/ (sessions: {kind})");
    axum::serve(listener, app(layer)).await?;
    Ok(())
}
