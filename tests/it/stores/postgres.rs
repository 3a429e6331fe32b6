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
