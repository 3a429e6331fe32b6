//! The transactions of the SQLite store, one function per operation.

use rusqlite::{params, Connection, OptionalExtension};

use super::sql;
use crate::id::StoreKey;
use crate::store::codec::{backend, decode_value, encode_value, from_sql_time, to_sql_time};
use crate::store::{Applied, Changes, Created, Record, Renewed, StoreError};
use crate::value::Map;

/// Loads a live record in one read transaction (one consistent snapshot).
pub(super) fn load_tx(
    conn: &mut Connection,
    key: &StoreKey,
    now: u64,
) -> Result<Option<Record>, StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    let times: Option<(i64, i64)> = tx
        .prepare_cached(sql::LOAD_SESSION)
        .and_then(|mut s| {
            s.query_row(params![&key.as_bytes()[..], to_sql_time(now)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
        })
        .map_err(backend)?;
    let Some((created, expires)) = times else {
        return Ok(None);
    };
    let mut data = Map::new();
    let mut stmt = tx.prepare_cached(sql::LOAD_VALUES).map_err(backend)?;
    let mut rows = stmt.query(params![&key.as_bytes()[..]]).map_err(backend)?;
    while let Some(row) = rows.next().map_err(backend)? {
        let name: String = row.get(0).map_err(backend)?;
        let text: String = row.get(1).map_err(backend)?;
        data.insert(name, decode_value(&text)?);
    }
    Ok(Some(Record::new(
        data,
        from_sql_time(created)?,
        from_sql_time(expires)?,
    )))
}

/// Do the values `changes` expects still hold (inside the caller's write transaction)?
fn expectations_hold(tx: &Connection, key: &[u8], changes: &Changes) -> Result<bool, StoreError> {
    if changes.expect.is_empty() {
        return Ok(true);
    }
    let mut stmt = tx.prepare_cached(sql::LOAD_VALUE).map_err(backend)?;
    for (name, expected) in &changes.expect {
        let stored: Option<String> = stmt
            .query_row(params![key, name], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        let holds = match (stored, expected) {
            (None, None) => true,
            (Some(text), Some(value)) => decode_value(&text)? == *value,
            _ => false,
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Writes `changes` to the value rows of `key` (inside the caller's transaction).
fn write_changes(tx: &Connection, key: &[u8], changes: &Changes) -> Result<(), StoreError> {
    if changes.clear {
        tx.prepare_cached(sql::CLEAR_VALUES)
            .and_then(|mut s| s.execute(params![key]))
            .map_err(backend)?;
    }
    let mut upsert = tx.prepare_cached(sql::UPSERT_VALUE).map_err(backend)?;
    let mut remove = tx.prepare_cached(sql::REMOVE_VALUE).map_err(backend)?;
    for (name, value) in &changes.set {
        match value {
            Some(value) => upsert.execute(params![key, name, encode_value(value)]),
            None => remove.execute(params![key, name]),
        }
        .map_err(backend)?;
    }
    Ok(())
}

pub(super) fn create_tx(
    conn: &mut Connection,
    key: &StoreKey,
    record: &Record,
) -> Result<Created, StoreError> {
    let tx = conn.savepoint().map_err(backend)?;
    let k = &key.as_bytes()[..];
    let existing: Option<i64> = tx
        .query_row(sql::SESSION_EXPIRY, params![k], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    if existing.is_some_and(|e| e > to_sql_time(record.created_at)) {
        return Ok(Created::Collision);
    }
    tx.execute(sql::CLEAR_VALUES, params![k]).map_err(backend)?;
    tx.execute(
        sql::REPLACE_SESSION,
        params![
            k,
            to_sql_time(record.created_at),
            to_sql_time(record.expires_at)
        ],
    )
    .map_err(backend)?;
    let mut changes = Changes::default();
    for (name, value) in &record.data {
        changes.set.insert(name.clone(), Some(value.clone()));
    }
    write_changes(&tx, k, &changes)?;
    tx.commit().map_err(backend)?;
    Ok(Created::Stored)
}

pub(super) fn apply_tx(
    conn: &mut Connection,
    key: &StoreKey,
    changes: &Changes,
    expires_at: u64,
    now: u64,
) -> Result<Applied, StoreError> {
    let tx = conn.savepoint().map_err(backend)?;
    let k = &key.as_bytes()[..];
    let updated = tx
        .prepare_cached(sql::EXTEND_LIVE)
        .and_then(|mut s| s.execute(params![k, to_sql_time(expires_at), to_sql_time(now)]))
        .map_err(backend)?;
    if updated == 0 {
        return Ok(Applied::Gone);
    }
    if !expectations_hold(&tx, k, changes)? {
        return Ok(Applied::Conflict); // dropping the transaction rolls it back
    }
    write_changes(&tx, k, changes)?;
    tx.commit().map_err(backend)?;
    Ok(Applied::Done)
}

pub(super) fn renew_tx(
    conn: &mut Connection,
    keys: (&StoreKey, &StoreKey),
    changes: &Changes,
    expires_at: u64,
    now: u64,
) -> Result<Renewed, StoreError> {
    let tx = conn.savepoint().map_err(backend)?;
    let (old, new) = (&keys.0.as_bytes()[..], &keys.1.as_bytes()[..]);
    let live = |k: &[u8]| -> Result<bool, StoreError> {
        let e: Option<i64> = tx
            .query_row(sql::SESSION_EXPIRY, params![k], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        Ok(e.is_some_and(|e| e > to_sql_time(now)))
    };
    if !live(old)? {
        return Ok(Renewed::Gone);
    }
    if old == new || live(new)? {
        return Ok(Renewed::Collision);
    }
    if !expectations_hold(&tx, old, changes)? {
        return Ok(Renewed::Conflict);
    }
    for stmt in [sql::CLEAR_VALUES, sql::DELETE_SESSION] {
        tx.execute(stmt, params![new]).map_err(backend)?;
    }
    tx.execute(
        sql::MOVE_SESSION,
        params![old, new, to_sql_time(expires_at)],
    )
    .map_err(backend)?;
    tx.execute(sql::MOVE_VALUES, params![old, new])
        .map_err(backend)?;
    write_changes(&tx, new, changes)?;
    tx.commit().map_err(backend)?;
    Ok(Renewed::Done)
}

pub(super) fn delete_tx(conn: &mut Connection, key: &StoreKey) -> Result<(), StoreError> {
    let tx = conn.savepoint().map_err(backend)?;
    for stmt in [sql::CLEAR_VALUES, sql::DELETE_SESSION] {
        tx.execute(stmt, params![&key.as_bytes()[..]])
            .map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

/// Removes at most `batch` expired sessions (in the writer's batch transaction); the
/// caller repeats while a whole batch went.
pub(super) fn sweep_tx(conn: &mut Connection, now: u64, batch: usize) -> Result<u64, StoreError> {
    let tx = conn.savepoint().map_err(backend)?;
    let keys: Vec<Vec<u8>> = {
        let mut stmt = tx.prepare_cached(sql::EXPIRED_KEYS).map_err(backend)?;
        let rows = stmt
            .query_map(params![to_sql_time(now), batch as i64], |r| r.get(0))
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)?
    };
    let mut removed = 0u64;
    for key in &keys {
        tx.execute(sql::CLEAR_VALUES, params![key])
            .map_err(backend)?;
        // Conditional again, so a session extended meanwhile is never removed.
        let n = tx
            .execute(sql::DELETE_EXPIRED, params![key, to_sql_time(now)])
            .map_err(backend)?;
        removed += n as u64;
    }
    tx.commit().map_err(backend)?;
    Ok(removed)
}

/// The registry: the live records whose owner is `owner`, with their keys. The keys come
/// from one read through the owner index, then each record is loaded in its own read; a
/// session that ends in between is left out.
pub(super) fn owned_tx(
    conn: &mut Connection,
    owner: &str,
    now: u64,
) -> Result<Vec<(StoreKey, Record)>, StoreError> {
    let owner = encode_value(&crate::value::Value::Str(owner.to_owned()));
    let keys: Vec<Vec<u8>> = {
        let tx = conn.transaction().map_err(backend)?;
        let mut stmt = tx.prepare_cached(sql::OWNED_KEYS).map_err(backend)?;
        let rows = stmt
            .query_map(params![owner, to_sql_time(now)], |r| r.get(0))
            .map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)?
    };
    let mut found = Vec::with_capacity(keys.len());
    for raw in keys {
        let bytes: [u8; 32] = raw
            .try_into()
            .map_err(|_| StoreError::Corrupt("session key is not 32 bytes"))?;
        let key = StoreKey::from_bytes(bytes);
        if let Some(record) = load_tx(conn, &key, now)? {
            found.push((key, record));
        }
    }
    Ok(found)
}
