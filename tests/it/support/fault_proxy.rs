//! A fault-injecting TCP proxy on loopback, between the app and Redis or PostgreSQL.
//!
//! Faults, switchable at any time:
//! - latency (a base delay plus uniform jitter on every chunk, order kept);
//! - black hole (bytes are read and dropped; connections stay open);
//! - resets (every open connection is cut, new ones are cut on accept);
//! - loss (each chunk, with the given probability, waits a retransmission timeout of
//!   200 ms before it goes on: what TCP makes of packet loss, seen from the application).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// What the proxy does to traffic now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Forward as is.
    None,
    /// Delay every chunk by `base_ms` plus up to `jitter_ms`.
    Latency { base_ms: u64, jitter_ms: u64 },
    /// Swallow every byte.
    BlackHole,
    /// Cut every connection.
    Reset,
    /// Delay a chunk by a retransmission timeout with probability `percent`/100.
    Loss { percent: u64 },
}

/// The TCP retransmission timeout a lost segment costs.
const RTO: Duration = Duration::from_millis(200);

/// A running proxy; stops when dropped.
pub(crate) struct FaultProxy {
    pub(crate) port: u16,
    fault: Arc<Mutex<Fault>>,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub(crate) async fn start(upstream: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let fault = Arc::new(Mutex::new(Fault::None));
        let conns: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (f, c) = (fault.clone(), conns.clone());
        let task = tokio::spawn(async move {
            let seed = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
            let seed = Arc::new(seed);
            while let Ok((client, _)) = listener.accept().await {
                if *f.lock().unwrap() == Fault::Reset {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                // One task per connection: when either side ends, both sockets close
                // (a server waiting for a black-holed handshake would otherwise keep its
                // side open for its own timeout, and this process's descriptors with it).
                let (f, seed) = (f.clone(), seed.clone());
                let conn = tokio::spawn(async move {
                    tokio::select! {
                        () = forward(cr, sw, f.clone(), seed.clone()) => {}
                        () = forward(sr, cw, f, seed) => {}
                    }
                });
                let mut open = c.lock().unwrap();
                open.retain(|h| !h.is_finished());
                open.push(conn.abort_handle());
            }
        });
        FaultProxy {
            port,
            fault,
            conns,
            task,
        }
    }

    /// Switches to `fault`; `Reset` also cuts every open connection now.
    pub(crate) fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
        if fault == Fault::Reset {
            for conn in self.conns.lock().unwrap().drain(..) {
                conn.abort();
            }
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
        for conn in self.conns.lock().unwrap().drain(..) {
            conn.abort();
        }
    }
}

/// A cheap shared pseudo-random number (xorshift), for jitter and loss.
fn next(seed: &AtomicU64) -> u64 {
    let mut x = seed.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    seed.store(x, Ordering::Relaxed);
    x
}

async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    fault: Arc<Mutex<Fault>>,
    seed: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let now = *fault.lock().unwrap();
        match now {
            Fault::None => {}
            Fault::Latency { base_ms, jitter_ms } => {
                let jitter = if jitter_ms == 0 {
                    0
                } else {
                    next(&seed) % jitter_ms
                };
                tokio::time::sleep(Duration::from_millis(base_ms + jitter)).await;
            }
            Fault::BlackHole => continue,
            Fault::Reset => break,
            Fault::Loss { percent } => {
                if next(&seed) % 100 < percent {
                    tokio::time::sleep(RTO).await;
                }
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
}
