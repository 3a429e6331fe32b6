//! The four routes on actix-web with actix-session, shared by its cookie and Redis
//! candidates.

use actix_session::Session;
use actix_web::{web, HttpResponse};

use crate::keys_json;

async fn counter(session: Session) -> actix_web::Result<String> {
    let n: i64 = session.get("n")?.unwrap_or(0);
    session.insert("n", n + 1)?;
    Ok((n + 1).to_string())
}

async fn read(session: Session) -> actix_web::Result<String> {
    let n: i64 = session.get("n")?.unwrap_or(0);
    Ok(n.to_string())
}

async fn put(session: Session, key: web::Path<String>) -> actix_web::Result<&'static str> {
    session.insert(key.into_inner(), true)?;
    Ok("ok")
}

async fn keys(session: Session) -> HttpResponse {
    let body = keys_json(session.entries().keys());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// Registers `/counter`, `/read`, `/put/{key}` and `/keys`.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/counter", web::get().to(counter))
        .route("/read", web::get().to(read))
        .route("/put/{key}", web::get().to(put))
        .route("/keys", web::get().to(keys));
}
