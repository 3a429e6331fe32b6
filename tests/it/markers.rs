//! Marker JSON ↔ [`flagon::Value`].
//!
//! The Flask side of the tests (`tests/flask/vectors.json`, the peer app) shows session
//! values as plain JSON: JSON-native values are themselves, everything else is a one-key
//! object whose key starts with `$`:
//!
//! | marker | `Value` |
//! |--------|---------|
//! | `{"$tuple": [...]}` | `Tuple` |
//! | `{"$bytes": "<padded standard base64>"}` | `Bytes` |
//! | `{"$markup": "<html>"}` | `Markup` |
//! | `{"$uuid": "<dashed>"}` | `Uuid` |
//! | `{"$datetime": "<ISO 8601>"}` | `DateTime` (a naive input is taken as UTC) |
//! | `{"$int": "<digits>"}` | `Int` / `BigInt` |
//! | `{"$float": "NaN" / "Infinity" / "-Infinity"}` | `Float` |
//! | `{"$dict": {...}}` | `Dict` (a dict whose only key starts with `$`) |
//!
//! JSON numbers without a fraction or exponent are integers, others floats, as Python
//! reads them. Used by `vectors.rs` and the live interop tests.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use flagon::{BigInt, Map, Value};
use serde_json::{json, Number, Value as Json};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A session value as marker JSON.
pub(crate) fn to_marker(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::BigInt(b) => json!({ "$int": b.as_str() }),
        Value::Float(x) if x.is_nan() => json!({ "$float": "NaN" }),
        Value::Float(x) if x.is_infinite() => {
            json!({ "$float": if *x > 0.0 { "Infinity" } else { "-Infinity" } })
        }
        Value::Float(x) => Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::from(s.as_str()),
        Value::List(items) => Json::Array(items.iter().map(to_marker).collect()),
        Value::Tuple(items) => json!({ "$tuple": items.iter().map(to_marker).collect::<Vec<_>>() }),
        Value::Dict(map) => map_to_marker(map),
        Value::Bytes(bytes) => json!({ "$bytes": STANDARD.encode(bytes) }),
        Value::Markup(html) => json!({ "$markup": html }),
        Value::Uuid(uuid) => json!({ "$uuid": uuid.hyphenated().to_string() }),
        Value::DateTime(dt) => json!({ "$datetime": isoformat(*dt) }),
        other => panic!("no marker for a {}", other.type_name()),
    }
}

/// A session (or any dict) as marker JSON; a dict whose only key starts with `$` is
/// wrapped in `$dict`.
pub(crate) fn map_to_marker(map: &Map) -> Json {
    let object: serde_json::Map<String, Json> =
        map.iter().map(|(k, v)| (k.clone(), to_marker(v))).collect();
    if map.len() == 1 && map.keys().all(|k| k.starts_with('$')) {
        return json!({ "$dict": object });
    }
    Json::Object(object)
}

/// Marker JSON → value; panics with the reason on malformed markers (test input).
pub(crate) fn from_marker(doc: &Json) -> Value {
    try_from_marker(doc).unwrap_or_else(|why| panic!("bad marker JSON {doc}: {why}"))
}

/// Marker JSON that must be an object → session map.
pub(crate) fn map_from_marker(doc: &Json) -> Map {
    match from_marker(doc) {
        Value::Dict(map) => map,
        other => panic!("expected a session object, got a {}", other.type_name()),
    }
}

/// Marker JSON → value, or why it is not valid marker JSON.
pub(crate) fn try_from_marker(doc: &Json) -> Result<Value, String> {
    Ok(match doc {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => number(n)?,
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(items) => Value::List(list(items)?),
        Json::Object(obj) => match obj.iter().next() {
            Some((key, inner)) if obj.len() == 1 && key.starts_with('$') => marker(key, inner)?,
            _ => Value::Dict(object(obj)?),
        },
    })
}

fn list(items: &[Json]) -> Result<Vec<Value>, String> {
    items.iter().map(try_from_marker).collect()
}

fn object(obj: &serde_json::Map<String, Json>) -> Result<Map, String> {
    obj.iter()
        .map(|(k, v)| Ok((k.clone(), try_from_marker(v)?)))
        .collect()
}

fn number(n: &Number) -> Result<Value, String> {
    if let Some(i) = n.as_i64() {
        return Ok(Value::Int(i));
    }
    if let Some(u) = n.as_u64() {
        return Ok(Value::from(u));
    }
    n.as_f64()
        .map(Value::Float)
        .ok_or_else(|| format!("unrepresentable number {n}"))
}

fn marker(key: &str, inner: &Json) -> Result<Value, String> {
    let text = || inner.as_str().ok_or(format!("{key} needs a string"));
    Ok(match key {
        "$tuple" => match inner {
            Json::Array(items) => Value::Tuple(list(items)?),
            _ => return Err("$tuple needs an array".into()),
        },
        "$dict" => match inner {
            Json::Object(obj) => Value::Dict(object(obj)?),
            _ => return Err("$dict needs an object".into()),
        },
        "$bytes" => Value::Bytes(STANDARD.decode(text()?).map_err(|e| e.to_string())?),
        "$markup" => Value::Markup(text()?.to_owned()),
        "$uuid" => Value::Uuid(uuid::Uuid::parse_str(text()?).map_err(|e| e.to_string())?),
        "$datetime" => Value::DateTime(parse_iso(text()?).ok_or("bad $datetime")?),
        "$int" => {
            let digits = text()?;
            match digits.parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => Value::BigInt(BigInt::parse(digits).ok_or("bad $int")?),
            }
        }
        "$float" => Value::Float(match text()? {
            "NaN" => f64::NAN,
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            other => return Err(format!("bad $float {other:?}")),
        }),
        other => return Err(format!("unknown marker {other}")),
    })
}

/// Python's `datetime.isoformat()` of an aware datetime.
pub(crate) fn isoformat(dt: OffsetDateTime) -> String {
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if dt.microsecond() != 0 {
        s.push_str(&format!(".{:06}", dt.microsecond()));
    }
    let (h, m, sec) = dt.offset().as_hms();
    let sign = if dt.offset().is_negative() { '-' } else { '+' };
    s.push_str(&format!("{sign}{:02}:{:02}", h.abs(), m.abs()));
    if sec != 0 {
        s.push_str(&format!(":{:02}", sec.abs()));
    }
    s
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff][±HH:MM[:SS]|Z]`; no offset means UTC.
pub(crate) fn parse_iso(text: &str) -> Option<OffsetDateTime> {
    let num = |s: &str| s.parse::<i32>().ok();
    let (date, rest) = text.split_at_checked(10)?;
    let rest = rest.strip_prefix(['T', ' '])?;
    let (clock, zone) = match rest.find(['+', '-', 'Z']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut d = date.split('-');
    let year = num(d.next()?)?;
    let month = Month::try_from(u8::try_from(num(d.next()?)?).ok()?).ok()?;
    let day = u8::try_from(num(d.next()?)?).ok()?;
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut t = hms
        .split(':')
        .map(|p| num(p).and_then(|v| u8::try_from(v).ok()));
    let (h, m, s) = (t.next()??, t.next()??, t.next().unwrap_or(Some(0))?);
    let micros = if frac.is_empty() {
        0
    } else {
        num(&format!("{frac:0<6}")[..6])?
    };
    let time = Time::from_hms_micro(h, m, s, u32::try_from(micros).ok()?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let offset = match zone {
        "" | "Z" => UtcOffset::UTC,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let mut z = zone[1..].split(':').map(num);
            let (zh, zm, zs) = (
                z.next()??,
                z.next().unwrap_or(Some(0))?,
                z.next().unwrap_or(Some(0))?,
            );
            UtcOffset::from_whole_seconds(sign * (zh * 3600 + zm * 60 + zs)).ok()?
        }
    };
    Some(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marker_round_trips() {
        let doc = json!({
            "t": {"$tuple": [1, {"$tuple": []}]},
            "b": {"$bytes": "AAH+/w=="},
            "m": {"$markup": "<b>x</b>"},
            "u": {"$uuid": "12345678-1234-5678-1234-567812345678"},
            "d": {"$datetime": "2024-01-02T03:04:05+01:00"},
            "i": {"$int": "1180591620717411303424"},
            "f": [{"$float": "Infinity"}, {"$float": "-Infinity"}, 1.5, 1.0, 2],
            "x": {"$dict": {"$tuple": 1}},
            "plain": {"a": null, "b": true, "c": "s"},
        });
        let map = map_from_marker(&doc);
        assert_eq!(
            map["t"],
            Value::Tuple(vec![Value::Int(1), Value::Tuple(vec![])])
        );
        assert_eq!(
            map["f"],
            Value::List(vec![
                Value::Float(f64::INFINITY),
                Value::Float(f64::NEG_INFINITY),
                Value::Float(1.5),
                Value::Float(1.0),
                Value::Int(2),
            ])
        );
        assert_eq!(map["x"].type_name(), "dict");
        assert_eq!(map_to_marker(&map), doc);
        let nan = from_marker(&json!({"$float": "NaN"}));
        assert!(matches!(nan, Value::Float(x) if x.is_nan()));
        assert!(try_from_marker(&json!({"$nope": 1})).is_err());
    }

    #[test]
    fn datetimes_follow_isoformat() {
        let dt = parse_iso("2024-01-02T03:04:05.000120-02:30").unwrap();
        assert_eq!(isoformat(dt), "2024-01-02T03:04:05.000120-02:30");
        let naive = parse_iso("2024-02-29T13:45:30").unwrap();
        assert_eq!(isoformat(naive), "2024-02-29T13:45:30+00:00");
        assert!(parse_iso("2024-02-30T00:00:00").is_none());
    }
}
