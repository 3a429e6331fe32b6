//! Converting between session data and the fields of a session hash.
//!
//! Replies are read straight from [`redis::Value`] and requests are written straight into
//! a [`redis::Cmd`]: no intermediate maps or argument lists, so a load or an apply costs
//! one allocation per field and little else.

use std::collections::HashMap;

use redis::{Cmd, Value as RedisValue};

use super::owners::Grant;
use crate::store::codec::{decode_value, encode_value};
use crate::store::{Changes, Record, StoreError};
use crate::value::Map;

/// Appends a change set to a script call: clear flag, count of sets, count of
/// expectations, the owner index grant (index name and lease, or an empty name) and owner
/// action, field/value pairs, expected field/value pairs (an empty value: the field is
/// absent), removals (the layout of the APPLY script).
pub(super) fn push_changes(cmd: &mut Cmd, changes: &Changes, grant: Option<&Grant>, action: &str) {
    let sets = changes.set.values().filter(|v| v.is_some()).count();
    cmd.arg(if changes.clear { "1" } else { "0" })
        .arg(sets)
        .arg(changes.expect.len());
    push_grant(cmd, grant);
    cmd.arg(action);
    let mut field = String::new();
    for (name, value) in &changes.set {
        if let Some(value) = value {
            cmd.arg(field_name(&mut field, name))
                .arg(encode_value(value));
        }
    }
    for (name, value) in &changes.expect {
        cmd.arg(field_name(&mut field, name))
            .arg(value.as_ref().map(encode_value).unwrap_or_default());
    }
    for (name, value) in &changes.set {
        if value.is_none() {
            cmd.arg(field_name(&mut field, name));
        }
    }
}

/// Appends an owner index grant: its index name and lease, or `""` and 0 for none.
pub(super) fn push_grant(cmd: &mut Cmd, grant: Option<&Grant>) {
    match grant {
        Some(grant) => cmd.arg(&grant.index).arg(grant.lease),
        None => cmd.arg("").arg(0),
    };
}

/// Appends a whole map as field/value pairs (the tail of the CREATE script's arguments).
pub(super) fn push_data<'a>(
    cmd: &mut Cmd,
    data: impl IntoIterator<Item = (&'a String, &'a crate::value::Value)>,
) {
    let mut field = String::new();
    for (name, value) in data {
        cmd.arg(field_name(&mut field, name))
            .arg(encode_value(value));
    }
}

/// `v:NAME` in a reused buffer.
fn field_name<'b>(buffer: &'b mut String, name: &str) -> &'b str {
    buffer.clear();
    buffer.push_str("v:");
    buffer.push_str(name);
    buffer
}

/// A flat `field, value, field, value…` reply as a map.
pub(super) fn pairs(flat: Vec<String>) -> HashMap<String, String> {
    let mut map = HashMap::new();
    let mut items = flat.into_iter();
    while let (Some(field), Some(value)) = (items.next(), items.next()) {
        map.insert(field, value);
    }
    map
}

const NOT_A_HASH: StoreError = StoreError::Corrupt("a redis session reply is not a hash");

/// An `HGETALL` reply (a flat array in RESP2, a map in RESP3) as a record, or `None` if
/// the hash is sealed, expired or empty.
pub(crate) fn reply_to_record(reply: RedisValue, now: u64) -> Result<Option<Record>, StoreError> {
    let mut hash = Hash::default();
    match reply {
        RedisValue::Array(items) => {
            let mut items = items.into_iter();
            while let Some(field) = items.next() {
                hash.add(field, items.next().ok_or(NOT_A_HASH)?)?;
            }
        }
        RedisValue::Map(items) => {
            for (field, value) in items {
                hash.add(field, value)?;
            }
        }
        RedisValue::Nil => {}
        _ => return Err(NOT_A_HASH),
    }
    hash.into_record(now)
}

/// The fields of one session hash, as read.
#[derive(Default)]
struct Hash {
    any: bool,
    sealed: bool,
    created_at: Option<u64>,
    expires_at: Option<u64>,
    values: Vec<(String, Vec<u8>)>,
}

impl Hash {
    fn add(&mut self, field: RedisValue, value: RedisValue) -> Result<(), StoreError> {
        let (RedisValue::BulkString(field), RedisValue::BulkString(value)) = (field, value) else {
            return Err(NOT_A_HASH);
        };
        self.any = true;
        match field.as_slice() {
            b"c" => self.created_at = Some(time(&value)?),
            b"e" => self.expires_at = Some(time(&value)?),
            b"s" => self.sealed = true,
            [b'v', b':', ..] => {
                let mut name = String::from_utf8(field).map_err(|_| NOT_A_HASH)?;
                name.drain(..2);
                self.values.push((name, value));
            }
            _ => {}
        }
        Ok(())
    }

    fn into_record(self, now: u64) -> Result<Option<Record>, StoreError> {
        if !self.any || self.sealed {
            return Ok(None);
        }
        let (Some(created_at), Some(expires_at)) = (self.created_at, self.expires_at) else {
            return Err(StoreError::Corrupt("a redis session hash lacks its times"));
        };
        if expires_at <= now {
            return Ok(None);
        }
        let mut data = Map::new();
        for (name, text) in self.values {
            let text = std::str::from_utf8(&text)
                .map_err(|_| StoreError::Corrupt("a stored session value is not UTF-8"))?;
            data.insert(name, decode_value(text)?);
        }
        Ok(Some(Record::new(data, created_at, expires_at)))
    }
}

fn time(text: &[u8]) -> Result<u64, StoreError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(StoreError::Corrupt("a redis session time is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn flat(pairs: &[(&str, &str)]) -> RedisValue {
        RedisValue::Array(
            pairs
                .iter()
                .flat_map(|(f, v)| [f, v])
                .map(|s| RedisValue::BulkString(s.as_bytes().to_vec()))
                .collect(),
        )
    }

    fn map(pairs: &[(&str, &str)]) -> RedisValue {
        let bulk = |s: &str| RedisValue::BulkString(s.as_bytes().to_vec());
        RedisValue::Map(pairs.iter().map(|(f, v)| (bulk(f), bulk(v))).collect())
    }

    #[test]
    fn hashes_become_records_or_calm_errors() {
        for shape in [flat, map] {
            let ok = reply_to_record(shape(&[("c", "5"), ("e", "100"), ("v:a", "1")]), 50);
            let record = ok.expect("decodes").expect("live");
            assert_eq!(record.data.get("a"), Some(&Value::Int(1)));
            assert_eq!((record.created_at, record.expires_at), (5, 100));
            let expired = reply_to_record(shape(&[("c", "5"), ("e", "100")]), 100);
            assert!(expired.expect("decodes").is_none());
            let sealed = reply_to_record(shape(&[("c", "5"), ("e", "100"), ("s", "1")]), 50);
            assert!(
                sealed.expect("decodes").is_none(),
                "a record being renewed away loaded"
            );
            assert!(reply_to_record(shape(&[]), 50).expect("empty").is_none());
            for corrupt in [
                shape(&[("e", "100")]),
                shape(&[("c", "x"), ("e", "100")]),
                shape(&[("c", "5"), ("e", "100"), ("v:a", "{not json")]),
            ] {
                assert!(matches!(
                    reply_to_record(corrupt, 50),
                    Err(StoreError::Corrupt(_))
                ));
            }
        }
        assert!(reply_to_record(RedisValue::Nil, 50).expect("nil").is_none());
        let odd = RedisValue::Array(vec![RedisValue::BulkString(b"c".to_vec())]);
        assert!(matches!(
            reply_to_record(odd, 50),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            reply_to_record(RedisValue::Int(3), 50),
            Err(StoreError::Corrupt(_))
        ));
    }

    fn args(cmd: &Cmd) -> Vec<String> {
        cmd.args_iter()
            .map(|arg| match arg {
                redis::Arg::Simple(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                _ => "<other>".to_owned(),
            })
            .collect()
    }

    #[test]
    fn changes_follow_the_script_layout() {
        let mut changes = Changes {
            clear: true,
            ..Changes::default()
        };
        changes.set.insert("a".into(), Some(Value::Int(1)));
        changes.set.insert("b".into(), None);
        changes.set.insert("c".into(), Some(Value::Str("x".into())));
        changes.expect.insert("n".into(), Some(Value::Int(7)));
        changes.expect.insert("gone".into(), None);
        let mut cmd = redis::cmd("EVALSHA");
        push_changes(&mut cmd, &changes, None, "drop");
        assert_eq!(
            args(&cmd),
            [
                "EVALSHA", "1", "2", "2", "", "0", "drop", "v:a", "1", "v:c", "\"x\"", "v:gone",
                "", "v:n", "7", "v:b"
            ]
        );
        let grant = Grant {
            index: "p{owner:ab}".to_owned(),
            lease: 99,
        };
        let mut cmd = redis::cmd("EVALSHA");
        push_changes(&mut cmd, &Changes::default(), Some(&grant), "set");
        assert_eq!(
            args(&cmd),
            ["EVALSHA", "0", "0", "0", "p{owner:ab}", "99", "set"]
        );
    }
}
