//! The memory store.

use std::sync::Arc;

use flagon::store::conformance::{self, create_live};
use flagon::store::memory::MemoryStore;
use flagon::store::SessionStore;
use flagon::Map;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_conformance() {
    let report = conformance::run_all(Arc::new(MemoryStore::new(100_000))).await;
    super::check_report("memory", &report);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_bound_holds_under_a_flood() {
    let store = MemoryStore::new(1_000);
    for _ in 0..20_000 {
        create_live(&store, Map::new()).await;
    }
    assert_eq!(store.len(), 1_000, "max_entries must hold");
    let removed = store.sweep(u64::MAX).await.expect("sweep");
    assert_eq!(removed, 1_000);
    assert!(store.is_empty());
}
