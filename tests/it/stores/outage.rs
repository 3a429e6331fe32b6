//! Black-holed stores (SECURITY G2 / O2): a TCP proxy that stops forwarding, so the store
//! accepts connections and never answers. Every operation must give up within its
//! deadline + 100 ms, and the store must work again once the hole closes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flagon::store::conformance::{create_live, fresh_key, unix_now};
use flagon::store::{Changes, SessionStore};
use flagon::Map;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A loopback TCP proxy to `upstream` that swallows all bytes while `hole` is set.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    hole: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub(crate) async fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let hole = Arc::new(AtomicBool::new(false));
        let flag = hole.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(forward(cr, sw, flag.clone()));
                tokio::spawn(forward(sr, cw, flag.clone()));
            }
        });
        Proxy { port, hole, task }
    }

    pub(crate) fn black_hole(&self, on: bool) {
        self.hole.store(on, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    hole: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        if !hole.load(Ordering::SeqCst) && to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}

/// Runs load, apply, touch and delete against a black-holed store three times; returns
/// the slowest. Each must fail within `deadline` + 100 ms.
async fn fail_fast<S: SessionStore>(name: &str, store: &S, deadline: Duration) -> Duration {
    let key = fresh_key();
    let now = unix_now();
    let mut worst = Duration::ZERO;
    for _ in 0..3 {
        let mut timed = Vec::new();
        let t = Instant::now();
        timed.push(("load", store.load(&key, now).await.is_err(), t.elapsed()));
        let t = Instant::now();
        let step = Changes::default();
        timed.push((
            "apply",
            store.apply(&key, &step, now + 9, now).await.is_err(),
            t.elapsed(),
        ));
        let t = Instant::now();
        timed.push((
            "touch",
            store.touch(&key, now + 9, now).await.is_err(),
            t.elapsed(),
        ));
        let t = Instant::now();
        timed.push(("delete", store.delete(&key).await.is_err(), t.elapsed()));
        for (op, failed, took) in timed {
            assert!(failed, "[{name}] {op} succeeded through a black hole");
            assert!(
                took <= deadline + Duration::from_millis(100),
                "[{name}] {op} took {took:?}"
            );
            worst = worst.max(took);
        }
    }
    worst
}

/// Closes the hole and waits until the store answers again; returns how long it took.
async fn recover<S: SessionStore>(name: &str, store: &S, proxy: &Proxy) -> Duration {
    proxy.black_hole(false);
    let back = Instant::now();
    while store.load(&fresh_key(), unix_now()).await.is_err() {
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "[{name}] never recovered"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    back.elapsed()
}

/// The whole scenario for one store reached through `proxy`.
async fn scenario<S: SessionStore>(name: &str, store: S, proxy: &Proxy, deadline: Duration) {
    let before = create_live(&store, Map::new()).await;
    proxy.black_hole(true);
    let worst = fail_fast(name, &store, deadline).await;
    let recovered = recover(name, &store, proxy).await;
    let kept = store
        .load(&before, unix_now())
        .await
        .expect("load after recovery");
    eprintln!(
        "[{name}-blackhole] worst failing op {worst:?} (deadline {deadline:?}); \
         answering again {recovered:?} after the hole closed; session from before kept: {}",
        kept.is_some()
    );
    assert!(
        kept.is_some(),
        "[{name}] a session from before the outage was lost"
    );
    assert!(
        recovered < Duration::from_secs(2),
        "[{name}] recovery took {recovered:?}"
    );
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_black_hole_fails_within_deadline_and_recovers() {
    use flagon::store::redis::{RedisOptions, RedisStore};
    let proxy = Proxy::start(6379).await;
    let deadline = Duration::from_millis(300);
    let options = RedisOptions::default()
        .deadline(deadline)
        .prefix(format!("flagon-test:{}:", super::run_id()));
    let url = format!("redis://127.0.0.1:{}", proxy.port);
    let store = match RedisStore::connect_with(&url, options).await {
        Ok(store) => store,
        Err(e) => return super::skip_or_fail("Redis on 127.0.0.1:6379", &e),
    };
    scenario("redis", store, &proxy, deadline).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_black_hole_fails_within_deadline_and_recovers() {
    use flagon::store::postgres::{PostgresOptions, PostgresStore};
    let proxy = Proxy::start(5432).await;
    let deadline = Duration::from_millis(500);
    let table = format!("flagon_hole_{}", super::run_id()).to_lowercase();
    let options = PostgresOptions::default()
        .table(table.clone())
        .deadline(deadline);
    let url = format!("postgres://postgres@127.0.0.1:{}/test", proxy.port);
    let store = match PostgresStore::connect_with(&url, options).await {
        Ok(store) => store,
        Err(e) => return super::skip_or_fail("PostgreSQL on 127.0.0.1:5432", &e),
    };
    scenario("postgres", store, &proxy, deadline).await;
    let (client, conn) = tokio_postgres::connect(
        "postgres://postgres@127.0.0.1:5432/test",
        tokio_postgres::NoTls,
    )
    .await
    .expect("raw");
    tokio::spawn(conn);
    let drop = format!("DROP TABLE IF EXISTS {table}_values; DROP TABLE IF EXISTS {table};");
    client.batch_execute(&drop).await.expect("drop");
}
