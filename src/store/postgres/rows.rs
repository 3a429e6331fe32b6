//! Converting between session data and statement parameters and rows.

use tokio_postgres::Row;

use super::Redacted;
use crate::store::codec::{backend, decode_value, encode_value, from_sql_time};
use crate::store::{Changes, Record, StoreError};
use crate::value::Map;

/// A change set as the parameters of the values statement: clear, removed, set names,
/// set values.
pub(super) fn change_params(changes: &Changes) -> (bool, Vec<String>, Vec<String>, Vec<String>) {
    let (mut removed, mut names, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (name, value) in &changes.set {
        match value {
            Some(value) => {
                names.push(name.clone());
                values.push(encode_value(value));
            }
            None => removed.push(name.clone()),
        }
    }
    (changes.clear, removed, names, values)
}

pub(super) async fn write_values(
    tx: &deadpool_postgres::Transaction<'_>,
    sql: &str,
    key: &[u8],
    changes: &Changes,
) -> Result<(), StoreError> {
    let (clear, removed, names, values) = change_params(changes);
    let stmt = tx.prepare_cached(sql).await.map_err(backend)?;
    let (key, removed, names, values) = (
        Redacted(key),
        Redacted(removed),
        Redacted(names),
        Redacted(values),
    );
    tx.execute(&stmt, &[&key, &clear, &removed, &names, &values])
        .await
        .map_err(backend)?;
    Ok(())
}

/// The rows of the load query as a record (`None` when there is no row).
pub(super) fn to_record(rows: &[Row]) -> Result<Option<Record>, StoreError> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let created: i64 = first.try_get(0).map_err(backend)?;
    let expires: i64 = first.try_get(1).map_err(backend)?;
    let mut data = Map::new();
    for row in rows {
        let name: Option<String> = row.try_get(2).map_err(backend)?;
        let value: Option<String> = row.try_get(3).map_err(backend)?;
        if let (Some(name), Some(value)) = (name, value) {
            data.insert(name, decode_value(&value)?);
        }
    }
    Ok(Some(Record::new(
        data,
        from_sql_time(created)?,
        from_sql_time(expires)?,
    )))
}

/// Do the values `changes` expects still hold? Runs inside the caller's transaction,
/// after it locked the session row, so no writer can change them before it commits.
pub(super) async fn expectations_hold(
    tx: &deadpool_postgres::Transaction<'_>,
    sql: &str,
    key: &[u8],
    changes: &Changes,
) -> Result<bool, StoreError> {
    if changes.expect.is_empty() {
        return Ok(true);
    }
    let names: Vec<&str> = changes.expect.keys().map(String::as_str).collect();
    let stmt = tx.prepare_cached(sql).await.map_err(backend)?;
    let rows = tx
        .query(&stmt, &[&Redacted(key), &Redacted(&names)])
        .await
        .map_err(backend)?;
    let mut stored = Map::new();
    for row in &rows {
        let name: String = row.try_get(0).map_err(backend)?;
        let value: String = row.try_get(1).map_err(backend)?;
        stored.insert(name, decode_value(&value)?);
    }
    Ok(changes.expectations_hold(&stored))
}
