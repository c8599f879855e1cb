//! `$ref` resolution and small readers over schemars' model, shared by the
//! validator and the synthesizer.

use fal_codegen::parse::Document;
use schemars::schema::{InstanceType, Schema, SchemaObject, SingleOrVec};

/// How deep `$ref` chains and nesting are followed; deeper schemas (recursive
/// ones) are accepted as they are.
pub(super) const MAX_DEPTH: usize = 48;

const COMPONENTS: &str = "#/components/schemas/";

/// The schema object behind `schema`, following `$ref`s (sibling keywords of a
/// `$ref` are ignored, as OpenAPI 3.0 says). `None` for `true`/`false`
/// schemas, and for `$ref`s whose target the document does not define (fal's
/// placeholder for unpublished types): both accept anything.
pub(super) fn object<'a>(doc: &'a Document, schema: &'a Schema) -> Option<&'a SchemaObject> {
    let mut current = match schema {
        Schema::Object(o) => o,
        Schema::Bool(_) => return None,
    };
    for _ in 0..MAX_DEPTH {
        let Some(reference) = &current.reference else {
            return Some(current);
        };
        let key = reference.strip_prefix(COMPONENTS)?;
        match doc.components.get(key)? {
            Schema::Object(o) => current = o,
            Schema::Bool(_) => return None,
        }
    }
    None
}

/// The component name a schema refers to (pydantic's model name), if any.
pub(super) fn ref_name(schema: &Schema) -> Option<&str> {
    match schema {
        Schema::Object(o) => o.reference.as_deref()?.strip_prefix(COMPONENTS),
        Schema::Bool(_) => None,
    }
}

/// The declared instance types.
pub(super) fn types(o: &SchemaObject) -> Vec<InstanceType> {
    match &o.instance_type {
        None => Vec::new(),
        Some(SingleOrVec::Single(t)) => vec![**t],
        Some(SingleOrVec::Vec(v)) => v.clone(),
    }
}

/// Whether `schema` is `{"type": "null"}` (an `Optional` arm).
pub(super) fn is_null(doc: &Document, schema: &Schema) -> bool {
    object(doc, schema).is_some_and(|o| types(o) == [InstanceType::Null] && o.subschemas.is_none())
}

/// The `anyOf` / `oneOf` arms of a schema, if it is a union.
pub(super) fn union_arms(o: &SchemaObject) -> Option<&[Schema]> {
    let sub = o.subschemas.as_deref()?;
    sub.any_of.as_deref().or(sub.one_of.as_deref())
}

/// The `allOf` parts of a schema.
pub(super) fn all_of(o: &SchemaObject) -> Option<&[Schema]> {
    o.subschemas.as_deref()?.all_of.as_deref()
}

/// Whether the object schema describes a model (named properties) rather than a map.
pub(super) fn is_model(o: &SchemaObject) -> bool {
    o.object
        .as_deref()
        .is_some_and(|v| !v.properties.is_empty())
}

/// Properties in pydantic's field order: `x-fal-order-properties` (fal writes
/// the model's order there) first, then the rest by name.
pub(super) fn properties(o: &SchemaObject) -> Vec<(&String, &Schema)> {
    let Some(v) = o.object.as_deref() else {
        return Vec::new();
    };
    let mut out: Vec<(&String, &Schema)> = Vec::with_capacity(v.properties.len());
    if let Some(serde_json::Value::Array(listed)) = o.extensions.get("x-fal-order-properties") {
        for name in listed.iter().filter_map(serde_json::Value::as_str) {
            if let Some((key, schema)) = v.properties.get_key_value(name) {
                if !out.iter().any(|(k, _)| *k == key) {
                    out.push((key, schema));
                }
            }
        }
    }
    for (key, schema) in &v.properties {
        if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, schema));
        }
    }
    out
}

/// The item schema of an array schema (the first one of a tuple form).
pub(super) fn items(o: &SchemaObject) -> Option<&Schema> {
    match o.array.as_deref()?.items.as_ref()? {
        SingleOrVec::Single(s) => Some(s),
        SingleOrVec::Vec(v) => v.first(),
    }
}

/// The default value of a schema, if it declares one.
pub(super) fn default(o: &SchemaObject) -> Option<&serde_json::Value> {
    o.metadata.as_deref()?.default.as_ref()
}

/// The title of a schema.
pub(super) fn title(o: &SchemaObject) -> Option<&str> {
    o.metadata.as_deref()?.title.as_deref()
}
