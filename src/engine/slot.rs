//! The per-request slot an adapter leaves for the extractor: lazy opening and the
//! hand-back of the session when the response is ready.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http::StatusCode;

use super::{Opened, Outcome, Shared};
use crate::session::Session;
use crate::store::StoreError;

/// One request's session, opened on first extraction. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Slot(Arc<SlotInner>);

struct SlotInner {
    shared: Arc<Shared>,
    cookies: Vec<Bytes>,
    opened: Mutex<Option<Opened>>,
}

impl Slot {
    /// A slot for a request with these `Cookie` header fields.
    pub(crate) fn new(shared: Arc<Shared>, cookies: Vec<Bytes>) -> Slot {
        Slot(Arc::new(SlotInner {
            shared,
            cookies,
            opened: Mutex::new(None),
        }))
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.0.shared
    }

    fn cookie_bytes(&self) -> impl Iterator<Item = &[u8]> {
        self.0.cookies.iter().map(|c| c.as_ref())
    }

    /// The session, opening it (verifying the cookie or loading from the store) the first time.
    pub(crate) async fn session(&self) -> Result<Session, StoreError> {
        if let Some(opened) = lock(&self.0.opened).as_ref() {
            return Ok(opened.session.clone());
        }
        let opened = super::open(&self.0.shared, self.cookie_bytes()).await?;
        // Another extractor of this request may have opened it meanwhile: keep the first.
        let mut slot = lock(&self.0.opened);
        Ok(slot.get_or_insert(opened).session.clone())
    }

    /// Saves and decides the response's session headers, once the handler answered.
    pub(crate) async fn finish(&self, status: StatusCode) -> Outcome {
        let opened = lock(&self.0.opened).take();
        super::finish(&self.0.shared, opened, self.cookie_bytes(), status).await
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing in the slot can be left half-updated by a panic elsewhere.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
