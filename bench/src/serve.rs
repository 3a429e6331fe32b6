//! Running an axum router the way every axum candidate runs: one thread.

use std::net::{Ipv4Addr, SocketAddr};

use crate::BoxError;

/// A tokio runtime with a single thread (`current_thread`), so a server uses one core.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Serves `router` on 127.0.0.1:`port` until the process is stopped.
pub async fn serve(router: axum::Router, port: u16) -> Result<(), BoxError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router).await?;
    Ok(())
}

/// Builds the runtime, makes the router with `make` (which may connect to a store) and
/// serves it on `port`.
pub fn run<F, Fut>(port: u16, make: F) -> Result<(), BoxError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<axum::Router, BoxError>>,
{
    runtime()?.block_on(async move { serve(make().await?, port).await })
}
