//! The facts-only reduction (`fal_codegen::reduce`): over fal's real
//! documents (../shared, when present: every queue document of the three
//! tiers and the Platform API's OpenAPI 3.1 document), over the project's own
//! fixtures, and over generated documents.
//!
//! What must hold for every document:
//! - the independent audit finds no prose of the original in the reduction;
//! - no `description`, `summary` or `$comment` string is left anywhere;
//! - reducing again changes nothing, and the stored text is deterministic;
//! - for queue documents, the bindings generated from the reduction are the
//!   bindings of the original with only documentation removed: the facts that
//!   shape types (names, types, required, enums, unions) all survived.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fal_codegen::reduce::{self, audit, reduce, to_text};
use proptest::prelude::*;
use serde_json::{json, Value};

/// `../shared` beside the repository (CI) or beside the worktree directory
/// (development); `FAL_SCHEMA_CORPUS` names the fal-schemas directory directly.
fn shared() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("FAL_SCHEMA_CORPUS") {
        return PathBuf::from(dir).parent().map(Path::to_owned);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    ["../../shared", "../../../shared"]
        .iter()
        .map(|p| manifest.join(p))
        .find(|p| p.join("fal-schemas").is_dir())
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn read(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every JSON pointer where a prose key still holds a non-empty string.
/// Inside an example the keys are the example's data (a workflow example
/// has a `description` member, whose text is neutral by then), so examples
/// are not looked into; the audit checks their strings.
fn prose_keys(value: &Value, pointer: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let here = format!("{pointer}/{key}");
                if matches!(key.as_str(), "description" | "summary" | "$comment")
                    && v.as_str().is_some_and(|s| !s.is_empty())
                {
                    out.push(here.clone());
                }
                if key == "example" || (key == "examples" && v.is_array()) {
                    continue;
                }
                prose_keys(v, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                prose_keys(v, &format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The checks every reduction must pass; returns the reduced document.
fn check_reduction(name: &str, original: &Value) -> Value {
    let reduction = reduce(original).unwrap_or_else(|e| panic!("{name}: {e}"));
    let reduced = reduction.document;
    let leaks = audit(original, &reduced);
    assert!(leaks.is_empty(), "{name}: prose survived: {leaks:?}");
    let mut left = Vec::new();
    prose_keys(&reduced, "", &mut left);
    assert!(left.is_empty(), "{name}: prose keys left at {left:?}");
    let again = reduce(&reduced).unwrap_or_else(|e| panic!("{name}: second pass: {e}"));
    assert_eq!(again.document, reduced, "{name}: reducing twice changed it");
    assert_eq!(again.prose_removed, 0, "{name}: second pass found prose");
    let text = to_text(&reduced);
    assert!(
        text.ends_with("}\n"),
        "{name}: stored text ends with a newline"
    );
    let parsed: Value = serde_json::from_str(&text).expect("stored text parses back");
    assert_eq!(parsed, reduced, "{name}: stored text round-trips");
    reduced
}

/// Generated code without its documentation (doc comments and `#[doc]`),
/// as a set of lines with content-hash and numeric suffixes of type names
/// removed: the hash covers a type's docs, so removing prose renames types,
/// and merges types that differed only in docs (`Voice2` into `Voice`).
fn code_without_docs(code: &str) -> BTreeSet<String> {
    code.lines()
        .filter(|l| {
            let t = l.trim_start();
            !t.starts_with("///") && !t.starts_with("//!") && !t.starts_with("#[doc")
        })
        .map(strip_hashes)
        .collect()
}

/// `ImageSizeb369e43c` -> `ImageSize`, `Voice2` -> `Voice`: drops eight
/// lower-case hex digits, then any digits, ending an identifier that starts
/// with an upper-case letter.
fn strip_hashes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut ident = String::new();
    let flush = |ident: &mut String, out: &mut String| {
        let n = ident.len();
        let hashed = n > 8
            && ident.starts_with(|c: char| c.is_ascii_uppercase())
            && ident[n - 8..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let name = if hashed {
            &ident[..n - 8]
        } else {
            ident.as_str()
        };
        let name = if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            name.trim_end_matches(|c: char| c.is_ascii_digit())
        } else {
            name
        };
        out.push_str(name);
        ident.clear();
    };
    for c in line.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            ident.push(c);
        } else {
            flush(&mut ident, &mut out);
            out.push(c);
        }
    }
    flush(&mut ident, &mut out);
    out
}

fn generate(name: &str, value: &Value) -> Result<String, String> {
    let doc = fal_codegen::parse::parse_document(Path::new(name), &value.to_string())
        .map_err(|e| e.to_string())?;
    fal_codegen::generate(&[doc]).map_err(|e| e.to_string())
}

/// Both checks over one document; queue documents are also generated from.
fn check_queue_document(path: &Path) -> Result<(), String> {
    let name = path.display().to_string();
    let original = read(path);
    let reduced = check_reduction(&name, &original);
    if reduce::endpoint_id(&reduced) != reduce::endpoint_id(&original) {
        return Err(format!("{name}: the endpoint id changed"));
    }
    let before = code_without_docs(&generate(&name, &original)?);
    let after = code_without_docs(&generate(&name, &reduced)?);
    if before != after {
        let lost: Vec<_> = before.difference(&after).take(5).collect();
        let gained: Vec<_> = after.difference(&before).take(5).collect();
        return Err(format!(
            "{name}: the reduction changed the generated types; lost {lost:?}, gained {gained:?}"
        ));
    }
    Ok(())
}

fn assert_all(results: Vec<Result<(), String>>) {
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        failures.is_empty(),
        "{} document(s) failed:\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn fixtures_reduce_to_the_same_bindings() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files = json_files(&dir);
    // The one-construct documents too (editor extensions, object defaults, ...).
    files.extend(json_files(&dir.join("constructs")));
    assert!(files.len() >= 11, "fixtures missing: {files:?}");
    assert_all(files.iter().map(|p| check_queue_document(p)).collect());
}

#[test]
fn fal_queue_documents_of_every_tier_reduce_cleanly() {
    let Some(shared) = shared() else {
        eprintln!("../shared/fal-schemas not found; corpus reduction not checked");
        return;
    };
    let corpus = shared.join("fal-schemas");
    let files: Vec<PathBuf> = ["", "derived/imgly", "bulk"]
        .iter()
        .flat_map(|tier| json_files(&corpus.join(tier)))
        .collect();
    let count = files.len();
    // Two generator runs per document: spread them over the cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = count.div_ceil(threads).max(1);
    let results = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|p| check_queue_document(p))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    assert_all(results);
    assert!(
        count >= 1000,
        "only {count} documents found in {}",
        corpus.display()
    );
}

#[test]
fn the_platform_api_document_reduces_cleanly() {
    let Some(shared) = shared() else {
        eprintln!("../shared/spec/platform not found; Platform API reduction not checked");
        return;
    };
    let path = shared.join("spec/platform/platform-apis-v1.openapi.json");
    let original = read(&path);
    let reduced = check_reduction(&path.display().to_string(), &original);
    // The structure code generation needs is all there.
    let count = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_object).map(|m| m.len());
    for pointer in [
        "/paths",
        "/components/schemas",
        "/components/parameters",
        "/webhooks",
    ] {
        assert_eq!(
            count(&reduced, pointer),
            count(&original, pointer),
            "{pointer}"
        );
    }
    assert_eq!(reduced["openapi"], original["openapi"]);
    assert_eq!(reduced["info"]["version"], original["info"]["version"]);
    assert_eq!(reduced["servers"][0]["url"], original["servers"][0]["url"]);
    assert!(reduced["servers"][0].get("description").is_none());
}

#[test]
fn openapi_3_1_constructs_are_kept_as_facts() {
    let original = json!({
        "openapi": "3.1.0",
        "info": {"title": "Example Service", "version": "v1", "description": "Words."},
        "tags": [{"name": "Models", "description": "All about models."}],
        "paths": {
            "/things/{id}": {
                "summary": "One thing.",
                "get": {
                    "operationId": "getThing",
                    "summary": "Get a thing by its id, please.",
                    "tags": ["Models"],
                    "parameters": [{
                        "name": "id", "in": "path", "required": true,
                        "description": "The id.",
                        "schema": {"type": "string", "examples": ["abc-123", "a long sentence here"]}
                    }],
                    "responses": {
                        "200": {
                            "description": "The thing, as stored.",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Thing"},
                                "examples": {
                                    "small": {"summary": "A small one", "value": {"id": "t1", "size": 2}},
                                    "chatty": {"value": {"id": "t2", "note": "hello there"}}
                                }
                            }}
                        }
                    }
                }
            }
        },
        "webhooks": {"thingChanged": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}, "responses": {"200": {"description": "ok then"}}}}},
        "components": {
            "schemas": {
                "Thing": {
                    "type": "object",
                    "title": "Thing",
                    "$comment": "internal note",
                    "required": ["id"],
                    "properties": {
                        "id": {"type": "string", "title": "A label, not a name"},
                        "size": {"type": ["integer", "null"], "minimum": 0, "exclusiveMaximum": 10},
                        "kind": {"const": "thing", "description": "Always thing."},
                        "parts": {"type": "array", "prefixItems": [{"type": "string"}], "items": false},
                        "meta": {"$ref": "#/components/schemas/Thing/$defs/Meta"}
                    },
                    "$defs": {"Meta": {"type": "object", "additionalProperties": {"type": "string"}}}
                }
            },
            "securitySchemes": {
                "oauth": {"type": "oauth2", "description": "OAuth.", "flows": {"clientCredentials": {"tokenUrl": "https://auth.example/token", "scopes": {"read": "Read things you own."}}}}
            }
        }
    });
    let reduced = check_reduction("inline 3.1", &original);
    assert_eq!(
        reduced,
        json!({
            "openapi": "3.1.0",
            "info": {"title": "", "version": "v1"},
            "tags": [{"name": "Models"}],
            "paths": {
                "/things/{id}": {
                    "get": {
                        "operationId": "getThing",
                        "tags": ["Models"],
                        "parameters": [{
                            "name": "id", "in": "path", "required": true,
                            "schema": {"type": "string", "examples": ["abc-123", "sample text"]}
                        }],
                        "responses": {
                            "200": {
                                "description": "",
                                "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/Thing"},
                                    "examples": {"small": {"value": {"id": "t1", "size": 2}}}
                                }}
                            }
                        }
                    }
                }
            },
            "webhooks": {"thingChanged": {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}, "responses": {"200": {"description": ""}}}}},
            "components": {
                "schemas": {
                    "Thing": {
                        "type": "object",
                        "title": "Thing",
                        "required": ["id"],
                        "properties": {
                            "id": {"type": "string"},
                            "size": {"type": ["integer", "null"], "minimum": 0, "exclusiveMaximum": 10},
                            "kind": {"const": "thing"},
                            "parts": {"type": "array", "prefixItems": [{"type": "string"}], "items": false},
                            "meta": {"$ref": "#/components/schemas/Thing/$defs/Meta"}
                        },
                        "$defs": {"Meta": {"type": "object", "additionalProperties": {"type": "string"}}}
                    }
                },
                "securitySchemes": {
                    "oauth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://auth.example/token", "scopes": {"read": ""}}}}
                }
            }
        })
    );
}

#[test]
fn fal_specific_facts_are_kept_and_labels_dropped() {
    let original = json!({
        "openapi": "3.0.4",
        "info": {
            "title": "Queue OpenAPI for acme/draw",
            "version": "1.0.0",
            "description": "The OpenAPI schema for the acme/draw queue.",
            "x-fal-metadata": {"endpointId": "acme/draw", "category": "text-to-image", "thumbnailUrl": "https://x.example/t.png"}
        },
        "paths": {"/acme/draw": {"post": {"requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DrawInput"}}}}, "responses": {"200": {"description": "The request status."}}}}},
        "components": {"schemas": {"DrawInput": {
            "title": "BaseInput",
            "type": "object",
            "x-fal-order-properties": ["prompt", "image_url", "steps", "codec"],
            "x-imgly-builder": {"label": "Draw"},
            "properties": {
                "prompt": {"title": "Prompt", "type": "string", "examples": ["a fox", "fox"], "default": "cat"},
                "image_url": {
                    "title": "Image Url", "type": "string", "x-fal-file-input": true,
                    "x-fal": {"max_file_size": 10485760, "timeout": 20, "note": "ten megabytes"},
                    "limit_description": "Max file size: 10.0MB", "ui": {"field": "image"},
                    "examples": ["https://v3.fal.media/files/fox.png"]
                },
                "steps": {"title": "Number of Steps", "type": "integer", "minimum": 1, "maximum": 50, "default": 28},
                "codec": {"type": "string", "enum": ["X264 (.mp4)", "VP9 (.webm)"], "default": "X264 (.mp4)"}
            },
            "required": ["prompt"]
        }}}
    });
    let reduced = check_reduction("inline fal", &original);
    assert_eq!(
        reduced["info"],
        json!({"title": "acme/draw", "version": "1.0.0", "x-fal-metadata": {"endpointId": "acme/draw", "category": "text-to-image"}})
    );
    let input = &reduced["components"]["schemas"]["DrawInput"];
    assert_eq!(input["title"], "BaseInput");
    assert!(input.get("x-imgly-builder").is_none());
    assert_eq!(
        input["properties"]["prompt"],
        json!({"title": "Prompt", "type": "string", "examples": ["sample text", "sample text"]})
    );
    assert_eq!(
        input["properties"]["image_url"],
        json!({"title": "Image Url", "type": "string", "x-fal-file-input": true, "x-fal": {"max_file_size": 10485760, "timeout": 20}, "examples": ["https://v3.fal.media/files/fox.png"]})
    );
    assert_eq!(
        input["properties"]["steps"],
        json!({"type": "integer", "minimum": 1, "maximum": 50, "default": 28})
    );
    assert_eq!(input["properties"]["codec"]["default"], "X264 (.mp4)");
    let reduction = reduce(&original).expect("reduces");
    assert_eq!(reduction.dropped.get("x-imgly-builder"), Some(&1));
    assert_eq!(reduction.dropped.get("ui"), Some(&1));
    assert_eq!(reduce::endpoint_id(&reduced).as_deref(), Some("acme/draw"));
}

#[test]
fn non_documents_are_refused() {
    assert!(reduce(&json!([])).is_err());
    assert!(reduce(&json!({"swagger": "2.0"})).is_err());
    assert!(reduce(&json!({"openapi": 3})).is_err());
    let err = reduce::reduce_text(Path::new("x.json"), "{\n  \"openapi\": ").expect_err("broken");
    assert!(err.to_string().starts_with("x.json:2:"), "{err}");
}

/// Arbitrary JSON (object keys drawn from OpenAPI's vocabulary and prose
/// keys, so the walk meets both real structure and nonsense).
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("description".to_owned()),
        Just("summary".to_owned()),
        Just("title".to_owned()),
        Just("examples".to_owned()),
        Just("example".to_owned()),
        Just("default".to_owned()),
        Just("properties".to_owned()),
        Just("paths".to_owned()),
        Just("components".to_owned()),
        Just("schemas".to_owned()),
        Just("get".to_owned()),
        Just("responses".to_owned()),
        Just("content".to_owned()),
        Just("schema".to_owned()),
        Just("items".to_owned()),
        Just("anyOf".to_owned()),
        Just("enum".to_owned()),
        Just("info".to_owned()),
        "[a-z_]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        "[a-z]{0,6}".prop_map(Value::from),
        "[a-z]{1,6} [a-z ]{1,20}".prop_map(Value::from),
        "https://[a-z]{1,8}\\.example/[a-z]{1,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever is under `paths` and `components`, the reduction never
    /// panics, leaves no prose behind and is idempotent.
    #[test]
    fn any_document_reduces_cleanly(paths in arbitrary_json(), components in arbitrary_json(), info in arbitrary_json()) {
        let original = json!({"openapi": "3.1.0", "info": info, "paths": paths, "components": components});
        let reduction = reduce(&original).expect("an OpenAPI 3 object always reduces");
        let leaks = audit(&original, &reduction.document);
        prop_assert!(leaks.is_empty(), "{:?}", leaks);
        let mut left = Vec::new();
        prose_keys(&reduction.document, "", &mut left);
        prop_assert!(left.is_empty(), "{:?}", left);
        let again = reduce(&reduction.document).expect("reduces again");
        prop_assert_eq!(again.document, reduction.document);
    }

    /// Arbitrary bytes are either refused with an error or reduced.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = reduce::reduce_text(Path::new("fuzz.json"), &text);
    }
}
