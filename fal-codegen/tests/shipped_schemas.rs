//! Structural checks of the endpoint documents we ship in `schemas/`.
//!
//! The bundled bindings of fal-runtime are generated from these files, so a
//! hand-editing slip (a dangling `$ref`, a path under the wrong id, an example
//! that no longer matches its field) would surface as a confusing codegen or
//! round-trip failure far away. These tests name the file and JSON pointer
//! instead.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// Endpoints the project promises bindings for (issue 4, item 7).
const REQUIRED: &[&str] = &["fal-ai/flux/dev", "fal-ai/flux/schnell", "fal-ai/fast-sdxl"];

/// Categories that must each be covered by at least one shipped document.
const REQUIRED_CATEGORIES: &[&str] = &[
    "text-to-image",
    "image-to-video",
    "speech-to-text",
    "text-to-speech",
    "llm",
];

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

/// Every `*.json` in `schemas/`, parsed, with its file name.
fn documents() -> Vec<(String, Value)> {
    let dir = schemas_dir();
    let mut out = Vec::new();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name")
            .to_owned();
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not valid JSON: {e}"));
        out.push((name, doc));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(!out.is_empty(), "no documents in {}", dir.display());
    out
}

fn obj<'a>(v: &'a Value, file: &str, pointer: &str) -> &'a Map<String, Value> {
    v.pointer(pointer)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{file}: {pointer} must be an object"))
}

fn str_at<'a>(v: &'a Value, file: &str, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{file}: {pointer} must be a string"))
}

/// JSON pointer escaping (RFC 6901) for keys such as `/fal-ai/flux/dev`.
fn esc(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// fal's component naming: the id without its owner, split on `/ - . _`,
/// each piece capitalised.
fn pascal(endpoint_id: &str) -> String {
    endpoint_id
        .split('/')
        .skip(1)
        .flat_map(|seg| seg.split(['-', '.', '_']))
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

fn endpoint_id(doc: &Value, file: &str) -> String {
    str_at(doc, file, "/info/x-fal-metadata/endpointId").to_owned()
}

#[test]
fn file_names_match_endpoint_ids() {
    for (file, doc) in documents() {
        let id = endpoint_id(&doc, &file);
        assert_eq!(
            file,
            format!("{}.json", id.replace('/', "__")),
            "{file}: file name must be the endpoint id with / replaced by __"
        );
        let segments: Vec<&str> = id.split('/').collect();
        assert!(
            segments.len() >= 2 && segments.iter().all(|s| !s.is_empty()),
            "{file}: endpoint id {id:?} is not owner/alias[/path]"
        );
    }
}

#[test]
fn top_level_has_fal_queue_shape() {
    for (file, doc) in documents() {
        let id = endpoint_id(&doc, &file);
        assert_eq!(str_at(&doc, &file, "/openapi"), "3.0.4", "{file}");
        assert_eq!(str_at(&doc, &file, "/info/version"), "1.0.0", "{file}");
        assert_eq!(
            str_at(&doc, &file, "/info/title"),
            format!("Queue OpenAPI for {id}"),
            "{file}"
        );
        assert!(
            !str_at(&doc, &file, "/info/x-fal-metadata/category").is_empty(),
            "{file}: empty category"
        );
        assert_eq!(
            str_at(&doc, &file, "/servers/0/url"),
            "https://queue.fal.run",
            "{file}"
        );
        assert!(
            doc.pointer("/security/0/apiKeyAuth").is_some(),
            "{file}: security must name apiKeyAuth"
        );
        let scheme = obj(&doc, &file, "/components/securitySchemes/apiKeyAuth");
        assert_eq!(scheme.get("type"), Some(&Value::from("apiKey")), "{file}");
        assert_eq!(scheme.get("in"), Some(&Value::from("header")), "{file}");
        assert_eq!(
            scheme.get("name"),
            Some(&Value::from("Authorization")),
            "{file}"
        );
    }
}

#[test]
fn queue_status_matches_fal() {
    for (file, doc) in documents() {
        let qs = obj(&doc, &file, "/components/schemas/QueueStatus");
        let props = obj(&doc, &file, "/components/schemas/QueueStatus/properties");
        let keys: BTreeSet<&str> = props.keys().map(String::as_str).collect();
        let want: BTreeSet<&str> = [
            "status",
            "request_id",
            "response_url",
            "status_url",
            "cancel_url",
            "logs",
            "metrics",
            "queue_position",
        ]
        .into_iter()
        .collect();
        assert_eq!(keys, want, "{file}: QueueStatus properties");
        assert_eq!(
            qs.get("required"),
            Some(&serde_json::json!(["status", "request_id"])),
            "{file}"
        );
        assert_eq!(
            doc.pointer("/components/schemas/QueueStatus/properties/status/enum"),
            Some(&serde_json::json!(["IN_QUEUE", "IN_PROGRESS", "COMPLETED"])),
            "{file}"
        );
    }
}

#[test]
fn four_paths_under_the_full_endpoint_id() {
    for (file, doc) in documents() {
        let id = endpoint_id(&doc, &file);
        let name = pascal(&id);
        let paths = obj(&doc, &file, "/paths");
        let base = format!("/{id}");
        let want: Vec<String> = vec![
            format!("{base}/requests/{{request_id}}/status"),
            format!("{base}/requests/{{request_id}}/cancel"),
            base.clone(),
            format!("{base}/requests/{{request_id}}"),
        ];
        let got: Vec<&String> = paths.keys().collect();
        assert_eq!(
            got,
            want.iter().collect::<Vec<_>>(),
            "{file}: paths (in fal's order)"
        );

        let status = format!("/paths/{}/get", esc(&want[0]));
        assert_eq!(
            doc.pointer(&format!(
                "{status}/responses/200/content/application~1json/schema/$ref"
            )),
            Some(&Value::from("#/components/schemas/QueueStatus")),
            "{file}: status response"
        );
        assert_eq!(
            doc.pointer(&format!("{status}/parameters/1/schema/type")),
            Some(&Value::from("number")),
            "{file}: logs query parameter is a number in fal's documents"
        );
        let cancel = format!("/paths/{}/put", esc(&want[1]));
        assert_eq!(
            doc.pointer(&format!(
                "{cancel}/responses/200/content/application~1json/schema/properties/success/type"
            )),
            Some(&Value::from("boolean")),
            "{file}: cancel response"
        );
        let submit = format!("/paths/{}/post", esc(&want[2]));
        assert_eq!(
            doc.pointer(&format!("{submit}/requestBody/required")),
            Some(&Value::Bool(true)),
            "{file}"
        );
        assert_eq!(
            doc.pointer(&format!(
                "{submit}/requestBody/content/application~1json/schema/$ref"
            )),
            Some(&Value::from(format!("#/components/schemas/{name}Input"))),
            "{file}: submit body"
        );
        let result = format!("/paths/{}/get", esc(&want[3]));
        assert_eq!(
            doc.pointer(&format!(
                "{result}/responses/200/content/application~1json/schema/$ref"
            )),
            Some(&Value::from(format!("#/components/schemas/{name}Output"))),
            "{file}: result response"
        );
    }
}

/// Calls `f` with the JSON pointer of every schema object reachable in
/// `components/schemas`.
fn walk_schemas(v: &Value, pointer: &str, f: &mut dyn FnMut(&str, &Map<String, Value>)) {
    let Some(map) = v.as_object() else { return };
    f(pointer, map);
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            walk_schemas(p, &format!("{pointer}/properties/{}", esc(k)), f);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = map.get(key) {
            walk_schemas(child, &format!("{pointer}/{key}"), f);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(arms) = map.get(key).and_then(Value::as_array) {
            for (i, arm) in arms.iter().enumerate() {
                walk_schemas(arm, &format!("{pointer}/{key}/{i}"), f);
            }
        }
    }
}

fn each_schema(doc: &Value, file: &str, f: &mut dyn FnMut(&str, &Map<String, Value>)) {
    for (name, schema) in obj(doc, file, "/components/schemas") {
        walk_schemas(schema, &format!("/components/schemas/{}", esc(name)), f);
    }
}

#[test]
fn every_ref_resolves_and_every_component_is_used() {
    for (file, doc) in documents() {
        let mut used = BTreeSet::new();
        each_schema(&doc, &file, &mut |ptr, map| {
            if let Some(r) = map.get("$ref") {
                let target = r
                    .as_str()
                    .unwrap_or_else(|| panic!("{file}: {ptr}/$ref is not a string"));
                let local = target
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("{file}: {ptr}: non-local $ref {target}"));
                assert!(
                    doc.pointer(local).is_some(),
                    "{file}: {ptr}: $ref {target} points nowhere"
                );
                assert!(
                    map.len() == 1,
                    "{file}: {ptr}: a $ref with siblings must be wrapped in allOf"
                );
                used.insert(target.to_owned());
            }
        });
        let id = endpoint_id(&doc, &file);
        let name = pascal(&id);
        used.insert(format!("#/components/schemas/{name}Input"));
        used.insert(format!("#/components/schemas/{name}Output"));
        used.insert("#/components/schemas/QueueStatus".to_owned());
        for component in obj(&doc, &file, "/components/schemas").keys() {
            let target = format!("#/components/schemas/{component}");
            assert!(
                used.contains(&target),
                "{file}: component {component} is never referenced"
            );
        }
    }
}

#[test]
fn objects_list_their_display_order_and_required_fields_exist() {
    for (file, doc) in documents() {
        each_schema(&doc, &file, &mut |ptr, map| {
            if ptr.starts_with("/components/schemas/QueueStatus") {
                return;
            }
            let Some(props) = map.get("properties").and_then(Value::as_object) else {
                return;
            };
            let order = map
                .get("x-fal-order-properties")
                .and_then(Value::as_array)
                .unwrap_or_else(|| panic!("{file}: {ptr} lacks x-fal-order-properties"));
            let order: BTreeSet<&str> = order.iter().filter_map(Value::as_str).collect();
            let keys: BTreeSet<&str> = props.keys().map(String::as_str).collect();
            assert_eq!(order, keys, "{file}: {ptr}: x-fal-order-properties");
            if let Some(required) = map.get("required").and_then(Value::as_array) {
                for r in required {
                    let r = r.as_str().unwrap_or_default();
                    assert!(
                        keys.contains(r),
                        "{file}: {ptr}: required {r:?} is not a property"
                    );
                }
            }
        });
    }
}

#[test]
fn dialect_is_pydantic_style_openapi_3_0() {
    for (file, doc) in documents() {
        each_schema(&doc, &file, &mut |ptr, map| {
            assert!(
                !map.contains_key("nullable"),
                "{file}: {ptr}: write nullable as anyOf [T, {{type: null}}]"
            );
            if let Some(examples) = map.get("examples") {
                assert!(
                    examples.is_array(),
                    "{file}: {ptr}: examples must be an array"
                );
            }
            if let Some(d) = map.get("description") {
                assert!(
                    d.as_str().is_some_and(|d| !d.trim().is_empty()),
                    "{file}: {ptr}: empty description"
                );
            }
        });
    }
}

/// A deliberately small validator: enough to catch an example or default that
/// no longer fits its field after an edit.
fn fits(doc: &Value, schema: &Value, value: &Value) -> bool {
    let Some(map) = schema.as_object() else {
        return true;
    };
    if let Some(target) = map.get("$ref").and_then(Value::as_str) {
        return match doc.pointer(target.trim_start_matches('#')) {
            Some(s) => fits(doc, s, value),
            None => false,
        };
    }
    if let Some(arms) = map.get("anyOf").and_then(Value::as_array) {
        return arms.iter().any(|arm| fits(doc, arm, value));
    }
    if let Some(arms) = map.get("allOf").and_then(Value::as_array) {
        return arms.iter().all(|arm| fits(doc, arm, value));
    }
    if let Some(allowed) = map.get("enum").and_then(Value::as_array) {
        if !allowed.contains(value) {
            return false;
        }
    }
    let in_range = |n: f64| {
        let bound = |k: &str| map.get(k).and_then(Value::as_f64);
        bound("minimum").is_none_or(|m| n >= m)
            && bound("maximum").is_none_or(|m| n <= m)
            && bound("exclusiveMinimum").is_none_or(|m| n > m)
    };
    match map.get("type").and_then(Value::as_str) {
        Some("null") => value.is_null(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("integer") => value.as_i64().is_some_and(|n| in_range(n as f64)),
        Some("number") => value.as_f64().is_some_and(in_range),
        Some("array") => value.as_array().is_some_and(|items| {
            items
                .iter()
                .all(|item| map.get("items").is_none_or(|s| fits(doc, s, item)))
        }),
        Some("object") => value.as_object().is_some_and(|fields| {
            let props = map.get("properties").and_then(Value::as_object);
            let required_present =
                map.get("required")
                    .and_then(Value::as_array)
                    .is_none_or(|req| {
                        req.iter()
                            .filter_map(Value::as_str)
                            .all(|r| fields.contains_key(r))
                    });
            required_present
                && fields
                    .iter()
                    .all(|(k, v)| match props.and_then(|p| p.get(k)) {
                        Some(s) => fits(doc, s, v),
                        None => match map.get("additionalProperties") {
                            Some(Value::Bool(false)) => false,
                            Some(s @ Value::Object(_)) => fits(doc, s, v),
                            _ => true,
                        },
                    })
        }),
        _ => true,
    }
}

#[test]
fn examples_and_defaults_fit_their_fields() {
    for (file, doc) in documents() {
        each_schema(&doc, &file, &mut |ptr, map| {
            let schema = Value::Object(map.clone());
            if let Some(examples) = map.get("examples").and_then(Value::as_array) {
                for (i, ex) in examples.iter().enumerate() {
                    assert!(
                        fits(&doc, &schema, ex),
                        "{file}: {ptr}/examples/{i} does not fit its schema"
                    );
                }
            }
            if let Some(default) = map.get("default") {
                assert!(
                    fits(&doc, &schema, default),
                    "{file}: {ptr}/default does not fit its schema"
                );
            }
        });
    }
}

#[test]
fn the_promised_endpoints_and_categories_are_shipped() {
    let docs = documents();
    let ids: BTreeSet<String> = docs.iter().map(|(f, d)| endpoint_id(d, f)).collect();
    for id in REQUIRED {
        assert!(ids.contains(*id), "schemas/ lacks {id}");
    }
    let categories: BTreeSet<&str> = docs
        .iter()
        .map(|(f, d)| str_at(d, f, "/info/x-fal-metadata/category"))
        .collect();
    for c in REQUIRED_CATEGORIES {
        assert!(categories.contains(c), "schemas/ has no {c} endpoint");
    }
}

#[test]
fn readme_lists_every_shipped_endpoint() {
    let readme =
        std::fs::read_to_string(schemas_dir().join("README.md")).expect("schemas/README.md");
    for (file, doc) in documents() {
        let id = endpoint_id(&doc, &file);
        assert!(
            readme.contains(&format!("`{id}`")),
            "schemas/README.md does not list {id}"
        );
    }
}

#[test]
fn the_validator_rejects_what_it_should() {
    // Guards the checks above against silently accepting everything.
    let doc = serde_json::json!({"components": {"schemas": {"S": {"type": "object",
        "required": ["a"], "properties": {"a": {"type": "integer", "minimum": 1, "maximum": 4}}}}}});
    let s = serde_json::json!({"$ref": "#/components/schemas/S"});
    assert!(fits(&doc, &s, &serde_json::json!({"a": 2})));
    assert!(!fits(&doc, &s, &serde_json::json!({"a": 9})));
    assert!(!fits(&doc, &s, &serde_json::json!({})));
    assert!(!fits(
        &doc,
        &serde_json::json!({"$ref": "#/components/schemas/Missing"}),
        &serde_json::json!(1)
    ));
    let nullable_enum =
        serde_json::json!({"anyOf": [{"type": "string", "enum": ["x"]}, {"type": "null"}]});
    assert!(fits(&doc, &nullable_enum, &Value::Null));
    assert!(!fits(&doc, &nullable_enum, &serde_json::json!("y")));
    assert_eq!(pascal("fal-ai/flux-pro/v1.1-ultra"), "FluxProV11Ultra");
    assert_eq!(
        pascal("fal-ai/bytedance/seedream/v4/text-to-image"),
        "BytedanceSeedreamV4TextToImage"
    );
}
