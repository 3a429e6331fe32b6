//! The owner index that makes the Redis store a [`SessionRegistry`].
//!
//! Each owner has a sorted set `PREFIX{owner:HASH}` (`HASH` being 32 hex digits of a
//! labelled SHA-256 of the owner, so any owner string gives a short key name with no key
//! syntax in it; a session key's hash tag is 64 hex digits and never holds a colon). Its
//! members are store keys in hex, each scored with a *lease*: a time until which the
//! index is known to hold that key. The session hash names its index in field `o` and its
//! lease in `l`, and the scripts keep `e <= l` (see `scripts`).
//!
//! On a Cluster the index and the session live in different slots, so no script can write
//! both. The index is therefore a superset of the owner's live sessions, never a subset:
//!
//! - an entry is written *before* the record write that needs it (setting the owner,
//!   moving the record by renew, or moving its expiry past its lease); a script finding
//!   its lease short writes nothing and names the index, the client raises the lease
//!   there ([`GRANT`](super::scripts)), then sends the write again;
//! - an entry leaves the index only when its lease has passed (its record has expired by
//!   then, as `e <= l`), or after its record was deleted (a deleted key is never written
//!   again), so no race removes the entry of a live record;
//! - [`SessionRegistry::owned`] reads the index and then each record, and keeps only
//!   live records that hold the owner: the record is the truth, the index a hint.
//!
//! The lease is granted with room to spare (the remaining lifetime once more, at least a
//! minute), so a session in use goes to the index about once per idle lifetime, not on
//! every request; a request on a session without an owner never does. Expired sessions
//! leave the list at once (their records are gone), and their entries leave the index
//! when the next listing finds their lease passed; the index key's own TTL, the longest
//! lease, removes an index nobody lists. No sweep is involved.
//!
//! The same protocol runs on one node, where it costs the same round trips: one code path
//! for both, proven by the same conformance suite.

use sha2::{Digest, Sha256};
use tokio::task::JoinSet;

use super::{evalsha, fields::reply_to_record, hgetall, RedisStore, SCRIPTS};
use crate::id::StoreKey;
use crate::registry::{owned_by, SessionRegistry, OWNER_KEY};
use crate::store::codec::backend;
use crate::store::{Changes, Record, StoreError};
use crate::value::Value;

/// How many times a write asks for a grant before giving up (each ask is one change of
/// the session's owner index that raced the write).
const GRANT_ROUNDS: usize = 3;

/// A lease raised in an owner index: the index now holds the written key at `lease`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Grant {
    /// The index's Redis key.
    pub(super) index: String,
    /// The score of the key in it (Unix seconds).
    pub(super) lease: u64,
}

/// What a write does to the owner of its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Action<'a> {
    /// Leaves it as stored.
    Keep,
    /// Sets it to this owner.
    Set(&'a str),
    /// Removes it (the owner key removed or not a string, or the session cleared).
    Drop,
}

impl<'a> Action<'a> {
    /// What `changes` do to the owner.
    pub(super) fn of(changes: &'a Changes) -> Action<'a> {
        match changes.set.get(OWNER_KEY) {
            Some(Some(Value::Str(owner))) => Action::Set(owner),
            Some(_) => Action::Drop,
            None if changes.clear => Action::Drop,
            None => Action::Keep,
        }
    }

    /// The owner of a whole record (a create).
    pub(super) fn of_data(data: &'a crate::value::Map) -> Action<'a> {
        match data.get(OWNER_KEY) {
            Some(Value::Str(owner)) => Action::Set(owner),
            _ => Action::Drop,
        }
    }

    /// The action as the scripts spell it.
    pub(super) fn word(self) -> &'static str {
        match self {
            Action::Keep => "",
            Action::Set(_) => "set",
            Action::Drop => "drop",
        }
    }
}

/// The Redis key of `owner`'s index.
pub(super) fn index_key(prefix: &str, owner: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"flagon-owner-index-v1\0")
        .chain_update(owner.as_bytes())
        .finalize();
    let mut key = String::with_capacity(prefix.len() + 40);
    key.push_str(prefix);
    key.push_str("{owner:");
    key.push_str(&hex(&digest[..16]));
    key.push('}');
    key
}

/// The lease granted for a record expiring at `expires_at`: its remaining lifetime once
/// more (at least a minute), so a session in use asks again about once per lifetime.
pub(super) fn lease(expires_at: u64, now: u64) -> u64 {
    let room = expires_at.saturating_sub(now).max(60);
    expires_at.saturating_add(room)
}

/// A store key as an index member: its 64 hex digits.
pub(super) fn member(key: &StoreKey) -> String {
    key.to_hex()
}

/// An index member back as a store key; `None` unless it is 64 lower-case hex digits.
fn parse_member(text: &str) -> Option<StoreKey> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let text = text.as_bytes();
    if text.len() != 64 {
        return None;
    }
    let mut bytes = [0; 32];
    for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(StoreKey::from_bytes(bytes))
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 15)]));
    }
    text
}

impl RedisStore {
    /// Raises the lease of `key` in `index` to cover `expires_at`.
    pub(super) async fn grant(
        &self,
        index: String,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> Result<Grant, StoreError> {
        let lease = lease(expires_at, now);
        let mut cmd = evalsha(&SCRIPTS.grant, &index);
        cmd.arg(member(key)).arg(lease);
        let _: i64 = self.eval(&SCRIPTS.grant, cmd).await?;
        Ok(Grant { index, lease })
    }

    /// The grant a write that sets an owner needs before it runs (`None` otherwise).
    pub(super) async fn grant_first(
        &self,
        action: Action<'_>,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> Result<Option<Grant>, StoreError> {
        match action {
            Action::Set(owner) => {
                let index = index_key(&self.options.prefix, owner);
                Ok(Some(self.grant(index, key, expires_at, now).await?))
            }
            Action::Keep | Action::Drop => Ok(None),
        }
    }

    /// Runs a write whose script may answer with the name of an index that must first
    /// cover the written `key`: raises the lease there and sends the write again.
    /// `build` makes the command for a grant; the answer is the script's number.
    pub(super) async fn write_granted(
        &self,
        script: &'static redis::Script,
        key: &StoreKey,
        mut grant: Option<Grant>,
        (expires_at, now): (u64, u64),
        build: impl Fn(Option<&Grant>) -> redis::Cmd,
    ) -> Result<i64, StoreError> {
        for _ in 0..GRANT_ROUNDS {
            let reply: redis::Value = self.eval(script, build(grant.as_ref())).await?;
            match reply {
                redis::Value::Int(done) => return Ok(done),
                redis::Value::BulkString(index) => {
                    let index = self.our_index(index)?;
                    grant = Some(self.grant(index, key, expires_at, now).await?);
                }
                _ => {
                    return Err(StoreError::Corrupt(
                        "a redis script answered an unknown reply",
                    ))
                }
            }
        }
        Err(StoreError::Backend(
            "the owner of a session changed under each of three writes".into(),
        ))
    }

    /// An index name read from a session hash, checked to be one of this store's.
    pub(super) fn our_index(&self, name: Vec<u8>) -> Result<String, StoreError> {
        let name = String::from_utf8(name).ok();
        let ours = |n: &String| {
            n.strip_prefix(self.options.prefix.as_str())
                .is_some_and(|rest| rest.starts_with("{owner:") && rest.ends_with('}'))
        };
        name.filter(ours).ok_or(StoreError::Corrupt(
            "a redis session names a foreign owner index",
        ))
    }

    /// Drops the deleted `key` from `index`. Best effort: a left-over entry only costs a
    /// listing one load until its lease passes.
    pub(super) async fn forget(&self, index: Vec<u8>, key: &StoreKey) {
        let Ok(index) = self.our_index(index) else {
            return;
        };
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(index).arg(member(key));
        let done = self
            .link
            .run(self.options.deadline, |mut conn| async move {
                cmd.query_async::<i64>(&mut conn).await.map_err(backend)
            })
            .await;
        if done.is_err() {
            tracing::debug!("redis session store left a deleted session in its owner index");
        }
    }
}

/// The owner's index, trimmed of passed leases, then each listed record, kept if it is
/// live and holds the owner. The records load concurrently (a Cluster cannot pipeline
/// keys of several slots, and the connection pipelines concurrent commands anyway).
impl SessionRegistry for RedisStore {
    async fn owned(&self, owner: &str, now: u64) -> Result<Vec<(StoreKey, Record)>, StoreError> {
        let index = index_key(&self.options.prefix, owner);
        let mut cmd = evalsha(&SCRIPTS.list, &index);
        cmd.arg(now);
        let members: Vec<String> = self.eval(&SCRIPTS.list, cmd).await?;
        let mut loads = JoinSet::new();
        for key in members.iter().filter_map(|m| parse_member(m)) {
            let (link, name) = (self.link.clone(), self.key(&key));
            let deadline = self.options.deadline;
            loads.spawn(async move { (key, hgetall(&link, deadline, name).await) });
        }
        let mut found = Vec::with_capacity(loads.len());
        while let Some(joined) = loads.join_next().await {
            let (key, reply) = joined.map_err(backend)?;
            if let Some(record) = reply_to_record(reply?, now)? {
                if owned_by(&record, owner) {
                    found.push((key, record));
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_are_short_hashed_and_apart_from_session_keys() {
        let long = "x".repeat(10_000);
        for owner in ["alice", "}{evil}:*", "", long.as_str()] {
            let key = index_key("p:", owner);
            assert!(key.starts_with("p:{owner:") && key.ends_with('}'), "{key}");
            assert_eq!(key.len(), "p:{owner:}".len() + 32);
            assert_eq!(key.matches(['{', '}']).count(), 2, "{key}");
        }
        assert_ne!(index_key("p:", "alice"), index_key("p:", "bob"));
        assert_ne!(index_key("p:", "alice"), index_key("q:", "alice"));
    }

    #[test]
    fn members_round_trip_and_junk_is_skipped() {
        let key = StoreKey::from_bytes(std::array::from_fn(|i| (i * 41) as u8));
        assert_eq!(parse_member(&member(&key)), Some(key));
        assert_eq!(parse_member(&member(&key).to_uppercase()), None);
        assert_eq!(parse_member("abc"), None);
        assert_eq!(parse_member(&"g".repeat(64)), None);
    }

    #[test]
    fn leases_cover_the_expiry_with_room() {
        assert_eq!(lease(1_000 + 3_600, 1_000), 1_000 + 7_200);
        assert_eq!(lease(1_010, 1_000), 1_070);
        assert_eq!(lease(900, 1_000), 960);
        assert_eq!(lease(u64::MAX - 1, 0), u64::MAX);
    }

    #[test]
    fn actions_follow_the_owner_key() {
        let mut changes = Changes::default();
        assert_eq!(Action::of(&changes), Action::Keep);
        changes.clear = true;
        assert_eq!(Action::of(&changes), Action::Drop);
        changes
            .set
            .insert(OWNER_KEY.into(), Some(Value::Str("a".into())));
        assert_eq!(Action::of(&changes), Action::Set("a"));
        changes.set.insert(OWNER_KEY.into(), Some(Value::Int(1)));
        assert_eq!(Action::of(&changes), Action::Drop);
        changes.set.insert(OWNER_KEY.into(), None);
        assert_eq!(Action::of(&changes), Action::Drop);
    }
}
