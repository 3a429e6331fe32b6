//! actix-session with its cookie store (signed, like flagon's cookie, not encrypted).

use actix_session::config::CookieContentSecurity;
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::{cookie::Key, App, HttpServer};
use flagon_bench::{actix_app, args::ServerArgs, BoxError, SECRET};

#[actix_web::main]
async fn main() -> Result<(), BoxError> {
    let args = ServerArgs::from_env(false)?;
    let key = Key::from(SECRET);
    HttpServer::new(move || {
        let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key.clone())
            .cookie_secure(false)
            .cookie_content_security(CookieContentSecurity::Signed)
            .build();
        App::new().wrap(sessions).configure(actix_app::routes)
    })
    .workers(1)
    .bind(("127.0.0.1", args.port))?
    .run()
    .await?;
    Ok(())
}
