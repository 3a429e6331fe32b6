//! A store that answers after the deadline: the response and the log say the outcome is
//! unknown (not "nothing was saved"), and a create that timed out but landed late leaves
//! no orphaned record behind.

use std::sync::Arc;
use std::time::Duration;

use flagon::axum::SessionLayer;
use flagon::id::StoreKey;
use flagon::store::memory::MemoryStore;
use flagon::store::{Applied, Changes, Created, Record, Renewed, SessionStore, StoreError};
use http::StatusCode;

use crate::scenarios::routes;
use crate::support::http::get as fetch;
use crate::support::logs::Capture;

/// A memory store whose creates and applies take effect, then answer 300 ms later.
struct Late(Arc<MemoryStore>);

const DELAY: Duration = Duration::from_millis(300);

impl SessionStore for Late {
    async fn load(&self, key: &StoreKey, now: u64) -> Result<Option<Record>, StoreError> {
        self.0.load(key, now).await
    }
    async fn create(&self, key: &StoreKey, record: &Record) -> Result<Created, StoreError> {
        let created = self.0.create(key, record).await;
        tokio::time::sleep(DELAY).await;
        created
    }
    async fn apply(
        &self,
        key: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        let applied = self.0.apply(key, changes, expires_at, now).await;
        tokio::time::sleep(DELAY).await;
        applied
    }
    async fn renew(
        &self,
        old: &StoreKey,
        new: &StoreKey,
        changes: &Changes,
        expires_at: u64,
        now: u64,
    ) -> Result<Renewed, StoreError> {
        self.0.renew(old, new, changes, expires_at, now).await
    }
    async fn touch(
        &self,
        key: &StoreKey,
        expires_at: u64,
        now: u64,
    ) -> Result<Applied, StoreError> {
        self.0.touch(key, expires_at, now).await
    }
    async fn delete(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.0.delete(key).await
    }
    async fn sweep(&self, now: u64) -> Result<u64, StoreError> {
        self.0.sweep(now).await
    }
}

#[test]
fn a_late_store_reply_is_an_unknown_outcome_and_leaves_no_orphan() {
    let memory = Arc::new(MemoryStore::new(100));
    let (capture, guard) = Capture::start();
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let config = super::config().store_deadline(Duration::from_millis(100));
            let layer = SessionLayer::new(config)
                .unwrap()
                .with_store(Late(memory.clone()));
            let app = routes().layer(layer);
            let reply = fetch(&app, "/put/a", None).await;
            assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(reply.set_cookie(), None);
            // The late create landed; the background clean-up removes it.
            tokio::time::sleep(DELAY * 3).await;
        });
    }
    drop(guard);
    let logs = capture.text();
    assert!(logs.contains("outcome unknown"), "{logs}");
    assert!(!logs.contains("nothing was saved"), "{logs}");
    assert_eq!(memory.len(), 0, "an orphaned record whose id no client has");
    let error = StoreError::Timeout(Duration::from_millis(100));
    assert!(error.to_string().contains("outcome unknown"), "{error}");
}
