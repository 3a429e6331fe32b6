//! actix-session with its Redis store (redis-rs, feature `redis-session`).

use actix_session::storage::RedisSessionStore;
use actix_session::SessionMiddleware;
use actix_web::{cookie::Key, App, HttpServer};
use flagon_bench::{actix_app, args::ServerArgs, BoxError, SECRET};

#[actix_web::main]
async fn main() -> Result<(), BoxError> {
    let args = ServerArgs::from_env(false)?;
    let key = Key::from(SECRET);
    let store = RedisSessionStore::new(flagon_bench::REDIS_URL)
        .await
        .map_err(|err| format!("cannot connect to Redis: {err}"))?;
    HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(store.clone(), key.clone())
            .cookie_secure(false)
            .build();
        App::new().wrap(sessions).configure(actix_app::routes)
    })
    .workers(1)
    .bind(("127.0.0.1", args.port))?
    .run()
    .await?;
    Ok(())
}
