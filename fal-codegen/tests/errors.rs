//! Broken documents give errors that name the file and where in it.

use std::path::Path;

use fal_codegen::parse::parse_document;
use fal_codegen::{Error, Location};

fn error_of(text: &str) -> Error {
    match parse_document(Path::new("broken.json"), text) {
        Ok(doc) => match fal_codegen::generate(&[doc]) {
            Ok(_) => panic!("expected an error for {text}"),
            Err(e) => e,
        },
        Err(e) => e,
    }
}

fn location(error: &Error) -> &Location {
    match error {
        Error::Document { location, .. } => location,
        other => panic!("unexpected error kind: {other}"),
    }
}

fn minimal(schema: &str) -> String {
    format!(
        r##"{{"openapi":"3.0.4","paths":{{"/a/b":{{"post":{{"requestBody":{{"content":{{"application/json":{{"schema":{{"$ref":"#/components/schemas/In"}}}}}}}}}}}}}},"components":{{"schemas":{{"In":{schema}}}}}}}"##
    )
}

#[test]
fn syntax_errors_name_line_and_column() {
    let error = error_of("{\n  \"openapi\": \"3.0.4\",\n  oops\n}");
    assert_eq!(location(&error), &Location::Line { line: 3, column: 3 });
    assert_eq!(
        error.to_string(),
        "broken.json:3:3: not valid JSON: key must be a string"
    );
}

/// What a build script following the README prints (`error: {error}`), with
/// the path as the script named it.
#[test]
fn a_build_script_gets_one_readable_line() {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("tempdir: {e}"),
    };
    let schemas = dir.path().join("schemas");
    if let Err(e) = std::fs::create_dir(&schemas)
        .and_then(|()| std::fs::write(schemas.join("broken.json"), "{\n"))
    {
        panic!("writing the fixture: {e}");
    }
    let error = match fal_codegen::Builder::new().schema_dir(&schemas).generate() {
        Ok(_) => panic!("a truncated document generated bindings"),
        Err(e) => e,
    };
    assert_eq!(
        format!("error: {error}"),
        format!(
            "error: {}:2:0: not valid JSON: EOF while parsing an object",
            schemas.join("broken.json").display()
        )
    );
}

#[test]
fn schema_errors_name_the_json_pointer() {
    let error = error_of(&minimal(
        r#"{"type":"object","properties":{"n":{"type":"integer","maxLength":-1}}}"#,
    ));
    assert_eq!(
        location(&error),
        &Location::Pointer("/components/schemas/In/properties/n/maxLength".into()),
        "{error}"
    );
    let error = error_of(&minimal(r#"{"type":"no-such-type"}"#));
    assert_eq!(
        location(&error),
        &Location::Pointer("/components/schemas/In/type".into()),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("broken.json#/components/schemas/In/type: "),
        "{error}"
    );
}

#[test]
fn a_document_without_a_submit_operation_is_refused() {
    let error =
        error_of(r#"{"openapi":"3.0.4","paths":{"/a/b/requests/{request_id}":{"get":{}}}}"#);
    assert_eq!(location(&error), &Location::Pointer("/paths".into()));
    let error = error_of(r#"{"openapi":"2.0","paths":{}}"#);
    assert_eq!(location(&error), &Location::Pointer("/openapi".into()));
    let error = error_of(r#"{"openapi":"3.0.4","paths":{"/a":{"post":{}}}}"#);
    assert!(error.to_string().contains("invalid endpoint id"), "{error}");
}

#[test]
fn unknown_extensions_and_top_level_keys_are_ignored() {
    let text = minimal(r#"{"type":"object","x-anything":{"deep":[1]},"properties":{"p":{"type":"string","x-other":true}}}"#)
        .replacen('{', r#"{"run_count":0,"x-top":1,"#, 1);
    let doc = parse_document(Path::new("ok.json"), &text).unwrap_or_else(|e| panic!("{e}"));
    let code = fal_codegen::generate(&[doc]).unwrap_or_else(|e| panic!("{e}"));
    assert!(code.contains("pub p: Option<String>"), "{code}");
}

#[test]
fn duplicate_endpoints_name_both_files() {
    let text = minimal(r#"{"type":"object"}"#);
    let a = parse_document(Path::new("one.json"), &text).unwrap_or_else(|e| panic!("{e}"));
    let b = parse_document(Path::new("two.json"), &text).unwrap_or_else(|e| panic!("{e}"));
    let error = fal_codegen::generate(&[a, b])
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        error,
        "endpoint a/b is described by both one.json and two.json"
    );
}

#[test]
fn a_filter_naming_an_unknown_endpoint_is_an_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let error = fal_codegen::Builder::new()
        .schema_dir(&dir)
        .endpoint("acme/nope")
        .generate();
    assert!(matches!(error, Err(Error::UnknownEndpoint(id)) if id == "acme/nope"));
    let only = fal_codegen::Builder::new()
        .schema_dir(&dir)
        .endpoint("acme/sketch/fast")
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(only.endpoints, vec!["acme/sketch/fast".to_owned()]);
    // The directory and every document in it (all are read to find the one).
    let documents = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or_default();
    assert!(
        only.inputs.first() == Some(&dir) && only.inputs.len() == documents + 1,
        "{:?}",
        only.inputs
    );
}

#[test]
fn ids_that_climb_out_of_a_url_path_are_refused_naming_the_file() {
    for id in ["acme/../x", "%2e%2e/%2e%2e/admin", r"x\\..\\..\\admin/y"] {
        let text = minimal(r#"{"type":"object"}"#).replace("/a/b", &format!("/{id}"));
        let error = error_of(&text).to_string();
        assert!(
            error.starts_with("broken.json#/paths/") && error.contains("invalid endpoint id"),
            "{id}: {error}"
        );
    }
}
