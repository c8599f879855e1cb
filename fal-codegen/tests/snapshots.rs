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
