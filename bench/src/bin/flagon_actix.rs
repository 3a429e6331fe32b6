//! flagon on actix-web: Flask-format cookie sessions (the same engine as `flagon-axum`),
//! or a server-side store with `--store`.

use actix_web::{web, App, HttpResponse, HttpServer};
use flagon::actix::SessionMiddleware;
use flagon::store::any::AnyStore;
use flagon::{Key, Session, SessionConfig};
use flagon_bench::{args::ServerArgs, keys_json, BoxError, SECRET};

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
    session.insert(&key, true)?;
    Ok("ok")
}

async fn keys(session: Session) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(keys_json(session.keys()))
}

#[actix_web::main]
async fn main() -> Result<(), BoxError> {
    let args = ServerArgs::from_env(true)?;
    let config = SessionConfig::new(Key::new(SECRET)?).secure(false);
    let middleware = SessionMiddleware::new(config)?;
    let middleware = match args.store.as_str() {
        "cookie" => middleware,
        spec => middleware.with_store(AnyStore::connect(spec).await?),
    };
    HttpServer::new(move || {
        App::new()
            .wrap(middleware.clone())
            .route("/counter", web::get().to(counter))
            .route("/read", web::get().to(read))
            .route("/put/{key}", web::get().to(put))
            .route("/keys", web::get().to(keys))
    })
    .workers(1)
    .bind(("127.0.0.1", args.port))?
    .run()
    .await?;
    Ok(())
}
