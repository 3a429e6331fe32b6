//! axum-extra's `SignedCookieJar` keeping the session by hand: the whole session is a
//! JSON object, base64url-encoded, in one signed cookie.

use axum::{extract::Path, http::header, response::IntoResponse, routing::get, Router};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use flagon_bench::{args::ServerArgs, keys_json, serve, BoxError, SECRET};
use serde_json::{Map, Value};

const COOKIE: &str = "session";

fn load(jar: &SignedCookieJar) -> Map<String, Value> {
    jar.get(COOKIE)
        .and_then(|cookie| URL_SAFE_NO_PAD.decode(cookie.value()).ok())
        .and_then(|json| serde_json::from_slice(&json).ok())
        .unwrap_or_default()
}

fn save(jar: SignedCookieJar, session: &Map<String, Value>) -> SignedCookieJar {
    let json = serde_json::to_vec(session).unwrap_or_default();
    let cookie = Cookie::build((COOKIE, URL_SAFE_NO_PAD.encode(json)))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax);
    jar.add(cookie)
}

fn n(session: &Map<String, Value>) -> i64 {
    session.get("n").and_then(Value::as_i64).unwrap_or(0)
}

async fn counter(jar: SignedCookieJar) -> impl IntoResponse {
    let mut session = load(&jar);
    let next = n(&session) + 1;
    session.insert("n".into(), next.into());
    (save(jar, &session), next.to_string())
}

async fn read(jar: SignedCookieJar) -> String {
    n(&load(&jar)).to_string()
}

async fn put(jar: SignedCookieJar, Path(key): Path<String>) -> impl IntoResponse {
    let mut session = load(&jar);
    session.insert(key, Value::Bool(true));
    (save(jar, &session), "ok")
}

async fn keys(jar: SignedCookieJar) -> impl IntoResponse {
    let session = load(&jar);
    (
        [(header::CONTENT_TYPE, "application/json")],
        keys_json(session.keys()),
    )
}

fn main() -> Result<(), BoxError> {
    let args = ServerArgs::from_env(false)?;
    serve::run(args.port, || async {
        Ok(Router::new()
            .route("/counter", get(counter))
            .route("/read", get(read))
            .route("/put/{key}", get(put))
            .route("/keys", get(keys))
            .with_state(Key::from(SECRET)))
    })
}
