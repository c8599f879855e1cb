//! A small JSON Schema check, independent of the generator, deciding which
//! `examples` are valid against their own schema (only those must round-trip;
//! fal's documents contain examples that contradict their schema, such as a URL
//! string for a `File` object or one list item for a whole list).
//!
//! Strict where a lossless round trip needs it: an object with declared
//! properties and no `additionalProperties` must not carry undeclared keys.
//! Lenient where the bindings are lenient: enum membership is not checked
//! (unknown values are kept by the `Other` arm).

use serde_json::Value;

pub fn check(value: &Value, schema: &Value, root: &Value, depth: usize) -> Result<(), String> {
    if depth > 64 {
        return Err("schema nests too deeply".into());
    }
    let Some(obj) = schema.as_object() else {
        return Ok(());
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        let pointer = reference.trim_start_matches('#');
        // A missing target is generated as `serde_json::Value`: anything fits.
        return match root.pointer(pointer) {
            Some(target) => check(value, target, root, depth + 1),
            None => Ok(()),
        };
    }
    if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
        for part in all {
            check(value, part, root, depth + 1)?;
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(arms) = obj.get(key).and_then(Value::as_array) {
            if !arms
                .iter()
                .any(|arm| check(value, arm, root, depth + 1).is_ok())
            {
                return Err(format!("{value} matches no arm of {key}"));
            }
        }
    }
    if value.is_null() && obj.get("nullable").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    if let Some(t) = obj.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let fits = types.iter().any(|t| match *t {
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => true,
        });
        if !types.is_empty() && !fits {
            return Err(format!("{value} is not of type {types:?}"));
        }
    }
    if let (Some(items), Some(array)) = (obj.get("items"), value.as_array()) {
        for item in array {
            check(item, items, root, depth + 1)?;
        }
    }
    if let Some(map) = value.as_object() {
        let properties = obj.get("properties").and_then(Value::as_object);
        if let Some(required) = obj.get("required").and_then(Value::as_array) {
            for name in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(name) {
                    return Err(format!("required property {name} is missing"));
                }
            }
        }
        let additional = obj.get("additionalProperties");
        for (key, item) in map {
            match properties.and_then(|p| p.get(key)) {
                Some(property) => check(item, property, root, depth + 1)?,
                None => match additional {
                    Some(Value::Object(_)) => {
                        check(item, additional.unwrap_or(&Value::Null), root, depth + 1)?
                    }
                    Some(Value::Bool(true)) => {}
                    None if properties.is_none_or(|p| p.is_empty()) => {}
                    _ => return Err(format!("property {key} is not declared")),
                },
            }
        }
    }
    Ok(())
}
