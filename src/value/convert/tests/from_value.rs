//! Value → Rust.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::{big, dict, profile, s, ByteBuf, Profile, Role, Shape};
use crate::value::convert::{from_value, to_value, ValueError};
use crate::value::Value;

fn err<T: serde::de::DeserializeOwned + std::fmt::Debug>(value: &Value) -> String {
    from_value::<T>(value).unwrap_err().to_string()
}

#[test]
fn integers_go_into_any_type_they_fit() {
    assert_eq!(from_value::<u8>(&Value::Int(255)).unwrap(), 255);
    assert_eq!(from_value::<i8>(&Value::Int(-128)).unwrap(), -128);
    assert_eq!(from_value::<u32>(&Value::Int(7)).unwrap(), 7);
    assert_eq!(from_value::<i64>(&Value::Int(i64::MIN)).unwrap(), i64::MIN);
    assert_eq!(
        from_value::<u64>(&big("18446744073709551615")).unwrap(),
        u64::MAX
    );
    assert_eq!(
        from_value::<i128>(&big("-170141183460469231731687303715884105728")).unwrap(),
        i128::MIN
    );
    assert_eq!(
        from_value::<u128>(&big("340282366920938463463374607431768211455")).unwrap(),
        u128::MAX
    );
    assert_eq!(from_value::<i128>(&Value::Int(-3)).unwrap(), -3);
}

#[test]
fn integers_that_do_not_fit_say_so() {
    assert_eq!(
        err::<u8>(&Value::Int(300)),
        "integer 300 does not fit in u8: read it as a wider integer type (i64, or i128/u128 for very large values)"
    );
    assert!(err::<u64>(&Value::Int(-1)).starts_with("integer -1 does not fit in u64"));
    assert!(err::<i64>(&big("9223372036854775808"))
        .starts_with("integer 9223372036854775808 does not fit in i64"));
    let huge = "1".repeat(60);
    assert!(err::<u128>(&big(&huge)).starts_with(&format!("integer {huge} does not fit in u128")));
    assert!(err::<i64>(&Value::Float(1.0)).starts_with("expected an integer (i64), found float"));
}

#[test]
fn type_mismatches_name_the_python_type_and_not_the_contents() {
    let msg = err::<i64>(&s("secret-token"));
    assert_eq!(
        msg,
        "expected an integer (i64), found str: the session holds a Python str here; \
         read it as a matching Rust type, or as `flagon::Value`"
    );
    assert!(err::<bool>(&Value::Int(1)).starts_with("expected a bool, found int"));
    assert!(err::<bool>(&Value::Int(1)).ends_with("use `Session::is_truthy(key)`"));
    assert!(err::<String>(&Value::List(vec![])).starts_with("expected a str, found list"));
    assert!(err::<Vec<u8>>(&Value::Dict(Default::default()))
        .starts_with("expected a list or tuple, found dict"));
    assert!(err::<BTreeMap<String, u8>>(&Value::Tuple(vec![]))
        .starts_with("expected a dict, found tuple"));
    assert!(err::<()>(&Value::Bool(false)).starts_with("expected None, found bool"));
    let msg = err::<char>(&s("secret-token"));
    assert!(!msg.contains("secret"), "{msg}");
    let msg = err::<Role>(&s("secret-token"));
    assert!(!msg.contains("secret") && msg.contains("Guest"), "{msg}");
}

#[test]
fn floats_and_integers_into_floats() {
    assert_eq!(from_value::<f64>(&Value::Float(2.5)).unwrap(), 2.5);
    assert_eq!(from_value::<f32>(&Value::Float(2.5)).unwrap(), 2.5);
    assert_eq!(from_value::<f64>(&Value::Int(-4)).unwrap(), -4.0);
    assert_eq!(
        from_value::<f64>(&big("18446744073709551616")).unwrap(),
        18_446_744_073_709_551_616.0
    );
    assert!(from_value::<f64>(&Value::Float(f64::NAN)).unwrap().is_nan());
    assert!(from_value::<f64>(&s("1.0")).is_err());
}

#[test]
fn strings_from_str_markup_uuid_and_datetime() {
    assert_eq!(from_value::<String>(&s("hé")).unwrap(), "hé");
    assert_eq!(from_value::<char>(&s("é")).unwrap(), 'é');
    assert!(from_value::<char>(&s("ab")).is_err());
    assert_eq!(
        from_value::<String>(&Value::Markup("<b>x</b>".into())).unwrap(),
        "<b>x</b>"
    );
    let id = uuid::Uuid::from_u128(0x1234_5678_9abc_def0_1234_5678_9abc_def0);
    let text = from_value::<String>(&Value::Uuid(id)).unwrap();
    assert_eq!(text, "12345678-9abc-def0-1234-56789abcdef0");
    assert_eq!(uuid::Uuid::parse_str(&text).unwrap(), id);
    let dt = time::macros::datetime!(2024-05-01 12:30:05 UTC);
    assert_eq!(
        from_value::<String>(&Value::DateTime(dt)).unwrap(),
        "2024-05-01T12:30:05Z"
    );
    let dt = time::macros::datetime!(1999-12-31 23:59:59.25 -05:30);
    assert_eq!(
        from_value::<String>(&Value::DateTime(dt)).unwrap(),
        "1999-12-31T23:59:59.25-05:30"
    );
}

#[test]
fn strings_can_be_borrowed() {
    let value = dict([("name", s("ada")), ("tag", Value::Markup("<i>".into()))]);
    #[derive(Deserialize)]
    struct Borrowed<'a> {
        name: &'a str,
        tag: &'a str,
    }
    let b = Borrowed::deserialize(&value).unwrap();
    assert_eq!((b.name, b.tag), ("ada", "<i>"));
}

#[test]
fn bytes_read_as_bytes_or_as_a_sequence() {
    let value = Value::Bytes(vec![1, 2, 255]);
    assert_eq!(
        from_value::<ByteBuf>(&value).unwrap(),
        ByteBuf(vec![1, 2, 255])
    );
    assert_eq!(from_value::<Vec<u8>>(&value).unwrap(), vec![1, 2, 255]);
    assert_eq!(from_value::<[u8; 3]>(&value).unwrap(), [1, 2, 255]);
    assert_eq!(<&[u8]>::deserialize(&value).unwrap(), &[1, 2, 255]);
    let list = Value::List(vec![Value::Int(9)]);
    assert_eq!(from_value::<ByteBuf>(&list).unwrap(), ByteBuf(vec![9]));
    assert!(from_value::<ByteBuf>(&Value::Int(1)).is_err());
}

#[test]
fn lists_and_tuples_are_interchangeable() {
    let tuple = Value::Tuple(vec![s("info"), s("hi")]);
    let list = Value::List(vec![s("info"), s("hi")]);
    for v in [&tuple, &list] {
        assert_eq!(
            from_value::<(String, String)>(v).unwrap(),
            ("info".into(), "hi".into())
        );
        assert_eq!(from_value::<Vec<String>>(v).unwrap(), vec!["info", "hi"]);
    }
    let msg = err::<(String,)>(&tuple);
    assert!(
        msg.starts_with("expected 1 element in sequence, found a sequence of 2 elements"),
        "{msg}"
    );
    assert!(err::<(String, String, String)>(&list).contains("found a sequence of 2 elements"));
}

#[test]
fn options() {
    assert_eq!(from_value::<Option<u8>>(&Value::Null).unwrap(), None);
    assert_eq!(from_value::<Option<u8>>(&Value::Int(1)).unwrap(), Some(1));
    assert_eq!(
        from_value::<Option<Option<()>>>(&Value::Null).unwrap(),
        None
    );
    assert!(from_value::<Option<u8>>(&s("x")).is_err());
}

#[test]
fn enums_from_str_or_one_key_dict() {
    assert_eq!(from_value::<Role>(&s("Guest")).unwrap(), Role::Guest);
    assert_eq!(
        from_value::<Role>(&dict([("Guest", Value::Null)])).unwrap(),
        Role::Guest
    );
    assert_eq!(
        from_value::<Role>(&dict([("Member", Value::Int(4))])).unwrap(),
        Role::Member(4)
    );
    let pair = dict([("Pair", Value::List(vec![Value::Int(-1), s("x")]))]);
    assert_eq!(
        from_value::<Role>(&pair).unwrap(),
        Role::Pair(-1, "x".into())
    );
    assert!(from_value::<Role>(&s("Member"))
        .unwrap_err()
        .to_string()
        .contains("found a str naming the variant"));
    let two = dict([("Guest", Value::Null), ("Member", Value::Int(1))]);
    assert!(err::<Role>(&two).contains("found a dict with 2 keys"));
    assert!(err::<Role>(&Value::Int(0)).contains("found int"));
    assert!(err::<Role>(&dict([("Guest", Value::Int(1))])).contains("unit variant"));
}

#[test]
fn maps_parse_integer_and_bool_keys_back() {
    let value = dict([("1", s("a")), ("-20", s("b"))]);
    let ints: BTreeMap<i32, String> = from_value(&value).unwrap();
    assert_eq!(
        ints,
        [(1, "a".into()), (-20, "b".into())].into_iter().collect()
    );
    let value = dict([("true", Value::Int(1))]);
    let bools: HashMap<bool, u8> = from_value(&value).unwrap();
    assert_eq!(bools[&true], 1);
    assert!(err::<BTreeMap<u8, String>>(&dict([("x", s("a"))]))
        .starts_with("a dict key is not a valid u8"));
    assert!(err::<BTreeMap<u8, String>>(&dict([("256", s("a"))]))
        .starts_with("a dict key is not a valid u8"));
}

#[test]
fn structs_with_defaults_and_missing_fields() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Cart {
        items: Vec<u32>,
        #[serde(default)]
        coupon: Option<String>,
        #[serde(default)]
        count: u8,
    }
    let cart: Cart = from_value(&dict([
        ("items", Value::List(vec![Value::Int(3)])),
        ("extra", Value::Null),
    ]))
    .unwrap();
    assert_eq!(
        cart,
        Cart {
            items: vec![3],
            coupon: None,
            count: 0
        }
    );
    let msg = err::<Cart>(&dict([]));
    assert!(msg.starts_with("missing field `items`"), "{msg}");
    assert!(msg.contains("#[serde(default)]"), "{msg}");
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        _a: u8,
    }
    assert!(
        err::<Strict>(&dict([("_a", Value::Int(1)), ("b", Value::Null)])).contains("unknown field")
    );
}

#[test]
fn untagged_and_internally_tagged_enums_use_deserialize_any() {
    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(untagged)]
    enum Loose {
        Num(u64),
        Text(String),
        Pair(String, i64),
        Obj { id: i32 },
    }
    assert_eq!(from_value::<Loose>(&Value::Int(5)).unwrap(), Loose::Num(5));
    assert_eq!(
        from_value::<Loose>(&big("18446744073709551615")).unwrap(),
        Loose::Num(u64::MAX)
    );
    let beyond = "18446744073709551616";
    assert_eq!(
        from_value::<Loose>(&big(beyond)).unwrap(),
        Loose::Text(beyond.into())
    );
    assert_eq!(
        from_value::<Loose>(&s("a")).unwrap(),
        Loose::Text("a".into())
    );
    let flash = Value::Tuple(vec![s("error"), Value::Int(2)]);
    assert_eq!(
        from_value::<Loose>(&flash).unwrap(),
        Loose::Pair("error".into(), 2)
    );
    assert_eq!(
        from_value::<Loose>(&dict([("id", Value::Int(-1))])).unwrap(),
        Loose::Obj { id: -1 }
    );
    assert!(from_value::<Loose>(&Value::Null).is_err());

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(tag = "kind")]
    enum Tagged {
        Login { user: String },
    }
    let value = dict([("kind", s("Login")), ("user", s("ada"))]);
    assert_eq!(
        from_value::<Tagged>(&value).unwrap(),
        Tagged::Login { user: "ada".into() }
    );
}

#[test]
fn flattened_structs_read_the_rest_of_the_dict() {
    #[derive(Debug, PartialEq, Deserialize)]
    struct Outer {
        id: u32,
        #[serde(flatten)]
        rest: BTreeMap<String, serde_json::Value>,
    }
    let value = dict([
        ("id", Value::Int(1)),
        ("t", Value::Tuple(vec![Value::Int(2)])),
    ]);
    let outer: Outer = from_value(&value).unwrap();
    assert_eq!(outer.id, 1);
    assert_eq!(outer.rest["t"], serde_json::json!([2]));
}

#[test]
fn serde_json_value_goes_in_and_comes_out() {
    let json = serde_json::json!({"a": [1, -2.5, "x", null, {"b": true}], "n": u64::MAX});
    let value = to_value(&json).unwrap();
    assert_eq!(from_value::<serde_json::Value>(&value).unwrap(), json);
}

#[test]
fn serde_json_value_comes_out_of_anything() {
    let id = uuid::Uuid::from_u128(1);
    let value = dict([
        ("n", Value::Int(-1)),
        ("u", big("18446744073709551615")),
        ("i", big("-9223372036854775809")),
        ("huge", big(&"9".repeat(50))),
        ("t", Value::Tuple(vec![Value::Bool(true), Value::Null])),
        ("b", Value::Bytes(vec![104, 105])),
        ("m", Value::Markup("<br>".into())),
        ("id", Value::Uuid(id)),
        (
            "when",
            Value::DateTime(time::macros::datetime!(2020-02-29 00:00 UTC)),
        ),
        ("x", Value::Float(0.5)),
    ]);
    let json: serde_json::Value = from_value(&value).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "n": -1, "u": u64::MAX, "i": "-9223372036854775809",
            "huge": "9".repeat(50), "t": [true, null], "b": [104, 105], "m": "<br>",
            "id": "00000000-0000-0000-0000-000000000001", "when": "2020-02-29T00:00:00Z", "x": 0.5
        })
    );
}

#[test]
fn structs_round_trip() {
    let original = profile();
    let value = to_value(&original).unwrap();
    assert_eq!(from_value::<Profile>(&value).unwrap(), original);
    let shapes: Vec<Shape> = vec![Shape::Dot, Shape::Circle { r: -0.0 }];
    assert_eq!(
        from_value::<Vec<Shape>>(&to_value(&shapes).unwrap()).unwrap(),
        shapes
    );
}

#[test]
fn nested_round_trips() {
    type Nested = Vec<Option<BTreeMap<String, (u8, Vec<(bool, i128)>, Option<f64>)>>>;
    let original: Nested = vec![
        None,
        Some(
            [(
                "k".to_owned(),
                (1, vec![(true, i128::MAX), (false, -1)], Some(f64::INFINITY)),
            )]
            .into_iter()
            .collect(),
        ),
        Some(BTreeMap::new()),
    ];
    let value = to_value(&original).unwrap();
    assert_eq!(from_value::<Nested>(&value).unwrap(), original);
    let unit_shapes: ((), Option<()>, [u16; 2]) = ((), Some(()), [1, 2]);
    assert_eq!(
        from_value::<((), Option<()>, [u16; 2])>(&to_value(&unit_shapes).unwrap()).unwrap(),
        ((), None, [1, 2])
    );
}

#[test]
fn error_constructors_come_from_the_serde_traits() {
    let e = <ValueError as serde::de::Error>::invalid_length(3, &"a pair");
    assert_eq!(e.to_string(), "expected a pair, found a sequence of 3 elements: read it as a tuple of the right size, or as a Vec");
    let e = <ValueError as serde::de::Error>::invalid_value(
        serde::de::Unexpected::Str("pw"),
        &"a date",
    );
    assert_eq!(e.to_string(), "invalid value: expected a date, found a str");
    let e = <ValueError as serde::ser::Error>::custom("nope");
    assert_eq!(e, ValueError("nope".into()));
}
