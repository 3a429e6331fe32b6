//! Statement parameters that never show in logs.
//!
//! tokio-postgres logs every statement's parameters with their `Debug` text at `debug`
//! level (through the `log` crate), so `RUST_LOG=debug` would print store keys and session
//! values in clear. Every parameter that carries either goes through [`Redacted`], whose
//! `Debug` prints nothing of it.

use std::error::Error;
use std::fmt;

use bytes::BytesMut;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

/// A parameter sent as `T` but logged as `<redacted>`.
pub(crate) struct Redacted<T>(pub(crate) T);

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T: Clone> Clone for Redacted<T> {
    fn clone(&self) -> Self {
        Redacted(self.0.clone())
    }
}

impl<T: Copy> Copy for Redacted<T> {}

impl<T: ToSql> ToSql for Redacted<T> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        self.0.to_sql(ty, out)
    }

    fn accepts(ty: &Type) -> bool {
        T::accepts(ty)
    }

    to_sql_checked!();
}
