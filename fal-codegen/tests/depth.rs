//! Hostile nesting: however deep a document's schemas nest (a `$ref` chain
//! thousands long, `allOf` inside `allOf`, lists of lists), generation ends
//! with a typed error naming the file and the JSON pointer where the bound
//! (`fal_codegen::ir::MAX_DEPTH`) was crossed, never with a stack overflow.
//! Tests run on threads with 2 MB stacks, smaller than a program's main
//! thread, so an unbounded recursion would abort this test binary.

use std::path::Path;

use fal_codegen::ir::naming::MAX_ALTERNATIVES;
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

/// The pointer of a document error, checked to name the file, to hold
/// `why` in its message and to point into the document.
fn pointer_error(text: &str, error: Error, why: &str) -> String {
    let Error::Document {
        file,
        location: Location::Pointer(pointer),
        message,
    } = &error
    else {
        panic!("expected a document error with a pointer, got {error}");
    };
    assert_eq!(file, Path::new("deep.json"));
    assert!(message.contains(why), "{error}");
    let value: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        value.pointer(pointer).is_some(),
        "{pointer} is not in the document"
    );
    pointer.clone()
}

/// The pointer of a depth error (into a component).
fn depth_error(text: &str, error: Error) -> String {
    let pointer = pointer_error(text, error, "nest more than");
    assert!(pointer.starts_with("/components/schemas/C"), "{pointer}");
    pointer
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

// Hostile naming: names that spell the same Rust name get a suffix (`a_`,
// `XAlt`), at most `MAX_ALTERNATIVES` times; past that the document is refused
// with the pointer of the name that did not fit, so naming stays linear in the
// document's size however many names collide.

/// The `i`th of many JSON names that all spell `base` in Rust: `base` after
/// `i` written in binary with `-` and `.` (separators vanish from Rust names).
fn alike(base: &str, i: usize) -> String {
    let marks: String = format!("{i:b}")
        .chars()
        .map(|bit| if bit == '0' { '-' } else { '.' })
        .collect();
    format!("{marks}{base}")
}

/// A document whose input is component `Wide`: an object with `n` properties
/// spelled alike, each a string enum of `n` values spelled alike.
fn colliding(n: usize, fields: bool, values: bool) -> String {
    let names = |base: &'static str| (0..n).map(move |i| alike(base, i));
    let enum_schema = if values {
        json!({ "type": "string", "enum": names("x").collect::<Vec<_>>() })
    } else {
        json!({ "type": "string" })
    };
    let properties: Map<String, Value> = if fields {
        names("a").map(|name| (name, enum_schema.clone())).collect()
    } else {
        [("a".to_owned(), enum_schema)].into_iter().collect()
    };
    let mut schemas = Map::new();
    schemas.insert(
        "Wide".into(),
        json!({ "type": "object", "properties": properties }),
    );
    document(json!({ "$ref": "#/components/schemas/Wide" }), schemas)
}

/// The pointer of a "too many alike" error for `name`.
fn alike_error(text: &str, error: Error, name: &str) -> String {
    let why = format!("more than {MAX_ALTERNATIVES} names here are spelled `{name}`");
    pointer_error(text, error, &why)
}

#[test]
fn many_fields_spelled_alike_are_an_error_naming_the_pointer() {
    let text = colliding(20_000, true, false);
    let error = generate(&text).err().unwrap_or_else(|| panic!("generated"));
    let pointer = alike_error(&text, error, "a");
    // Properties are visited by name; the first that found no name is the
    // one after MAX_ALTERNATIVES + 1 have taken `a`, `a_`, … .
    let mut sorted: Vec<String> = (0..20_000).map(|i| alike("a", i)).collect();
    sorted.sort();
    assert_eq!(
        pointer,
        format!(
            "/components/schemas/Wide/properties/{}",
            sorted[MAX_ALTERNATIVES + 1]
        )
    );
}

#[test]
fn many_values_spelled_alike_are_an_error_naming_the_pointer() {
    let text = colliding(20_000, false, true);
    let error = generate(&text).err().unwrap_or_else(|| panic!("generated"));
    let pointer = alike_error(&text, error, "X");
    assert_eq!(pointer, "/components/schemas/Wide/properties/a");
}

#[test]
fn many_components_spelled_alike_are_an_error_naming_the_pointer() {
    let n = 5_000;
    let mut schemas = Map::new();
    let mut properties = Map::new();
    for i in 0..n {
        let key = alike("C", i);
        properties.insert(
            format!("p{i}"),
            json!({ "$ref": format!("#/components/schemas/{key}") }),
        );
        schemas.insert(
            key,
            json!({ "type": "object", "properties": { format!("f{i}"): { "type": "string" } } }),
        );
    }
    schemas.insert(
        "Wide".into(),
        json!({ "type": "object", "properties": properties }),
    );
    let text = document(json!({ "$ref": "#/components/schemas/Wide" }), schemas);
    let error = generate(&text).err().unwrap_or_else(|| panic!("generated"));
    let pointer = alike_error(&text, error, "C");
    assert!(pointer.starts_with("/components/schemas/"), "{pointer}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Up to `MAX_ALTERNATIVES + 1` fields (and enum values) spelled alike
    /// generate, with the names they always had (`a`, `a_`, `a__`…; `X`,
    /// `XAlt`…); one more is refused with a pointer, never a panic.
    #[test]
    fn names_spelled_alike_generate_up_to_the_bound(n in 1usize..(MAX_ALTERNATIVES + 6)) {
        let text = colliding(n, true, true);
        match generate(&text) {
            Ok(code) => {
                prop_assert!(n <= MAX_ALTERNATIVES + 1, "{n} alike generated");
                let last_field = format!("pub a{}:", "_".repeat(n - 1));
                let last_variant = format!("X{}", "Alt".repeat(n - 1));
                prop_assert!(code.contains(&last_field), "{last_field} missing");
                prop_assert!(code.contains(&last_variant), "{last_variant} missing");
            }
            Err(error) => {
                prop_assert!(n > MAX_ALTERNATIVES + 1, "{n} alike: {error}");
                // Each field's enum is lowered before the field is named.
                alike_error(&text, error, "X");
            }
        }
    }
}
