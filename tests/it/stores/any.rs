//! `AnyStore::connect` reaches every kind of store from its one-line spec.

use flagon::store::any::{AnyStore, ConnectError};
use flagon::store::conformance::{create_live, unix_now};
use flagon::store::SessionStore;
use flagon::{Map, Value};

/// Connects, writes a session, reads it back, deletes it.
async fn round_trip(spec: &str, kind: &str) -> Option<()> {
    let store = match AnyStore::connect(spec).await {
        Ok(store) => store,
        Err(e) => {
            super::skip_or_fail(kind, &e);
            return None;
        }
    };
    assert_eq!(store.kind(), kind);
    let mut data = Map::new();
    data.insert(
        "via".into(),
        Value::Str(spec.split(':').next().unwrap_or("").into()),
    );
    let key = create_live(&store, data.clone()).await;
    let loaded = store
        .load(&key, unix_now())
        .await
        .expect("load")
        .expect("record");
    assert_eq!(loaded.data, data);
    store.delete(&key).await.expect("delete");
    Some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_store_specs_reach_each_store() {
    let db = std::env::temp_dir().join(format!("flagon-any-{}.db", super::run_id()));
    round_trip("memory", "memory").await;
    round_trip("memory:50", "memory").await;
    round_trip(&format!("sqlite:{}", db.display()), "sqlite").await;
    round_trip("redis://127.0.0.1:6379", "redis").await;
    round_trip("postgres://postgres@127.0.0.1:5432/test", "postgres").await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_store_cluster_spec_reaches_a_cluster() {
    if !crate::support::redis_server::available() {
        return super::skip_or_fail("redis-server", &"not installed");
    }
    let cluster = crate::support::redis_cluster::RedisCluster::start();
    let seeds: Vec<String> = cluster
        .ports()
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    round_trip(&format!("redis+cluster://{}", seeds.join(",")), "redis").await;
}

#[tokio::test]
async fn any_store_errors_never_echo_the_spec() {
    let secret = "postgres://user:hunter2@127.0.0.1:1/db";
    let error = AnyStore::connect(secret)
        .await
        .expect_err("port 1 is closed");
    let text = format!("{error} {error:?}");
    assert!(
        !text.contains("hunter2"),
        "connect error leaked the password: {text}"
    );
    assert!(matches!(
        AnyStore::connect("mysql://x").await,
        Err(ConnectError::UnknownKind)
    ));
    assert!(matches!(
        AnyStore::connect("sqlite:").await,
        Err(ConnectError::BadSpec(_))
    ));
    assert!(matches!(
        AnyStore::connect("redis+cluster://,").await,
        Err(ConnectError::BadSpec(_))
    ));
}
