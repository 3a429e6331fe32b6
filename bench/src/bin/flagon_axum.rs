//! flagon on axum: Flask-format cookie sessions by default, or any server-side store with
//! `--store memory|sqlite:PATH|redis://…|postgres://…`. With `--owned`, `/counter` gives
//! every session an owner (one of 1,000 users) the first time, so the store's owner index
//! for the session registry is kept up to date: the registry's cost per request.

use axum::{extract::Path, http::header, response::IntoResponse, routing::get, Router};
use flagon::axum::SessionLayer;
use flagon::store::any::AnyStore;
use flagon::{Key, Session, SessionConfig, SessionError};
use flagon_bench::{args::ServerArgs, keys_json, serve, BoxError, SECRET};

async fn counter(session: Session) -> Result<String, SessionError> {
    let n: i64 = session.get("n")?.unwrap_or(0);
    session.insert("n", n + 1)?;
    Ok((n + 1).to_string())
}

/// `/counter` that also gives a session without an owner one of 1,000 owners.
async fn owned_counter(session: Session) -> Result<String, SessionError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if session.owner().is_none() {
        let user = NEXT.fetch_add(1, Ordering::Relaxed) % 1000;
        session.set_owner(&format!("user{user}"));
    }
    counter(session).await
}

async fn read(session: Session) -> Result<String, SessionError> {
    let n: i64 = session.get("n")?.unwrap_or(0);
    Ok(n.to_string())
}

async fn put(session: Session, Path(key): Path<String>) -> Result<&'static str, SessionError> {
    session.insert(&key, true)?;
    Ok("ok")
}

async fn keys(session: Session) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        keys_json(session.keys()),
    )
}

async fn app(store: String, owned: bool) -> Result<Router, BoxError> {
    let config = SessionConfig::new(Key::new(SECRET)?).secure(false);
    let layer = SessionLayer::new(config)?;
    let layer = match store.as_str() {
        "cookie" => layer,
        spec => layer.with_store(AnyStore::connect(spec).await?),
    };
    let router = match owned {
        true => Router::new().route("/counter", get(owned_counter)),
        false => Router::new().route("/counter", get(counter)),
    };
    Ok(router
        .route("/read", get(read))
        .route("/put/{key}", get(put))
        .route("/keys", get(keys))
        .layer(layer))
}

fn main() -> Result<(), BoxError> {
    let args = ServerArgs::from_env(true)?;
    serve::run(args.port, || app(args.store, args.owned))
}
