//! The Redis store: one Redis node, or a Redis Cluster.
//!
//! Each session is one hash (see the layout in `scripts`), so every operation touches one
//! key in one Cluster slot. A load is one `HGETALL`; create, apply and touch are one
//! `EVALSHA` each, atomic on the server, over one multiplexed connection that pipelines
//! concurrent requests. Expiry is checked on every read and enforced by a TTL, so Redis
//! drops expired sessions itself and [`SessionStore::sweep`] has nothing to do.
//!
//! A session with an owner is also listed in its owner's index, a sorted set in a slot of
//! its own, for the [`SessionRegistry`](crate::registry::SessionRegistry); see `owners`
//! for how it stays a superset of the owner's live sessions without a cross-slot script.
//!
//! `renew` moves a session between two keys. On one node that is one atomic script. A
//! Cluster may place the two keys on two nodes, so there it takes three steps: seal the
//! old record (it answers as gone from then on), create the new one if the key is free,
//! delete the old one. A crash or deadline between the first two steps leaves the session
//! sealed: the user is logged out, never duplicated. Each step is safe to resend (the
//! Cluster client resends a command whose reply was lost): a resent seal or create
//! recognises its own work.
//!
//! Persistence caveat: if Redis restarts without persistence every session is gone, and if
//! it restarts from an older snapshot, sessions deleted since may come back. Use AOF with
//! `appendfsync everysec` or `always` when logouts must survive a Redis restart.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::codec::{backend, encode_value, SetupError};
use super::{Applied, Changes, Created, Record, Renewed, SessionStore, StoreError};
use crate::id::StoreKey;

pub(in crate::store) mod conn;
pub(crate) mod fields;
mod owners;
mod scripts;

use conn::{Conn, Link, Source};

use fields::{pairs, push_changes, push_data, push_grant, reply_to_record};
use owners::Action;

use scripts::Scripts;

/// Settings of a [`RedisStore`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Longest time one operation may take, reconnecting included (default 500 ms).
    pub deadline: Duration,
    /// Text put before every session key (default `flagon:`); the key is
    /// `PREFIX{HEX}`, the braces being the Cluster hash tag, so the prefix itself may not
    /// contain braces. Owner indexes of the session registry are `PREFIX{owner:HASH}`.
    /// Keep application keys out of this namespace.
    pub prefix: String,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            deadline: Duration::from_millis(500),
            prefix: "flagon:".to_owned(),
        }
    }
}

impl RedisOptions {
    /// Sets [`deadline`](Self::deadline).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets [`prefix`](Self::prefix).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

/// Sessions in Redis (one node or a Cluster).
pub struct RedisStore {
    link: Arc<Link>,
    options: RedisOptions,
}

/// The scripts, hashed once per process.
static SCRIPTS: LazyLock<Scripts> = LazyLock::new(Scripts::new);

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = self.link.kind();
        f.debug_struct("RedisStore")
            .field("kind", &kind)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to one Redis node (`redis://[:PASSWORD@]HOST:PORT[/DB]`; TLS is not compiled in).
    ///
    /// # Errors
    /// [`StoreError`] when the URL is invalid or the node does not answer in time.
    pub async fn connect(url: &str) -> Result<RedisStore, StoreError> {
        RedisStore::connect_with(url, RedisOptions::default()).await
    }

    /// Connects to one Redis node with `options`.
    ///
    /// # Errors
    /// [`StoreError`] when the URL is invalid or the node does not answer in time.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<RedisStore, StoreError> {
        check_prefix(&options)?;
        let link = single_node_link(url, options.deadline).await?;
        RedisStore::new(link, options).await
    }

    /// Connects to a Redis Cluster through any of its nodes (`redis://HOST:PORT` each).
    ///
    /// # Errors
    /// [`StoreError`] when no seed answers in time or the cluster is not usable.
    pub async fn connect_cluster(seeds: &[String]) -> Result<RedisStore, StoreError> {
        RedisStore::connect_cluster_with(seeds, RedisOptions::default()).await
    }

    /// Connects to a Redis Cluster with `options`.
    ///
    /// # Errors
    /// [`StoreError`] when no seed answers in time or the cluster is not usable.
    pub async fn connect_cluster_with(
        seeds: &[String],
        options: RedisOptions,
    ) -> Result<RedisStore, StoreError> {
        check_prefix(&options)?;
        let client = redis::cluster::ClusterClient::builder(seeds.iter().map(String::as_str))
            .connection_timeout(options.deadline)
            .response_timeout(options.deadline + Duration::from_secs(1))
            .retries(2)
            .build()
            .map_err(backend)?;
        let conn = within(options.deadline * 4, async {
            client.get_async_connection().await.map_err(backend)
        })
        .await?;
        RedisStore::new(
            Link::new(Conn::Cluster(conn), Source::Cluster(client)),
            options,
        )
        .await
    }

    /// Loads the scripts up front, so even the first save is one round trip. (After a
    /// Redis restart flushes them, the first call of each script reloads it once.)
    async fn new(link: Arc<Link>, options: RedisOptions) -> Result<RedisStore, StoreError> {
        link.run(options.deadline, |mut c| async move {
            for script in SCRIPTS.all() {
                script.load_async(&mut c).await.map_err(backend)?;
            }
            Ok(())
        })
        .await?;
        Ok(RedisStore { link, options })
    }

    /// The Redis key of a session.
    fn key(&self, key: &StoreKey) -> String {
        key_text(&self.options.prefix, key)
    }

    /// Runs `cmd`, an [`evalsha`] of `script`, within the deadline; if Redis lost its
    /// scripts (a restart or `SCRIPT FLUSH`), loads `script` and runs `cmd` once more.
    async fn eval<T: redis::FromRedisValue>(
        &self,
        script: &'static redis::Script,
        cmd: redis::Cmd,
    ) -> Result<T, StoreError> {
        self.link
            .run(self.options.deadline, |mut conn| async move {
                match cmd.query_async(&mut conn).await {
                    Err(e)
                        if e.kind()
                            == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
                    {
                        script.load_async(&mut conn).await.map_err(backend)?;
                        cmd.query_async(&mut conn).await.map_err(backend)
                    }
                    other => other.map_err(backend),
                }
            })
            .await
    }

    /// Renew on a Cluster, where the two keys may live on two nodes: seal the old record
    /// with a token, create the new one, delete the old one. Each step is safe to resend
    /// (see `scripts`), and the token is the new key, unique to this attempt. An owned
    /// record's new key goes into its owner index before the record is created.
    async fn renew_steps(
        &self,
        old: &str,
        new_key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Renewed, StoreError> {
        let new = &self.key(new_key);
        let mut seal = evalsha(&SCRIPTS.seal, old);
        seal.arg(now).arg(new);
        let fields: Vec<String> = self.eval(&SCRIPTS.seal, seal).await?;
        if fields.is_empty() {
            return Ok(Renewed::Gone);
        }
        let fields: HashMap<String, String> = pairs(fields);
        let stale = changes.expect.iter().any(|(name, value)| {
            let stored = fields.get(&format!("v:{name}"));
            stored.map(String::as_str) != value.as_ref().map(encode_value).as_deref()
        });
        if stale {
            // The sealed copy is what the other writers left: nothing moves.
            self.unseal(old, new).await?;
            return Ok(Renewed::Conflict);
        }
        let moved = self.moved(fields, changes, now)?;
        let mut create = evalsha(&SCRIPTS.create, new);
        create
            .arg(now)
            .arg(moved.created_at)
            .arg(expires_at)
            .arg(old);
        for (field, value) in moved.fields {
            create.arg(field).arg(value);
        }
        if let Some(index) = moved.index {
            let grant = self.grant(index, new_key, expires_at, now).await?;
            create.arg("o").arg(grant.index).arg("l").arg(grant.lease);
        }
        let stored: i64 = self.eval(&SCRIPTS.create, create).await?;
        if stored == 0 {
            self.unseal(old, new).await?;
            return Ok(Renewed::Collision);
        }
        self.del(old).await?;
        Ok(Renewed::Done)
    }

    /// What a Cluster renew writes under the new key, from the sealed `fields`.
    fn moved(
        &self,
        mut fields: HashMap<String, String>,
        changes: &Changes,
        now: u64,
    ) -> Result<Moved, StoreError> {
        let created_at = fields.remove("c").unwrap_or_else(|| now.to_string());
        let index = match Action::of(changes) {
            Action::Set(owner) => Some(owners::index_key(&self.options.prefix, owner)),
            Action::Keep => match fields.remove("o") {
                Some(index) => Some(self.our_index(index.into_bytes())?),
                None => None,
            },
            Action::Drop => None,
        };
        fields.retain(|f, _| f.starts_with("v:") && !changes.clear);
        for (name, value) in &changes.set {
            let field = format!("v:{name}");
            match value {
                Some(value) => fields.insert(field, encode_value(value)),
                None => fields.remove(&field),
            };
        }
        Ok(Moved {
            created_at,
            fields,
            index,
        })
    }

    /// Undoes a seal made with the token `new`.
    async fn unseal(&self, old: &str, new: &str) -> Result<(), StoreError> {
        let mut unseal = evalsha(&SCRIPTS.unseal, old);
        unseal.arg(new);
        let _: i64 = self.eval(&SCRIPTS.unseal, unseal).await?;
        Ok(())
    }

    async fn del(&self, key: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(key);
        self.link
            .run(self.options.deadline, |mut conn| async move {
                cmd.query_async::<i64>(&mut conn).await.map_err(backend)
            })
            .await
            .map(|_| ())
    }
}

/// The record a Cluster renew creates under the new key.
struct Moved {
    /// The old record's created_at.
    created_at: String,
    /// Its value fields (`v:NAME`) with the renew's changes applied.
    fields: HashMap<String, String>,
    /// The owner index it belongs in, if any.
    index: Option<String>,
}

/// `HGETALL name` on `link` within `deadline`: a session hash as Redis sent it.
async fn hgetall(
    link: &Arc<Link>,
    deadline: Duration,
    name: String,
) -> Result<redis::Value, StoreError> {
    let mut cmd = redis::cmd("HGETALL");
    cmd.arg(name);
    link.run(deadline, |mut conn| async move {
        cmd.query_async(&mut conn).await.map_err(backend)
    })
    .await
}

/// A self-replacing multiplexed connection to one node (`redis://…` URL).
pub(in crate::store) async fn single_node_link(
    url: &str,
    deadline: Duration,
) -> Result<Arc<Link>, StoreError> {
    let client = redis::Client::open(url).map_err(backend)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(deadline))
        // No response timeout of its own (one timer less per command): our deadline
        // covers every command and replaces the connection when it passes (see `conn`).
        .set_response_timeout(None)
        .set_number_of_retries(0)
        .set_max_delay(Duration::from_millis(500));
    let manager = within(deadline, async {
        ConnectionManager::new_with_config(client.clone(), config.clone())
            .await
            .map_err(backend)
    })
    .await?;
    Ok(Link::new(
        Conn::Single(manager),
        Source::Single(client, config),
    ))
}

/// The Redis key of a session: `PREFIX{HEX}` (hex written by hand: formatting each
/// byte was a measurable share of a request).
fn key_text(prefix: &str, key: &StoreKey) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(prefix.len() + 66);
    text.push_str(prefix);
    text.push('{');
    for byte in key.as_bytes() {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 15)]));
    }
    text.push('}');
    text
}

/// A random token for one create call, so a resent create knows its own record.
fn nonce() -> String {
    let bytes: [u8; 8] = crate::key::random_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An `EVALSHA` of `script` on the one key `key`, arguments to follow.
fn evalsha(script: &redis::Script, key: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(script.get_hash()).arg(1).arg(key);
    cmd
}

/// A prefix with braces would move the hash tag and split sessions across slots.
fn check_prefix(options: &RedisOptions) -> Result<(), StoreError> {
    if options.prefix.contains(['{', '}']) {
        return Err(backend(SetupError(
            "redis key prefix must not contain braces: they would change the Cluster hash slot",
        )));
    }
    Ok(())
}

/// Runs `work` under `deadline`, turning a timeout into [`StoreError::Timeout`].
pub(in crate::store) async fn within<T>(
    deadline: Duration,
    work: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(deadline, work)
        .await
        .map_err(|_| StoreError::Timeout(deadline))?
}

impl SessionStore for RedisStore {
    async fn load(&self, key: &StoreKey, now: u64) -> Result<Option<Record>, StoreError> {
        let reply = hgetall(&self.link, self.options.deadline, self.key(key)).await?;
        reply_to_record(reply, now)
    }

    /// A record with an owner goes into its owner index first (one round trip more).
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, StoreError> {
        let (expires_at, now) = (record.expires_at, record.created_at);
        let action = Action::of_data(&record.data);
        let grant = self.grant_first(action, key, expires_at, now).await?;
        let mut cmd = evalsha(&SCRIPTS.create, &self.key(key));
        cmd.arg(record.created_at)
            .arg(record.created_at)
            .arg(record.expires_at)
            .arg(nonce());
        push_data(&mut cmd, &record.data);
        if let Some(grant) = grant {
            cmd.arg("o").arg(grant.index).arg("l").arg(grant.lease);
        }
        let stored: i64 = self.eval(&SCRIPTS.create, cmd).await?;
        Ok(if stored == 1 {
            Created::Stored
        } else {
            Created::Collision
        })
    }

    async fn apply(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        let name = self.key(key);
        let action = Action::of(changes);
        let grant = self.grant_first(action, key, expires_at, now).await?;
        let build = |grant: Option<&owners::Grant>| {
            let mut cmd = evalsha(&SCRIPTS.apply, &name);
            cmd.arg(now).arg(expires_at);
            push_changes(&mut cmd, changes, grant, action.word());
            cmd
        };
        let times = (expires_at, now);
        let done = self.write_granted(&SCRIPTS.apply, key, grant, times, build);
        Ok(match done.await? {
            1 => Applied::Done,
            2 => Applied::Conflict,
            _ => Applied::Gone,
        })
    }

    async fn renew(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Renewed, StoreError> {
        if old == new {
            return Ok(Renewed::Collision);
        }
        let old_name = self.key(old);
        if let Source::Cluster(_) = self.link.source() {
            let steps = self.renew_steps(&old_name, new, changes, expires_at, now);
            return within(self.options.deadline * 3, steps).await;
        }
        // One node holds both keys: one atomic script (after the owner index, if any,
        // holds the new key).
        let new_name = self.key(new);
        let action = Action::of(changes);
        let grant = self.grant_first(action, new, expires_at, now).await?;
        let build = |grant: Option<&owners::Grant>| {
            let mut cmd = redis::cmd("EVALSHA");
            cmd.arg(SCRIPTS.renew.get_hash())
                .arg(2)
                .arg(&old_name)
                .arg(&new_name);
            cmd.arg(now).arg(expires_at);
            push_changes(&mut cmd, changes, grant, action.word());
            cmd
        };
        let times = (expires_at, now);
        let done = self.write_granted(&SCRIPTS.renew, new, grant, times, build);
        Ok(match done.await? {
            1 => Renewed::Done,
            2 => Renewed::Collision,
            3 => Renewed::Conflict,
            _ => Renewed::Gone,
        })
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        let name = self.key(key);
        let build = |grant: Option<&owners::Grant>| {
            let mut cmd = evalsha(&SCRIPTS.touch, &name);
            cmd.arg(now).arg(expires_at);
            push_grant(&mut cmd, grant);
            cmd
        };
        let times = (expires_at, now);
        let done = self.write_granted(&SCRIPTS.touch, key, None, times, build);
        Ok(if done.await? == 1 {
            Applied::Done
        } else {
            Applied::Gone
        })
    }

    /// One script that also names the record's owner index; a second round trip then
    /// drops the key from it (only for a session that had an owner).
    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        let cmd = evalsha(&SCRIPTS.delete, &self.key(key));
        let index: Option<Vec<u8>> = self.eval(&SCRIPTS.delete, cmd).await?;
        if let Some(index) = index {
            self.forget(index, key).await;
        }
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    /// Redis expires sessions itself (TTL); nothing to do.
    async fn sweep(&self, _now: u64) -> Result<u64, StoreError> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefix_and_hex_in_a_hash_tag() {
        let key = StoreKey::from_bytes(std::array::from_fn(|i| (i * 37) as u8));
        let expected = format!("flagon:{{{}}}", key.to_hex());
        assert_eq!(key_text("flagon:", &key), expected);
    }

    /// More fields than one Lua `unpack` takes, through every script that batches them.
    #[tokio::test]
    async fn thousands_of_fields_go_through_in_chunks() {
        use crate::value::{Map, Value};
        let store = match RedisStore::connect("redis://127.0.0.1:6379").await {
            Ok(store) => store,
            Err(e) => return eprintln!("skipped: no Redis on 127.0.0.1:6379 ({e})"),
        };
        let now = crate::store::codec::unix_now();
        let key = crate::id::SessionId::generate().store_key();
        let data: Map = (0..5000)
            .map(|i| (format!("k{i}"), Value::Int(i)))
            .collect();
        let record = Record::new(data, now, now + 60);
        assert_eq!(
            store.create(&key, &record).await.ok(),
            Some(Created::Stored)
        );
        let mut changes = Changes::default();
        for i in 0..5000 {
            let value = (i % 2 == 0).then_some(Value::Int(-i));
            changes.set.insert(format!("k{i}"), value);
        }
        let applied = store.apply(&key, &changes, now + 120, now).await;
        assert_eq!(applied.ok(), Some(Applied::Done));
        let loaded = store.load(&key, now).await.ok().flatten().expect("live");
        assert_eq!(loaded.data.len(), 2500);
        assert_eq!(loaded.data.get("k4998"), Some(&Value::Int(-4998)));
        assert_eq!(loaded.expires_at, now + 120);
        let clear = Changes {
            clear: true,
            ..Changes::default()
        };
        let applied = store.apply(&key, &clear, now + 120, now).await;
        assert_eq!(applied.ok(), Some(Applied::Done));
        let loaded = store.load(&key, now).await.ok().flatten().expect("live");
        assert!(loaded.data.is_empty());
        store.delete(&key).await.ok();
    }

    /// The Cluster client resends a command whose reply was lost, although the first
    /// one ran: a resent create or seal must report what the first one did, not a
    /// collision (an orphaned duplicate) or a false "gone" (a user logged out).
    #[tokio::test]
    async fn create_and_seal_are_safe_to_resend() {
        let prefix = format!("flagon-resend:{}:", crate::store::codec::unix_now());
        let options = RedisOptions::default().prefix(prefix);
        let store = match RedisStore::connect_with("redis://127.0.0.1:6379", options).await {
            Ok(store) => store,
            Err(e) => return eprintln!("skipped: no Redis on 127.0.0.1:6379 ({e})"),
        };
        let now = crate::store::codec::unix_now();
        let key = store.key(&crate::id::SessionId::generate().store_key());
        let create = |nonce: &str| {
            let mut cmd = evalsha(&SCRIPTS.create, &key);
            cmd.arg(now).arg(now).arg(now + 60).arg(nonce);
            cmd.arg("v:a").arg("1");
            cmd
        };
        let first: i64 = store.eval(&SCRIPTS.create, create("n1")).await.unwrap();
        let resent: i64 = store.eval(&SCRIPTS.create, create("n1")).await.unwrap();
        let other: i64 = store.eval(&SCRIPTS.create, create("n2")).await.unwrap();
        assert_eq!((first, resent, other), (1, 1, 0));

        let seal = |token: &str| {
            let mut cmd = evalsha(&SCRIPTS.seal, &key);
            cmd.arg(now).arg(token);
            cmd
        };
        let sealed: Vec<String> = store.eval(&SCRIPTS.seal, seal("t1")).await.unwrap();
        let again: Vec<String> = store.eval(&SCRIPTS.seal, seal("t1")).await.unwrap();
        let rival: Vec<String> = store.eval(&SCRIPTS.seal, seal("t2")).await.unwrap();
        assert!(
            !sealed.is_empty() && !again.is_empty(),
            "a resent seal said gone"
        );
        assert!(rival.is_empty(), "a second renew sealed a sealed record");
        assert_eq!(pairs(again).get("v:a").map(String::as_str), Some("1"));

        let unseal = |token: &str| {
            let mut cmd = evalsha(&SCRIPTS.unseal, &key);
            cmd.arg(token);
            cmd
        };
        let wrong: i64 = store.eval(&SCRIPTS.unseal, unseal("t2")).await.unwrap();
        let right: i64 = store.eval(&SCRIPTS.unseal, unseal("t1")).await.unwrap();
        assert_eq!((wrong, right), (0, 1));
        store.del(&key).await.unwrap();
    }

    #[test]
    fn braces_in_prefix_are_refused() {
        assert!(check_prefix(&RedisOptions::default()).is_ok());
        for bad in ["x{", "}x", "{t}"] {
            assert!(check_prefix(&RedisOptions::default().prefix(bad)).is_err());
        }
    }
}
