//! Converting between session data and the fields of a session hash.

use std::collections::HashMap;

use crate::store::codec::{decode_value, encode_value};
use crate::store::{Changes, Record, StoreError};
use crate::value::Map;

/// A change set as script arguments: clear flag, count, field/value pairs, removals.
pub(super) fn change_args(changes: &Changes) -> Vec<String> {
    let mut sets = Vec::new();
    let mut removes = Vec::new();
    for (name, value) in &changes.set {
        match value {
            Some(value) => {
                sets.push(format!("v:{name}"));
                sets.push(encode_value(value));
            }
            None => removes.push(format!("v:{name}")),
        }
    }
    let clear = if changes.clear { "1" } else { "0" };
    let mut args = vec![clear.to_owned(), (sets.len() / 2).to_string()];
    args.extend(sets);
    args.extend(removes);
    args
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

/// A session hash as a record, or `None` if it is sealed, expired or empty.
pub(super) fn to_record(
    fields: HashMap<String, String>,
    now: u64,
) -> Result<Option<Record>, StoreError> {
    if fields.is_empty() || fields.contains_key("s") {
        return Ok(None);
    }
    let time = |name: &str| -> Result<u64, StoreError> {
        let text = fields
            .get(name)
            .ok_or(StoreError::Corrupt("a redis session hash lacks its times"))?;
        text.parse()
            .map_err(|_| StoreError::Corrupt("a redis session time is not a number"))
    };
    let (created_at, expires_at) = (time("c")?, time("e")?);
    if expires_at <= now {
        return Ok(None);
    }
    let mut data = Map::new();
    for (field, text) in &fields {
        if let Some(name) = field.strip_prefix("v:") {
            data.insert(name.to_owned(), decode_value(text)?);
        }
    }
    Ok(Some(Record::new(data, created_at, expires_at)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    fn hash(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(f, v)| ((*f).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn hashes_become_records_or_calm_errors() {
        let ok = to_record(hash(&[("c", "5"), ("e", "100"), ("v:a", "1")]), 50);
        let record = ok.expect("decodes").expect("live");
        assert_eq!(record.data.get("a"), Some(&Value::Int(1)));
        assert_eq!((record.created_at, record.expires_at), (5, 100));
        let expired = to_record(hash(&[("c", "5"), ("e", "100")]), 100);
        assert!(expired.expect("decodes").is_none());
        let sealed = to_record(hash(&[("c", "5"), ("e", "100"), ("s", "1")]), 50);
        assert!(
            sealed.expect("decodes").is_none(),
            "a record being renewed away loaded"
        );
        assert!(to_record(HashMap::new(), 50).expect("empty").is_none());
        for corrupt in [
            hash(&[("e", "100")]),
            hash(&[("c", "x"), ("e", "100")]),
            hash(&[("c", "5"), ("e", "100"), ("v:a", "{not json")]),
        ] {
            assert!(matches!(
                to_record(corrupt, 50),
                Err(StoreError::Corrupt(_))
            ));
        }
    }

    #[test]
    fn change_args_follow_the_script_layout() {
        let mut changes = Changes {
            clear: true,
            ..Changes::default()
        };
        changes.set.insert("a".into(), Some(Value::Int(1)));
        changes.set.insert("b".into(), None);
        let args = change_args(&changes);
        assert_eq!(args, ["1", "1", "v:a", "1", "v:b"]);
    }
}
