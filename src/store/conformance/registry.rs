//! Conformance checks for [`SessionRegistry`]: what a store's owner index must promise.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::{changes, create_live, fresh_key, ok, unix_now, RaceReport};
use crate::config::SessionConfig;
use crate::id::StoreKey;
use crate::key::Key;
use crate::registry::{Registry, SessionHandle, SessionRegistry, OWNER_KEY};
use crate::store::{Applied, Record, Renewed};
use crate::value::{Map, Value};

/// A fresh owner name, so checks can share a store with other data.
fn fresh_owner() -> String {
    format!(
        "user-{}",
        fresh_key().to_hex().get(..16).unwrap_or_default()
    )
}

fn owned_data(owner: &str) -> Map {
    let mut data = Map::new();
    data.insert(OWNER_KEY.to_owned(), Value::Str(owner.to_owned()));
    data.insert("n".to_owned(), Value::Int(0));
    data
}

async fn keys_of<S: SessionRegistry>(store: &S, owner: &str, now: u64) -> BTreeSet<StoreKey> {
    ok("owned", store.owned(owner, now).await)
        .into_iter()
        .map(|(key, record)| {
            assert_eq!(
                record.data.get(OWNER_KEY),
                Some(&Value::Str(owner.to_owned())),
                "owned returned another owner's session"
            );
            key
        })
        .collect()
}

/// `owned` returns exactly the owner's live sessions: not another owner's, not one that
/// has expired by the time asked (no sweep needed), and not one that was deleted.
pub async fn registry_lists_only_live_owned<S: SessionRegistry>(store: &S) {
    let (owner, other) = (fresh_owner(), fresh_owner());
    let now = unix_now();
    let mut live = BTreeSet::new();
    for _ in 0..3 {
        live.insert(create_live(store, owned_data(&owner)).await);
    }
    let short = fresh_key();
    let record = Record::new(owned_data(&owner), now, now + 2);
    ok("create", store.create(&short, &record).await);
    create_live(store, owned_data(&other)).await;
    create_live(store, Map::new()).await;
    let mut with_short = live.clone();
    with_short.insert(short);
    assert_eq!(keys_of(store, &owner, now).await, with_short);
    assert_eq!(
        keys_of(store, &owner, now + 3).await,
        live,
        "an expired session is still listed"
    );
    let gone = *live.iter().next().expect("three sessions");
    ok("delete", store.delete(&gone).await);
    live.remove(&gone);
    assert_eq!(
        keys_of(store, &owner, now + 3).await,
        live,
        "deleted yet listed"
    );
    assert_eq!(keys_of(store, &other, now).await.len(), 1);
    assert!(keys_of(store, &fresh_owner(), now).await.is_empty());
}

/// Renewing moves a session's listing to the new key; writes that remove the owner, or
/// clear the session, take it off the list; writes of other keys keep it.
pub async fn registry_follows_writes<S: SessionRegistry>(store: &S) {
    let owner = fresh_owner();
    let now = unix_now();
    let a = create_live(store, owned_data(&owner)).await;
    let b = create_live(store, owned_data(&owner)).await;
    let c = create_live(store, owned_data(&owner)).await;
    let a2 = fresh_key();
    let renewed = store
        .renew(&a, &a2, &changes(false, &[]), now + 3600, now)
        .await;
    assert_eq!(ok("renew", renewed), Renewed::Done);
    let touched = store
        .apply(
            &b,
            &changes(false, &[("n", Some(Value::Int(5)))]),
            now + 3600,
            now,
        )
        .await;
    assert_eq!(ok("apply", touched), Applied::Done);
    assert_eq!(
        keys_of(store, &owner, now).await,
        BTreeSet::from([a2, b, c]),
        "renew must move the listing"
    );
    let disowned = store
        .apply(&b, &changes(false, &[(OWNER_KEY, None)]), now + 3600, now)
        .await;
    assert_eq!(ok("apply", disowned), Applied::Done);
    let cleared = store.apply(&c, &changes(true, &[]), now + 3600, now).await;
    assert_eq!(ok("apply", cleared), Applied::Done);
    assert_eq!(keys_of(store, &owner, now).await, BTreeSet::from([a2]));
}

/// Revoking through [`Registry`] while `writers` writes are in flight on the revoked
/// sessions: afterwards no revoked session loads or is listed, whatever the writes
/// answered. `sessions` sessions of one owner, one of them kept (all-but-current).
pub async fn registry_revoke_races<S: SessionRegistry>(
    store: Arc<S>,
    sessions: usize,
    writers: usize,
) -> RaceReport {
    let owner = fresh_owner();
    // The point is resurrection, not latency: the deletes queue behind up to `writers`
    // writes on the same records (one commit each on PostgreSQL), so allow them time.
    let config = SessionConfig::new(Key::generate()).store_deadline(Duration::from_secs(60));
    let registry = Registry::new(store.clone(), &config);
    let mut keys = Vec::with_capacity(sessions);
    for _ in 0..sessions.max(2) {
        keys.push(create_live(&*store, owned_data(&owner)).await);
    }
    let keep = keys[0];
    let keep_handle = SessionHandle::of(&keep);
    let mut tasks = Vec::with_capacity(writers);
    for i in 0..writers {
        let store = store.clone();
        let key = keys[1 + i % (keys.len() - 1)];
        tasks.push(tokio::spawn(async move {
            let now = unix_now();
            let write = changes(false, &[("n", Some(Value::Int(i as i64)))]);
            store.apply(&key, &write, now + 3600, now).await
        }));
    }
    let ended = ok(
        "revoke_all",
        registry.revoke_all(&owner, Some(&keep_handle)).await,
    );
    for task in tasks {
        // A write may land before the revoke or find the session gone; neither matters.
        let _ = task.await.expect("writer task panicked");
    }
    let now = unix_now();
    let mut revived = 0;
    for key in &keys[1..] {
        if ok("load", store.load(key, now).await).is_some() {
            revived += 1;
        }
    }
    let listed = keys_of(&*store, &owner, now).await;
    assert_eq!(ended, (keys.len() - 1) as u64, "revoke_all count");
    assert_eq!(
        listed,
        BTreeSet::from([keep]),
        "only the kept session is listed"
    );
    assert!(
        ok("load", store.load(&keep, now).await).is_some(),
        "kept session gone"
    );
    RaceReport {
        trials: writers as u64,
        failures: revived,
    }
}

/// What [`run_registry`] measured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryReport {
    /// Writes in flight on sessions being revoked.
    pub writes_in_flight: u64,
    /// Revoked sessions that still loaded afterwards (the goal is 0).
    pub revived: u64,
}

/// Runs every registry check; the race with 10 sessions and 1,000 writes in flight.
pub async fn run_registry<S: SessionRegistry>(store: Arc<S>) -> RegistryReport {
    registry_lists_only_live_owned(&*store).await;
    registry_follows_writes(&*store).await;
    let race = registry_revoke_races(store, 10, 1000).await;
    RegistryReport {
        writes_in_flight: race.trials,
        revived: race.failures,
    }
}
