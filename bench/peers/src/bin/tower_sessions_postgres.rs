//! tower-sessions with tower-sessions-sqlx-store's `PostgresStore`.
//!
//! `--store postgres://USER@HOST/DB` names the database; the store makes its own schema.

use flagon_bench::{args::ServerArgs, serve, tower_app, BoxError};
use tower_sessions_sqlx_store::sqlx::PgPool;
use tower_sessions_sqlx_store::PostgresStore;

fn main() -> Result<(), BoxError> {
    let args = ServerArgs::from_env(true)?;
    serve::run(args.port, || async move {
        let pool = PgPool::connect(&args.store).await?;
        let store = PostgresStore::new(pool);
        store.migrate().await?;
        Ok(tower_app::router(store))
    })
}
