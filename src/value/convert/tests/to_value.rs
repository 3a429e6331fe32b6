//! Rust → Value.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{big, dict, profile, s, ByteBuf, Role};
use crate::value::convert::to_value;
use crate::value::Value;

#[derive(Serialize)]
struct Unit;

#[derive(Serialize)]
struct Meters(f64);

#[derive(Serialize)]
struct Point(i32, i32);

#[derive(Serialize)]
enum Event {
    Ping,
    Id(u32),
    Move(i32, i32),
    Login { user: String },
}

#[test]
fn scalars() {
    assert_eq!(to_value(&true).unwrap(), Value::Bool(true));
    assert_eq!(to_value(&-5i8).unwrap(), Value::Int(-5));
    assert_eq!(to_value(&i16::MIN).unwrap(), Value::Int(-32768));
    assert_eq!(to_value(&i32::MAX).unwrap(), Value::Int(2_147_483_647));
    assert_eq!(to_value(&i64::MIN).unwrap(), Value::Int(i64::MIN));
    assert_eq!(to_value(&255u8).unwrap(), Value::Int(255));
    assert_eq!(to_value(&u16::MAX).unwrap(), Value::Int(65535));
    assert_eq!(to_value(&u32::MAX).unwrap(), Value::Int(4_294_967_295));
    assert_eq!(to_value(&1.5f32).unwrap(), Value::Float(1.5));
    assert_eq!(to_value(&0.1f64).unwrap(), Value::Float(0.1));
    assert_eq!(to_value(&'é').unwrap(), s("é"));
    assert_eq!(to_value("hi").unwrap(), s("hi"));
    assert_eq!(to_value(&String::from("hi")).unwrap(), s("hi"));
    assert_eq!(
        to_value(&ByteBuf(vec![0, 255])).unwrap(),
        Value::Bytes(vec![0, 255])
    );
}

#[test]
fn wide_integers_are_exact() {
    assert_eq!(to_value(&(i64::MAX as u64)).unwrap(), Value::Int(i64::MAX));
    assert_eq!(to_value(&u64::MAX).unwrap(), big("18446744073709551615"));
    assert_eq!(to_value(&(1u64 << 63)).unwrap(), big("9223372036854775808"));
    assert_eq!(to_value(&-7i128).unwrap(), Value::Int(-7));
    assert_eq!(
        to_value(&i128::MIN).unwrap(),
        big("-170141183460469231731687303715884105728")
    );
    assert_eq!(
        to_value(&u128::MAX).unwrap(),
        big("340282366920938463463374607431768211455")
    );
}

#[test]
fn nan_and_infinities_are_kept() {
    let Value::Float(x) = to_value(&f64::NAN).unwrap() else {
        panic!("not a float")
    };
    assert!(x.is_nan());
    assert_eq!(
        to_value(&f64::NEG_INFINITY).unwrap(),
        Value::Float(f64::NEG_INFINITY)
    );
}

#[test]
fn unit_shapes_are_none() {
    assert_eq!(to_value(&()).unwrap(), Value::Null);
    assert_eq!(to_value(&None::<u8>).unwrap(), Value::Null);
    assert_eq!(to_value(&Some(3u8)).unwrap(), Value::Int(3));
    assert_eq!(to_value(&Unit).unwrap(), Value::Null);
    assert_eq!(to_value(&Meters(2.5)).unwrap(), Value::Float(2.5));
}

#[test]
fn sequences_are_lists_and_tuples_are_tuples() {
    assert_eq!(
        to_value(&vec![1, 2]).unwrap(),
        Value::List(vec![Value::Int(1), Value::Int(2)])
    );
    assert_eq!(
        to_value(&[true]).unwrap(),
        Value::Tuple(vec![Value::Bool(true)]),
        "arrays are tuples in serde"
    );
    assert_eq!(
        to_value(&[1u8, 2][..]).unwrap(),
        Value::List(vec![Value::Int(1), Value::Int(2)])
    );
    assert_eq!(
        to_value(&(1, "a")).unwrap(),
        Value::Tuple(vec![Value::Int(1), s("a")])
    );
    assert_eq!(
        to_value(&Point(3, -4)).unwrap(),
        Value::Tuple(vec![Value::Int(3), Value::Int(-4)])
    );
    let flashes = vec![("message", "Logged in")];
    assert_eq!(
        to_value(&flashes).unwrap(),
        Value::List(vec![Value::Tuple(vec![s("message"), s("Logged in")])])
    );
}

#[test]
fn enum_variants() {
    assert_eq!(to_value(&Event::Ping).unwrap(), s("Ping"));
    assert_eq!(
        to_value(&Event::Id(7)).unwrap(),
        dict([("Id", Value::Int(7))])
    );
    assert_eq!(
        to_value(&Event::Move(1, 2)).unwrap(),
        dict([("Move", Value::Tuple(vec![Value::Int(1), Value::Int(2)]))])
    );
    assert_eq!(
        to_value(&Event::Login { user: "ada".into() }).unwrap(),
        dict([("Login", dict([("user", s("ada"))]))])
    );
}

#[test]
fn maps_take_string_integer_and_bool_keys() {
    let strings: HashMap<&str, u8> = [("a", 1)].into_iter().collect();
    assert_eq!(to_value(&strings).unwrap(), dict([("a", Value::Int(1))]));
    let ints: BTreeMap<i64, bool> = [(-1, true), (10, false)].into_iter().collect();
    assert_eq!(
        to_value(&ints).unwrap(),
        dict([("-1", Value::Bool(true)), ("10", Value::Bool(false))])
    );
    let wide: BTreeMap<u128, ()> = [(u128::MAX, ())].into_iter().collect();
    assert_eq!(
        to_value(&wide).unwrap(),
        dict([("340282366920938463463374607431768211455", Value::Null)])
    );
    let bools: BTreeMap<bool, char> = [(true, 'y')].into_iter().collect();
    assert_eq!(to_value(&bools).unwrap(), dict([("true", s("y"))]));
    let chars: BTreeMap<char, u8> = [('k', 1)].into_iter().collect();
    assert_eq!(to_value(&chars).unwrap(), dict([("k", Value::Int(1))]));
}

#[test]
fn other_map_keys_are_refused_with_a_fix() {
    let tuples: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
    let err = to_value(&tuples).unwrap_err().to_string();
    assert!(err.contains("dict keys must be strings"), "{err}");
    assert!(err.contains("found a tuple key"), "{err}");
    assert!(err.contains("convert the key to a String"), "{err}");

    struct FloatKeys(Vec<(f64, i32)>);
    impl Serialize for FloatKeys {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
        }
    }
    let err = to_value(&FloatKeys(vec![(1.5, 1)]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("found a float key"), "{err}");
    let options: BTreeMap<Option<u8>, u8> = [(None, 1)].into_iter().collect();
    assert!(to_value(&options).is_err());
}

#[test]
fn structs_become_dicts() {
    let value = to_value(&profile()).unwrap();
    let Value::Dict(map) = &value else {
        panic!("not a dict: {value:?}")
    };
    assert_eq!(map["user_id"], big("18446744073709551615"));
    assert_eq!(map["nickname"], Value::Null);
    assert_eq!(
        map["flashes"],
        Value::List(vec![Value::Tuple(vec![s("info"), s("Welcome")])])
    );
    assert_eq!(
        map["role"],
        dict([(
            "Staff",
            dict([
                ("level", Value::Int(3)),
                ("teams", Value::List(vec![s("core")]))
            ])
        )])
    );
    assert_eq!(
        map["prefs"],
        dict([
            ("1", s("Dot")),
            ("20", dict([("Circle", dict([("r", Value::Float(2.0))]))]))
        ])
    );
    assert_eq!(
        to_value(&Role::Pair(-1, "x".into())).unwrap(),
        dict([("Pair", Value::Tuple(vec![Value::Int(-1), s("x")]))])
    );
}

#[test]
fn a_failing_serialize_impl_is_an_error_not_a_panic() {
    struct Broken;
    impl Serialize for Broken {
        fn serialize<S: serde::Serializer>(&self, _s: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("cannot store a socket"))
        }
    }
    assert_eq!(
        to_value(&vec![Broken]).unwrap_err().to_string(),
        "cannot store a socket"
    );
}
