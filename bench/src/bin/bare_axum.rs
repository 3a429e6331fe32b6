//! axum with no session at all: the ceiling every axum candidate is measured against.

use axum::{http::header, routing::get, Router};
use flagon_bench::{args::ServerArgs, serve, BoxError};

fn main() -> Result<(), BoxError> {
    let args = ServerArgs::from_env(false)?;
    serve::run(args.port, || async {
        Ok(Router::new()
            .route("/counter", get(|| async { "1" }))
            .route("/read", get(|| async { "0" }))
            .route("/put/{key}", get(|| async { "ok" }))
            .route(
                "/keys",
                get(|| async { ([(header::CONTENT_TYPE, "application/json")], "[]") }),
            ))
    })
}
