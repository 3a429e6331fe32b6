//! actix-web with no session at all: the ceiling every actix candidate is measured against.

use actix_web::{web, App, HttpResponse, HttpServer};
use flagon_bench::{args::ServerArgs, BoxError};

#[actix_web::main]
async fn main() -> Result<(), BoxError> {
    let args = ServerArgs::from_env(false)?;
    HttpServer::new(|| {
        App::new()
            .route("/counter", web::get().to(|| async { "1" }))
            .route("/read", web::get().to(|| async { "0" }))
            .route("/put/{key}", web::get().to(|| async { "ok" }))
            .route(
                "/keys",
                web::get().to(|| async {
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body("[]")
                }),
            )
    })
    .workers(1)
    .bind(("127.0.0.1", args.port))?
    .run()
    .await?;
    Ok(())
}
