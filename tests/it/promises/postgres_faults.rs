//! PostgreSQL (and Redis where it applies): the isolation level is the store's choice,
//! not the server's; a slow app clock cannot revive an expired session; statement
//! parameters never reach the logs.

use std::sync::Arc;

use flagon::store::conformance::{fresh_key, unix_now};
use flagon::store::postgres::{PostgresOptions, PostgresStore};
use flagon::store::redis::{RedisOptions, RedisStore};
use flagon::store::{Applied, Changes, Record, SessionStore};
use flagon::{Map, Value};

use crate::support::logs::Capture;

const URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn table(name: &str) -> String {
    format!("flagon_{name}_{}", super::run_id()).to_lowercase()
}

async fn drop_tables(table: &str) {
    let Ok((client, conn)) = tokio_postgres::connect(URL, tokio_postgres::NoTls).await else {
        return;
    };
    tokio::spawn(conn);
    let sql = format!("DROP TABLE IF EXISTS {table}_values; DROP TABLE IF EXISTS {table};");
    let _ = client.batch_execute(&sql).await;
}

fn set(name: &str, value: Value) -> Changes {
    let mut changes = Changes::default();
    changes.set.insert(name.to_owned(), Some(value));
    changes
}

/// 16 × 20 concurrent writes of distinct keys into one session, with the server's
/// default isolation at SERIALIZABLE and at REPEATABLE READ: every write lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_writes_do_not_depend_on_the_default_isolation() {
    for level in ["serializable", "repeatable%5C%20read"] {
        let url = format!("{URL}?options=-c%20default_transaction_isolation%3D{level}");
        let name = table("iso");
        let options = PostgresOptions::default().table(name.clone());
        let store = match PostgresStore::connect_with(&url, options).await {
            Ok(store) => Arc::new(store),
            Err(e) => return super::skip_or_fail("PostgreSQL on 127.0.0.1:5432", &e),
        };
        let now = unix_now();
        let key = fresh_key();
        let record = Record::new(Map::new(), now, now + 3600);
        store.create(&key, &record).await.expect("create");
        let mut tasks = Vec::new();
        for task in 0..16 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut failed = 0;
                for write in 0..20 {
                    let name = format!("t{task}w{write}");
                    let applied = store
                        .apply(&key, &set(&name, Value::Int(1)), now + 3600, now)
                        .await;
                    if !matches!(applied, Ok(Applied::Done)) {
                        failed += 1;
                    }
                }
                failed
            }));
        }
        let mut failed = 0;
        for task in tasks {
            failed += task.await.unwrap();
        }
        let stored = store.load(&key, now).await.unwrap().unwrap().data.len();
        drop_tables(&name).await;
        eprintln!("[postgres] default isolation {level}: {stored} of 320 stored, {failed} failed");
        assert_eq!((stored, failed), (320, 0), "at {level}");
    }
}

/// A session that expired 10 s ago by the store's clock, seen by an app server whose
/// clock is 30 s slow: it must not load, extend or take writes.
async fn slow_clock_cannot_revive<S: SessionStore>(store: &S, name: &str) {
    let now = unix_now();
    let key = fresh_key();
    let mut data = Map::new();
    data.insert("user".into(), Value::Str("alice".into()));
    let record = Record::new(data, now - 100, now - 10);
    store.create(&key, &record).await.expect("create");
    let slow = now - 30;
    assert!(
        store.load(&key, slow).await.unwrap().is_none(),
        "{name}: loaded"
    );
    let touched = store.touch(&key, slow + 3600, slow).await.unwrap();
    assert_eq!(touched, Applied::Gone, "{name}: touched");
    let applied = store
        .apply(&key, &set("x", Value::Int(1)), slow + 3600, slow)
        .await;
    assert_eq!(applied.unwrap(), Applied::Gone, "{name}: written");
    assert!(
        store.load(&key, now).await.unwrap().is_none(),
        "{name}: revived"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_app_clock_cannot_revive_an_expired_session() {
    let name = table("skew");
    let options = PostgresOptions::default().table(name.clone());
    match PostgresStore::connect_with(URL, options).await {
        Ok(store) => slow_clock_cannot_revive(&store, "postgres").await,
        Err(e) => super::skip_or_fail("PostgreSQL on 127.0.0.1:5432", &e),
    }
    drop_tables(&name).await;
    let options = RedisOptions::default().prefix(format!("flagon-skew:{}:", super::run_id()));
    match RedisStore::connect_with("redis://127.0.0.1:6379", options).await {
        Ok(store) => slow_clock_cannot_revive(&store, "redis").await,
        Err(e) => super::skip_or_fail("Redis on 127.0.0.1:6379", &e),
    }
}

/// With every log at `trace` (the driver's `log` records included), no session value
/// or store key shows.
#[test]
fn postgres_parameters_never_reach_the_logs() {
    // The driver logs through `log`; forward it to `tracing` (once per test binary).
    let _ = tracing_log::LogTracer::init();
    let secret = "s3cret-session-value-7f3a";
    let key = fresh_key();
    let name = table("leak");
    let (capture, guard) = Capture::start_at(tracing::Level::TRACE);
    let connected = {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let options = PostgresOptions::default().table(name.clone());
            let store = PostgresStore::connect_with(URL, options).await?;
            let now = unix_now();
            let mut data = Map::new();
            data.insert("token".into(), Value::Str(secret.into()));
            store
                .create(&key, &Record::new(data, now, now + 60))
                .await?;
            store
                .apply(&key, &set("more", Value::Str(secret.into())), now + 60, now)
                .await?;
            store.load(&key, now).await?;
            store.delete(&key).await?;
            Ok::<_, flagon::store::StoreError>(())
        })
    };
    drop(guard);
    if let Err(e) = connected {
        return super::skip_or_fail("PostgreSQL on 127.0.0.1:5432", &e);
    }
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(drop_tables(&name));
    let logs = capture.text();
    assert!(
        logs.contains("executing statement"),
        "the driver's debug log was not captured, so this test proves nothing"
    );
    assert!(!logs.contains(secret), "a session value reached the logs");
    assert!(
        !logs.contains(&key.to_hex()),
        "a store key reached the logs (hex)"
    );
    let bytes = format!("{:?}", key.as_bytes());
    assert!(
        !logs.contains(&bytes[1..bytes.len() - 1]),
        "a store key reached the logs (bytes)"
    );
}
