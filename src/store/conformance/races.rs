//! The concurrency checks: lost updates, last writer wins, purge and renew races.

use std::sync::Arc;

use tokio::task::JoinSet;

use super::{changes, create_live, fresh_key, map, ok, unix_now};
use crate::store::{Applied, Renewed, SessionStore};
use crate::value::{Map, Value};

/// How many trials a race check ran and how many broke the promise (the goal is 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RaceReport {
    /// Trials run (for the lost-update check: keys written).
    pub trials: u64,
    /// Trials that broke the promise (keys lost, sessions resurrected, old keys alive).
    pub failures: u64,
}

/// Waits for every task, re-raising a task's panic so its message reaches the test.
async fn join_all<T: 'static>(mut set: JoinSet<T>) -> Vec<T> {
    let mut out = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(value) => out.push(value),
            Err(error) => match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(error) => panic!("conformance task failed: {error}"),
            },
        }
    }
    out
}

/// `tasks` concurrent requests × `writes` each on one session, every write its own key:
/// all `tasks × writes` keys must be present afterwards. Returns the keys lost.
pub async fn concurrent_disjoint_keys<S: SessionStore>(
    store: Arc<S>,
    tasks: usize,
    writes: usize,
) -> RaceReport {
    let key = create_live(&*store, Map::new()).await;
    let mut set = JoinSet::new();
    for t in 0..tasks {
        let store = store.clone();
        set.spawn(async move {
            for i in 0..writes {
                let now = unix_now();
                let step = changes(false, &[(&format!("t{t}-{i}"), Some(Value::Int(i as i64)))]);
                let result = ok("apply", store.apply(&key, &step, now + 3600, now).await);
                assert_eq!(result, Applied::Done, "apply on a live session said Gone");
            }
        });
    }
    join_all(set).await;
    let record = ok("load", store.load(&key, unix_now()).await).expect("session vanished");
    let mut present = 0u64;
    for t in 0..tasks {
        for i in 0..writes {
            if record.data.get(&format!("t{t}-{i}")) == Some(&Value::Int(i as i64)) {
                present += 1;
            }
        }
    }
    let written = (tasks * writes) as u64;
    RaceReport {
        trials: written,
        failures: written - present,
    }
}

/// `tasks` concurrent requests each write one shared key `writes` times (and a key of
/// their own): the shared key ends as some task's *last* write, and no own key is lost.
pub async fn concurrent_same_key<S: SessionStore>(store: Arc<S>, tasks: usize, writes: usize) {
    let key = create_live(&*store, Map::new()).await;
    let mut set = JoinSet::new();
    for t in 0..tasks {
        let store = store.clone();
        set.spawn(async move {
            for i in 0..writes {
                let now = unix_now();
                let shared = Some(Value::Str(format!("t{t}-{i}")));
                let own = Some(Value::Int(i as i64));
                let step = changes(false, &[("shared", shared), (&format!("own{t}"), own)]);
                let result = ok("apply", store.apply(&key, &step, now + 3600, now).await);
                assert_eq!(result, Applied::Done, "apply on a live session said Gone");
            }
        });
    }
    join_all(set).await;
    let record = ok("load", store.load(&key, unix_now()).await).expect("session vanished");
    let last = writes - 1;
    let finals: Vec<Value> = (0..tasks)
        .map(|t| Value::Str(format!("t{t}-{last}")))
        .collect();
    let shared = record.data.get("shared").expect("shared key lost");
    assert!(
        finals.contains(shared),
        "shared key is not any request's last write: {shared:?}"
    );
    for t in 0..tasks {
        let own = record.data.get(&format!("own{t}"));
        assert_eq!(
            own,
            Some(&Value::Int(last as i64)),
            "a same-key race lost another key"
        );
    }
}

/// One purge race; true when the session came back (under its key or a new one).
async fn purge_race<S: SessionStore>(store: Arc<S>, ordered: bool) -> bool {
    let key = create_live(&*store, map(&[("user", Value::Str("alice".into()))])).await;
    let now = unix_now();
    // The long request has already loaded the session when the logout happens.
    let loaded = ok("load", store.load(&key, now).await);
    assert!(loaded.is_some(), "fresh session did not load");
    let step = changes(false, &[("cart", Some(Value::Int(1)))]);
    let new = fresh_key();
    if ordered {
        ok("delete", store.delete(&key).await);
        let applied = ok("apply", store.apply(&key, &step, now + 3600, now).await);
        let renewed = ok(
            "renew",
            store.renew(&key, &new, &step, now + 3600, now).await,
        );
        if applied != Applied::Gone || renewed != Renewed::Gone {
            return true;
        }
    } else {
        let writer = {
            let (store, step) = (store.clone(), step.clone());
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                ok("apply", store.apply(&key, &step, now + 3600, now).await);
                let _ = ok(
                    "renew",
                    store.renew(&key, &new, &step, now + 3600, now).await,
                );
            })
        };
        ok("delete", store.delete(&key).await);
        writer.await.expect("writer task failed");
    }
    let old_back = ok("load", store.load(&key, now).await).is_some();
    let new_back = ok("load", store.load(&new, now).await).is_some();
    // In the racing variant the writer may renew before the delete; then the new key
    // legitimately lives on, and the old one must be dead.
    old_back || (ordered && new_back)
}

/// `trials` logout races: a request that loaded the session before a purge then writes
/// (same key) and renews (new key). Half the trials order the purge first, half race it.
/// Returns how many trials ended with the session alive again (the goal is 0).
pub async fn purge_races<S: SessionStore>(store: Arc<S>, trials: usize) -> RaceReport {
    let mut failures = 0;
    for batch in (0..trials).collect::<Vec<_>>().chunks(50) {
        let mut set = JoinSet::new();
        for &trial in batch {
            set.spawn(purge_race(store.clone(), trial % 2 == 0));
        }
        failures += join_all(set).await.into_iter().filter(|back| *back).count() as u64;
    }
    RaceReport {
        trials: trials as u64,
        failures,
    }
}

/// One renew race; true when the promise broke.
async fn renew_race<S: SessionStore>(store: Arc<S>) -> bool {
    let old = create_live(&*store, map(&[("user", Value::Str("bob".into()))])).await;
    let new = fresh_key();
    let now = unix_now();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move {
            let step = changes(false, &[("late", Some(Value::Int(1)))]);
            ok("apply", store.apply(&old, &step, now + 3600, now).await)
        })
    };
    let login = changes(false, &[("role", Some(Value::Str("admin".into())))]);
    let renewed = ok(
        "renew",
        store.renew(&old, &new, &login, now + 3600, now).await,
    );
    let applied = writer.await.expect("writer task failed");
    let old_alive = ok("load", store.load(&old, now).await).is_some();
    let moved = ok("load", store.load(&new, now).await);
    let Some(moved) = moved else { return true };
    // A write that reported Done happened before the renew and must have moved with it.
    let late_kept = moved.data.contains_key("late");
    old_alive || renewed != Renewed::Done || late_kept != (applied == Applied::Done)
}

/// `trials` renew races against a concurrent write on the old key. Afterwards the old key
/// must load nothing, and a write that reported success must be in the renewed session
/// (one that reported [`Applied::Gone`] must not). Returns the trials that broke this.
pub async fn renew_races<S: SessionStore>(store: Arc<S>, trials: usize) -> RaceReport {
    let mut failures = 0;
    for batch in (0..trials).collect::<Vec<_>>().chunks(50) {
        let mut set = JoinSet::new();
        for _ in batch {
            set.spawn(renew_race(store.clone()));
        }
        failures += join_all(set).await.into_iter().filter(|bad| *bad).count() as u64;
    }
    RaceReport {
        trials: trials as u64,
        failures,
    }
}

#[cfg(test)]
mod tests {
    //! The race checks must catch a store that writes back snapshots, or they prove nothing.

    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::id::StoreKey;
    use crate::store::{Changes, Created, Record, StoreError};

    /// The classic broken design: read the record, apply the changes to the copy, write
    /// the whole copy back as an upsert (creating it if it is gone), with a pause in
    /// between as real I/O would have.
    #[derive(Default)]
    struct SnapshotStore(Mutex<HashMap<StoreKey, Record>>);

    impl SnapshotStore {
        fn get(&self, key: &StoreKey) -> Option<Record> {
            self.0.lock().unwrap().get(key).cloned()
        }
    }

    impl SessionStore for SnapshotStore {
        async fn load(&self, key: &StoreKey, now: u64) -> Result<Option<Record>, StoreError> {
            Ok(self.get(key).filter(|r| r.expires_at > now))
        }
        async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, StoreError> {
            self.0.lock().unwrap().insert(*key, record.clone());
            Ok(Created::Stored)
        }
        async fn apply(
            &self,
            key: &StoreKey,
            changes: &Changes,
            expires_at: u64,
            _now: u64,
        ) -> Result<Applied, StoreError> {
            let mut record = self
                .get(key)
                .unwrap_or_else(|| Record::new(Map::new(), 0, 0));
            tokio::task::yield_now().await;
            changes.apply_to(&mut record.data);
            record.expires_at = expires_at;
            self.0.lock().unwrap().insert(*key, record);
            Ok(Applied::Done)
        }
        async fn renew(
            &self,
            old: &StoreKey,
            new: &StoreKey,
            changes: &Changes,
            expires_at: u64,
            now: u64,
        ) -> Result<Renewed, StoreError> {
            let applied = self.apply(old, changes, expires_at, now).await?;
            let mut map = self.0.lock().unwrap();
            if let Some(record) = map.remove(old) {
                map.insert(*new, record);
            }
            Ok(applied.into())
        }
        async fn touch(&self, key: &StoreKey, e: u64, now: u64) -> Result<Applied, StoreError> {
            self.apply(key, &Changes::default(), e, now).await
        }
        async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
            self.0.lock().unwrap().remove(key);
            Ok(())
        }
        async fn sweep(&self, _now: u64) -> Result<u64, StoreError> {
            Ok(0)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn suite_catches_lost_updates_and_resurrection() {
        let store = Arc::new(SnapshotStore::default());
        let lost = concurrent_disjoint_keys(store.clone(), 16, 50).await;
        assert!(
            lost.failures > 0,
            "a snapshot-writing store lost nothing: the check is blind"
        );
        let purge = purge_races(store, 100).await;
        eprintln!(
            "[snapshot store, deliberately broken] keys lost: {} of {}; resurrections: {} of {}",
            lost.failures, lost.trials, purge.failures, purge.trials
        );
        assert!(
            purge.failures > 0,
            "a resurrecting store passed the purge races"
        );
    }
}
