//! The per-request slot an adapter leaves for the extractor: lazy opening and the
//! hand-back of the session when the response is ready.

use std::sync::{Arc, Mutex, MutexGuard};

use http::StatusCode;

use super::{Opened, Outcome, Shared};
use crate::session::Session;
use crate::store::StoreError;

/// One request's session, opened on first extraction. Cheap to clone.
///
/// `C` is the adapter's header value type: the request's `Cookie` fields are kept by
/// reference count, not copied.
pub(crate) struct Slot<C>(Arc<SlotInner<C>>);

impl<C> Clone for Slot<C> {
    fn clone(&self) -> Self {
        Slot(self.0.clone())
    }
}

struct SlotInner<C> {
    shared: Arc<Shared>,
    cookies: CookieFields<C>,
    opened: Mutex<Option<Opened>>,
}

/// A request's `Cookie` header fields; almost every request has at most one, which
/// needs no allocation.
pub(crate) struct CookieFields<C> {
    first: Option<C>,
    rest: Vec<C>,
}

impl<C> FromIterator<C> for CookieFields<C> {
    fn from_iter<I: IntoIterator<Item = C>>(fields: I) -> Self {
        let mut fields = fields.into_iter();
        CookieFields {
            first: fields.next(),
            rest: fields.collect(),
        }
    }
}

impl<C: AsRef<[u8]>> CookieFields<C> {
    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.first
            .iter()
            .chain(&self.rest)
            .map(|field| field.as_ref())
    }
}

impl<C: AsRef<[u8]>> Slot<C> {
    /// A slot for a request with these `Cookie` header fields.
    pub(crate) fn new(shared: Arc<Shared>, cookies: CookieFields<C>) -> Slot<C> {
        Slot(Arc::new(SlotInner {
            shared,
            cookies,
            opened: Mutex::new(None),
        }))
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.0.shared
    }

    /// The session, opening it (verifying the cookie or loading from the store) the first time.
    pub(crate) async fn session(&self) -> Result<Session, StoreError> {
        if let Some(opened) = lock(&self.0.opened).as_ref() {
            return Ok(opened.session.clone());
        }
        let opened = super::open(&self.0.shared, self.0.cookies.iter()).await?;
        // Another extractor of this request may have opened it meanwhile: keep the first.
        let mut slot = lock(&self.0.opened);
        Ok(slot.get_or_insert(opened).session.clone())
    }

    /// The session without awaiting: the one a handler or extractor of this request
    /// opened already, or a cookie session opened now. `None` when a store would have to
    /// be read first.
    #[cfg(feature = "actix")]
    pub(crate) fn session_now(&self) -> Option<Session> {
        let mut slot = lock(&self.0.opened);
        if let Some(opened) = slot.as_ref() {
            return Some(opened.session.clone());
        }
        if self.0.shared.store.is_some() {
            return None;
        }
        let opened = super::open_cookie(&self.0.shared, self.0.cookies.iter());
        Some(slot.insert(opened).session.clone())
    }

    /// Has a handler of this request opened the session already?
    #[cfg(feature = "flask-login")]
    pub(crate) fn is_opened(&self) -> bool {
        lock(&self.0.opened).is_some()
    }

    /// The response's session headers when deciding them needs no store: a layer
    /// without a store. `None` means call [`finish`](Self::finish).
    pub(crate) fn finish_now(&self, status: StatusCode) -> Option<Outcome> {
        if self.0.shared.store.is_some() {
            return None;
        }
        let opened = lock(&self.0.opened).take();
        let cookies = self.0.cookies.iter();
        Some(super::finish_cookie(
            &self.0.shared,
            opened,
            cookies,
            status,
        ))
    }

    /// Saves and decides the response's session headers, once the handler answered.
    pub(crate) async fn finish(&self, status: StatusCode) -> Outcome {
        let opened = lock(&self.0.opened).take();
        super::finish(&self.0.shared, opened, self.0.cookies.iter(), status).await
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing in the slot can be left half-updated by a panic elsewhere.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_fields_keep_order_without_allocating_for_one() {
        let none: CookieFields<&[u8]> = std::iter::empty().collect();
        assert_eq!(none.iter().count(), 0);
        let one: CookieFields<&[u8]> = [&b"a=1"[..]].into_iter().collect();
        assert_eq!(one.rest.capacity(), 0);
        assert_eq!(one.iter().collect::<Vec<_>>(), [b"a=1"]);
        let three: CookieFields<&[u8]> = [&b"a"[..], b"b", b"c"].into_iter().collect();
        assert_eq!(three.iter().collect::<Vec<_>>(), [b"a", b"b", b"c"]);
    }
}
