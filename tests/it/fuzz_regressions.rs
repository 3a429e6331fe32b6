//! Fuzz findings and interesting fuzz inputs, replayed on stable without cargo-fuzz.
//!
//! The oracles are the fuzz targets' own (`fuzz/src/oracle.rs`, included by path), so
//! each test here runs exactly what libFuzzer ran on that input. Every crash the fuzzers
//! find gets a test here; see `fuzz/README.md` for the targets and how to run them.

use flagon::flask::{self, DecodeError, Limits};
use flagon::{Map, Value};
use flate2::write::ZlibEncoder;
use flate2::Compression;
use std::io::Write as _;

#[path = "../../fuzz/src/oracle.rs"]
#[allow(dead_code, unreachable_pub, clippy::duplicate_mod)] // in both replay modules
mod oracle;

use oracle::{check_json, check_raw, check_sealed, check_signed, check_tagged_roundtrip};

/// A `decode_signed` input: flags byte, 8-byte age (or timestamp with flag 4), body.
fn signed_input(flags: u8, ts: u64, body: &[u8]) -> Vec<u8> {
    let mut data = vec![flags];
    data.extend_from_slice(&ts.to_be_bytes());
    data.extend_from_slice(body);
    data
}

/// Runs every JSON-shaped oracle on `text`: alone, as a stored record, and signed both
/// plainly and compressed.
fn all_json_oracles(text: &[u8]) {
    check_json(text);
    for flags in [1, 2] {
        check_signed(&signed_input(flags, 100, text));
    }
}

fn zlib(raw: &[u8], level: u32) -> Vec<u8> {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::new(level));
    z.write_all(raw).expect("writing to a Vec cannot fail");
    z.finish().expect("writing to a Vec cannot fail")
}

fn parse(text: &str) -> Result<Map, DecodeError> {
    flask::from_tagged_json(text.as_bytes(), &Limits::default())
}

/// Crash found by `json_parse` (input `{"d":{" d":"Fri, 31 Dec 9999 23:59:59 -2359"}}`):
/// the date parsed, and writing it back panicked in `time` ("local datetime out of valid
/// range") because its UTC instant is in year 10000. Fixed in `src/flask/date.rs`: such
/// instants read as `null`, like any date Flask's writer could not handle.
#[test]
fn date_beyond_year_9999_utc_reads_as_null() {
    let text = r#"{"d":{" d":"Fri, 31 Dec 9999 23:59:59 -2359"}}"#;
    all_json_oracles(text.as_bytes());
    let session = parse(text).expect("still a valid payload");
    assert_eq!(session["d"], Value::Null);
    assert_eq!(flask::to_tagged_json(&session), r#"{"d":null}"#);
    // the last instant that fits still reads as a datetime and writes back
    let edge = parse(r#"{"d":{" d":"Fri, 31 Dec 9999 23:59:59 +0000"}}"#).unwrap();
    assert_eq!(edge["d"].type_name(), "datetime");
    assert_eq!(
        flask::to_tagged_json(&edge),
        r#"{"d":{" d":"Fri, 31 Dec 9999 23:59:59 GMT"}}"#
    );
}

/// Same fix, other end: `0100-01-01 00:00 +0100` is year 99 in UTC, which the writer
/// prints as `0099` and Python's two-digit-year rule reads back as 1999.
#[test]
fn date_before_year_100_utc_reads_as_null() {
    let text = r#"{"d":{" d":"Mon, 01 Jan 0100 00:00:00 +0100"}}"#;
    all_json_oracles(text.as_bytes());
    assert_eq!(parse(text).unwrap()["d"], Value::Null);
    let first = parse(r#"{"d":{" d":"Fri, 01 Jan 0100 00:00:00 GMT"}}"#).unwrap();
    assert_eq!(first["d"].type_name(), "datetime");
}

/// Crash found by `json_parse` (the fuzzer's input, as found, is below): a nine-digit
/// numeric zone overflowed `i32` in `numeric_zone` ("attempt to multiply with overflow"
/// with overflow checks on; a wrapped offset without). Fixed in `src/flask/date.rs` with
/// `i64` arithmetic; such a zone is over 24 h, so the date reads as `null` as in Flask.
#[test]
fn nine_digit_zone_does_not_overflow() {
    let found = concat!(
        r#"{"bkey_009efore_epquoch":{" dquoch":{" d":"Wed, 31 Dec 1969 23:59:59  399999938 2T"}},"#,
        r#""leap_day":{" re_pquoch":{" d":"Wed, 31 Dec 1969 23:59:59  39389 GMT"}}}"#
    );
    all_json_oracles(found.as_bytes());
    for zone in [
        "999999999",
        "-999999999",
        "+214748364",
        "2400",
        "-2360",
        "2359",
    ] {
        let text = format!(r#"{{"d":{{" d":"Wed, 31 Dec 1969 23:59:59 {zone}"}}}}"#);
        all_json_oracles(text.as_bytes());
        let got = &parse(&text).unwrap()["d"];
        let want = if zone == "2359" { "datetime" } else { "None" };
        assert_eq!(got.type_name(), want, "{zone}");
    }
}

/// The oracle's own first finding: an input shorter than the flags byte.
#[test]
fn signing_oracle_takes_inputs_of_any_length() {
    for len in 0..12 {
        check_signed(&vec![1; len]);
    }
}

/// Every Flask vector's cookie through the raw decoder, and its payload through the
/// signing oracle in all four modes and through the JSON parser.
#[test]
fn flask_vectors_replay_through_every_oracle() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/flask/vectors.json");
    let text = std::fs::read_to_string(path).expect("tests/flask/vectors.json is committed");
    let vectors: Vec<serde_json::Value> = serde_json::from_str(&text).expect("valid JSON");
    let mut replayed = 0;
    for cookie in vectors.iter().filter_map(|v| v["cookie"].as_str()) {
        check_raw(cookie.as_bytes());
        let mut parts = cookie.rsplitn(3, '.');
        let (_, _, Some(payload)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        check_signed(&signed_input(0, 100, payload.as_bytes()));
        if let Ok(session) =
            flask::insecure_decode_unverified(cookie.as_bytes(), &Limits::default())
        {
            all_json_oracles(flask::to_tagged_json(&session.0).as_bytes());
        }
        replayed += 1;
    }
    assert!(replayed >= 100, "only {replayed} vectors replayed");
}

#[test]
fn deep_nesting_stops_at_the_cap() {
    let deep = |n: usize| format!(r#"{{"a":{}{}}}"#, "[".repeat(n), "]".repeat(n));
    for n in [62, 63, 64, 126, 127, 128, 200, 5000] {
        all_json_oracles(deep(n).as_bytes());
    }
    assert!(
        parse(&deep(127)).is_ok(),
        "127 arrays + the top object = 128"
    );
    assert!(matches!(parse(&deep(128)), Err(DecodeError::Payload(_))));
    assert!(matches!(
        parse(&deep(100_000)),
        Err(DecodeError::Payload(_))
    ));
}

#[test]
fn zlib_bomb_is_refused_at_the_inflate_cap() {
    let bomb = zlib(&[b'a'; 1 << 20], 9);
    let data = signed_input(3, 100, &bomb);
    check_signed(&data);
    let case = oracle::signed_case(&data);
    let got = flask::verify(
        &case.cookie,
        &flagon::KeyRing::new(flagon::Key::new(oracle::SECRET).unwrap()),
        oracle::NOW,
        oracle::MAX_AGE,
        0,
        &oracle::signed_limits(),
    );
    assert!(
        matches!(got, Err(DecodeError::Payload(m)) if m.contains("limit")),
        "{got:?}"
    );
    // trailing bytes after a good stream, and a stream cut short
    let good = zlib(br#"{"a":1}"#, 6);
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"JUNK");
    for stream in [
        &good[..],
        &trailing[..],
        &good[..good.len() - 1],
        &good[..2],
    ] {
        check_signed(&signed_input(3, 100, stream));
    }
}

#[test]
fn huge_integers_and_odd_floats() {
    let digits = |n: usize| "9".repeat(n);
    for text in [
        format!(r#"{{"n":{}}}"#, digits(4300)),
        format!(r#"{{"n":-{}}}"#, digits(4300)),
        format!(r#"{{"n":{}}}"#, digits(4301)),
        r#"{"n":9223372036854775808,"m":-9223372036854775809,"z":-0}"#.to_owned(),
        r#"{"f":1e400,"g":-1e-400,"h":NaN,"i":-Infinity,"j":-0.0,"k":1E+2}"#.to_owned(),
    ] {
        all_json_oracles(text.as_bytes());
    }
    let big = parse(&format!(r#"{{"n":{}}}"#, digits(4300))).unwrap();
    assert_eq!(big["n"].type_name(), "int");
    assert!(parse(&format!(r#"{{"n":{}}}"#, digits(4301))).is_err());
    let floats = parse(r#"{"f":1e400,"j":-0.0}"#).unwrap();
    assert_eq!(floats["f"], Value::Float(f64::INFINITY));
    assert!(matches!(floats["j"], Value::Float(x) if x == 0.0 && x.is_sign_negative()));
}

#[test]
fn strings_escapes_and_tag_shapes() {
    for text in [
        r#"{"s":"\ud83d\ude00"}"#,
        r#"{"s":"\ud800"}"#,
        r#"{"s":"\udc00\ud800"}"#,
        "{\"s\":\"caf\u{e9} \u{1f600}\"}",
        r#"{" di":{" di__":{" di":{" t__":[1]}}}}"#,
        r#"{"x":{" di":{"ab":1}},"y":{" t":[{" b":"aGk="}]}}"#,
        r#"{"u":{" u":"urn:uuid:12345678-1234-5678-1234-567812345678"}}"#,
        r#"{"a":1,"a":{" m":"<b>"},"a":[]}"#,
        "{\"k\":\"v\"}\n\t ",
    ] {
        all_json_oracles(text.as_bytes());
    }
    assert!(parse(r#"{"s":"\ud800"}"#).is_err(), "lone surrogate");
    check_json(b"\xff\xfe{}");
    check_json(b"");
    check_json(b"}");
}

/// Raw cookie shapes the decode_raw corpus keeps returning to.
#[test]
fn raw_cookie_shapes() {
    let ok = "eyJsb2dnZWRfaW4iOnRydWV9.ZVPxAA.njuUsaCugTIOn_G8r5TAhwpI-Yw";
    for value in [
        ok.as_bytes(),
        b"",
        b".",
        b"..",
        b"...",
        b"e30..",
        b"e30.ZVPxAA.",
        b".eJyrVkpUslIqJBko1QIAs0QYLkpVTks.ZVPxAA.AAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &[b'a'; 4097],
        &[0xff; 64],
    ] {
        check_raw(value);
    }
    for i in 0..ok.len() {
        let mut cut = ok.as_bytes().to_vec();
        cut.remove(i);
        check_raw(&cut);
        check_raw(&ok.as_bytes()[..i]);
    }
}

#[test]
fn timestamps_at_the_edges() {
    for ts in [0, 1, oracle::NOW, oracle::NOW + 1, u64::MAX] {
        check_signed(&signed_input(5, ts, b"{}"));
    }
    let oldest = oracle::NOW - oracle::MAX_AGE;
    check_signed(&signed_input(5, oldest, b"{}"));
    check_signed(&signed_input(5, oldest - 1, b"{}"));
}

/// Hand-built sessions of the shapes `tagged_roundtrip` generates.
#[test]
fn tagged_round_trips() {
    let dt = time::macros::datetime!(2024-02-29 13:45:30.987654321 +05:30);
    let mut session = Map::new();
    for tag in [" di", " t", " b", " m", " u", " d", " t__"] {
        let mut inner = Map::new();
        inner.insert(tag.to_owned(), Value::Tuple(vec![Value::Float(f64::NAN)]));
        session.insert(format!("k{tag}"), Value::Dict(inner));
    }
    session.insert("dt".into(), Value::DateTime(dt));
    session.insert(
        "old".into(),
        Value::DateTime(time::macros::datetime!(0100-01-01 0:00 UTC)),
    );
    session.insert("uuid".into(), Value::Uuid(uuid::Uuid::from_u128(u128::MAX)));
    session.insert("big".into(), Value::from(i128::MIN));
    session.insert("bytes".into(), Value::Bytes((0..=255).collect()));
    session.insert(
        "\u{1f600}\"\\\n".into(),
        Value::Markup("\u{0}\u{ffff}".into()),
    );
    session.insert("z".into(), Value::Float(-0.0));
    check_tagged_roundtrip(&session);
    let mut only = Map::new();
    only.insert(" di".into(), Value::Dict(session));
    check_tagged_roundtrip(&only);
}

/// The `decode_sealed` oracle on hand-made inputs: junk values, a forged version byte,
/// and JSON sealed then flipped at every position.
#[test]
fn sealed_decoder_shapes() {
    for value in [
        &b""[..],
        b"A",
        b"AQ",
        b"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        b"eyJsb2dnZWRfaW4iOnRydWV9.ZVPxAA.njuUsaCugTIOn_G8r5TAhwpI-Yw",
        &[b'A'; 4097],
        &[0xff; 64],
    ] {
        let mut data = vec![0];
        data.extend_from_slice(value);
        check_sealed(&data);
    }
    for json in [
        &b"{}"[..],
        br#"{"user":"alice","n":[1,2,{" t":[1]}]}"#,
        b"[]",
        b"{",
    ] {
        for position in 0..=255u8 {
            let mut data = vec![1, position];
            data.extend_from_slice(json);
            check_sealed(&data);
        }
    }
    check_sealed(&[1]);
    check_sealed(&[]);
}
