//! `fal codegen generate` / `check` end to end, with DESIGN.md's exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fal(args: &[&str]) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_fal")).args(args).output() {
        Ok(output) => output,
        Err(e) => panic!("fal did not run: {e}"),
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fal-codegen/tests/fixtures")
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

#[test]
fn generate_then_check_then_detect_staleness() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("bindings.rs");
    let schemas = fixtures();

    let missing = fal(&[
        "codegen",
        "check",
        "--schemas",
        text(&schemas),
        "--out",
        text(&out),
    ]);
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));

    let generated = fal(&[
        "codegen",
        "generate",
        "--schemas",
        text(&schemas),
        "--out",
        text(&out),
    ]);
    assert_eq!(generated.status.code(), Some(0), "{generated:?}");
    assert!(generated.stdout.is_empty());
    let code = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        code.contains("impl fal_runtime::Endpoint for SketchInput"),
        "{code}"
    );

    let fresh = fal(&[
        "codegen",
        "check",
        "--schemas",
        text(&schemas),
        "--out",
        text(&out),
    ]);
    assert_eq!(fresh.status.code(), Some(0), "{fresh:?}");

    std::fs::write(&out, code.replace("SketchInput", "Edited")).unwrap_or_else(|e| panic!("{e}"));
    let stale = fal(&[
        "codegen",
        "check",
        "--schemas",
        text(&schemas),
        "--out",
        text(&out),
    ]);
    assert_eq!(stale.status.code(), Some(1), "{stale:?}");
    assert!(String::from_utf8_lossy(&stale.stderr).contains("is stale"));
}

#[test]
fn a_broken_schema_exits_2_naming_file_and_pointer() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let broken = dir.path().join("acme__broken.json");
    std::fs::write(
        &broken,
        r##"{"openapi":"3.0.4","paths":{"/acme/broken":{"post":{"requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/In"}}}}}}},"components":{"schemas":{"In":{"type":"object","properties":{"n":{"type":"strange"}}}}}}"##,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("bindings.rs");
    let result = fal(&[
        "codegen",
        "generate",
        "--schemas",
        text(dir.path()),
        "--out",
        text(&out),
    ]);
    assert_eq!(result.status.code(), Some(2), "{result:?}");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("acme__broken.json#/components/schemas/In/properties/n/type"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn a_ref_chain_thousands_long_exits_2_naming_where() {
    // The hostile document of issue 14: each component a `$ref` to the next.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut schemas = serde_json::Map::new();
    for i in 0..10_000 {
        schemas.insert(
            format!("C{i}"),
            serde_json::json!({ "$ref": format!("#/components/schemas/C{}", i + 1) }),
        );
    }
    let document = serde_json::json!({
        "openapi": "3.0.4",
        "paths": { "/acme/deep": { "post": { "requestBody": { "content": {
            "application/json": { "schema": { "$ref": "#/components/schemas/C0" } }
        } } } } },
        "components": { "schemas": schemas }
    });
    std::fs::write(dir.path().join("acme__deep.json"), document.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("bindings.rs");
    let result = fal(&[
        "codegen",
        "generate",
        "--schemas",
        text(dir.path()),
        "--out",
        text(&out),
    ]);
    assert_eq!(result.status.code(), Some(2), "{result:?}");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("acme__deep.json#/components/schemas/C")
            && stderr.contains("nest more than"),
        "{stderr}"
    );
    assert!(!out.exists());
}
