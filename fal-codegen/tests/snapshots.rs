//! Snapshots of the bindings generated for the fixture documents in
//! `tests/fixtures` (written for these tests; they exercise every construct
//! fal's documents use). Review changes with `cargo insta review`.

use std::path::Path;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn generate(files: &[&str]) -> String {
    let mut builder = fal_codegen::Builder::new();
    for file in files {
        builder = builder.schema_file(fixture(file));
    }
    match builder.generate() {
        Ok(generated) => generated.code,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn every_construct() {
    insta::assert_snapshot!(generate(&["acme__sketch__v1.5-turbo.json"]));
}

#[test]
fn shared_types_across_endpoints() {
    insta::assert_snapshot!(generate(&[
        "acme__sketch__v1.5-turbo.json",
        "acme__sketch__fast.json"
    ]));
}

#[test]
fn non_object_input_and_no_result_path() {
    insta::assert_snapshot!(generate(&["workflows__acme__echo.json"]));
}

#[test]
fn one_type_per_definition_validation_rules_and_name_collisions() {
    insta::assert_snapshot!(generate(&["acme__chat.json"]));
}

#[test]
fn openapi_3_1_constructs() {
    insta::assert_snapshot!(generate(&["acme__shapes__v31.json"]));
}

// One small document per construct of fal's documents that the five documents
// above do not already carry (tests/fixtures/constructs; docs/codegen.md maps
// every construct to its fixture). Snapshot only: bindings-all does not compile
// these, so they add no build time to CI.

#[test]
fn construct_top_level_run_count() {
    insta::assert_snapshot!(generate(&["constructs/top_level_run_count.json"]));
}

#[test]
fn construct_endpoint_id_from_path() {
    insta::assert_snapshot!(generate(&["constructs/endpoint_id_from_path.json"]));
}

#[test]
fn construct_editor_extensions() {
    insta::assert_snapshot!(generate(&["constructs/editor_extensions.json"]));
}

#[test]
fn construct_object_default() {
    insta::assert_snapshot!(generate(&["constructs/object_default.json"]));
}

#[test]
fn construct_file_shapes() {
    insta::assert_snapshot!(generate(&["constructs/file_shapes.json"]));
}

#[test]
fn construct_empty_component() {
    insta::assert_snapshot!(generate(&["constructs/empty_component.json"]));
}
