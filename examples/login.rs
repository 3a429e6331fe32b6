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

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Html;
use axum::routing::{get, post};
use axum::{Form, Router};
use flagon::axum::SessionLayer;
use flagon::error::Report;
use flagon::store::any::AnyStore;
use flagon::store::sweeper::spawn_sweeper;
use flagon::{Key, Session, SessionConfig, SessionError};
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
    // Python's truthiness, so a Flask-written `logged_in = 1` counts too.
    if session.is_truthy("logged_in") {
        "Welcome to the dashboard!"
    } else {
        "Access denied!"
    }
}

async fn logout(session: Session) -> &'static str {
    session.remove("logged_in");
    "Logged out successfully!"
}

/// The app's routes, behind `layer`.
pub fn app(layer: SessionLayer) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/dashboard", get(dashboard))
        .route("/logout", get(logout))
        .layer(layer)
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

#[allow(dead_code)] // `main` is unused when the integration tests include this file.
#[tokio::main]
async fn main() -> ExitCode {
    // flagon reports through `tracing`: startup warnings, and the reason behind every
    // session error that becomes a 500. Without a subscriber they are lost.
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
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
    // flagon's defaults, `Secure` included: browsers keep Secure cookies from plain http
    // on localhost and 127.0.0.1, and `check_served_at` below warns about any other name.
    let config = SessionConfig::new(key_from_env()?);
    let store = store_spec();
    let layer = match store.as_str() {
        "cookie" => SessionLayer::new(config.clone())?,
        spec => {
            let store = Arc::new(AnyStore::connect_with_env(spec).await?);
            // Expired sessions are never served; this only reclaims their space.
            spawn_sweeper(store.clone(), Duration::from_secs(300));
            SessionLayer::new(config.clone())?.with_store(store)
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
    axum::serve(listener, app(layer)).await?;
    Ok(())
}
