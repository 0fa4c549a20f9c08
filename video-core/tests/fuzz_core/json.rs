//! Arbitrary JSON (the mutations of documents are in video-annotation's fuzz targets).

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Numbers that break readers: negative, huge, fractional, past u32/i64/u64.
pub(crate) fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (0u64..100).prop_map(|v| json!(v)),
        1 => Just(json!(-1)),
        1 => Just(json!(0.5)),
        1 => Just(json!(-0.0)),
        1 => Just(json!(u32::MAX)),
        1 => Just(json!(u64::from(u32::MAX) + 1)),
        1 => Just(json!(i64::MAX)),
        1 => Just(json!(i64::MIN)),
        1 => Just(json!(u64::MAX)),
        1 => Just(json!(1e300)),
        1 => Just(json!(-1e300)),
        1 => Just(json!(65_535)),
        1 => Just(json!(60_000)),
        1 => any::<i64>().prop_map(|v| json!(v)),
        1 => any::<f64>().prop_map(|v| json!(v)),
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9_]{0,6}",
        1 => Just("car".to_owned()),
        1 => Just("o1".to_owned()),
        1 => Just("bitmap".to_owned()),
        1 => Just("rectangle".to_owned()),
        1 => ".{0,12}",
    ]
}

/// Any JSON value, a few levels deep.
pub(crate) fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map(string(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}
