//! The memory store.

use std::sync::Arc;
use std::time::Instant;

use flagon::store::conformance::{self, fresh_key, unix_now};
use flagon::store::memory::MemoryStore;
use flagon::store::{Record, SessionStore};
use flagon::Map;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_conformance() {
    let report = conformance::run_all(Arc::new(MemoryStore::new(100_000))).await;
    super::check_report("memory", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_bound_holds_under_a_flood() {
    // SECURITY G15: 10^6 session writes against a bound of 10,000.
    let store = MemoryStore::new(10_000);
    let now = unix_now();
    let started = Instant::now();
    let mut peak = 0;
    for n in 0..1_000_000u64 {
        // A tenth of the sessions are already expired: those must go before live ones.
        let expires = if n % 10 == 0 { now - 1 } else { now + 3600 + n };
        let record = Record::new(Map::new(), now - 10, expires);
        store.create(&fresh_key(), &record).await.expect("create");
        peak = peak.max(store.len());
    }
    eprintln!(
        "[memory] 1,000,000 creates against max_entries 10,000: peak {peak} entries, {:?}",
        started.elapsed()
    );
    assert_eq!(peak, 10_000, "max_entries must hold");
    // The survivors are the 10,000 that expire last (the newest), none of the expired.
    assert_eq!(
        store.sweep(now).await.expect("sweep"),
        0,
        "an expired entry outlived live ones"
    );
    let removed = store.sweep(u64::MAX).await.expect("sweep");
    assert_eq!(removed, 10_000);
    assert!(store.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_registry_conformance() {
    let report = conformance::run_registry(Arc::new(MemoryStore::new(100_000))).await;
    super::check_registry_report("memory", &report);
}
