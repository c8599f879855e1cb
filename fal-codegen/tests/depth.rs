//! Hostile nesting: however deep a document's schemas nest (a `$ref` chain
//! thousands long, `allOf` inside `allOf`, lists of lists), generation ends
//! with a typed error naming the file and the JSON pointer where the bound
//! (`fal_codegen::ir::MAX_DEPTH`) was crossed, never with a stack overflow.
//! Tests run on threads with 2 MB stacks, smaller than a program's main
//! thread, so an unbounded recursion would abort this test binary.

use std::path::Path;

use fal_codegen::ir::MAX_DEPTH;
use fal_codegen::parse::parse_document;
use fal_codegen::{Error, Location};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// How one component wraps the next.
#[derive(Clone, Copy, Debug)]
enum Wrap {
    Ref,
    AllOf,
    Optional,
    Items,
    Values,
    Property,
}

fn wrap(kind: Wrap, next: Value) -> Value {
    match kind {
        Wrap::Ref => next,
        Wrap::AllOf => json!({ "allOf": [next] }),
        Wrap::Optional => json!({ "anyOf": [next, { "type": "null" }] }),
        Wrap::Items => json!({ "type": "array", "items": next }),
        Wrap::Values => json!({ "type": "object", "additionalProperties": next }),
        Wrap::Property => json!({ "type": "object", "properties": { "p": next } }),
    }
}

/// A document whose input is component `C0`, `C{i}` wrapping a `$ref` to
/// `C{i+1}` as `kinds[i]` says, and the last one a string.
fn chain(kinds: &[Wrap]) -> String {
    let mut schemas = Map::new();
    for (i, kind) in kinds.iter().enumerate() {
        let next = json!({ "$ref": format!("#/components/schemas/C{}", i + 1) });
        schemas.insert(format!("C{i}"), wrap(*kind, next));
    }
    schemas.insert(format!("C{}", kinds.len()), json!({ "type": "string" }));
    document(json!({ "$ref": "#/components/schemas/C0" }), schemas)
}

fn document(input: Value, schemas: Map<String, Value>) -> String {
    json!({
        "openapi": "3.0.4",
        "paths": { "/acme/deep": { "post": { "requestBody": { "content": {
            "application/json": { "schema": input }
        } } } } },
        "components": { "schemas": schemas }
    })
    .to_string()
}

fn generate(text: &str) -> Result<String, Error> {
    let doc = parse_document(Path::new("deep.json"), text)?;
    fal_codegen::generate(&[doc])
}

/// The pointer of a depth error, checked to name the file and to point into
/// the document.
fn depth_error(text: &str, error: Error) -> String {
    let Error::Document {
        file,
        location: Location::Pointer(pointer),
        message,
    } = &error
    else {
        panic!("expected a document error with a pointer, got {error}");
    };
    assert_eq!(file, Path::new("deep.json"));
    assert!(message.contains("nest more than"), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("deep.json#/components/schemas/C"),
        "{error}"
    );
    let value: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        value.pointer(pointer).is_some(),
        "{pointer} is not in the document"
    );
    pointer.clone()
}

#[test]
fn long_ref_chains_are_an_error_naming_the_pointer() {
    for len in [1_000, 100_000] {
        let text = chain(&vec![Wrap::Ref; len]);
        let error = generate(&text)
            .err()
            .unwrap_or_else(|| panic!("{len}: generated"));
        let pointer = depth_error(&text, error);
        // `C0` is the first level, so `C{MAX_DEPTH}` is the first one too deep.
        assert_eq!(pointer, format!("/components/schemas/C{MAX_DEPTH}"));
    }
}

#[test]
fn every_kind_of_nesting_is_bounded() {
    for kind in [
        Wrap::AllOf,
        Wrap::Optional,
        Wrap::Items,
        Wrap::Values,
        Wrap::Property,
    ] {
        let text = chain(&vec![kind; 5_000]);
        let error = generate(&text)
            .err()
            .unwrap_or_else(|| panic!("{kind:?}: generated"));
        depth_error(&text, error);
    }
}

#[test]
fn inline_nesting_deeper_than_json_allows_is_a_syntax_error() {
    // 10,000 `allOf`s inside each other, written out: the JSON reader refuses
    // the nesting itself (line and column), before any schema is read.
    let mut schema = String::from(r#"{"type":"string"}"#);
    for _ in 0..10_000 {
        schema = format!(r#"{{"allOf":[{schema}]}}"#);
    }
    let text =
        document(json!({}), Map::new()).replace(r#""schema":{}"#, &format!(r#""schema":{schema}"#));
    match generate(&text) {
        Err(Error::Document {
            location: Location::Line { .. },
            message,
            ..
        }) => assert!(message.contains("not valid JSON"), "{message}"),
        other => panic!("expected a JSON error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn nesting_as_deep_as_fal_uses_generates() {
    // Twice the deepest nesting in fal's documents (16), every kind mixed.
    let kinds = [
        Wrap::Property,
        Wrap::Optional,
        Wrap::Items,
        Wrap::AllOf,
        Wrap::Values,
        Wrap::Ref,
    ];
    let mixed: Vec<Wrap> = kinds.iter().copied().cycle().take(16).collect();
    generate(&chain(&mixed)).unwrap_or_else(|e| panic!("{e}"));
}

fn any_wrap() -> impl Strategy<Value = Wrap> {
    prop_oneof![
        Just(Wrap::Ref),
        Just(Wrap::AllOf),
        Just(Wrap::Optional),
        Just(Wrap::Items),
        Just(Wrap::Values),
        Just(Wrap::Property),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any mix of nesting generates when shallow, and otherwise fails with a
    /// pointer into the document; it never panics. Each component costs one
    /// or two levels (its `$ref`, plus the wrapper), so a chain of
    /// `MAX_DEPTH / 2 - 1` always fits and one of `MAX_DEPTH` never does.
    #[test]
    fn any_nesting_generates_or_names_where(kinds in prop::collection::vec(any_wrap(), 0..200)) {
        let text = chain(&kinds);
        match generate(&text) {
            Ok(_) => prop_assert!(kinds.len() < MAX_DEPTH, "{} levels generated", kinds.len()),
            Err(error) => {
                prop_assert!(kinds.len() >= MAX_DEPTH / 2 - 1, "{} levels: {error}", kinds.len());
                depth_error(&text, error);
            }
        }
    }
}
