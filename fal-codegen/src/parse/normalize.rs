//! Rewrites OpenAPI 3.0 spellings into the JSON Schema forms schemars models.
//!
//! OpenAPI 3.0 writes `exclusiveMinimum: true` next to `minimum`; JSON Schema
//! 2019+ (and fal, mostly) writes `exclusiveMinimum: <number>`. Both mean the
//! same bound, so the boolean form is turned into the numeric one before the
//! schema model sees it, instead of failing the whole document.

use serde_json::Value;

/// Normalizes every schema-like object in `value`, recursively.
pub(super) fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (exclusive, inclusive) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                if let Some(Value::Bool(flag)) = map.get(exclusive).cloned() {
                    map.remove(exclusive);
                    if flag {
                        if let Some(bound) = map.remove(inclusive) {
                            map.insert(exclusive.to_owned(), bound);
                        }
                    }
                }
            }
            for child in map.values_mut() {
                normalize(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boolean_exclusive_bounds_become_numeric() {
        let mut v = serde_json::json!({"properties": {"w": {"type": "integer", "minimum": 0, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false}}});
        normalize(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"properties": {"w": {"type": "integer", "exclusiveMinimum": 0, "maximum": 9}}})
        );
    }
}
