//! tower-sessions with its in-process memory store.

use flagon_bench::{args::ServerArgs, serve, tower_app, BoxError};
use tower_sessions::MemoryStore;

fn main() -> Result<(), BoxError> {
    let args = ServerArgs::from_env(false)?;
    serve::run(args.port, || async {
        Ok(tower_app::router(MemoryStore::default()))
    })
}
