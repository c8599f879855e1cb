//! Rewrites OpenAPI 3.0 spellings into the JSON Schema forms schemars models.
//!
//! OpenAPI 3.0 writes `exclusiveMinimum: true` next to `minimum`; JSON Schema
//! 2019+ (and fal, mostly) writes `exclusiveMinimum: <number>`. Both mean the
//! same bound, so the boolean form is turned into the numeric one before the
//! schema model sees it, instead of failing the whole document.
//!
//! OpenAPI 3.1 documents (JSON Schema 2020-12) may also keep definitions in
//! `$defs` inside any schema; [`hoist_defs`] moves them into
//! `components.schemas` and re-points their `$ref`s, so lowering resolves one
//! kind of reference and names the types from their `$defs` keys.

use serde_json::{Map, Value};

use crate::error::pointer_token;

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

/// Writes each object schema's property order, as the document lists it, into
/// `x-fal-order-properties` where the schema does not already say: the schema
/// model keeps properties sorted by name, and REST documents (unlike fal's
/// queue documents) rely on their own order, which fields then follow.
pub(super) fn record_property_order(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let names: Option<Vec<Value>> = match map.get("properties") {
                Some(Value::Object(properties)) if !map.contains_key("x-fal-order-properties") => {
                    Some(properties.keys().cloned().map(Value::String).collect())
                }
                _ => None,
            };
            if let Some(names) = names {
                map.insert("x-fal-order-properties".into(), Value::Array(names));
            }
            for (key, child) in map.iter_mut() {
                if key == "properties" {
                    // Property names are data; each value is a schema.
                    if let Value::Object(properties) = child {
                        properties.values_mut().for_each(record_property_order);
                    }
                } else {
                    record_property_order(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(record_property_order),
        _ => {}
    }
}

/// Moves every `$defs` entry of the document into `components.schemas` under
/// its own key (a numeric suffix when the key is taken) and rewrites each
/// `$ref` to its old location (`#/$defs/Name`,
/// `#/components/schemas/Outer/$defs/Name`, …) to the new one. A `#/$defs/Name`
/// that the root does not define resolves to a nested definition of that name.
pub(super) fn hoist_defs(doc: &mut Value) {
    let mut found: Vec<(String, String, Value)> = Vec::new();
    take_defs(doc, "", false, &mut found);
    if found.is_empty() {
        return;
    }
    let Value::Object(root) = doc else {
        return;
    };
    let components = root
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()));
    if !components.is_object() {
        *components = Value::Object(Map::new());
    }
    let Some(components) = components.as_object_mut() else {
        return;
    };
    let schemas = components
        .entry("schemas")
        .or_insert_with(|| Value::Object(Map::new()));
    if !schemas.is_object() {
        *schemas = Value::Object(Map::new());
    }
    let Some(schemas) = schemas.as_object_mut() else {
        return;
    };
    let mut moved: Vec<(String, String)> = Vec::with_capacity(found.len());
    for (pointer, name, schema) in found {
        let mut key = name.clone();
        let mut n = 2;
        while schemas.contains_key(&key) {
            key = format!("{name}{n}");
            n += 1;
        }
        schemas.insert(key.clone(), schema);
        moved.push((
            format!("#{pointer}"),
            format!("#/components/schemas/{}", pointer_token(&key)),
        ));
    }
    let mut targets: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (from, to) in &moved {
        targets.insert(from.clone(), to.clone());
    }
    // A schema written on its own and then embedded (a component with its own
    // `$defs`) refers to them as `#/$defs/Name`, which strictly means the
    // document root; when the root has no such entry, the embedded one is meant.
    for (from, to) in moved {
        if let Some((_, name)) = from.rsplit_once("/$defs/") {
            targets.entry(format!("#/$defs/{name}")).or_insert(to);
        }
    }
    rewrite_refs(doc, &targets);
}

/// Takes every `$defs` object out of `value` (at JSON pointer `pointer`),
/// depth first, including definitions nested in definitions. A property
/// *named* `$defs` (directly under `properties`) is data, not definitions.
fn take_defs(
    value: &mut Value,
    pointer: &str,
    under_properties: bool,
    found: &mut Vec<(String, String, Value)>,
) {
    match value {
        Value::Object(map) => {
            if !under_properties {
                if let Some(Value::Object(defs)) = map.remove("$defs") {
                    for (name, mut schema) in defs {
                        let at = format!("{pointer}/$defs/{}", pointer_token(&name));
                        take_defs(&mut schema, &at, false, found);
                        found.push((at, name, schema));
                    }
                }
            }
            for (key, child) in map.iter_mut() {
                let at = format!("{pointer}/{}", pointer_token(key));
                take_defs(child, &at, !under_properties && key == "properties", found);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                take_defs(item, &format!("{pointer}/{index}"), false, found);
            }
        }
        _ => {}
    }
}

fn rewrite_refs(value: &mut Value, targets: &std::collections::HashMap<String, String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get_mut("$ref") {
                if let Some(target) = targets.get(reference.as_str()) {
                    *reference = target.clone();
                }
            }
            for child in map.values_mut() {
                rewrite_refs(child, targets);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| rewrite_refs(item, targets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_order_is_recorded_where_missing() {
        let mut v = serde_json::json!({"properties": {
            "b": {"type": "object", "properties": {"z": {}, "a": {}}},
            "a": {},
            "properties": {"type": "object", "properties": {"y": {}, "x": {}}, "x-fal-order-properties": ["x", "y"]}
        }});
        record_property_order(&mut v);
        assert_eq!(
            v["x-fal-order-properties"],
            serde_json::json!(["b", "a", "properties"])
        );
        assert_eq!(
            v["properties"]["b"]["x-fal-order-properties"],
            serde_json::json!(["z", "a"])
        );
        assert_eq!(
            v["properties"]["properties"]["x-fal-order-properties"],
            serde_json::json!(["x", "y"])
        );
    }

    #[test]
    fn defs_move_to_components_and_refs_follow() {
        let mut doc = serde_json::json!({
            "$defs": {"Size": {"type": "string", "enum": ["s", "m"]}},
            "components": {"schemas": {
                "Size": {"type": "integer"},
                "Outer": {
                    "type": "object",
                    "properties": {
                        "size": {"$ref": "#/$defs/Size"},
                        "inner": {"$ref": "#/components/schemas/Outer/$defs/Inner"},
                        "embedded": {"$ref": "#/$defs/Deep"},
                        "$defs": {"type": "string"}
                    },
                    "$defs": {"Inner": {
                        "type": "object",
                        "properties": {"deep": {"$ref": "#/components/schemas/Outer/$defs/Inner/$defs/Deep"}},
                        "$defs": {"Deep": {"const": 1}}
                    }}
                }
            }}
        });
        hoist_defs(&mut doc);
        let schemas = &doc["components"]["schemas"];
        assert_eq!(
            schemas["Size2"],
            serde_json::json!({"type": "string", "enum": ["s", "m"]})
        );
        assert_eq!(schemas["Deep"], serde_json::json!({"const": 1}));
        assert_eq!(
            schemas["Outer"]["properties"]["size"]["$ref"],
            "#/components/schemas/Size2"
        );
        assert_eq!(
            schemas["Outer"]["properties"]["inner"]["$ref"],
            "#/components/schemas/Inner"
        );
        assert_eq!(
            schemas["Inner"]["properties"]["deep"]["$ref"],
            "#/components/schemas/Deep"
        );
        assert_eq!(
            schemas["Outer"]["properties"]["embedded"]["$ref"],
            "#/components/schemas/Deep"
        );
        // A property named `$defs` is data and stays.
        assert_eq!(
            schemas["Outer"]["properties"]["$defs"],
            serde_json::json!({"type": "string"})
        );
        assert!(doc.get("$defs").is_none() && schemas["Outer"].get("$defs").is_none());
    }

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
