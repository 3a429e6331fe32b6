//! The bounded memory store: a flood of anonymous one-visit sessions evicts other
//! one-visit sessions, not users who came back.

use flagon::store::conformance::{fresh_key, unix_now};
use flagon::store::memory::MemoryStore;
use flagon::store::{Record, SessionStore};
use flagon::{Map, Value};

#[tokio::test]
async fn anonymous_floods_do_not_evict_returning_users() {
    let store = MemoryStore::new(100);
    let now = unix_now();
    let mut users = Vec::new();
    for i in 0..50 {
        let key = fresh_key();
        let mut data = Map::new();
        data.insert("user".into(), Value::Int(i));
        // Logged in early, so these expire first: the old order evicted them first.
        store
            .create(&key, &Record::new(data, now, now + 600))
            .await
            .unwrap();
        assert!(
            store.load(&key, now + 1).await.unwrap().is_some(),
            "came back"
        );
        users.push(key);
    }
    for _ in 0..10_000 {
        let record = Record::new(Map::new(), now + 2, now + 3600);
        store.create(&fresh_key(), &record).await.unwrap();
    }
    let mut kept = 0;
    for key in &users {
        if store.load(key, now + 3).await.unwrap().is_some() {
            kept += 1;
        }
    }
    let evictions = store.evictions();
    eprintln!("[memory] after 10,000 anonymous sessions into 100 slots: {kept} of 50 returning users kept; evictions {evictions:?}");
    assert_eq!(kept, 50);
    assert_eq!(store.len(), 100);
    assert_eq!(evictions.returning, 0);
    assert_eq!(evictions.unvisited, 10_000 - 50);
}
