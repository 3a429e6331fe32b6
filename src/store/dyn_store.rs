//! An object-safe view of [`SessionStore`], so one layer type serves every store.

use std::future::Future;
use std::pin::Pin;

use super::{Applied, Changes, Created, Record, Renewed, SessionStore, StoreError};
use crate::id::StoreKey;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`SessionStore`] with boxed futures; implemented for every store.
pub(crate) trait DynStore: Send + Sync + 'static {
    fn load<'a>(
        &'a self,
        key: &'a StoreKey,
        now: u64,
    ) -> BoxFuture<'a, Result<Option<Record>, StoreError>>;
    fn create<'a>(
        &'a self,
        key: &'a StoreKey,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<Created, StoreError>>;
    fn apply<'a>(
        &'a self,
        key: &'a StoreKey,
        changes: &'a Changes,
        expires_at: u64,
        now: u64,
    ) -> BoxFuture<'a, Result<Applied, StoreError>>;
    #[allow(clippy::type_complexity)]
    fn renew<'a>(
        &'a self,
        old: &'a StoreKey,
        new: &'a StoreKey,
        changes: &'a Changes,
        expires_at: u64,
        now: u64,
    ) -> BoxFuture<'a, Result<Renewed, StoreError>>;
    fn touch<'a>(
        &'a self,
        key: &'a StoreKey,
        expires_at: u64,
        now: u64,
    ) -> BoxFuture<'a, Result<Applied, StoreError>>;
    fn delete<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<(), StoreError>>;
}

impl std::fmt::Debug for dyn DynStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionStore")
    }
}

impl<S: SessionStore> DynStore for S {
    fn load<'a>(
        &'a self,
        key: &'a StoreKey,
        now: u64,
    ) -> BoxFuture<'a, Result<Option<Record>, StoreError>> {
        Box::pin(SessionStore::load(self, key, now))
    }
    fn create<'a>(
        &'a self,
        key: &'a StoreKey,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<Created, StoreError>> {
        Box::pin(SessionStore::create(self, key, record))
    }
    fn apply<'a>(
        &'a self,
        key: &'a StoreKey,
        changes: &'a Changes,
        expires_at: u64,
        now: u64,
    ) -> BoxFuture<'a, Result<Applied, StoreError>> {
        Box::pin(SessionStore::apply(self, key, changes, expires_at, now))
    }
    fn renew<'a>(
        &'a self,
        old: &'a StoreKey,
        new: &'a StoreKey,
        changes: &'a Changes,
        expires_at: u64,
        now: u64,
    ) -> BoxFuture<'a, Result<Renewed, StoreError>> {
        Box::pin(SessionStore::renew(
            self, old, new, changes, expires_at, now,
        ))
    }
    fn touch<'a>(
        &'a self,
        key: &'a StoreKey,
        expires_at: u64,
        now: u64,
    ) -> BoxFuture<'a, Result<Applied, StoreError>> {
        Box::pin(SessionStore::touch(self, key, expires_at, now))
    }
    fn delete<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(SessionStore::delete(self, key))
    }
}
