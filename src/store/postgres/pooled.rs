//! A pooled connection that is thrown away, not reused, when the operation using it is
//! cancelled halfway (its deadline passed, or the caller went away).
//!
//! A cancelled operation may leave a query in flight or a transaction open, and if the
//! network swallowed bytes, the connection's protocol state is unknown: handing it to the
//! next request would make that request wait for replies that never come. Dropping it
//! closes the socket; the pool opens a fresh one when needed.

use std::ops::{Deref, DerefMut};

use deadpool_postgres::{Object, Pool};

use crate::store::codec::backend;
use crate::store::StoreError;

pub(super) struct Pooled {
    object: Option<Object>,
    finished: bool,
}

impl Pooled {
    pub(super) async fn get(pool: &Pool) -> Result<Pooled, StoreError> {
        let object = pool.get().await.map_err(backend)?;
        Ok(Pooled {
            object: Some(object),
            finished: false,
        })
    }

    /// Marks the operation complete (successful or not, but not cancelled): the
    /// connection may go back to the pool.
    pub(super) fn finish<T>(mut self, result: T) -> T {
        self.finished = true;
        result
    }
}

impl Deref for Pooled {
    type Target = Object;

    fn deref(&self) -> &Object {
        // Only `drop` takes the object out.
        self.object.as_ref().unwrap_or_else(|| unreachable!())
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Object {
        self.object.as_mut().unwrap_or_else(|| unreachable!())
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(object) = self.object.take() {
            if !self.finished {
                drop(Object::take(object));
                tracing::debug!("postgres session store dropped a connection left mid-operation");
            }
        }
    }
}
