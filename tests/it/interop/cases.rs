//! The sessions the interop tests send both ways: every value type, the ` di` escapes,
//! number edges, odd keys, and payloads that compress.

use flagon::{BigInt, Map, Value};
use time::macros::datetime;

pub(super) fn map<const N: usize>(pairs: [(&str, Value); N]) -> Map {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn dict<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Dict(map(pairs))
}

pub(super) fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

fn big(digits: &str) -> Value {
    Value::BigInt(BigInt::parse(digits).unwrap())
}

fn list<const N: usize>(items: [Value; N]) -> Value {
    Value::List(items.into())
}

fn tuple<const N: usize>(items: [Value; N]) -> Value {
    Value::Tuple(items.into())
}

fn one(value: Value) -> Map {
    map([("v", value)])
}

/// All cases, each a named session.
pub(super) fn all() -> Vec<(&'static str, Map)> {
    let mut cases = scalars();
    cases.extend(containers());
    cases.extend(tagged());
    cases.extend(sizes());
    cases
}

fn scalars() -> Vec<(&'static str, Map)> {
    let floats = [
        1.5,
        1.0,
        -0.0,
        0.0,
        1e-5,
        1e-7,
        1e16,
        1e22,
        0.1 + 0.2,
        f64::MAX,
        5e-324,
    ];
    vec![
        (
            "unicode",
            one(s(
                "h\u{e9}llo \u{65e5}\u{672c} \u{1f600}\u{1f44d}\u{1f3fd} \u{5e9}",
            )),
        ),
        (
            "escapes",
            one(s(
                "a\nb\tc\r\"q\" \\ / \u{0}\u{1f}\u{7f} </script> \u{2028}\u{feff}",
            )),
        ),
        ("empty_str", one(s(""))),
        (
            "ints",
            one(list([
                0.into(),
                (-7).into(),
                i64::MAX.into(),
                i64::MIN.into(),
            ])),
        ),
        (
            "big_ints",
            map([
                ("pos", big("1180591620717411303424")),
                ("neg", big("-18446744073709551617")),
            ]),
        ),
        (
            "floats",
            one(Value::List(
                floats.iter().map(|f| Value::Float(*f)).collect(),
            )),
        ),
        (
            "non_finite",
            one(tuple([
                f64::NAN.into(),
                f64::INFINITY.into(),
                f64::NEG_INFINITY.into(),
            ])),
        ),
        (
            "bool_none",
            map([("t", true.into()), ("f", false.into()), ("n", Value::Null)]),
        ),
    ]
}

fn containers() -> Vec<(&'static str, Map)> {
    let nested_list = list([
        1.into(),
        s("a"),
        Value::Null,
        list([2.into(), list([3.into()])]),
    ]);
    let nested_tuple = tuple([
        1.into(),
        tuple([2.into(), 3.into()]),
        list([4.into(), tuple([5.into()])]),
        tuple([]),
    ]);
    let user = dict([
        ("id", 7.into()),
        ("roles", list([s("admin"), s("dev")])),
        ("prefs", dict([("theme", s("dark"))])),
    ]);
    let odd_keys = [
        ("", 1),
        (" ", 2),
        ("\u{e9}", 3),
        ("\u{1f600}", 4),
        ("\u{ff61}", 5),
        ("10", 6),
        ("9", 7),
    ];
    vec![
        ("list", one(nested_list)),
        ("tuples", one(nested_tuple)),
        (
            "empties",
            map([
                ("l", list([])),
                ("d", Value::Dict(Map::new())),
                ("t", tuple([])),
            ]),
        ),
        ("nested", one(dict([("user", user)]))),
        (
            "odd_keys",
            odd_keys
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                .collect(),
        ),
        (
            "flashes",
            map([(
                "_flashes",
                list([
                    tuple([s("message"), s("Saved")]),
                    tuple([s("error"), s("Oops")]),
                ]),
            )]),
        ),
        (
            "permanent",
            map([("_permanent", true.into()), ("user_id", 42.into())]),
        ),
    ]
}

fn tagged() -> Vec<(&'static str, Map)> {
    let lookalikes = map([
        ("a", dict([(" t", list([1.into(), 2.into()]))])),
        ("b", dict([(" di", s("v"))])),
        ("c", dict([(" t__", 1.into())])),
        ("d", dict([(" x", 1.into())])),
        ("e", dict([(" t", 1.into()), ("o", 2.into())])),
        ("f", dict([(" d", dict([(" b", s("AAAA"))]))])),
        ("g", dict([("$tuple", 1.into())])),
    ]);
    let bytes = map([
        ("raw", Value::Bytes(vec![0, 1, 0xfe, 0xff])),
        ("empty", Value::Bytes(vec![])),
        ("all", Value::Bytes((0..=255).collect())),
    ]);
    let datetimes = list([
        datetime!(2024-02-29 13:45:30 UTC).into(),
        datetime!(1969-12-31 23:59:59 UTC).into(),
        datetime!(9999-12-31 23:59:59 UTC).into(),
    ]);
    let id = uuid::uuid!("12345678-1234-5678-1234-567812345678");
    vec![
        ("di_lookalikes", lookalikes),
        ("top_level_tag_key", map([(" u", s("only key"))])),
        ("bytes", bytes),
        (
            "markup",
            one(Value::Markup("<b>bold</b> &amp; caf\u{e9}".into())),
        ),
        (
            "uuid",
            map([
                ("id", Value::Uuid(id)),
                ("nil", Value::Uuid(uuid::Uuid::nil())),
            ]),
        ),
        ("datetimes", one(datetimes)),
    ]
}

fn sizes() -> Vec<(&'static str, Map)> {
    let cart: Vec<Value> = (0..40)
        .map(|i| {
            dict([
                ("sku", s(&format!("SKU-{i:04}"))),
                ("qty", Value::Int(i % 5 + 1)),
            ])
        })
        .collect();
    vec![
        ("compresses", one(s(&"abc".repeat(500)))),
        (
            "compresses_realistic",
            map([("cart", Value::List(cart)), ("user", s("alice"))]),
        ),
        ("random_token", one(s("Xq7Lk2Pz9Rt4Wm8Nc3Vb6Hj1Gf5Ds0Ae"))),
    ]
}
