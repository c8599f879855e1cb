//! REST documents (OpenAPI 3.0/3.1 with many operations, such as fal's
//! Platform APIs) → typed request modules.
//!
//! The snapshot is of `rest_fixtures/acme-admin-api.json`, a document written
//! for this test with every construct the generator handles: `$ref`'d
//! parameters and responses, path-level parameters, `$defs`, query lists with
//! and without `explode`, a header, `Idempotency-Key`, a tagged `oneOf` body,
//! cursor pagination, the error envelope, 201/204/text answers, a path segment
//! mixing text and a parameter, admin-only security, and a multipart body
//! (left out, with the reason).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fal_codegen::parse::rest::{parse_rest_document, RestDocument};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rest_fixtures/acme-admin-api.json")
}

fn read(path: &Path) -> RestDocument {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_rest_document(path, &text).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_rest_construct() {
    let generated = fal_codegen::generate_rest(&read(&fixture()), &BTreeSet::new())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        generated.operations,
        vec![
            "listWidgets",
            "createWidget",
            "deleteWidget",
            "exportWidget"
        ]
    );
    assert_eq!(generated.skipped.len(), 1);
    assert_eq!(generated.skipped[0].0, "uploadWidget");
    insta::assert_snapshot!(generated.code);
}

#[test]
fn a_selection_generates_only_those_operations_and_unknown_ids_fail() {
    let doc = read(&fixture());
    let keep: BTreeSet<String> = ["deleteWidget".to_owned()].into();
    let generated = fal_codegen::generate_rest(&doc, &keep).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(generated.operations, vec!["deleteWidget"]);
    assert!(generated.code.contains("pub mod delete_widget"));
    assert!(!generated.code.contains("pub mod list_widgets"));
    let unknown: BTreeSet<String> = ["nope".to_owned()].into();
    let err = fal_codegen::generate_rest(&doc, &unknown)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("`nope`"), "{err}");
}

#[test]
fn generation_is_deterministic() {
    let doc = read(&fixture());
    let a = fal_codegen::generate_rest(&doc, &BTreeSet::new())
        .map(|g| g.code)
        .ok();
    let b = fal_codegen::generate_rest(&doc, &BTreeSet::new())
        .map(|g| g.code)
        .ok();
    assert!(a.is_some());
    assert_eq!(a, b);
}

/// fal's Platform API document, beside the repository (not in it: it holds
/// fal's prose). Skipped cleanly where it is absent.
fn platform_document() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        "../../shared/spec/platform/platform-apis-v1.openapi.json",
        "../../../shared/spec/platform/platform-apis-v1.openapi.json",
    ]
    .iter()
    .map(|p| manifest.join(p))
    .find(|p| p.is_file())
}

#[test]
fn fals_platform_document_generates_every_json_operation() {
    let Some(path) = platform_document() else {
        eprintln!("../shared/spec/platform not found; skipped");
        return;
    };
    let doc = read(&path);
    assert_eq!(doc.operations.len(), 82);
    assert_eq!(doc.base_path, "/v1");
    let generated =
        fal_codegen::generate_rest(&doc, &BTreeSet::new()).unwrap_or_else(|e| panic!("{e}"));
    // The multipart upload is the only operation left out.
    let skipped: Vec<&str> = generated
        .skipped
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(skipped, vec!["serverlessUploadLocalFile"]);
    assert_eq!(generated.operations.len(), 81);
    for listing in [
        "getModels",
        "getUsage",
        "getAnalytics",
        "listRequestsByEndpoint",
        "getBillingEvents",
    ] {
        let module = heck_snake(listing);
        let section = generated
            .code
            .split(&format!("pub mod {module} {{"))
            .nth(1)
            .unwrap_or_default();
        assert!(
            section
                .split("\npub mod ")
                .next()
                .is_some_and(|s| s.contains("impl fal_runtime::platform::Paginated for")),
            "{listing} does not page"
        );
    }
    assert!(generated
        .code
        .contains("request.idempotency_key(\"Idempotency-Key\""));
    syn::parse_file(&generated.code).unwrap_or_else(|e| panic!("{e}"));
}

fn heck_snake(id: &str) -> String {
    let mut out = String::new();
    for (i, c) in id.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}
