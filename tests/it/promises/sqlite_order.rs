//! SQLite: a write reported as timed out never lands after a later successful write.
//!
//! Two stores on one file stand for two processes, and a third connection holds the
//! write lock. The fast store's second write waits for its own writer connection (busy
//! with a first write) and then for the lock; its deadline passes during that wait. Once
//! it has been reported as timed out, the lock is freed and the other store writes.

use std::sync::Arc;
use std::time::Duration;

use flagon::store::conformance::{create_live, unix_now};
use flagon::store::sqlite::{SqliteOptions, SqliteStore};
use flagon::store::{Applied, Changes, SessionStore, StoreError};
use flagon::{Map, Value};

fn set(key: &str, value: i64) -> Changes {
    let mut changes = Changes::default();
    changes.set.insert(key.to_owned(), Some(Value::Int(value)));
    changes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_timed_out_sqlite_write_never_lands_after_a_later_one() {
    let trials = 6;
    let mut late_landings = 0;
    for trial in 0..trials {
        let db = super::TempFile(
            std::env::temp_dir().join(format!("flagon-order-{}-{trial}.db", super::run_id())),
        );
        let fast = SqliteOptions::default().deadline(Duration::from_millis(400));
        let fast = Arc::new(SqliteStore::open_with(&db.0, fast).await.expect("open"));
        let other = SqliteStore::open(&db.0).await.expect("open");
        let mut data = Map::new();
        data.insert("x".into(), Value::Int(0));
        let key = create_live(&*fast, data).await;
        let holder = rusqlite::Connection::open(&db.0).expect("third connection");
        holder
            .execute_batch("BEGIN IMMEDIATE")
            .expect("take the write lock");

        let now = unix_now();
        let first = {
            let (fast, key) = (fast.clone(), key);
            tokio::spawn(async move { fast.apply(&key, &set("a", 0), now + 3600, now).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let second = {
            let (fast, key) = (fast.clone(), key);
            tokio::spawn(async move { fast.apply(&key, &set("x", 1), now + 3600, now).await })
        };
        let reported = second.await.unwrap();
        assert!(
            matches!(reported, Err(StoreError::Timeout(_))),
            "the second write should time out: {reported:?}"
        );
        holder.execute_batch("ROLLBACK").expect("free the lock");
        let later = other.apply(&key, &set("x", 2), now + 3600, now).await;
        assert_eq!(later.expect("the later write"), Applied::Done);
        let _ = first.await.unwrap();
        // Past every wait the timed-out write could still have been in.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let record = other.load(&key, unix_now()).await.unwrap().unwrap();
        if record.data.get("x") != Some(&Value::Int(2)) {
            late_landings += 1;
        }
    }
    eprintln!(
        "[sqlite] timed-out writes that landed after a later write: {late_landings} of {trials}"
    );
    assert_eq!(late_landings, 0);
}
