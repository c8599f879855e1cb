//! The one round-trip check of the generated types, shared by the corpus
//! (`roundtrip.rs`) and the REST documents (`rest.rs`), and the one reading
//! of a refused input's broken rules (`chat.rs`, `constructs.rs`).
//!
//! "The same" ignores two differences that carry no meaning on the wire:
//! an object key whose value is `null` equals an absent key (optional fields are
//! `Option`s left out when `None`), and numbers compare by value (`5` = `5.0`,
//! since a `number` field is an `f64`).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Label, example JSON, checker.
pub type Case = (&'static str, &'static str, fn(&str) -> Result<(), String>);

pub fn check<T: DeserializeOwned + Serialize>(json: &str) -> Result<(), String> {
    let original: Value =
        serde_json::from_str(json).map_err(|e| format!("example is not JSON: {e}"))?;
    let typed: T = serde_json::from_value(original.clone())
        .map_err(|e| format!("does not deserialize: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("does not serialize: {e}"))?;
    if same(&normalize(original.clone()), &normalize(back.clone())) {
        Ok(())
    } else {
        Err(format!(
            "changed in the round trip:\n  before: {original}\n  after:  {back}"
        ))
    }
}

fn normalize(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, normalize(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The error of an input that must not validate.
#[allow(dead_code)] // for the tests of validate(), not the round trips
pub fn refused(result: Result<(), fal_runtime::ValidationError>) -> fal_runtime::ValidationError {
    match result {
        Ok(()) => panic!("an invalid input validated"),
        Err(err) => err,
    }
}

/// Each broken rule's path and type (`body.steps`, `multiple_of`), in order.
#[allow(dead_code)] // for the tests of validate(), not the round trips
pub fn broken_rules(err: &fal_runtime::ValidationError) -> Vec<(&str, Option<&str>)> {
    err.errors()
        .iter()
        .map(|e| (e.path.as_str(), e.kind.as_deref()))
        .collect()
}
