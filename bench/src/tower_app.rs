//! The four routes on axum with tower-sessions, shared by its memory and Redis
//! candidates.
//!
//! tower-sessions has no way to list a session's keys, so `/put/{key}` also keeps the
//! list under [`KEYS`] by hand; `/keys` answers that list. The measured routes,
//! `/counter` and `/read`, do not touch it.

use axum::routing::get;
use axum::{extract::Path, http::header, http::StatusCode, response::IntoResponse, Router};
use tower_sessions::{Session, SessionManagerLayer, SessionStore};

use crate::keys_json;

/// Session key under which `/put/{key}` records the keys it has set.
pub const KEYS: &str = "__keys";

fn failed(err: tower_sessions::session::Error) -> StatusCode {
    eprintln!("session error: {err}");
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn counter(session: Session) -> Result<String, StatusCode> {
    let n: i64 = session.get("n").await.map_err(failed)?.unwrap_or(0);
    session.insert("n", n + 1).await.map_err(failed)?;
    Ok((n + 1).to_string())
}

async fn read(session: Session) -> Result<String, StatusCode> {
    let n: i64 = session.get("n").await.map_err(failed)?.unwrap_or(0);
    Ok(n.to_string())
}

async fn put(session: Session, Path(key): Path<String>) -> Result<&'static str, StatusCode> {
    session.insert(&key, true).await.map_err(failed)?;
    let mut keys: Vec<String> = session.get(KEYS).await.map_err(failed)?.unwrap_or_default();
    if !keys.contains(&key) {
        keys.push(key);
        session.insert(KEYS, keys).await.map_err(failed)?;
    }
    Ok("ok")
}

async fn keys(session: Session) -> Result<impl IntoResponse, StatusCode> {
    let mut keys: Vec<String> = session.get(KEYS).await.map_err(failed)?.unwrap_or_default();
    if session.get::<i64>("n").await.map_err(failed)?.is_some() {
        keys.insert(0, "n".into());
    }
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        keys_json(keys),
    ))
}

/// The router with the four routes behind tower-sessions on `store`, cookies not
/// `Secure` (the benchmark speaks plain HTTP).
pub fn router<S: SessionStore + Clone>(store: S) -> Router {
    Router::new()
        .route("/counter", get(counter))
        .route("/read", get(read))
        .route("/put/{key}", get(put))
        .route("/keys", get(keys))
        .layer(SessionManagerLayer::new(store).with_secure(false))
}
