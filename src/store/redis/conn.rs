//! The connection a [`RedisStore`](super::RedisStore) uses, and its replacement after a
//! timeout.
//!
//! A multiplexed connection pairs replies with requests by order. When a server or the
//! network swallows requests (a black hole), the connection waits for replies that will
//! never come, and once traffic flows again every reply would go to an older request:
//! the connection never recovers on its own. So after a deadline passes, the store drops
//! that connection and makes a new one.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, RedisFuture, Value as RedisValue};

use crate::store::StoreError;

/// One multiplexed, self-reconnecting connection to a node or a cluster.
#[derive(Clone)]
pub(in crate::store) enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

/// A single node's connection manager learns that its connection died only from the
/// command that finds it dead (a restart while the store was idle, or the failed
/// reconnect left behind by an outage): it fails that command and reconnects in the
/// background. Without a second try, the first request after Redis comes back would get
/// the failure response although Redis answers. So a command that finds the connection
/// dropped is sent once more, on the connection the manager is making now; when Redis is
/// still down that fails as fast as the first try. Sending a command twice is safe: every
/// write of the store's sets absolute values or is a script that checks before it writes
/// (a `create` or `seal` that did run answers as a collision).
impl redis::aio::ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, RedisValue> {
        match self {
            Conn::Single(c) => Box::pin(async move {
                match c.req_packed_command(cmd).await {
                    Err(e) if e.is_connection_dropped() => c.req_packed_command(cmd).await,
                    done => done,
                }
            }),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<RedisValue>> {
        match self {
            Conn::Single(c) => Box::pin(async move {
                match c.req_packed_commands(pipeline, offset, count).await {
                    Err(e) if e.is_connection_dropped() => {
                        c.req_packed_commands(pipeline, offset, count).await
                    }
                    done => done,
                }
            }),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// How to make a new connection.
pub(in crate::store) enum Source {
    Single(redis::Client, ConnectionManagerConfig),
    Cluster(ClusterClient),
}

/// The current connection and how to replace it.
pub(in crate::store) struct Link {
    current: RwLock<Conn>,
    source: Source,
    replacing: AtomicBool,
}

impl Link {
    pub(in crate::store) fn new(conn: Conn, source: Source) -> Arc<Link> {
        Arc::new(Link {
            current: RwLock::new(conn),
            source,
            replacing: AtomicBool::new(false),
        })
    }

    /// A handle on the current connection (cheap: connections are shared handles).
    pub(in crate::store) fn get(&self) -> Conn {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How connections are made: one node or a Cluster.
    pub(super) fn source(&self) -> &Source {
        &self.source
    }

    pub(in crate::store) fn kind(&self) -> &'static str {
        match self.source {
            Source::Single(..) => "single",
            Source::Cluster(_) => "cluster",
        }
    }

    /// Runs `work` on the current connection within `deadline`; on timeout the
    /// connection is replaced before the error is returned.
    ///
    /// The connection is replaced too when the caller stops waiting first (the layer's
    /// own `store_deadline` may be shorter than this store's): a request abandoned in
    /// flight leaves the multiplexed connection waiting for a reply that may never come,
    /// so whichever deadline fires, the next operation gets a fresh connection.
    pub(in crate::store) async fn run<T, F, Fut>(
        self: &Arc<Self>,
        deadline: Duration,
        work: F,
    ) -> Result<T, StoreError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut guard = ReplaceIfAbandoned {
            link: self,
            deadline,
            armed: true,
        };
        let out = match tokio::time::timeout(deadline, work(self.get())).await {
            Ok(result) => result,
            Err(_) => {
                self.replace(deadline);
                Err(StoreError::Timeout(deadline))
            }
        };
        guard.armed = false;
        out
    }

    /// Swaps in a new connection (a single node's is made lazily, at once; a cluster's in
    /// a background task, one at a time).
    fn replace(self: &Arc<Self>, deadline: Duration) {
        match &self.source {
            Source::Single(client, config) => {
                let fresh = ConnectionManager::new_lazy_with_config(client.clone(), config.clone());
                if let Ok(manager) = fresh {
                    self.set(Conn::Single(manager));
                }
            }
            Source::Cluster(client) => {
                if self.replacing.swap(true, Ordering::SeqCst) {
                    return;
                }
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    self.replacing.store(false, Ordering::SeqCst);
                    return;
                };
                let (link, client) = (self.clone(), client.clone());
                runtime.spawn(async move {
                    let fresh = tokio::time::timeout(deadline * 4, client.get_async_connection());
                    if let Ok(Ok(conn)) = fresh.await {
                        link.set(Conn::Cluster(conn));
                    }
                    link.replacing.store(false, Ordering::SeqCst);
                });
            }
        }
        tracing::debug!("redis session store replaced a timed-out connection");
    }

    fn set(&self, conn: Conn) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = conn;
    }
}

/// Replaces the connection when dropped while armed: the operation's future was dropped
/// before it finished.
struct ReplaceIfAbandoned<'a> {
    link: &'a Arc<Link>,
    deadline: Duration,
    armed: bool,
}

impl Drop for ReplaceIfAbandoned<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.link.replace(self.deadline);
        }
    }
}
