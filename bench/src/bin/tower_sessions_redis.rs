//! tower-sessions with tower-sessions-redis-store (fred).

use flagon_bench::{args::ServerArgs, serve, tower_app, BoxError, REDIS_URL};
use tower_sessions_redis_store::fred::prelude::{ClientLike, Config, Pool};
use tower_sessions_redis_store::RedisStore;

fn main() -> Result<(), BoxError> {
    let args = ServerArgs::from_env(false)?;
    serve::run(args.port, || async {
        let pool = Pool::new(Config::from_url(REDIS_URL)?, None, None, None, 1)?;
        pool.init().await?;
        Ok(tower_app::router(RedisStore::new(pool)))
    })
}
