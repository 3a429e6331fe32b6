//! The Redis store: conformance on a single node and on a 3-node Cluster the test starts
//! itself, the TTL, and an outage (kill -9 and restart of a Redis of the test's own).

use std::sync::Arc;
use std::time::{Duration, Instant};

use flagon::store::conformance::{self, create_live, unix_now};
use flagon::store::redis::{RedisOptions, RedisStore};
use flagon::store::{Changes, SessionStore, StoreError};
use flagon::{Map, Value};

use crate::support::redis_cluster::RedisCluster;
use crate::support::redis_server::{self, RedisServer};

const LOCAL: &str = "redis://127.0.0.1:6379";

fn options() -> RedisOptions {
    RedisOptions::default().prefix(format!("flagon-test:{}:", super::run_id()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_passes_conformance() {
    let store = match RedisStore::connect_with(LOCAL, options()).await {
        Ok(store) => store,
        Err(e) => return super::skip_or_fail("Redis on 127.0.0.1:6379", &e),
    };
    let started = Instant::now();
    let report = conformance::run_all(Arc::new(store)).await;
    eprintln!("[redis] conformance took {:?}", started.elapsed());
    super::check_report("redis", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_cluster_store_passes_conformance() {
    if !redis_server::available() {
        return super::skip_or_fail("redis-server", &"not installed");
    }
    let cluster = RedisCluster::start();
    eprintln!("[redis-cluster] nodes on ports {:?}", cluster.ports());
    let store = RedisStore::connect_cluster_with(&cluster.seeds(), options())
        .await
        .expect("connect to the test's cluster");
    let started = Instant::now();
    let report = conformance::run_all(Arc::new(store)).await;
    eprintln!("[redis-cluster] conformance took {:?}", started.elapsed());
    super::check_report("redis-cluster", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_passes_registry_conformance() {
    let store = match RedisStore::connect_with(LOCAL, options()).await {
        Ok(store) => store,
        Err(e) => return super::skip_or_fail("Redis on 127.0.0.1:6379", &e),
    };
    let report = conformance::run_registry(Arc::new(store)).await;
    super::check_registry_report("redis", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_cluster_store_passes_registry_conformance() {
    if !redis_server::available() {
        return super::skip_or_fail("redis-server", &"not installed");
    }
    let cluster = RedisCluster::start();
    eprintln!("[redis-cluster] nodes on ports {:?}", cluster.ports());
    let store = RedisStore::connect_cluster_with(&cluster.seeds(), options())
        .await
        .expect("connect to the test's cluster");
    let report = conformance::run_registry(Arc::new(store)).await;
    super::check_registry_report("redis-cluster", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_keys_are_hashed_and_carry_a_ttl() {
    let client = redis::Client::open(LOCAL).expect("client");
    let mut raw = match client.get_multiplexed_async_connection().await {
        Ok(conn) => conn,
        Err(e) => return super::skip_or_fail("Redis on 127.0.0.1:6379", &e),
    };
    let opts = options();
    let prefix = opts.prefix.clone();
    let store = RedisStore::connect_with(LOCAL, opts)
        .await
        .expect("connect");
    let key = create_live(&store, Map::new()).await;
    let name = format!("{prefix}{{{}}}", key.to_hex());
    let ttl: i64 = redis::cmd("TTL")
        .arg(&name)
        .query_async(&mut raw)
        .await
        .expect("TTL");
    assert!(
        (3500..=3600).contains(&ttl),
        "session hash TTL is {ttl}, expected about 3600"
    );
    store.delete(&key).await.expect("delete");
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&name)
        .query_async(&mut raw)
        .await
        .expect("EXISTS");
    assert_eq!(exists, 0, "delete left the hash behind");
}

/// Times one failing operation; it must fail (not hang) within deadline + 100 ms.
async fn time_failure<T: std::fmt::Debug>(
    what: &str,
    deadline: Duration,
    op: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Duration {
    let started = Instant::now();
    let result = op.await;
    let took = started.elapsed();
    eprintln!("[redis-outage] {what} with Redis down: {took:?} -> {result:?}");
    assert!(result.is_err(), "{what} succeeded with Redis down");
    assert!(
        took <= deadline + Duration::from_millis(100),
        "{what} took {took:?}"
    );
    took
}

/// The first request after Redis comes back succeeds on the store's kept connection: a
/// restart nobody noticed, and an outage whose requests failed, both answered at once
/// (no 503 for the first visitor after a recovery).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_request_after_redis_comes_back_succeeds() {
    if !redis_server::available() {
        return super::skip_or_fail("redis-server", &"not installed");
    }
    let mut server = RedisServer::start(&["--appendonly", "yes", "--appendfsync", "always"]);
    let store = RedisStore::connect_with(
        &server.url(),
        options().deadline(Duration::from_millis(500)),
    )
    .await
    .expect("connect to the test's redis");
    let key = create_live(&store, Map::new()).await;

    server.kill();
    server.restart();
    let first = store.load(&key, unix_now()).await;
    assert!(
        matches!(first, Ok(Some(_))),
        "first request after an unnoticed restart: {first:?}"
    );

    server.kill();
    assert!(store.load(&key, unix_now()).await.is_err(), "Redis is down");
    server.restart();
    let first = store.load(&key, unix_now()).await;
    assert!(
        matches!(first, Ok(Some(_))),
        "first request after an outage: {first:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_fails_fast_and_recovers_with_sessions_intact() {
    if !redis_server::available() {
        return super::skip_or_fail("redis-server", &"not installed");
    }
    // AOF with fsync on every write, so sessions written before the crash survive it.
    let mut server = RedisServer::start(&["--appendonly", "yes", "--appendfsync", "always"]);
    let deadline = Duration::from_millis(500);
    let store = RedisStore::connect_with(&server.url(), options().deadline(deadline))
        .await
        .expect("connect to the test's redis");
    let mut before = Vec::new();
    for n in 0..20 {
        let mut data = Map::new();
        data.insert("n".into(), Value::Int(n));
        before.push(create_live(&store, data).await);
    }
    server.kill();
    let now = unix_now();
    let key = before[0];
    let mut worst = Duration::ZERO;
    for _ in 0..3 {
        let step = Changes::default();
        let times = [
            time_failure("load", deadline, store.load(&key, now)).await,
            time_failure("apply", deadline, store.apply(&key, &step, now + 60, now)).await,
            time_failure("touch", deadline, store.touch(&key, now + 60, now)).await,
            time_failure("delete", deadline, store.delete(&conformance::fresh_key())).await,
        ];
        worst = worst.max(times.into_iter().max().unwrap_or_default());
    }
    server.restart();
    let back = Instant::now();
    while store.load(&key, unix_now()).await.is_err() {
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "store did not recover within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recovered = back.elapsed();
    let mut intact = 0;
    for (n, key) in before.iter().enumerate() {
        let record = store
            .load(key, unix_now())
            .await
            .expect("load after recovery");
        if record.is_some_and(|r| r.data.get("n") == Some(&Value::Int(n as i64))) {
            intact += 1;
        }
    }
    eprintln!(
        "[redis-outage] worst failing op {worst:?} (deadline {deadline:?}); recovered {recovered:?} \
         after restart; sessions intact after restart: {intact}/{}",
        before.len()
    );
    assert!(
        recovered < Duration::from_secs(2),
        "recovery took {recovered:?}"
    );
    assert_eq!(
        intact,
        before.len(),
        "sessions lost across a Redis restart with AOF"
    );
}

/// `calls=N` of one command in `INFO commandstats`.
fn calls(info: &str, command: &str) -> u64 {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_one_round_trip_per_load_and_save_on_one_connection() {
    if !redis_server::available() {
        return super::skip_or_fail("redis-server", &"not installed");
    }
    let server = RedisServer::start(&["--appendonly", "no"]);
    let store = Arc::new(
        RedisStore::connect_with(&server.url(), options())
            .await
            .expect("connect"),
    );
    let key = create_live(&*store, Map::new()).await;
    let client = redis::Client::open(server.url()).expect("client");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("raw");
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut raw)
        .await
        .expect("reset");
    let mut tasks = Vec::new();
    for t in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let now = unix_now();
            let mut changes = Changes::default();
            changes.set.insert(format!("k{t}"), Some(Value::Int(t)));
            store
                .apply(&key, &changes, now + 3600, now)
                .await
                .expect("apply");
            store.load(&key, now).await.expect("load").expect("live");
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut raw)
        .await
        .expect("info");
    let clients: String = redis::cmd("INFO")
        .arg("clients")
        .query_async(&mut raw)
        .await
        .expect("info");
    let (evalsha, eval, hgetall) = (
        calls(&info, "evalsha"),
        calls(&info, "eval"),
        calls(&info, "hgetall"),
    );
    let connected = clients
        .lines()
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or(0);
    eprintln!(
        "[redis] 64 concurrent applies + 64 loads: {evalsha} EVALSHA, {eval} EVAL, {hgetall} HGETALL; \
         {connected} client connections (1 store + 1 probe)"
    );
    assert_eq!(hgetall, 64, "one HGETALL per load");
    assert_eq!(evalsha + eval, 64, "one script call per apply");
    assert_eq!(
        connected, 2,
        "the store multiplexes everything over one connection"
    );
}

/// The Cluster hash slot of a hash tag: CRC16/XMODEM mod 16384.
fn slot(tag: &str) -> u16 {
    let mut crc: u16 = 0;
    for byte in tag.bytes() {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_node_down_fails_its_slots_within_deadline() {
    if !redis_server::available() {
        return super::skip_or_fail("redis-server", &"not installed");
    }
    let mut cluster = RedisCluster::start();
    let deadline = Duration::from_millis(500);
    let store = RedisStore::connect_cluster_with(&cluster.seeds(), options().deadline(deadline))
        .await
        .expect("connect to the test's cluster");
    let mut keys = Vec::new();
    for _ in 0..30 {
        keys.push(create_live(&store, Map::new()).await);
    }
    cluster.node(0).kill();
    let (mut failed, mut served, mut worst) = (0, 0, Duration::ZERO);
    for key in &keys {
        let started = Instant::now();
        let result = store.load(key, unix_now()).await;
        let took = started.elapsed();
        worst = worst.max(took);
        assert!(
            took <= deadline + Duration::from_millis(100),
            "load took {took:?}"
        );
        match result {
            Ok(Some(_)) => served += 1,
            Ok(None) => panic!("a session on a live node vanished"),
            Err(_) => failed += 1,
        }
    }
    eprintln!(
        "[redis-cluster] 1 of 3 masters down: {served} sessions served, {failed} failed \
         (worst {worst:?}, deadline {deadline:?})"
    );
    assert!(
        served > 0 && failed > 0,
        "30 random sessions should span all 3 nodes"
    );
    // `redis-cli --cluster create` gives the first node slots 0..=5460: exactly the
    // sessions hashed there fail, none on the live nodes.
    let on_dead = keys.iter().filter(|k| slot(&k.to_hex()) <= 5460).count();
    assert_eq!(failed, on_dead, "sessions on live nodes failed too");
    cluster.node(0).restart();
    cluster.wait_healthy();
    let back = Instant::now();
    loop {
        let mut errors = 0;
        for key in &keys {
            errors += usize::from(store.load(key, unix_now()).await.is_err());
        }
        if errors == 0 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "cluster never served again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "[redis-cluster] node restarted (no persistence: its sessions are gone, not errors); \
         every load answers again {:?} after cluster_state:ok",
        back.elapsed()
    );
}
