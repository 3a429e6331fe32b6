//! The PostgreSQL store: conformance on a table of its own, and a sweeper that keeps going
//! through database errors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use flagon::store::conformance::{self, fresh_key, unix_now};
use flagon::store::postgres::{PostgresOptions, PostgresStore};
use flagon::store::sweeper::spawn_sweeper;
use flagon::store::{Record, SessionStore};
use flagon::Map;

const URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A store on a fresh table, and a raw client to look at (and drop) it afterwards.
async fn fresh(
    name: &str,
    deadline: Duration,
) -> Option<(PostgresStore, tokio_postgres::Client, String)> {
    let table = format!("flagon_{name}_{}", super::run_id()).to_lowercase();
    let options = PostgresOptions::default()
        .table(table.clone())
        .deadline(deadline);
    let store = match PostgresStore::connect_with(URL, options).await {
        Ok(store) => store,
        Err(e) => {
            super::skip_or_fail("PostgreSQL on 127.0.0.1:5432 (db test)", &e);
            return None;
        }
    };
    let (client, conn) = tokio_postgres::connect(URL, tokio_postgres::NoTls)
        .await
        .expect("raw postgres connection");
    tokio::spawn(conn);
    Some((store, client, table))
}

async fn drop_tables(client: &tokio_postgres::Client, table: &str) {
    let sql = format!("DROP TABLE IF EXISTS {table}_values; DROP TABLE IF EXISTS {table};");
    client.batch_execute(&sql).await.expect("drop test tables");
}

async fn count(client: &tokio_postgres::Client, table: &str) -> i64 {
    let row = client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .expect("count rows");
    row.get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_passes_conformance() {
    let Some((store, client, table)) = fresh("conf", Duration::from_secs(5)).await else {
        return;
    };
    let started = Instant::now();
    let report = conformance::run_all(Arc::new(store)).await;
    eprintln!("[postgres] conformance took {:?}", started.elapsed());
    let rows = count(&client, &table).await;
    drop_tables(&client, &table).await;
    assert!(rows > 0, "conformance left no rows: wrong table?");
    super::check_report("postgres", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sweeper_survives_errors_and_resumes() {
    let deadline = Duration::from_millis(200);
    let Some((store, mut client, table)) = fresh("sweep", deadline).await else {
        return;
    };
    let store = Arc::new(store);
    let now = unix_now();
    for _ in 0..30 {
        let record = Record::new(Map::new(), now - 100, now - 50);
        store
            .create(&fresh_key(), &record)
            .await
            .expect("create expired");
    }
    // Another transaction holds the table locked: every sweep now times out.
    let tx = client.transaction().await.expect("begin");
    tx.batch_execute(&format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        .await
        .expect("lock");
    let sweeper = spawn_sweeper(store.clone(), Duration::from_millis(50));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!sweeper.is_finished(), "the sweeper task ended on errors");
    tx.rollback().await.expect("release the lock");
    let released = Instant::now();
    let until = released + Duration::from_secs(10);
    while count(&client, &table).await > 0 {
        assert!(
            Instant::now() < until,
            "sweeper never resumed after the database recovered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "[postgres] sweeper resumed and removed 30 expired rows {:?} after the lock was released",
        released.elapsed()
    );
    assert!(!sweeper.is_finished());
    sweeper.abort();
    drop_tables(&client, &table).await;
}

/// Writes `a` and `b` with the same counter in every apply until `stop`; returns how many
/// operations failed (expected while connections are being killed).
async fn write_pairs(store: Arc<PostgresStore>, stop: Arc<std::sync::atomic::AtomicBool>) -> u64 {
    use std::sync::atomic::Ordering;
    let mut failures = 0;
    let mut round = 0i64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let now = unix_now();
        let key = fresh_key();
        let record = Record::new(Map::new(), now, now + 3600);
        if store.create(&key, &record).await.is_err() {
            failures += 1;
            continue;
        }
        for n in 0..10 {
            let mut changes = flagon::store::Changes::default();
            for name in ["a", "b"] {
                let value = flagon::Value::Int(round * 100 + n);
                changes.set.insert(name.into(), Some(value));
            }
            if store.apply(&key, &changes, now + 3600, now).await.is_err() {
                failures += 1;
            }
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_connections_killed_mid_write_leave_no_torn_record() {
    let app = format!("flagon_kill_{}", super::run_id());
    let table = format!("flagon_kill_{}", super::run_id()).to_lowercase();
    let url = format!("{URL}?application_name={app}");
    let options = PostgresOptions::default()
        .table(table.clone())
        .deadline(Duration::from_secs(2));
    let store = match PostgresStore::connect_with(&url, options).await {
        Ok(store) => Arc::new(store),
        Err(e) => return super::skip_or_fail("PostgreSQL on 127.0.0.1:5432 (db test)", &e),
    };
    let (client, conn) = tokio_postgres::connect(URL, tokio_postgres::NoTls)
        .await
        .expect("raw");
    tokio::spawn(conn);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|_| tokio::spawn(write_pairs(store.clone(), stop.clone())))
        .collect();
    let mut killed = 0i64;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let kill = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1";
        killed += client
            .query_one(kill, &[&app])
            .await
            .expect("terminate")
            .get::<_, i64>(0);
    }
    let last_kill = Instant::now();
    while store.load(&fresh_key(), unix_now()).await.is_err() {
        assert!(
            last_kill.elapsed() < Duration::from_secs(5),
            "pool never recovered"
        );
    }
    let recovered = last_kill.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut failed = 0;
    for writer in writers {
        failed += writer.await.expect("writer");
    }
    let keys = client
        .query(&format!("SELECT key FROM {table}"), &[])
        .await
        .expect("keys");
    for row in &keys {
        let bytes: Vec<u8> = row.get(0);
        let key = flagon::id::StoreKey::from_bytes(bytes.try_into().expect("32 bytes"));
        let record = store
            .load(&key, unix_now())
            .await
            .expect("undecodable record")
            .expect("live");
        assert_eq!(record.data.get("a"), record.data.get("b"), "torn write");
    }
    eprintln!(
        "[postgres] killed {killed} backend connections mid-write; {failed} ops failed meanwhile; \
         {} records checked, 0 torn; pool usable again {recovered:?} after the last kill",
        keys.len()
    );
    drop_tables(&client, &table).await;
    assert!(
        killed > 0 && !keys.is_empty(),
        "nothing was killed or written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sweep_removes_expired_in_batches_and_keeps_live() {
    let Some((store, client, table)) = fresh("batch", Duration::from_secs(5)).await else {
        return;
    };
    let now = unix_now() as i64;
    let fill = format!(
        "INSERT INTO {table} (key, created_at, expires_at)
         SELECT sha256(i::text::bytea), $1::bigint - 100, $1::bigint - (i % 2) FROM generate_series(1, 2500) i"
    );
    client
        .execute(&fill, &[&now])
        .await
        .expect("insert expired rows");
    let live = flagon::store::conformance::create_live(&store, Map::new()).await;
    let removed = store.sweep(now as u64).await.expect("sweep");
    eprintln!(
        "[postgres] one sweep removed {removed} of 2,500 expired sessions (batches of 1,000)"
    );
    let left = count(&client, &table).await;
    let kept = store.load(&live, now as u64).await.expect("load").is_some();
    drop_tables(&client, &table).await;
    assert_eq!(removed, 2_500);
    assert_eq!(left, 1, "only the live session is left");
    assert!(kept, "the sweep removed a live session");
}

/// The store guide's `synchronous_commit` URL option parses and takes effect.
#[tokio::test]
async fn postgres_url_options_reach_the_server() {
    let url = format!("{URL}?options=-c%20synchronous_commit%3Doff");
    let (client, conn) = match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
        Ok(pair) => pair,
        Err(e) => return super::skip_or_fail("PostgreSQL on 127.0.0.1:5432 (db test)", &e),
    };
    tokio::spawn(conn);
    let row = client
        .query_one("SHOW synchronous_commit", &[])
        .await
        .expect("show");
    assert_eq!(row.get::<_, String>(0), "off");
    assert!(
        PostgresStore::connect_with(&url, PostgresOptions::default())
            .await
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store_passes_registry_conformance() {
    let Some((store, client, table)) = fresh("reg", Duration::from_secs(5)).await else {
        return;
    };
    let report = conformance::run_registry(Arc::new(store)).await;
    drop_tables(&client, &table).await;
    super::check_registry_report("postgres", &report);
}
