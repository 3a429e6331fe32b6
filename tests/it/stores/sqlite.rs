//! The SQLite store: conformance, restarts, and `kill -9` in the middle of writes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flagon::store::conformance::{self, create_live, unix_now};
use flagon::store::sqlite::SqliteStore;
use flagon::store::{Changes, SessionStore};
use flagon::{Map, Value};

/// A database path under the temp dir, removed (with its WAL files) on drop.
struct TempDb(PathBuf);

impl TempDb {
    fn new(name: &str) -> TempDb {
        let path = std::env::temp_dir().join(format!("flagon-{name}-{}.db", super::run_id()));
        TempDb(path)
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_conformance() {
    let db = TempDb::new("conformance");
    let store = SqliteStore::open(&db.0).await.expect("open sqlite");
    let started = Instant::now();
    let report = conformance::run_all(Arc::new(store)).await;
    eprintln!("[sqlite] conformance took {:?}", started.elapsed());
    super::check_report("sqlite", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sessions_survive_reopening() {
    let db = TempDb::new("reopen");
    let mut data = Map::new();
    data.insert("user".into(), Value::Str("alice".into()));
    let key = {
        let store = SqliteStore::open(&db.0).await.expect("open sqlite");
        create_live(&store, data.clone()).await
    };
    let store = SqliteStore::open(&db.0).await.expect("reopen sqlite");
    let record = store
        .load(&key, unix_now())
        .await
        .expect("load")
        .expect("session lost");
    assert_eq!(record.data, data);
    let expired = store.sweep(u64::MAX - 1).await.expect("sweep");
    assert_eq!(expired, 1, "sweep removes every expired row");
    assert!(
        raw_count(&db.0, "flagon_session_values") == 0,
        "values left behind"
    );
}

fn raw_count(path: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("raw open");
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

const CHILD_ENV: &str = "FLAGON_SQLITE_KILL_CHILD";

/// Not a test on its own: the child process of `sqlite_survives_kill_9_mid_write`, which
/// writes until it is killed. Returns at once when the env flag is absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_kill_child_writer() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = Arc::new(SqliteStore::open(path).await.expect("child: open"));
    let mut tasks = Vec::new();
    for t in 0..8u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move { write_forever(&store, t).await }));
    }
    for task in tasks {
        let _ = task.await;
    }
}

/// Every apply writes `a` and `b` with the same counter, plus a value of a few pages: a
/// torn write would show as `a != b` or an undecodable value.
async fn write_forever(store: &SqliteStore, t: u32) {
    let big = "x".repeat(20_000 + t as usize);
    for round in 0i64.. {
        let key = create_live(store, Map::new()).await;
        for n in 0..20i64 {
            let now = unix_now();
            let mut changes = Changes::default();
            changes.clear = n % 7 == 6;
            for name in ["a", "b"] {
                changes
                    .set
                    .insert(name.into(), Some(Value::Int(round * 100 + n)));
            }
            changes
                .set
                .insert("big".into(), Some(Value::Str(big.clone())));
            store
                .apply(&key, &changes, now + 3600, now)
                .await
                .expect("child: apply");
        }
        if round % 3 == 0 {
            store.delete(&key).await.expect("child: delete");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_kill_9_mid_write() {
    let (mut checked, mut runs) = (0u64, 0u32);
    for run in 0..20u32 {
        let db = TempDb::new(&format!("kill{run}"));
        let exe = std::env::current_exe().expect("test binary path");
        let mut child = Command::new(exe)
            .args([
                "stores::sqlite::sqlite_kill_child_writer",
                "--exact",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &db.0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn writer child");
        wait_for_rows(&db.0, 30 + u64::from(run) * 15).await;
        tokio::time::sleep(Duration::from_millis(u64::from(run) * 37 % 200)).await;
        child.kill().expect("SIGKILL the writer"); // SIGKILL on Unix
        let _ = child.wait();
        checked += check_every_record(&db.0).await;
        runs += 1;
    }
    eprintln!("[sqlite] kill -9: {runs} runs, {checked} records checked, 0 undecodable, 0 torn");
    assert!(checked > 0, "the child never wrote anything");
}

async fn wait_for_rows(path: &Path, rows: u64) {
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        let count = rusqlite::Connection::open(path).and_then(|c| {
            c.query_row("SELECT count(*) FROM flagon_session_values", [], |r| {
                r.get::<_, i64>(0)
            })
        });
        if count.is_ok_and(|n| n as u64 >= rows) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the writer child produced no rows within 60 s");
}

/// Opens the killed database and checks that it is intact and every record decodes whole.
async fn check_every_record(path: &Path) -> u64 {
    let keys: Vec<[u8; 32]> = {
        let conn = rusqlite::Connection::open(path).expect("open after kill");
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .expect("check");
        assert_eq!(ok, "ok", "database corrupt after kill -9");
        let mut stmt = conn
            .prepare("SELECT key FROM flagon_sessions")
            .expect("prepare");
        let rows = stmt
            .query_map([], |r| r.get::<_, Vec<u8>>(0))
            .expect("query");
        rows.map(|k| k.expect("row").try_into().expect("32-byte key"))
            .collect()
    };
    let store = SqliteStore::open(path).await.expect("reopen after kill");
    for key in &keys {
        let key = flagon::id::StoreKey::from_bytes(*key);
        let record = store
            .load(&key, unix_now())
            .await
            .expect("record undecodable after kill");
        let record = record.expect("live record vanished");
        assert_eq!(
            record.data.get("a"),
            record.data.get("b"),
            "torn write after kill -9"
        );
    }
    keys.len() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sweep_removes_expired_in_batches_and_keeps_live() {
    let db = TempDb::new("sweep");
    let store = SqliteStore::open(&db.0).await.expect("open sqlite");
    let now = unix_now();
    for n in 0..2_500u64 {
        let mut data = Map::new();
        data.insert("n".into(), Value::Int(n as i64));
        let record = flagon::store::Record::new(data, now - 100, now - 1 + n % 2);
        let key = flagon::store::conformance::fresh_key();
        store.create(&key, &record).await.expect("create");
    }
    let live = create_live(&store, Map::new()).await;
    let removed = store.sweep(now).await.expect("sweep");
    eprintln!("[sqlite] one sweep removed {removed} of 2,500 expired sessions (batches of 1,000)");
    assert_eq!(removed, 2_500);
    assert_eq!(
        raw_count(&db.0, "flagon_sessions"),
        1,
        "only the live session is left"
    );
    assert_eq!(
        raw_count(&db.0, "flagon_session_values"),
        0,
        "values of swept sessions left"
    );
    assert!(store.load(&live, now).await.expect("load").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_registry_conformance() {
    let db = TempDb::new("registry");
    let store = SqliteStore::open(&db.0).await.expect("open sqlite");
    let report = conformance::run_registry(Arc::new(store)).await;
    super::check_registry_report("sqlite", &report);
}

/// The writer commits queued writes together (group commit); each keeps its own outcome:
/// writes into live sessions land, writes into a purged one report it gone and leave
/// nothing, a failed expectation rolls back only its own write (its extend included),
/// and a sweep interleaves with them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_group_commit_keeps_each_writes_own_outcome() {
    use flagon::store::Applied;
    let db = TempDb::new("group-commit");
    let store = Arc::new(SqliteStore::open(&db.0).await.expect("open sqlite"));
    let mut live = Vec::new();
    for _ in 0..40 {
        live.push(create_live(&*store, Map::new()).await);
    }
    let purged = create_live(&*store, Map::new()).await;
    store.delete(&purged).await.expect("purge");
    let strict = create_live(&*store, Map::new()).await;
    let now = unix_now();
    let set = |name: &str, n: i64| {
        let mut changes = Changes::default();
        changes.set.insert(name.into(), Some(Value::Int(n)));
        changes
    };
    let mut tasks = Vec::new();
    for (i, key) in live.iter().enumerate() {
        for round in 0..5i64 {
            let (store, key) = (store.clone(), *key);
            let changes = set(&format!("k{round}"), i as i64);
            tasks.push(tokio::spawn(async move {
                ("live", store.apply(&key, &changes, now + 7200, now).await)
            }));
        }
        let (store, purged) = (store.clone(), purged);
        tasks.push(tokio::spawn(async move {
            (
                "gone",
                store.apply(&purged, &set("x", 1), now + 7200, now).await,
            )
        }));
    }
    let mut conflicting = set("y", 1);
    conflicting.expect.insert("y".into(), Some(Value::Int(41)));
    let expiry_before = store.load(&strict, now).await.unwrap().unwrap().expires_at;
    {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            (
                "conflict",
                store.apply(&strict, &conflicting, now + 99_999, now).await,
            )
        }));
    }
    let sweeper = {
        let store = store.clone();
        tokio::spawn(async move { store.sweep(now).await })
    };
    for task in tasks {
        let (kind, outcome) = task.await.expect("task");
        let want = match kind {
            "live" => Applied::Done,
            "gone" => Applied::Gone,
            _ => Applied::Conflict,
        };
        assert_eq!(outcome.expect("write"), want, "{kind}");
    }
    assert_eq!(sweeper.await.unwrap().expect("sweep"), 0);
    for (i, key) in live.iter().enumerate() {
        let record = store.load(key, now).await.unwrap().expect("live session");
        for round in 0..5 {
            assert_eq!(
                record.data.get(&format!("k{round}")),
                Some(&Value::Int(i as i64))
            );
        }
        assert_eq!(record.expires_at, now + 7200);
    }
    assert!(store.load(&purged, now).await.unwrap().is_none());
    let strict_after = store.load(&strict, now).await.unwrap().unwrap();
    assert!(
        strict_after.data.is_empty(),
        "the conflicting write left nothing"
    );
    assert_eq!(strict_after.expires_at, expiry_before, "nor its extend");
}
