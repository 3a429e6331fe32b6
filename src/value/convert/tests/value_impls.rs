//! `Serialize`/`Deserialize` for `Value`, and the string forms of tagged types.

use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use super::{big, dict, s};
use crate::value::convert::tagged::{parse_rfc3339, Rfc3339};
use crate::value::convert::{from_value, to_value};
use crate::value::Value;

fn every_variant() -> Value {
    dict([
        ("null", Value::Null),
        ("bool", Value::Bool(false)),
        ("int", Value::Int(i64::MIN)),
        ("big", big("-99999999999999999999999999999999999999999999")),
        ("u64", big("18446744073709551615")),
        ("float", Value::Float(-0.25)),
        ("str", s("ü")),
        (
            "list",
            Value::List(vec![Value::Int(1), Value::Tuple(vec![])]),
        ),
        ("tuple", Value::Tuple(vec![s("a"), Value::List(vec![])])),
        ("bytes", Value::Bytes(vec![0, 1, 2])),
        ("markup", Value::Markup("<p>".into())),
        ("uuid", Value::Uuid(uuid::Uuid::from_u128(u128::MAX))),
        (
            "dt",
            Value::DateTime(time::macros::datetime!(2024-01-02 03:04:05.5 +01:00)),
        ),
    ])
}

#[test]
fn to_value_of_a_value_is_the_same_value() {
    let value = every_variant();
    assert_eq!(to_value(&value).unwrap(), value);
}

#[test]
fn a_value_field_inside_a_struct_keeps_its_python_type() {
    #[derive(Serialize, Deserialize)]
    struct Wrapper {
        extra: Value,
    }
    let flashes = Value::List(vec![Value::Tuple(vec![s("info"), s("hi")])]);
    let value = to_value(&Wrapper {
        extra: flashes.clone(),
    })
    .unwrap();
    assert_eq!(value, dict([("extra", flashes)]));
}

#[test]
fn values_serialize_to_natural_json() {
    let json = serde_json::to_value(every_variant()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "null": null, "bool": false, "int": i64::MIN,
            "big": "-99999999999999999999999999999999999999999999", "u64": u64::MAX,
            "float": -0.25, "str": "ü", "list": [1, []], "tuple": ["a", []],
            "bytes": [0, 1, 2], "markup": "<p>", "uuid": "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "dt": "2024-01-02T03:04:05.5+01:00"
        })
    );
    assert_eq!(
        serde_json::to_string(&big("-170141183460469231731687303715884105728")).unwrap(),
        "-170141183460469231731687303715884105728"
    );
    assert_eq!(
        serde_json::to_string(&big("340282366920938463463374607431768211455")).unwrap(),
        "340282366920938463463374607431768211455"
    );
}

#[test]
fn values_deserialize_from_json_naturally() {
    let value: Value = serde_json::from_str(
        r#"{"a": [1, -2, 18446744073709551615, 1.5, "x", null, true, {"k": []}]}"#,
    )
    .unwrap();
    assert_eq!(
        value,
        dict([(
            "a",
            Value::List(vec![
                Value::Int(1),
                Value::Int(-2),
                big("18446744073709551615"),
                Value::Float(1.5),
                s("x"),
                Value::Null,
                Value::Bool(true),
                dict([("k", Value::List(vec![]))]),
            ])
        )])
    );
}

#[test]
fn value_reads_from_our_own_deserializer() {
    let value = dict([
        ("t", Value::Tuple(vec![Value::Int(1)])),
        ("b", Value::Bytes(vec![7])),
    ]);
    let back: Value = from_value(&value).unwrap();
    assert_eq!(
        back,
        dict([
            ("t", Value::List(vec![Value::Int(1)])),
            ("b", Value::List(vec![Value::Int(7)]))
        ])
    );
    let same = Value::deserialize(&big(&"7".repeat(45))).unwrap();
    assert_eq!(
        Value::deserialize(&big("18446744073709551615")).unwrap(),
        big("18446744073709551615")
    );
    assert_eq!(
        same,
        s(&"7".repeat(45)),
        "integers beyond u64 read back as their digits"
    );
}

#[test]
fn rfc3339_round_trips_and_rejects_garbage() {
    let cases = [
        time::macros::datetime!(2024-05-01 12:30:05 UTC),
        time::macros::datetime!(2024-05-01 12:30:05.000000001 -11:45),
        time::macros::datetime!(0001-01-01 00:00 +00:01),
    ];
    for dt in cases {
        let text = Rfc3339(&dt).to_string();
        assert_eq!(parse_rfc3339(&text), Some(dt), "{text}");
    }
    let odd = time::macros::datetime!(2024-05-01 12:30:05 +01:00:30);
    assert_eq!(Rfc3339(&odd).to_string(), "2024-05-01T11:29:35Z");
    for bad in [
        "",
        "2024-05-01",
        "2024-05-01T12:30:05",
        "2024-13-01T00:00:00Z",
        "2024-05-01T12:30:05+1:00",
        "2024-05-01T12:30:05.Z",
        "2024-05-01T12:30:05.1234567890Z",
        "２０２４-05-01T12:30:05Z",
        "2024-05-01T12:30:05+01:0é",
    ] {
        assert_eq!(parse_rfc3339(bad), None, "{bad}");
    }
}

proptest! {
    #[test]
    fn any_i128_round_trips_exactly(n in any::<i128>()) {
        let value = to_value(&n).unwrap();
        prop_assert_eq!(from_value::<i128>(&value).unwrap(), n);
        prop_assert_eq!(matches!(value, Value::Int(_)), i64::try_from(n).is_ok());
    }

    #[test]
    fn any_u64_round_trips_exactly(n in any::<u64>()) {
        prop_assert_eq!(from_value::<u64>(&to_value(&n).unwrap()).unwrap(), n);
    }

    #[test]
    fn any_string_map_round_trips(map in proptest::collection::btree_map(".*", any::<(i32, Option<bool>)>(), 0..8)) {
        let value = to_value(&map).unwrap();
        prop_assert_eq!(from_value::<std::collections::BTreeMap<String, (i32, Option<bool>)>>(&value).unwrap(), map);
    }

    #[test]
    fn parse_rfc3339_never_panics(text in ".{0,40}") {
        let _ = parse_rfc3339(&text);
    }
}
