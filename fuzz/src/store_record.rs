//! F-STORE-REC: what the stores read back: one value's tagged JSON text (every store),
//! a Redis `HGETALL` reply (RESP2 array or RESP3 map), and the integer times SQLite and
//! PostgreSQL rows hold.
//!
//! Oracle: no panic; a stored value that reads re-encodes to text that reads back to the
//! same value (NaN-aware) and encodes the same again; a Redis reply gives exactly the
//! record, `None` or corruption that a model of the hash layout gives (`c` and `e` times,
//! `s` seal, `v:<name>` values); times are read back only when not negative.

use flagon::fuzz_hooks::{decode_stored_value, encode_stored_value, stored_time, to_stored_time};
use flagon::Map;

use super::oracle::{depth, value_eq};

/// The stores' nesting cap (`Limits::default().max_depth`).
const MAX_DEPTH: usize = 128;

/// One stored value's text: reads back to itself or is refused, never a panic.
pub fn check_stored_value(text: &[u8]) {
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let Ok(value) = decode_stored_value(text) else {
        return;
    };
    assert!(
        depth(&value) <= MAX_DEPTH,
        "stored value nests past the cap"
    );
    let again = encode_stored_value(&value);
    match decode_stored_value(&again) {
        Ok(back) => assert!(value_eq(&back, &value), "re-encoded value differs: {again}"),
        Err(e) => panic!("a value flagon wrote does not read back ({e}): {again}"),
    }
    assert_eq!(encode_stored_value(&value), again, "encoding is not stable");
}

/// A hash's `(field, value)` pairs, in reply order.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// The hash a fuzz case describes: its pairs and the time of the load.
pub fn hash_case(data: &[u8]) -> (Pairs, u64) {
    let mut be = [0u8; 8];
    let n = data.len().min(8);
    be[..n].copy_from_slice(&data[..n]);
    let now = u64::from_be_bytes(be) % 4_000_000_000;
    let mut rest = data.get(8..).unwrap_or_default();
    let mut pairs = Vec::new();
    while !rest.is_empty() {
        let field = take_field(&mut rest);
        let value = take_chunk(&mut rest);
        pairs.push((field, value));
    }
    (pairs, now)
}

/// A field: byte `k` picks `c`, `e`, `s`, `v:<bytes>` or raw bytes.
fn take_field(data: &mut &[u8]) -> Vec<u8> {
    let kind = data.first().copied().unwrap_or(0);
    *data = data.get(1..).unwrap_or_default();
    match kind % 6 {
        0 => b"c".to_vec(),
        1 => b"e".to_vec(),
        2 => b"s".to_vec(),
        3 | 4 => {
            let mut f = b"v:".to_vec();
            f.extend_from_slice(&take_chunk(data));
            f
        }
        _ => take_chunk(data),
    }
}

fn take_chunk(data: &mut &[u8]) -> Vec<u8> {
    let len =
        usize::from(data.first().copied().unwrap_or(0) % 64).min(data.len().saturating_sub(1));
    let out = data.get(1..1 + len).unwrap_or_default().to_vec();
    *data = data.get(1 + len..).unwrap_or_default();
    out
}

/// What a hash reply should read as: `Err(())` for corruption, else the record as
/// `(created_at, expires_at, data)` or `None`.
#[allow(clippy::result_unit_err, clippy::type_complexity)]
pub fn model_hash(pairs: &[(Vec<u8>, Vec<u8>)], now: u64) -> Result<Option<(u64, u64, Map)>, ()> {
    let time = |v: &[u8]| -> Result<u64, ()> {
        std::str::from_utf8(v)
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or(())
    };
    let (mut created, mut expires, mut sealed) = (None, None, false);
    let mut values: Vec<(String, &[u8])> = Vec::new();
    for (field, value) in pairs {
        match field.as_slice() {
            b"c" => created = Some(time(value)?),
            b"e" => expires = Some(time(value)?),
            b"s" => sealed = true,
            f if f.starts_with(b"v:") => {
                let name = std::str::from_utf8(&f[2..]).map_err(|_| ())?;
                values.push((name.to_owned(), value));
            }
            _ => {}
        }
    }
    if pairs.is_empty() || sealed {
        return Ok(None);
    }
    let (Some(created), Some(expires)) = (created, expires) else {
        return Err(());
    };
    if expires <= now {
        return Ok(None);
    }
    let mut data = Map::new();
    for (name, text) in values {
        let text = std::str::from_utf8(text).map_err(|_| ())?;
        data.insert(name, decode_stored_value(text).map_err(|_| ())?);
    }
    Ok(Some((created, expires, data)))
}

/// A Redis hash reply, both shapes, against [`model_hash`].
#[cfg(feature = "redis")]
pub fn check_redis_hash(data: &[u8]) {
    use flagon::fuzz_hooks::redis_hash_reply;
    let (pairs, now) = hash_case(data);
    let want = model_hash(&pairs, now);
    for as_map in [false, true] {
        let got = redis_hash_reply(pairs.clone(), as_map, now);
        match (&got, &want) {
            (Err(_), Err(())) | (Ok(None), Ok(None)) => {}
            (Ok(Some(record)), Ok(Some((created, expires, map)))) => {
                assert_eq!((record.created_at, record.expires_at), (*created, *expires));
                assert!(
                    super::oracle::map_eq(&record.data, map),
                    "record data differs"
                );
            }
            _ => panic!("reply {pairs:?} at {now}: got {got:?}, model {want:?}"),
        }
    }
}

/// Row times: negative ones are corrupt, others read back unchanged; writing saturates.
pub fn check_times(data: &[u8]) {
    let mut be = [0u8; 8];
    let n = data.len().min(8);
    be[..n].copy_from_slice(&data[..n]);
    let signed = i64::from_be_bytes(be);
    match stored_time(signed) {
        Ok(t) => assert_eq!(Some(t), u64::try_from(signed).ok()),
        Err(_) => assert!(signed < 0, "time {signed} refused"),
    }
    let unsigned = u64::from_be_bytes(be);
    let written = to_stored_time(unsigned);
    assert_eq!(written, i64::try_from(unsigned).unwrap_or(i64::MAX));
    assert_eq!(
        stored_time(written).ok(),
        Some(unsigned.min(i64::MAX as u64))
    );
}

/// F-STORE-REC: byte 0 picks value text, Redis hash or row times.
pub fn check_store_record(data: &[u8]) {
    let rest = data.get(1..).unwrap_or_default();
    match data.first().copied().unwrap_or(0) % 3 {
        0 => check_stored_value(rest),
        #[cfg(feature = "redis")]
        1 => check_redis_hash(rest),
        _ => check_times(rest),
    }
}
