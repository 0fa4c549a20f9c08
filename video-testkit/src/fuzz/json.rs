//! Arbitrary JSON and structure-aware mutations of JSON documents, for the fuzz targets of
//! readers of JSON formats (sampling plans, Supervisely, COCO).

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Numbers that break readers: negative, huge, fractional, past u32/i64/u64.
pub fn number() -> impl Strategy<Value = Value> {
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

/// Strings that are names the readers look for, short identifiers, or anything.
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
pub fn any_json() -> impl Strategy<Value = Value> {
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

/// One change to a document, at the node reached by following `path` (each step picks a child
/// by `step % children`; the walk stops early at a leaf or when `depth` steps are taken).
#[derive(Clone, Debug)]
pub struct Mutation {
    path: Vec<usize>,
    depth: usize,
    op: Op,
}

#[derive(Clone, Debug)]
enum Op {
    /// Replace the node.
    Replace(Value),
    /// Remove a member or element of the node (by `index % len`).
    Remove(usize),
    /// Wrap the node in `levels` arrays.
    Nest(usize),
    /// Append a copy of a child (duplicate keys of objects are renamed only by the map).
    Duplicate(usize),
}

/// Mostly a replaced node; also removed members, deep nesting and duplicated children.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let op = prop_oneof![
        6 => any_json().prop_map(Op::Replace),
        3 => any::<usize>().prop_map(Op::Remove),
        1 => prop_oneof![1..4usize, 100..140usize].prop_map(Op::Nest),
        2 => any::<usize>().prop_map(Op::Duplicate),
    ];
    (vec(any::<usize>(), 0..8), 0..8usize, op).prop_map(|(path, depth, op)| Mutation {
        path,
        depth,
        op,
    })
}

/// The node reached from `v` by picking child `step % children` for each step of `path`,
/// stopping at a leaf or an empty container.
fn descend<'a>(v: &'a mut Value, path: &[usize]) -> &'a mut Value {
    let Some((&step, rest)) = path.split_first() else {
        return v;
    };
    let len = match &*v {
        Value::Array(a) => a.len(),
        Value::Object(m) => m.len(),
        _ => 0,
    };
    if len == 0 {
        return v;
    }
    match v {
        Value::Array(a) => descend(&mut a[step % len], rest),
        Value::Object(m) => descend(m.values_mut().nth(step % len).unwrap(), rest),
        other => other,
    }
}

impl Mutation {
    /// Change `doc` in place.
    pub fn apply(&self, doc: &mut Value) {
        let node = descend(doc, &self.path[..self.depth.min(self.path.len())]);
        match &self.op {
            Op::Replace(v) => *node = v.clone(),
            Op::Remove(i) => match node {
                Value::Array(a) if !a.is_empty() => {
                    let i = i % a.len();
                    a.remove(i);
                }
                Value::Object(m) if !m.is_empty() => {
                    let key = m.keys().nth(i % m.len()).cloned().unwrap();
                    m.remove(&key);
                }
                _ => *node = Value::Null,
            },
            Op::Nest(levels) => {
                for _ in 0..*levels {
                    *node = Value::Array(vec![node.take()]);
                }
            }
            Op::Duplicate(i) => {
                if let Value::Array(a) = node
                    && !a.is_empty()
                {
                    let c = a[i % a.len()].clone();
                    a.push(c);
                }
            }
        }
    }
}

/// A change to the text of a document.
#[derive(Clone, Debug)]
pub enum TextEdit {
    /// Leave the text as it is.
    None,
    /// Cut after this fraction of the bytes (per mille).
    Truncate(u16),
    /// Replace one byte (position per mille).
    Byte(u16, u8),
}

/// Mostly no edit; now and then a truncation or one changed byte.
pub fn text_edit() -> impl Strategy<Value = TextEdit> {
    prop_oneof![
        30 => Just(TextEdit::None),
        1 => (0u16..1000).prop_map(TextEdit::Truncate),
        1 => (0u16..1000, any::<u8>()).prop_map(|(p, b)| TextEdit::Byte(p, b)),
    ]
}

impl TextEdit {
    /// The edited text's bytes.
    pub fn apply(&self, text: &str) -> Vec<u8> {
        let mut b = text.as_bytes().to_vec();
        match *self {
            TextEdit::None => {}
            TextEdit::Truncate(p) => b.truncate(b.len() * usize::from(p) / 1000),
            TextEdit::Byte(p, v) => {
                if !b.is_empty() {
                    let i = (b.len() - 1) * usize::from(p) / 1000;
                    b[i] = v;
                }
            }
        }
        b
    }
}
