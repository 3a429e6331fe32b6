//! The conformance suite every [`SessionStore`] must pass (feature `test-util`).
//!
//! Each check is a plain async function that panics with a message naming the broken
//! promise, so a third-party store can run the same suite from its own tests:
//!
//! ```no_run
//! # #[cfg(feature = "memory")]
//! # async fn demo() {
//! use std::sync::Arc;
//! use flagon::store::{conformance, memory::MemoryStore};
//!
//! let report = conformance::run_all(Arc::new(MemoryStore::default())).await;
//! assert_eq!(report.keys_lost, 0);
//! # }
//! ```
//!
//! Run it on a multi-thread tokio runtime (`#[tokio::test(flavor = "multi_thread")]`) so
//! the concurrency checks really overlap. Times are real UTC Unix seconds, because stores
//! such as Redis also expire records by their own clock; each check uses fresh random keys,
//! so the suite can share a store with other data, and it calls `sweep` only with times
//! that no record outside the suite should reach.

use std::sync::Arc;

use super::{Applied, Changes, Created, Record, Renewed, SessionStore, StoreError};
use crate::id::{SessionId, StoreKey};
use crate::value::{Map, Value};

mod lifecycle;
mod races;
mod registry;

pub use lifecycle::{
    expired_are_cleaned_up, expired_never_returned, renew_collision_changes_nothing,
    renew_moves_and_kills_old,
};
pub use races::{
    concurrent_disjoint_keys, concurrent_same_key, purge_races, renew_races, RaceReport,
};
pub use registry::{
    registry_follows_writes, registry_lists_only_live_owned, registry_revoke_races, run_registry,
    RegistryReport,
};

/// What [`run_all`] measured, to quote in reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Keys written by concurrent requests on one session.
    pub keys_written: u64,
    /// Of those, keys missing afterwards (the goal is 0).
    pub keys_lost: u64,
    /// Purge races run.
    pub purge_races: u64,
    /// Purge races after which the session was back (the goal is 0).
    pub resurrections: u64,
    /// Renew races run.
    pub renew_races: u64,
    /// Renew races after which the old key still loaded (the goal is 0).
    pub old_key_alive: u64,
}

/// Runs every check: 64 tasks × 250 writes, 1,000 purge races and 200 renew races.
pub async fn run_all<S: SessionStore>(store: Arc<S>) -> Report {
    create_never_overwrites(&*store).await;
    load_returns_what_was_stored(&*store).await;
    apply_set_remove_clear(&*store).await;
    apply_never_recreates(&*store).await;
    apply_checks_expectations(&*store).await;
    touch_moves_only_expiry(&*store).await;
    delete_then_nothing(&*store).await;
    renew_moves_and_kills_old(&*store).await;
    renew_collision_changes_nothing(&*store).await;
    expired_never_returned(&*store).await;
    expired_are_cleaned_up(&*store).await;
    let disjoint = concurrent_disjoint_keys(store.clone(), 64, 250).await;
    concurrent_same_key(store.clone(), 16, 100).await;
    let purge = purge_races(store.clone(), 1000).await;
    let renew = renew_races(store, 200).await;
    Report {
        keys_written: disjoint.trials,
        keys_lost: disjoint.failures,
        purge_races: purge.trials,
        resurrections: purge.failures,
        renew_races: renew.trials,
        old_key_alive: renew.failures,
    }
}

/// The current UTC Unix time in seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A fresh random store key, as for a new session.
pub fn fresh_key() -> StoreKey {
    SessionId::generate().store_key()
}

/// Unwraps a store result, panicking with the operation's name.
pub fn ok<T>(what: &str, result: Result<T, StoreError>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{what}: store error: {error}"),
    }
}

fn map(pairs: &[(&str, Value)]) -> Map {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn changes(clear: bool, pairs: &[(&str, Option<Value>)]) -> Changes {
    let set = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    Changes {
        clear,
        set,
        ..Changes::default()
    }
}

/// Creates a session holding `data`, live for an hour.
pub async fn create_live<S: SessionStore>(store: &S, data: Map) -> StoreKey {
    let now = unix_now();
    let key = fresh_key();
    let record = Record::new(data, now, now + 3600);
    let created = ok("create", store.create(&key, &record).await);
    assert_eq!(
        created,
        Created::Stored,
        "create of a fresh key must store it"
    );
    key
}

/// Creates a record holding `data` with the given times.
pub async fn create_at<S: SessionStore>(
    store: &S,
    data: Map,
    created: u64,
    expires: u64,
) -> StoreKey {
    let key = fresh_key();
    let record = Record::new(data, created, expires);
    let result = ok("create", store.create(&key, &record).await);
    assert_eq!(
        result,
        Created::Stored,
        "create of a fresh key must store it"
    );
    key
}

async fn load<S: SessionStore>(store: &S, key: &StoreKey, now: u64) -> Option<Record> {
    ok("load", store.load(key, now).await)
}

/// `create` on a live key reports a collision and leaves the record untouched.
pub async fn create_never_overwrites<S: SessionStore>(store: &S) {
    let key = create_live(store, map(&[("user", Value::Str("alice".into()))])).await;
    let now = unix_now();
    let before = load(store, &key, now).await.expect("fresh record missing");
    let intruder = Record::new(
        map(&[("user", Value::Str("mallory".into()))]),
        now,
        now + 9000,
    );
    let created = ok("create", store.create(&key, &intruder).await);
    assert_eq!(
        created,
        Created::Collision,
        "create overwrote a live record"
    );
    let kept = load(store, &key, now)
        .await
        .expect("record vanished after a collision");
    assert_eq!(kept.data.get("user"), Some(&Value::Str("alice".into())));
    assert_eq!(
        kept.expires_at, before.expires_at,
        "a collision changed the expiry"
    );
}

/// A record loads back with its data and times unchanged, whatever the values hold.
pub async fn load_returns_what_was_stored<S: SessionStore>(store: &S) {
    let mut nested = Map::new();
    nested.insert(" t".into(), Value::List(vec![Value::Int(1)]));
    nested.insert("é".into(), Value::Null);
    let data = map(&[
        (
            "_flashes",
            Value::Tuple(vec![Value::Str("message".into()), Value::Str("hi".into())]),
        ),
        ("bytes", Value::Bytes(vec![0, 1, 254, 255])),
        ("dict", Value::Dict(nested)),
        ("empty", Value::Str(String::new())),
        ("int", Value::Int(i64::MIN)),
        (
            "list",
            Value::List(vec![Value::Bool(false), Value::Float(1.5)]),
        ),
        (
            "quote\"key'; --",
            Value::Str("line\nbreak \u{1F600}".into()),
        ),
    ]);
    let now = unix_now();
    let key = fresh_key();
    let record = Record::new(data, now - 10, now + 3600);
    assert_eq!(
        ok("create", store.create(&key, &record).await),
        Created::Stored
    );
    let loaded = load(store, &key, now)
        .await
        .expect("a live record did not load");
    assert_eq!(
        loaded, record,
        "the record changed on its way through the store"
    );
    assert!(
        load(store, &fresh_key(), now).await.is_none(),
        "an unknown key loaded"
    );
}

/// `apply` sets and removes keys, and `clear` empties the session first.
pub async fn apply_set_remove_clear<S: SessionStore>(store: &S) {
    let key = create_live(store, map(&[("a", Value::Int(1)), ("b", Value::Int(2))])).await;
    let now = unix_now();
    let step = changes(false, &[("a", None), ("c", Some(Value::Int(3)))]);
    assert_eq!(
        ok("apply", store.apply(&key, &step, now + 100, now).await),
        Applied::Done
    );
    let got = load(store, &key, now)
        .await
        .expect("record gone after apply");
    assert_eq!(got.data, map(&[("b", Value::Int(2)), ("c", Value::Int(3))]));
    assert_eq!(got.expires_at, now + 100, "apply must set the expiry");
    let wipe = changes(true, &[("d", Some(Value::Int(4))), ("b", None)]);
    assert_eq!(
        ok("apply", store.apply(&key, &wipe, now + 200, now).await),
        Applied::Done
    );
    let got = load(store, &key, now)
        .await
        .expect("record gone after clear");
    assert_eq!(got.data, map(&[("d", Value::Int(4))]), "clear then set");
    let wipe_all = changes(true, &[]);
    assert_eq!(
        ok("apply", store.apply(&key, &wipe_all, now + 200, now).await),
        Applied::Done
    );
    let got = load(store, &key, now)
        .await
        .expect("an emptied session is still a record");
    assert!(got.data.is_empty(), "clear left keys behind");
}

/// `apply` on a missing, deleted or expired record is [`Applied::Gone`] and creates nothing.
pub async fn apply_never_recreates<S: SessionStore>(store: &S) {
    let now = unix_now();
    let step = changes(false, &[("x", Some(Value::Int(1)))]);
    let missing = fresh_key();
    assert_eq!(
        ok("apply", store.apply(&missing, &step, now + 60, now).await),
        Applied::Gone
    );
    assert!(
        load(store, &missing, now).await.is_none(),
        "apply created a record"
    );
    let key = create_live(store, Map::new()).await;
    ok("delete", store.delete(&key).await);
    assert_eq!(
        ok("apply", store.apply(&key, &step, now + 60, now).await),
        Applied::Gone
    );
    assert!(
        load(store, &key, now).await.is_none(),
        "apply brought a deleted record back"
    );
    let later = now + 3600;
    let expired = create_at(store, Map::new(), now, later).await;
    let result = ok(
        "apply",
        store.apply(&expired, &step, later + 60, later).await,
    );
    assert_eq!(result, Applied::Gone, "apply revived an expired record");
}

/// `touch` changes the expiry only: data written meanwhile by others stays.
pub async fn touch_moves_only_expiry<S: SessionStore>(store: &S) {
    let key = create_live(store, map(&[("a", Value::Int(1))])).await;
    let now = unix_now();
    let before = load(store, &key, now).await.expect("record missing");
    let other = changes(false, &[("b", Some(Value::Int(2)))]);
    assert_eq!(
        ok("apply", store.apply(&key, &other, now + 3600, now).await),
        Applied::Done
    );
    assert_eq!(
        ok("touch", store.touch(&key, now + 7200, now).await),
        Applied::Done
    );
    let after = load(store, &key, now)
        .await
        .expect("record missing after touch");
    assert_eq!(
        after.expires_at,
        now + 7200,
        "touch did not move the expiry"
    );
    assert_eq!(
        after.created_at, before.created_at,
        "touch changed created_at"
    );
    assert_eq!(
        after.data,
        map(&[("a", Value::Int(1)), ("b", Value::Int(2))])
    );
    ok("delete", store.delete(&key).await);
    assert_eq!(
        ok("touch", store.touch(&key, now + 60, now).await),
        Applied::Gone
    );
    assert!(
        load(store, &key, now).await.is_none(),
        "touch brought a deleted record back"
    );
}

/// `delete` removes the record; deleting twice is fine.
pub async fn delete_then_nothing<S: SessionStore>(store: &S) {
    let key = create_live(store, map(&[("a", Value::Int(1))])).await;
    ok("delete", store.delete(&key).await);
    ok("second delete", store.delete(&key).await);
    assert!(
        load(store, &key, unix_now()).await.is_none(),
        "deleted record loaded"
    );
}

/// Strict conflicts: `apply` and `renew` write only while every expected value holds;
/// otherwise they report [`Applied::Conflict`] and change nothing, expiry included.
pub async fn apply_checks_expectations<S: SessionStore>(store: &S) {
    let now = unix_now();
    let key = create_live(
        store,
        map(&[("n", Value::Int(1)), ("a", Value::Str("x".into()))]),
    )
    .await;
    let before = load(store, &key, now).await.expect("fresh record missing");
    let mut stale = changes(false, &[("n", Some(Value::Int(3)))]);
    stale.expect.insert("n".into(), Some(Value::Int(0)));
    assert_eq!(
        ok("apply", store.apply(&key, &stale, now + 7200, now).await),
        Applied::Conflict,
        "a stale expectation was not reported"
    );
    let after = load(store, &key, now).await.expect("record missing");
    assert_eq!(after, before, "a conflicting apply changed the record");

    let mut fresh = changes(false, &[("n", Some(Value::Int(2)))]);
    fresh.expect.insert("n".into(), Some(Value::Int(1)));
    fresh
        .expect
        .insert("a".into(), Some(Value::Str("x".into())));
    fresh.expect.insert("absent".into(), None);
    assert_eq!(
        ok("apply", store.apply(&key, &fresh, now + 3600, now).await),
        Applied::Done
    );
    let got = load(store, &key, now).await.expect("record missing");
    assert_eq!(got.data.get("n"), Some(&Value::Int(2)));

    let mut appeared = changes(false, &[("b", Some(Value::Int(1)))]);
    appeared.expect.insert("a".into(), None);
    assert_eq!(
        ok("apply", store.apply(&key, &appeared, now + 3600, now).await),
        Applied::Conflict,
        "an expected absence of a present key was not reported"
    );

    let new = fresh_key();
    let mut renew = changes(false, &[("user", Some(Value::Int(1)))]);
    renew.expect.insert("n".into(), Some(Value::Int(1)));
    assert_eq!(
        ok(
            "renew",
            store.renew(&key, &new, &renew, now + 3600, now).await
        ),
        Renewed::Conflict,
        "a renew with a stale expectation moved the session"
    );
    assert!(load(store, &key, now).await.is_some(), "the old key died");
    assert!(
        load(store, &new, now).await.is_none(),
        "the new key came alive"
    );
    ok("delete", store.delete(&key).await);
}
