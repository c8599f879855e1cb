//! The structural walk: each OpenAPI object kind keeps the keys on its
//! allowlist (the parent module lists them) and drops the rest.
//!
//! The walk runs twice. The first pass only learns the document's vocabulary
//! (every schema's `enum` and `const` strings), which decides whether an
//! example elsewhere is an API value; the second pass, knowing it, builds the
//! reduced document.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::facts::{self, Vocabulary};
use super::Reduction;

/// The outcome for one key of an object.
enum Out {
    /// Kept, with this (reduced) value.
    Keep(Value),
    /// Removed as prose.
    Prose,
    /// Removed because no allowlist names it (or its value has the wrong shape).
    Drop,
    /// Removed and already counted (an example its schema refuses, a list of
    /// examples left empty).
    Omit,
}

struct Walker<'v> {
    /// `None` in the first pass: every fact check passes.
    vocabulary: Option<&'v Vocabulary>,
    /// The original document, against which `$ref`s inside it resolve.
    root: &'v Value,
    /// The enum/const strings seen (used after the first pass).
    collected: Vocabulary,
    prose_removed: usize,
    /// Examples dropped because their own schema refuses them.
    contradicting_examples: usize,
    dropped: BTreeMap<String, usize>,
}

/// Reduces a document already known to be an OpenAPI 3 object.
pub(super) fn reduce_document(doc: &Value) -> Reduction {
    let id = super::endpoint_id(doc);
    let mut first = Walker::new(None, doc);
    first.document(doc, id.as_deref());
    let vocabulary = first.collected;
    let mut second = Walker::new(Some(&vocabulary), doc);
    let document = second.document(doc, id.as_deref());
    Reduction {
        document,
        prose_removed: second.prose_removed,
        contradicting_examples: second.contradicting_examples,
        dropped: second.dropped,
    }
}

impl<'v> Walker<'v> {
    fn new(vocabulary: Option<&'v Vocabulary>, root: &'v Value) -> Self {
        Self {
            vocabulary,
            root,
            collected: Vocabulary::new(),
            prose_removed: 0,
            contradicting_examples: 0,
            dropped: BTreeMap::new(),
        }
    }

    /// Rebuilds an object key by key; `None` when `value` is not an object.
    fn object(
        &mut self,
        value: &Value,
        mut each: impl FnMut(&mut Self, &str, &Value) -> Out,
    ) -> Option<Value> {
        let map = value.as_object()?;
        let mut out = Map::new();
        for (key, v) in map {
            match each(self, key, v) {
                Out::Keep(v) => {
                    out.insert(key.clone(), v);
                }
                Out::Prose => self.prose_removed += 1,
                Out::Drop => *self.dropped.entry(key.clone()).or_default() += 1,
                Out::Omit => {}
            }
        }
        Some(Value::Object(out))
    }

    /// A map of names to objects of one kind (properties, paths, content…);
    /// the names are kept, entries that reduce to nothing are dropped.
    fn named(
        &mut self,
        value: &Value,
        mut each: impl FnMut(&mut Self, &str, &Value) -> Out,
    ) -> Out {
        match self.object(value, |w, name, v| each(w, name, v)) {
            Some(v) => Out::Keep(v),
            None => Out::Drop,
        }
    }

    fn array(&mut self, value: &Value, mut each: impl FnMut(&mut Self, &Value) -> Out) -> Out {
        let Some(items) = value.as_array() else {
            return Out::Drop;
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match each(self, item) {
                Out::Keep(v) => out.push(v),
                Out::Prose => self.prose_removed += 1,
                Out::Drop => *self.dropped.entry("(array item)".into()).or_default() += 1,
                Out::Omit => {}
            }
        }
        Out::Keep(Value::Array(out))
    }

    fn kind(&mut self, value: &Value, each: impl FnMut(&mut Self, &str, &Value) -> Out) -> Out {
        match self.object(value, each) {
            Some(v) => Out::Keep(v),
            None => Out::Drop,
        }
    }

    /// A fact check of an example or default documenting `field`.
    fn fact(&self, value: &Value, field: Option<&str>) -> Out {
        let keep = self
            .vocabulary
            .is_none_or(|vocabulary| facts::is_fact(value, field, vocabulary));
        if keep {
            Out::Keep(value.clone())
        } else {
            Out::Prose
        }
    }

    /// A schema's example of the property `field`, made facts-only: prose
    /// strings become neutral text sized to `schema`'s limits (each counted
    /// as prose removed); `Prose` when that cannot be done.
    fn example(&mut self, value: &Value, field: Option<&str>, schema: &Value) -> Out {
        let Some(vocabulary) = self.vocabulary else {
            return Out::Keep(value.clone());
        };
        match facts::neutralize(value, field, Some(schema), self.root, vocabulary) {
            Some((neutral, _)) if !facts::conforms(&neutral, schema, self.root, 0) => {
                self.contradicting_examples += 1;
                Out::Omit
            }
            Some((neutral, replaced)) => {
                self.prose_removed += replaced;
                Out::Keep(neutral)
            }
            None => Out::Prose,
        }
    }

    fn document(&mut self, doc: &Value, id: Option<&str>) -> Value {
        self.object(doc, |w, key, v| match key {
            "openapi" | "jsonSchemaDialect" => string(v),
            "info" => w.info(v, id),
            "servers" => w.array(v, Self::server),
            "paths" | "webhooks" => w.named(v, |w, _, v| w.path_item(v)),
            "components" => w.components(v),
            "security" => security(v),
            "tags" => w.array(v, |w, tag| w.kind(tag, |_, k, v| name_only(k, v))),
            "x-fal-order-paths" => strings(v),
            _ => prose_or_drop(key),
        })
        .unwrap_or_default()
    }

    fn info(&mut self, value: &Value, id: Option<&str>) -> Out {
        let original = value.get("title").and_then(Value::as_str);
        let title = match (id, original) {
            (Some(id), _) => id.to_owned(),
            (None, Some(t)) if facts::is_name_title(t, None) => t.to_owned(),
            _ => String::new(),
        };
        if original.is_some_and(|t| t != title) {
            self.prose_removed += 1;
        }
        let Some(Value::Object(mut out)) = self.object(value, |w, key, v| match key {
            "title" => Out::Keep(Value::String(title.clone())),
            "version" => string(v),
            "x-fal-metadata" => w.kind(v, |w, key, v| match key {
                "endpointId" => string(v),
                "category" => w.fact(v, None),
                _ => prose_or_drop(key),
            }),
            _ => prose_or_drop(key),
        }) else {
            return Out::Drop;
        };
        // OpenAPI requires a title; a document without one gets the id or "".
        if !out.contains_key("title") {
            let mut with_title = Map::new();
            with_title.insert("title".into(), Value::String(title));
            with_title.extend(out);
            out = with_title;
        }
        Out::Keep(Value::Object(out))
    }

    fn server(&mut self, value: &Value) -> Out {
        self.kind(value, |w, key, v| match key {
            "url" => string(v),
            "variables" => w.named(v, |w, _, var| {
                w.kind(var, |_, key, v| match key {
                    "enum" => strings(v),
                    "default" => string(v),
                    _ => prose_or_drop(key),
                })
            }),
            _ => prose_or_drop(key),
        })
    }

    fn path_item(&mut self, value: &Value) -> Out {
        self.kind(value, |w, key, v| match key {
            "$ref" => string(v),
            "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace" => {
                w.operation(v)
            }
            "parameters" => w.array(v, Self::parameter),
            "servers" => w.array(v, Self::server),
            _ => prose_or_drop(key),
        })
    }

    fn operation(&mut self, value: &Value) -> Out {
        self.kind(value, |w, key, v| match key {
            "operationId" => string(v),
            "tags" => strings(v),
            "deprecated" => boolean(v),
            "parameters" => w.array(v, Self::parameter),
            "requestBody" => w.request_body(v),
            "responses" => w.named(v, |w, _, r| w.response(r)),
            "callbacks" => w.named(v, |w, _, c| w.named(c, |w, _, item| w.path_item(item))),
            "security" => security(v),
            "servers" => w.array(v, Self::server),
            _ => prose_or_drop(key),
        })
    }

    fn parameter(&mut self, value: &Value) -> Out {
        let name = value.get("name").and_then(Value::as_str).map(str::to_owned);
        self.header_like(value, name.as_deref(), true)
    }

    /// Parameters and headers share their fields (a header has no `name`/`in`).
    fn header_like(&mut self, value: &Value, field: Option<&str>, parameter: bool) -> Out {
        self.kind(value, |w, key, v| match key {
            "name" | "in" if parameter => string(v),
            "$ref" | "style" => string(v),
            "required" | "deprecated" | "allowEmptyValue" | "explode" | "allowReserved" => {
                boolean(v)
            }
            "schema" => w.schema(v, field),
            "content" => w.named(v, |w, _, m| w.media_type(m, field)),
            "example" => w.fact(v, field),
            "examples" => w.examples_map(v, field),
            _ => prose_or_drop(key),
        })
    }

    fn request_body(&mut self, value: &Value) -> Out {
        self.kind(value, |w, key, v| match key {
            "$ref" => string(v),
            "required" => boolean(v),
            "content" => w.named(v, |w, _, m| w.media_type(m, None)),
            _ => prose_or_drop(key),
        })
    }

    fn media_type(&mut self, value: &Value, field: Option<&str>) -> Out {
        self.kind(value, |w, key, v| match key {
            "schema" => w.schema(v, field),
            "example" => w.fact(v, field),
            "examples" => w.examples_map(v, field),
            "encoding" => w.named(v, |w, _, e| {
                w.kind(e, |w, key, v| match key {
                    "contentType" | "style" => string(v),
                    "explode" | "allowReserved" => boolean(v),
                    "headers" => w.named(v, |w, name, h| w.header_like(h, Some(name), false)),
                    _ => prose_or_drop(key),
                })
            }),
            _ => prose_or_drop(key),
        })
    }

    fn response(&mut self, value: &Value) -> Out {
        self.kind(value, |w, key, v| match key {
            "$ref" => string(v),
            // Required by OpenAPI, so kept as a key, without fal's words.
            "description" => {
                if v.as_str().is_some_and(|d| !d.is_empty()) {
                    w.prose_removed += 1;
                }
                Out::Keep(Value::String(String::new()))
            }
            "headers" => w.named(v, |w, name, h| w.header_like(h, Some(name), false)),
            "content" => w.named(v, |w, _, m| w.media_type(m, None)),
            _ => prose_or_drop(key),
        })
    }

    /// A map of Example objects; an example whose value is prose goes whole.
    fn examples_map(&mut self, value: &Value, field: Option<&str>) -> Out {
        let out = self.named(value, |w, _, example| w.example_object(example, field));
        match out {
            Out::Keep(Value::Object(map)) if map.is_empty() => Out::Prose,
            other => other,
        }
    }

    fn example_object(&mut self, value: &Value, field: Option<&str>) -> Out {
        if let Some(v) = value.get("value") {
            if let Out::Prose = self.fact(v, field) {
                return Out::Prose;
            }
        }
        self.kind(value, |w, key, v| match key {
            "$ref" => string(v),
            "value" => w.fact(v, field),
            "externalValue" => w.fact(v, None),
            _ => prose_or_drop(key),
        })
    }

    fn components(&mut self, value: &Value) -> Out {
        self.kind(value, |w, key, v| match key {
            "schemas" => w.named(v, |w, _, s| w.schema(s, None)),
            "responses" => w.named(v, |w, _, r| w.response(r)),
            "parameters" => w.named(v, |w, _, p| w.parameter(p)),
            "examples" => w.examples_map(v, None),
            "requestBodies" => w.named(v, |w, _, b| w.request_body(b)),
            "headers" => w.named(v, |w, name, h| w.header_like(h, Some(name), false)),
            "securitySchemes" => w.named(v, |w, _, s| w.security_scheme(s)),
            "callbacks" => w.named(v, |w, _, c| w.named(c, |w, _, item| w.path_item(item))),
            "pathItems" => w.named(v, |w, _, item| w.path_item(item)),
            _ => prose_or_drop(key),
        })
    }

    fn security_scheme(&mut self, value: &Value) -> Out {
        self.kind(value, |w, key, v| match key {
            "$ref" | "type" | "name" | "in" | "scheme" | "bearerFormat" | "openIdConnectUrl" => {
                string(v)
            }
            "flows" => w.named(v, |w, _, flow| {
                w.kind(flow, |w, key, v| match key {
                    "authorizationUrl" | "tokenUrl" | "refreshUrl" => string(v),
                    // Scope names are facts; what they mean is fal's prose.
                    "scopes" => w.named(v, |w, _, d| {
                        if d.as_str().is_some_and(|d| !d.is_empty()) {
                            w.prose_removed += 1;
                        }
                        Out::Keep(Value::String(String::new()))
                    }),
                    _ => prose_or_drop(key),
                })
            }),
            _ => prose_or_drop(key),
        })
    }

    /// A schema (object or, in 3.1, boolean) documenting the property `field`.
    fn schema(&mut self, value: &Value, field: Option<&str>) -> Out {
        if value.is_boolean() {
            return Out::Keep(value.clone());
        }
        self.kind(value, |w, key, v| match key {
            "type" => match v {
                Value::String(_) => Out::Keep(v.clone()),
                _ => strings(v),
            },
            "format" | "pattern" | "contentMediaType" | "contentEncoding" | "$ref" | "$id"
            | "$schema" | "$anchor" | "$dynamicRef" | "$dynamicAnchor" => string(v),
            "enum" => {
                let Some(items) = v.as_array() else {
                    return Out::Drop;
                };
                w.learn(items);
                Out::Keep(v.clone())
            }
            "const" => {
                w.learn(std::slice::from_ref(v));
                Out::Keep(v.clone())
            }
            "minimum" | "maximum" | "multipleOf" | "minLength" | "maxLength" | "minItems"
            | "maxItems" | "minProperties" | "maxProperties" | "minContains" | "maxContains" => {
                number(v)
            }
            "exclusiveMinimum" | "exclusiveMaximum" => match v {
                Value::Number(_) | Value::Bool(_) => Out::Keep(v.clone()),
                _ => Out::Drop,
            },
            "nullable" | "readOnly" | "writeOnly" | "deprecated" | "uniqueItems"
            | "x-fal-file-input" => boolean(v),
            "required" | "x-fal-order-properties" => strings(v),
            "properties" => w.named(v, |w, name, s| w.schema(s, Some(name))),
            "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                w.named(v, |w, _, s| w.schema(s, None))
            }
            "items" if v.is_array() => w.array(v, |w, s| w.schema(s, field)),
            "prefixItems" | "allOf" | "anyOf" | "oneOf" => w.array(v, |w, s| w.schema(s, field)),
            "items" | "not" | "if" | "then" | "else" | "contains" | "unevaluatedItems"
            | "additionalItems" => w.schema(v, field),
            "additionalProperties" | "unevaluatedProperties" | "propertyNames" => w.schema(v, None),
            "discriminator" => w.kind(v, |_, key, v| match key {
                "propertyName" => string(v),
                "mapping" => match v.as_object() {
                    Some(m) if m.values().all(Value::is_string) => Out::Keep(v.clone()),
                    _ => Out::Drop,
                },
                _ => prose_or_drop(key),
            }),
            "title" => match v.as_str() {
                Some(t) if facts::is_name_title(t, field) => Out::Keep(v.clone()),
                _ => Out::Prose,
            },
            "default" => w.fact(v, field),
            "example" => w.example(v, field, value),
            "examples" => match v {
                Value::Array(_) => match w.array(v, |w, e| w.example(e, field, value)) {
                    Out::Keep(Value::Array(kept)) if kept.is_empty() => Out::Omit,
                    other => other,
                },
                _ => w.example(v, field, value),
            },
            key if LIMIT_KEYS.contains(&key) => number(v),
            "x-fal" => match v.as_object() {
                Some(limits) => {
                    let kept: Map<String, Value> = limits
                        .iter()
                        .filter(|(_, v)| v.is_number() || v.is_boolean())
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    if kept.is_empty() {
                        Out::Drop
                    } else {
                        Out::Keep(Value::Object(kept))
                    }
                }
                None => Out::Drop,
            },
            _ => prose_or_drop(key),
        })
    }

    fn learn(&mut self, values: &[Value]) {
        for value in values {
            if let Value::String(s) = value {
                self.collected.insert(s.clone());
            }
        }
    }
}

/// Numeric limits fal's documents state on a schema outside JSON Schema's
/// vocabulary: file-input limits (also found inside `x-fal`), pydantic's
/// bound names and UI step sizes. Kept when their value is a number.
const LIMIT_KEYS: &[&str] = &[
    "max_file_size",
    "min_width",
    "max_width",
    "min_height",
    "max_height",
    "min_aspect_ratio",
    "max_aspect_ratio",
    "min_duration",
    "max_duration",
    "min_fps",
    "max_fps",
    "timeout",
    "ge",
    "gt",
    "le",
    "lt",
    "min",
    "max",
    "step",
];

/// Keys whose values are always prose, wherever they appear.
fn prose_or_drop(key: &str) -> Out {
    match key {
        "description" | "summary" | "$comment" => Out::Prose,
        _ => Out::Drop,
    }
}

fn name_only(key: &str, value: &Value) -> Out {
    match key {
        "name" => string(value),
        _ => prose_or_drop(key),
    }
}

fn string(value: &Value) -> Out {
    if value.is_string() {
        Out::Keep(value.clone())
    } else {
        Out::Drop
    }
}

fn strings(value: &Value) -> Out {
    match value.as_array() {
        Some(items) if items.iter().all(Value::is_string) => Out::Keep(value.clone()),
        _ => Out::Drop,
    }
}

fn boolean(value: &Value) -> Out {
    if value.is_boolean() {
        Out::Keep(value.clone())
    } else {
        Out::Drop
    }
}

fn number(value: &Value) -> Out {
    if value.is_number() {
        Out::Keep(value.clone())
    } else {
        Out::Drop
    }
}

/// A security requirement list: scheme names to scope-name lists, all names.
fn security(value: &Value) -> Out {
    let valid = value.as_array().is_some_and(|items| {
        items.iter().all(|item| {
            item.as_object().is_some_and(|m| {
                m.values().all(|scopes| {
                    scopes
                        .as_array()
                        .is_some_and(|s| s.iter().all(Value::is_string))
                })
            })
        })
    });
    if valid {
        Out::Keep(value.clone())
    } else {
        Out::Drop
    }
}
