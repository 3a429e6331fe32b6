//! An in-process store: sessions live in this process's memory.
//!
//! Good for tests, development and single-process deployments that accept losing every
//! session on restart. The number of sessions is bounded: when the store is full, a new
//! session pushes out, in this order:
//!
//! 1. an expired session;
//! 2. a session nobody came back to: created, but never read, written or touched by a
//!    later request (what anonymous traffic and bots leave behind), earliest expiry first;
//! 3. any other session, earliest expiry first (with an idle timeout: the least recently
//!    active).
//!
//! So a flood of new anonymous sessions evicts other one-visit sessions before it evicts
//! a user who logged in and came back. [`MemoryStore::evictions`] counts each kind.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{Applied, Changes, Created, Record, Renewed, SessionStore, StoreError};
use crate::id::StoreKey;

/// Sessions kept by default before the oldest are evicted.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

/// Sessions in this process's memory, at most `max_entries` of them.
///
/// Every operation runs under one lock, held only for the in-memory work (never across
/// an `.await`), so each is atomic with respect to every other and never waits on I/O.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    max_entries: usize,
}

/// How many sessions a [`MemoryStore`] pushed out to make room, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Evictions {
    /// Sessions already expired.
    pub expired: u64,
    /// Live sessions that no request came back to after the one that created them.
    pub unvisited: u64,
    /// Live sessions that had been used again (users who came back).
    pub returning: u64,
}

#[derive(Debug, Default)]
struct Inner {
    records: HashMap<StoreKey, Record>,
    /// `(expires_at, key)` of every record: expired ones and eviction order first.
    by_expiry: BTreeSet<(u64, StoreKey)>,
    /// `(expires_at, key)` of the records no later request has used yet.
    unvisited: BTreeSet<(u64, StoreKey)>,
    evictions: Evictions,
}

impl Inner {
    fn live(&self, key: &StoreKey, now: u64) -> bool {
        self.records.get(key).is_some_and(|r| r.expires_at > now)
    }

    fn remove(&mut self, key: &StoreKey) -> Option<Record> {
        let record = self.records.remove(key)?;
        self.by_expiry.remove(&(record.expires_at, *key));
        self.unvisited.remove(&(record.expires_at, *key));
        Some(record)
    }

    /// Stores a record; `visited` says whether a request came back to this session.
    fn insert(&mut self, key: StoreKey, record: Record, visited: bool) {
        self.remove(&key);
        self.by_expiry.insert((record.expires_at, key));
        if !visited {
            self.unvisited.insert((record.expires_at, key));
        }
        self.records.insert(key, record);
    }

    /// A later request used this session: it is no longer among the first evicted.
    fn visit(&mut self, key: &StoreKey) {
        if let Some(record) = self.records.get(key) {
            self.unvisited.remove(&(record.expires_at, *key));
        }
    }

    fn set_expiry(&mut self, key: &StoreKey, expires_at: u64) {
        self.visit(key);
        if let Some(record) = self.records.get_mut(key) {
            self.by_expiry.remove(&(record.expires_at, *key));
            record.expires_at = expires_at;
            self.by_expiry.insert((expires_at, *key));
        }
    }

    /// Drops one record: an expired one, else an unvisited one, else the one that
    /// expires first.
    fn evict_one(&mut self, now: u64) {
        let first = self.by_expiry.iter().next().copied();
        let victim = match first {
            Some((expires_at, key)) if expires_at <= now => {
                self.evictions.expired += 1;
                key
            }
            _ => match self.unvisited.iter().next().copied() {
                Some((_, key)) => {
                    self.evictions.unvisited += 1;
                    key
                }
                None => match first {
                    Some((_, key)) => {
                        self.evictions.returning += 1;
                        key
                    }
                    None => return,
                },
            },
        };
        self.remove(&victim);
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new(DEFAULT_MAX_ENTRIES)
    }
}

impl MemoryStore {
    /// An empty store holding at most `max_entries` sessions (at least one).
    pub fn new(max_entries: usize) -> MemoryStore {
        MemoryStore {
            inner: Mutex::new(Inner::default()),
            max_entries: max_entries.max(1),
        }
    }

    /// How many records are held, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most records this store holds.
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// How many sessions were pushed out to make room since the store was made, by kind.
    /// A growing `returning` count means the bound is too small for the site's users.
    pub fn evictions(&self) -> Evictions {
        self.lock().evictions
    }

    /// A panic elsewhere while holding the lock cannot leave a half-done change (every
    /// change is finished before anything that could panic), so a poisoned lock is used.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn load_now(&self, key: &StoreKey, now: u64) -> Option<Record> {
        let mut inner = self.lock();
        match inner.records.get(key) {
            Some(record) if record.expires_at > now => {
                let record = record.clone();
                inner.visit(key);
                Some(record)
            }
            Some(_) => {
                inner.remove(key);
                None
            }
            None => None,
        }
    }

    fn create_now(&self, key: &StoreKey, record: &Record) -> Created {
        let mut inner = self.lock();
        if inner.live(key, record.created_at) {
            return Created::Collision;
        }
        inner.remove(key);
        while inner.records.len() >= self.max_entries {
            inner.evict_one(record.created_at);
        }
        inner.insert(*key, record.clone(), false);
        Created::Stored
    }

    fn apply_now(&self, key: &StoreKey, changes: &Changes, expires_at: u64, now: u64) -> Applied {
        let mut inner = self.lock();
        if !inner.live(key, now) {
            return Applied::Gone;
        }
        if let Some(record) = inner.records.get_mut(key) {
            if !changes.expectations_hold(&record.data) {
                return Applied::Conflict;
            }
            changes.apply_to(&mut record.data);
        }
        inner.set_expiry(key, expires_at);
        Applied::Done
    }

    fn renew_now(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Renewed {
        let mut inner = self.lock();
        if !inner.live(old, now) {
            return Renewed::Gone;
        }
        if old == new || inner.live(new, now) {
            return Renewed::Collision;
        }
        if !inner
            .records
            .get(old)
            .is_some_and(|r| changes.expectations_hold(&r.data))
        {
            return Renewed::Conflict;
        }
        let Some(mut record) = inner.remove(old) else {
            return Renewed::Gone;
        };
        changes.apply_to(&mut record.data);
        record.expires_at = expires_at;
        inner.insert(*new, record, true);
        Renewed::Done
    }

    fn touch_now(&self, key: &StoreKey, expires_at: u64, now: u64) -> Applied {
        let mut inner = self.lock();
        if !inner.live(key, now) {
            return Applied::Gone;
        }
        inner.set_expiry(key, expires_at);
        Applied::Done
    }

    fn sweep_now(&self, now: u64) -> u64 {
        let mut inner = self.lock();
        let mut removed = 0;
        while let Some(&(expires_at, key)) = inner.by_expiry.iter().next() {
            if expires_at > now {
                break;
            }
            inner.remove(&key);
            removed += 1;
        }
        removed
    }
}

impl SessionStore for MemoryStore {
    async fn load(&self, key: &StoreKey, now: u64) -> Result<Option<Record>, StoreError> {
        Ok(self.load_now(key, now))
    }

    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, StoreError> {
        Ok(self.create_now(key, record))
    }

    async fn apply(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        Ok(self.apply_now(key, changes, expires_at, now))
    }

    async fn renew(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Renewed, StoreError> {
        Ok(self.renew_now(old, new, changes, expires_at, now))
    }

    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        Ok(self.touch_now(key, expires_at, now))
    }

    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "memory"
    }

    async fn sweep(&self, now: u64) -> Result<u64, StoreError> {
        Ok(self.sweep_now(now))
    }
}

impl crate::registry::SessionRegistry for MemoryStore {
    /// Scans every record under the lock: O(sessions), fine for the bounded store.
    async fn owned(&self, owner: &str, now: u64) -> Result<Vec<(StoreKey, Record)>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .records
            .iter()
            .filter(|(_, r)| r.expires_at > now && crate::registry::owned_by(r, owner))
            .map(|(k, r)| (*k, r.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    fn key(n: u8) -> StoreKey {
        StoreKey::from_bytes([n; 32])
    }

    fn record(expires_at: u64) -> Record {
        Record::new(Map::new(), 100, expires_at)
    }

    #[test]
    fn bound_holds_and_expired_go_first() {
        let store = MemoryStore::new(3);
        assert_eq!(store.create_now(&key(1), &record(150)), Created::Stored);
        assert_eq!(store.create_now(&key(2), &record(120)), Created::Stored);
        assert_eq!(store.create_now(&key(3), &record(90)), Created::Stored); // already expired
        assert_eq!(store.create_now(&key(4), &record(200)), Created::Stored);
        assert_eq!(store.len(), 3);
        assert!(store.load_now(&key(1), 100).is_some());
        assert!(store.load_now(&key(2), 100).is_some());
        assert!(
            store.load_now(&key(3), 0).is_none(),
            "the expired record went first"
        );
        // Full of live records: key 4, which no request came back to, goes before the
        // visited keys 1 and 2, although it expires last.
        assert_eq!(store.create_now(&key(5), &record(300)), Created::Stored);
        assert!(store.load_now(&key(4), 100).is_none());
        assert!(store.load_now(&key(2), 100).is_some());
        // Only visited records left (5 too, now): the one closest to expiry goes next.
        assert!(store.load_now(&key(5), 100).is_some());
        assert_eq!(store.create_now(&key(6), &record(300)), Created::Stored);
        assert!(store.load_now(&key(2), 100).is_none());
        assert_eq!(store.len(), 3);
        let evictions = store.evictions();
        assert_eq!(
            (evictions.expired, evictions.unvisited, evictions.returning),
            (1, 1, 1)
        );
    }

    #[test]
    fn flood_never_exceeds_the_bound() {
        let store = MemoryStore::new(1000);
        for i in 0..20_000u32 {
            let mut bytes = [0u8; 32];
            bytes[..4].copy_from_slice(&i.to_le_bytes());
            let expires = 100 + u64::from(i % 7) * 10;
            store.create_now(&StoreKey::from_bytes(bytes), &record(expires));
            assert!(store.len() <= 1000);
        }
        assert_eq!(store.len(), 1000);
        let inner = store.lock();
        assert_eq!(inner.by_expiry.len(), inner.records.len(), "index in step");
    }

    #[test]
    fn sweep_removes_only_expired() {
        let store = MemoryStore::new(10);
        store.create_now(&key(1), &record(110));
        store.create_now(&key(2), &record(111));
        assert_eq!(store.sweep_now(110), 1);
        assert!(store.load_now(&key(2), 110).is_some());
        assert_eq!(store.len(), 1);
    }
}
