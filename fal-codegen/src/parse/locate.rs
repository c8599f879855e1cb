//! Turns a deserialization failure into the JSON pointer of the value at fault.
//!
//! schemars' `Schema` is an untagged enum over a struct with flattened parts,
//! so serde reports only "did not match any variant" at the outermost schema.
//! To name the real culprit, the failing schema is searched: first its
//! sub-schemas (properties, items, anyOf, …), then its keywords one by one.

use schemars::schema::{Schema, SchemaObject};
use serde::Deserialize;
use serde_json::Value;

use crate::error::pointer_token;

/// The pointer and message for a failure reported by `serde_path_to_error`.
pub(super) fn locate(
    root: &Value,
    error: serde_path_to_error::Error<serde_json::Error>,
) -> (String, String) {
    let pointer = to_pointer(error.path());
    let message = error.into_inner().to_string();
    match root.pointer(&pointer) {
        Some(value) if value.is_object() && Schema::deserialize(value).is_err() => {
            locate_schema(value, pointer, 0)
        }
        _ => (pointer, message),
    }
}

/// Keywords whose value is one schema.
const ONE: [&str; 9] = [
    "additionalProperties",
    "additionalItems",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "items",
];
/// Keywords whose value is a list of schemas.
const LIST: [&str; 4] = ["allOf", "anyOf", "oneOf", "items"];
/// Keywords whose value maps names to schemas.
const MAP: [&str; 4] = ["properties", "patternProperties", "definitions", "$defs"];

fn locate_schema(value: &Value, pointer: String, depth: usize) -> (String, String) {
    let whole = Schema::deserialize(value)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let Some(object) = value.as_object() else {
        return (pointer, whole);
    };
    if depth < 128 {
        let mut children: Vec<(String, &Value)> = Vec::new();
        for key in ONE {
            if let Some(child @ (Value::Object(_) | Value::Bool(_))) = object.get(key) {
                children.push((key.to_owned(), child));
            }
        }
        for key in LIST {
            if let Some(Value::Array(items)) = object.get(key) {
                children.extend(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (format!("{key}/{i}"), v)),
                );
            }
        }
        for key in MAP {
            if let Some(Value::Object(map)) = object.get(key) {
                children.extend(
                    map.iter()
                        .map(|(name, v)| (format!("{key}/{}", pointer_token(name)), v)),
                );
            }
        }
        for (suffix, child) in children {
            if Schema::deserialize(child).is_err() {
                return locate_schema(child, format!("{pointer}/{suffix}"), depth + 1);
            }
        }
    }
    for (key, keyword) in object {
        let single: serde_json::Map<String, Value> =
            [(key.clone(), keyword.clone())].into_iter().collect();
        if let Err(e) = SchemaObject::deserialize(&Value::Object(single)) {
            return (format!("{pointer}/{}", pointer_token(key)), e.to_string());
        }
    }
    (pointer, whole)
}

fn to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                out.push('/');
                out.push_str(&index.to_string());
            }
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&pointer_token(key));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    out
}
