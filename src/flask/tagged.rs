//! Flask's tagged JSON (`flask.json.tag.TaggedJSONSerializer`).
//!
//! Python types JSON lacks are written as one-key objects whose key is a tag:
//! ` t` tuple, ` b` bytes (padded standard base64), ` m` Markup, ` u` UUID (32 lower-case
//! hex digits), ` d` datetime (HTTP date in UTC). A dict whose only key is itself one of
//! those tags (or ` di`) is escaped as `{" di": {KEY + "__": value}}`. Everything is
//! written compactly with sorted keys and ASCII-only strings, as Flask's app JSON
//! provider does.
//!
//! Reading converts bottom-up while parsing: each object's values first, then the object
//! itself if it has exactly one key and that key is a tag. flagon is stricter than
//! Flask where Flask would crash or accept shapes it never writes (DV3): a ` t` value
//! must be an array, ` b` canonical padded base64, ` m` a string, ` u` a UUID spelling
//! the `uuid` crate accepts (plain, dashed, braced or `urn:uuid:`, any case), ` di` an
//! object with exactly one key; otherwise the payload is rejected. An unparsable ` d`
//! becomes `null`, as in Flask. The top level must be an object (DV8).

use super::{base64, date, json, json_write, DecodeError};
use crate::scratch::with_scratch;
use crate::value::{Map, Value};

/// The tag keys Flask registers, in its order.
const TAGS: [&str; 6] = [" di", " t", " b", " m", " u", " d"];

/// Session → tagged JSON text.
pub(crate) fn to_json(session: &Map) -> String {
    let mut out = String::with_capacity(64);
    write_dict(&mut out, session);
    out
}

thread_local! {
    /// The JSON text [`with_json`] writes, kept between calls so that writing a large
    /// session does not grow a new string step by step each time.
    static JSON: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Strings above this capacity are freed after use rather than kept.
const KEEP: usize = 64 * 1024;

/// Session → tagged JSON text, handed to `use_json` in a reused buffer.
pub(crate) fn with_json<T>(session: &Map, use_json: impl FnOnce(&str) -> T) -> T {
    with_scratch(&JSON, KEEP, |out| {
        out.clear();
        write_dict(out, session);
        use_json(out)
    })
}

/// Tagged JSON text → session (object top level only).
pub(crate) fn from_json(text: &[u8], max_depth: usize) -> Result<Map, DecodeError> {
    match json::parse(text, max_depth, untag) {
        Ok(Value::Dict(map)) => Ok(map),
        Ok(_) => Err(DecodeError::Payload(
            "top level of the session is not an object",
        )),
        Err(why) => Err(DecodeError::Payload(why)),
    }
}

/// One value → its tagged JSON text (what a store keeps per session key).
#[cfg(any(feature = "sqlite", feature = "redis", feature = "postgres"))]
pub(crate) fn value_to_json(value: &Value) -> String {
    let mut out = String::with_capacity(16);
    write_value(&mut out, value);
    out
}

/// Tagged JSON text of one value (any JSON type at the top) → the value.
#[cfg(any(
    feature = "sqlite",
    feature = "redis",
    feature = "postgres",
    feature = "csrf"
))]
pub(crate) fn value_from_json(text: &[u8], max_depth: usize) -> Result<Value, DecodeError> {
    json::parse(text, max_depth, untag).map_err(DecodeError::Payload)
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => json_write::write_int(out, *i),
        Value::BigInt(b) => out.push_str(b.as_str()),
        Value::Float(x) => json_write::write_float(out, *x),
        Value::Str(s) => json_write::write_str(out, s),
        Value::List(items) => write_list(out, items),
        Value::Dict(map) => write_dict(out, map),
        Value::Tuple(items) => {
            out.push_str("{\" t\":");
            write_list(out, items);
            out.push('}');
        }
        Value::Bytes(bytes) => {
            out.push_str("{\" b\":\"");
            base64::encode_std_into(bytes, out);
            out.push_str("\"}");
        }
        Value::Markup(html) => {
            out.push_str("{\" m\":");
            json_write::write_str(out, html);
            out.push('}');
        }
        Value::Uuid(uuid) => {
            out.push_str("{\" u\":\"");
            out.push_str(uuid.simple().encode_lower(&mut uuid::Uuid::encode_buffer()));
            out.push_str("\"}");
        }
        Value::DateTime(dt) => {
            out.push_str("{\" d\":\"");
            date::write_http_date(out, *dt);
            out.push_str("\"}");
        }
    }
}

fn write_list(out: &mut String, items: &[Value]) {
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_value(out, item);
    }
    out.push(']');
}

/// An object with keys in code point order (the map's order), ` di`-escaped when its
/// only key is a tag.
fn write_dict(out: &mut String, map: &Map) {
    if map.len() == 1 {
        if let Some((key, value)) = map.iter().next().filter(|(k, _)| is_tag(k)) {
            out.push_str("{\" di\":{");
            json_write::write_str(out, &format!("{key}__"));
            out.push(':');
            write_value(out, value);
            out.push_str("}}");
            return;
        }
    }
    out.push('{');
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_write::write_str(out, key);
        out.push(':');
        write_value(out, value);
    }
    out.push('}');
}

fn is_tag(key: &str) -> bool {
    TAGS.contains(&key)
}

/// The parser's object hook: a one-key object with a tag key becomes the tagged type.
fn untag(map: Map) -> Result<Value, &'static str> {
    if map.len() != 1 || !map.keys().next().is_some_and(|k| is_tag(k)) {
        return Ok(Value::Dict(map));
    }
    let Some((tag, value)) = map.into_iter().next() else {
        return Err("empty tag object");
    };
    match (tag.as_str(), value) {
        (" t", Value::List(items)) => Ok(Value::Tuple(items)),
        (" t", _) => Err("tuple tag ' t' does not hold an array"),
        (" b", Value::Str(text)) => base64::decode_std(&text)
            .map(Value::Bytes)
            .ok_or("bytes tag ' b' does not hold canonical padded base64"),
        (" b", _) => Err("bytes tag ' b' does not hold a string"),
        (" m", Value::Str(html)) => Ok(Value::Markup(html)),
        (" m", _) => Err("markup tag ' m' does not hold a string"),
        (" u", Value::Str(text)) => uuid::Uuid::try_parse(&text)
            .map(Value::Uuid)
            .map_err(|_| "uuid tag ' u' does not hold a UUID"),
        (" u", _) => Err("uuid tag ' u' does not hold a string"),
        (" d", Value::Str(text)) => {
            Ok(date::parse_http_date(&text).map_or(Value::Null, Value::DateTime))
        }
        (" d", Value::Null) => Ok(Value::Null),
        (" d", _) => Err("datetime tag ' d' does not hold a string"),
        (_, Value::Dict(inner)) if inner.len() == 1 => Ok(unescape(inner)),
        _ => Err("escape tag ' di' does not hold a one-key object"),
    }
}

/// ` di`: `{K: v}` → `{K[:-2]: v}`; like Flask, the two characters cut are not checked.
fn unescape(inner: Map) -> Value {
    let mut out = Map::new();
    for (mut key, value) in inner {
        for _ in 0..2 {
            key.pop();
        }
        out.insert(key, value);
    }
    Value::Dict(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn map(pairs: Vec<(&str, Value)>) -> Map {
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    fn read(text: &str) -> Result<Map, DecodeError> {
        from_json(text.as_bytes(), 128)
    }

    #[test]
    fn writes_flask_tags() {
        let uuid = uuid::Uuid::parse_str("12345678-1234-5678-1234-567812345678").unwrap();
        let session = map(vec![
            ("b", Value::Bytes(vec![0, 1, 0xfe, 0xff])),
            (
                "d",
                Value::DateTime(datetime!(2024-01-02 03:04:05.9 +05:30)),
            ),
            ("m", Value::Markup("<b>x</b>".into())),
            ("t", Value::Tuple(vec![Value::Int(1), Value::Tuple(vec![])])),
            ("u", Value::Uuid(uuid)),
        ]);
        assert_eq!(
            to_json(&session),
            concat!(
                r#"{"b":{" b":"AAH+/w=="},"d":{" d":"Mon, 01 Jan 2024 21:34:05 GMT"},"#,
                r#""m":{" m":"<b>x</b>"},"t":{" t":[1,{" t":[]}]},"#,
                r#""u":{" u":"12345678123456781234567812345678"}}"#
            )
        );
    }

    #[test]
    fn one_key_tag_dicts_are_escaped_and_read_back() {
        let inner = |k: &str| Value::Dict(map(vec![(k, Value::Int(1))]));
        let session = map(vec![
            ("a", inner(" t")),
            ("b", inner(" di")),
            ("c", inner(" x")),
            ("d", inner(" t__")),
            (
                "e",
                Value::Dict(map(vec![(" t", Value::Int(1)), ("o", Value::Int(2))])),
            ),
        ]);
        let text = to_json(&session);
        assert_eq!(
            text,
            concat!(
                r#"{"a":{" di":{" t__":1}},"b":{" di":{" di__":1}},"c":{" x":1},"#,
                r#""d":{" t__":1},"e":{" t":1,"o":2}}"#
            )
        );
        assert_eq!(read(&text).unwrap(), session);
        let top = map(vec![(" t", Value::from("only key"))]);
        assert_eq!(to_json(&top), r#"{" di":{" t__":"only key"}}"#);
        assert_eq!(read(&to_json(&top)).unwrap(), top);
        // the suffix is cut unchecked, as in Flask
        let got = read(r#"{"x":{" di":{"abc":1}}}"#).unwrap();
        assert_eq!(got, map(vec![("x", inner("a"))]));
    }

    #[test]
    fn reads_tags_bottom_up() {
        let got = read(r#"{"x":{" t":[{" b":"aGk="},[{" m":"<i>"}]]}}"#).unwrap();
        let want = Value::Tuple(vec![
            Value::Bytes(b"hi".to_vec()),
            Value::List(vec![Value::Markup("<i>".into())]),
        ]);
        assert_eq!(got["x"], want);
        let got = read(r#"{"u":{" u":"{12345678-1234-5678-1234-567812345678}"}}"#).unwrap();
        assert_eq!(got["u"].type_name(), "UUID");
        let got = read(r#"{"d":{" d":"Tue, 02 Jan 2024 03:04:05 +0100"},"n":{" d":"no"}}"#);
        let got = got.unwrap();
        assert_eq!(
            got["d"],
            Value::DateTime(datetime!(2024-01-02 03:04:05 +01:00))
        );
        assert_eq!(got["n"], Value::Null);
        assert_eq!(read(r#"{"x":{" z":1}}"#).unwrap()["x"].type_name(), "dict");
    }

    #[test]
    fn wrong_shapes_and_top_levels_are_payload_errors() {
        for bad in [
            r#"{"x":{" t":1}}"#,
            r#"{"x":{" t":"ab"}}"#,
            r#"{"x":{" b":"abc"}}"#,
            r#"{"x":{" b":1}}"#,
            r#"{"x":{" u":"xyz"}}"#,
            r#"{"x":{" m":1}}"#,
            r#"{"x":{" d":1}}"#,
            r#"{"x":{" di":{}}}"#,
            r#"{"x":{" di":{"a":1,"b":2}}}"#,
            r#"{"x":{" di":1}}"#,
            r#"{" t":[1]}"#,
            "[1,2]",
            r#"[["a",1]]"#,
            "null",
            r#""x""#,
            "not json",
        ] {
            assert!(matches!(read(bad), Err(DecodeError::Payload(_))), "{bad}");
        }
        let ok = read(r#"{"x":{" t":[1],"y":2}}"#).unwrap();
        assert_eq!(ok["x"].type_name(), "dict");
    }
}
