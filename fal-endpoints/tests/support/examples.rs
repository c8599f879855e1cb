//! The round trip of a catalogue endpoint's examples, shared by the part
//! crates' generated `tests/examples.rs` (each lists its enabled endpoints and
//! calls [`Run::endpoint`] for each).
//!
//! The examples are the ones the reduced document keeps (facts as fal wrote
//! them, prose replaced by neutral text; docs/catalogue.md). fal puts them on
//! the properties of the input and output schemas, so whole values are
//! assembled from them: each object takes the first example of each of its
//! properties (descending into properties that have none of their own; a
//! list made from its items' examples holds `minItems` copies, at least one), and
//! then once more for every further example of each property, that example
//! in place of the first. A required property with no example takes its
//! default, else a plain value of its type that its schema allows (the first
//! listed value, the minimum or 0, a string of `x` as long as `minLength`
//! asks, `false`, a list of `minItems` such values, an object of its
//! required properties), so that the examples beside it can be checked. An
//! object none of whose properties has an example is not assembled. Every
//! assembled input is
//! decoded into the endpoint's input type, encoded again and compared
//! (`round_trip::check`: a member that is `null` equals an absent one, numbers
//! compare by value; nothing else may change, so a default is neither filled
//! in nor dropped), and must pass the input's `validate()`; every assembled
//! output is decoded into and encoded from its output type the same way.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// How deep `$ref`s and nesting are followed (the documents may be cyclic).
const MAX_DEPTH: usize = 12;
/// The most values assembled for one schema (the further examples of every
/// property each make one; nested lists multiply).
const MAX_VARIANTS: usize = 64;

/// One test run over the enabled endpoints of a part.
pub struct Run {
    manifest_dir: PathBuf,
    endpoints: usize,
    inputs: usize,
    outputs: usize,
    /// Endpoints whose input has no example to assemble.
    unassembled: Vec<String>,
    failures: Vec<String>,
}

impl Run {
    /// A run for the part crate at `manifest_dir` (document paths are
    /// relative to it).
    pub fn new(manifest_dir: &str) -> Self {
        Self {
            manifest_dir: PathBuf::from(manifest_dir),
            endpoints: 0,
            inputs: 0,
            outputs: 0,
            unassembled: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// Round-trips the examples of endpoint `id` (input type `I`) from its
    /// reduced `document`.
    pub fn endpoint<I>(&mut self, id: &str, document: &str)
    where
        I: fal_runtime::Endpoint + DeserializeOwned,
        I::Output: Serialize,
    {
        self.endpoints += 1;
        let path = self.manifest_dir.join(document);
        let doc = match read(&path) {
            Ok(doc) => doc,
            Err(why) => {
                self.failures.push(format!("{id}: {why}"));
                return;
            }
        };
        let Some(input) = input_schema(&doc, id) else {
            self.failures.push(format!(
                "{id}: {} has no input schema for the endpoint",
                path.display()
            ));
            return;
        };
        let inputs = variants(input, &doc, 0);
        if inputs.is_empty() {
            self.unassembled.push(id.to_owned());
        }
        for value in inputs {
            self.inputs += 1;
            let result = crate::round_trip::check::<I>(&value.to_string()).and_then(|()| {
                let typed: I = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
                typed
                    .validate()
                    .map_err(|e| format!("validate() refuses it: {e}"))
            });
            if let Err(why) = result {
                self.failures.push(format!("{id} input {value}: {why}"));
            }
        }
        // A document may lack the result path (its output type is then
        // untyped JSON, with no examples to check).
        let outputs = output_schema(&doc, id).map_or_else(Vec::new, |o| variants(o, &doc, 0));
        for value in outputs {
            self.outputs += 1;
            if let Err(why) = crate::round_trip::check::<I::Output>(&value.to_string()) {
                self.failures.push(format!("{id} output {value}: {why}"));
            }
        }
    }

    /// Fails the test with every failure; prints what was covered.
    pub fn finish(self) {
        println!(
            "{} endpoint(s): {} input and {} output example(s) round-tripped; {} endpoint(s) \
             with no input example (no property of the input has one): {:?}",
            self.endpoints,
            self.inputs,
            self.outputs,
            self.unassembled.len(),
            self.unassembled
        );
        assert!(
            self.failures.is_empty(),
            "{} example(s) failed:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
    }
}

fn read(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The schema of the POST body at the endpoint's own path.
fn input_schema<'a>(doc: &'a Value, id: &str) -> Option<&'a Value> {
    doc.get("paths")?
        .get(format!("/{id}"))?
        .pointer("/post/requestBody/content/application~1json/schema")
}

/// The schema of the 200 response of the result path.
fn output_schema<'a>(doc: &'a Value, id: &str) -> Option<&'a Value> {
    doc.get("paths")?
        .get(format!("/{id}/requests/{{request_id}}"))?
        .pointer("/get/responses/200/content/application~1json/schema")
}

/// Follows `$ref`s (within the document) to the schema they name.
fn resolve<'a>(mut schema: &'a Value, doc: &'a Value) -> Option<&'a Value> {
    for _ in 0..MAX_DEPTH {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(target) => schema = doc.pointer(target.strip_prefix('#')?)?,
            None => return Some(schema),
        }
    }
    None
}

/// The values assembled for `schema` (see the module docs), first the one
/// made of every first example; empty when none can be.
fn variants(schema: &Value, doc: &Value, depth: usize) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let Some(schema) = resolve(schema, doc).filter(|_| depth < MAX_DEPTH) else {
        return out;
    };
    let mut push = |value: Value, out: &mut Vec<Value>| {
        if out.len() < MAX_VARIANTS && seen.insert(value.to_string()) {
            out.push(value);
        }
    };
    match schema.get("examples") {
        Some(Value::Array(examples)) => examples.iter().for_each(|e| push(e.clone(), &mut out)),
        Some(example) => push(example.clone(), &mut out),
        None => {}
    }
    if let Some(example) = schema.get("example") {
        push(example.clone(), &mut out);
    }
    if let Some(Value::Object(properties)) = schema.get("properties") {
        for value in object_variants(schema, properties, doc, depth) {
            push(value, &mut out);
        }
    }
    if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
        // As many copies as `minItems` asks (at least one).
        let copies = schema
            .get("minItems")
            .and_then(Value::as_u64)
            .unwrap_or(1)
            .max(1);
        let copies = usize::try_from(copies).unwrap_or(1).min(MAX_VARIANTS);
        for value in variants(items, doc, depth + 1) {
            push(Value::Array(vec![value; copies]), &mut out);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        for arm in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for value in variants(arm, doc, depth + 1) {
                push(value, &mut out);
            }
        }
    }
    out
}

/// An object's values: every property's first value, then each further value
/// of each property in its place. Empty when no property has a value, or a
/// required one has neither a value nor a default.
fn object_variants(
    schema: &Value,
    properties: &Map<String, Value>,
    doc: &Value,
    depth: usize,
) -> Vec<Value> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut base = Map::new();
    let mut further: Vec<(String, Value)> = Vec::new();
    for (name, property) in properties {
        let mut values = variants(property, doc, depth + 1).into_iter();
        if let Some(first) = values.next() {
            base.insert(name.clone(), first);
            further.extend(values.map(|v| (name.clone(), v)));
        }
    }
    if base.is_empty() {
        return Vec::new();
    }
    for name in required {
        if !base.contains_key(name) {
            let value = properties.get(name).map_or(Value::Null, |property| {
                resolve(property, doc)
                    .and_then(|p| p.get("default").cloned())
                    .unwrap_or_else(|| filler(property, doc, depth + 1))
            });
            base.insert(name.to_owned(), value);
        }
    }
    let mut out = vec![Value::Object(base.clone())];
    for (name, value) in further {
        let mut one = base.clone();
        one.insert(name, value);
        out.push(Value::Object(one));
    }
    out
}

/// A plain value `schema` allows, for a required property with no example
/// and no default (see the module docs).
fn filler(schema: &Value, doc: &Value, depth: usize) -> Value {
    let Some(schema) = resolve(schema, doc).filter(|_| depth < MAX_DEPTH) else {
        return Value::Null;
    };
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(value) = schema.get("const").or_else(|| schema.get("default")) {
        return value.clone();
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        let arms = schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        if let Some(value) = arms
            .map(|arm| filler(arm, doc, depth + 1))
            .find(|v| !v.is_null())
        {
            return value;
        }
    }
    let count = |key: &str| schema.get(key).and_then(Value::as_u64).unwrap_or(0);
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "null",
    };
    match kind {
        "string" => Value::String("x".repeat(usize::try_from(count("minLength")).unwrap_or(0))),
        "integer" | "number" => {
            let low = schema.get("minimum").and_then(Value::as_f64);
            let above = schema.get("exclusiveMinimum").and_then(Value::as_f64);
            let value = match (low, above) {
                (Some(low), _) => low,
                (None, Some(above)) => above + 1.0,
                (None, None) => 0.0,
            };
            if kind == "integer" {
                serde_json::json!(value.ceil() as i64)
            } else {
                serde_json::json!(value)
            }
        }
        "boolean" => Value::Bool(false),
        "array" => {
            let item = schema
                .get("items")
                .map_or(Value::Null, |i| filler(i, doc, depth + 1));
            Value::Array(vec![item; usize::try_from(count("minItems")).unwrap_or(0)])
        }
        "object" => {
            let properties = schema.get("properties");
            let required = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            let mut out = Map::new();
            for name in required.filter_map(Value::as_str) {
                let property = properties.and_then(|p| p.get(name));
                let value = property.map_or(Value::Null, |p| filler(p, doc, depth + 1));
                out.insert(name.to_owned(), value);
            }
            Value::Object(out)
        }
        _ => Value::Null,
    }
}
