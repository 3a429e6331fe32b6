//! tower-sessions with tower-sessions-sqlx-store's `SqliteStore` on a file, in WAL mode
//! with `synchronous=NORMAL` like flagon's SQLite store.
//!
//! `--store sqlite:PATH` names the file (created if missing).

use std::str::FromStr;

use flagon_bench::{args::ServerArgs, serve, tower_app, BoxError};
use tower_sessions_sqlx_store::sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous,
};
use tower_sessions_sqlx_store::SqliteStore;

fn main() -> Result<(), BoxError> {
    let args = ServerArgs::from_env(true)?;
    serve::run(args.port, || async move {
        let options = SqliteConnectOptions::from_str(&args.store)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePool::connect_with(options).await?;
        let store = SqliteStore::new(pool);
        store.migrate().await?;
        Ok(tower_app::router(store))
    })
}
