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

/// Runs `fal codegen generate` on `document` (written as `name`), expects
/// exit 2 with stderr naming `where_` and holding `why`, and no output file.
fn generate_exits_2(name: &str, document: &serde_json::Value, where_: &str, why: &str) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join(name), document.to_string()).unwrap_or_else(|e| panic!("{e}"));
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
    assert!(stderr.contains(where_) && stderr.contains(why), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn thousands_of_fields_spelled_alike_exit_2_naming_where() {
    // `a`, `-a`, `.a`, `--a`…: every one is `a` in Rust; past the bound on
    // `a_`, `a__`… the document is refused (naming stays linear).
    let properties: serde_json::Map<String, serde_json::Value> = (0..10_000)
        .map(|i: u32| {
            let marks: String = format!("{i:b}")
                .chars()
                .map(|bit| if bit == '0' { '-' } else { '.' })
                .collect();
            (format!("{marks}a"), serde_json::json!({ "type": "string" }))
        })
        .collect();
    let document = serde_json::json!({
        "openapi": "3.0.4",
        "paths": { "/acme/alike": { "post": { "requestBody": { "content": {
            "application/json": { "schema": { "$ref": "#/components/schemas/In" } }
        } } } } },
        "components": { "schemas": { "In": { "type": "object", "properties": properties } } }
    });
    generate_exits_2(
        "acme__alike.json",
        &document,
        "acme__alike.json#/components/schemas/In/properties/",
        "spelled `a`",
    );
}

#[test]
fn a_ref_chain_thousands_long_exits_2_naming_where() {
    // The hostile document of issue 14: each component a `$ref` to the next.
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
    generate_exits_2(
        "acme__deep.json",
        &document,
        "acme__deep.json#/components/schemas/C",
        "nest more than",
    );
}

/// A crate of bundled bindings (`--crate`, how fal-endpoints is made): one
/// file and one feature per endpoint, the features written at the end of the
/// manifest, and `check` failing on any stale, extra or edited part.
#[test]
fn a_bundle_crate_is_generated_checked_and_found_stale() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let krate = dir.path().join("bundle");
    let generated = krate.join("src/generated");
    std::fs::create_dir_all(&generated).unwrap_or_else(|e| panic!("{e}"));
    let manifest = krate.join("Cargo.toml");
    let head = "[package]\nname = \"bundle\"\n\n";
    std::fs::write(&manifest, format!("{head}# @generated by fal-codegen\n"))
        .unwrap_or_else(|e| panic!("{e}"));
    let schemas = fixtures();
    let args = |verb: &'static str| {
        [
            "codegen",
            verb,
            "--schemas",
            text(&schemas),
            "--crate",
            text(&krate),
        ]
    };

    let missing = fal(&args("check"));
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("stale or missing"));

    let written = fal(&args("generate"));
    assert_eq!(written.status.code(), Some(0), "{written:?}");
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    let cargo = read(&manifest);
    assert!(cargo.starts_with(head), "{cargo}");
    for line in [
        "default = []",
        "full = [\"acme\", \"workflows__acme\"]",
        "acme = [\"acme__chat\", \"acme__shapes__v31\", \"acme__sketch__fast\", \"acme__sketch__v1.5-turbo\"]",
        "\"acme__sketch__v1.5-turbo\" = []",
        "workflows__acme__echo = []",
    ] {
        assert!(cargo.lines().any(|l| l == line), "{line} in\n{cargo}");
    }
    let tree = read(&generated.join("mod.rs"));
    assert!(
        tree.contains("#[path = \"acme__sketch__v1.5-turbo.rs\"]"),
        "{tree}"
    );
    assert!(
        tree.contains("#[cfg(any(feature = \"acme__chat\", feature = \"acme__shapes__v31\", feature = \"acme__sketch__fast\", feature = \"acme__sketch__v1.5-turbo\"))]\npub mod acme {"),
        "{tree}"
    );
    let endpoint = read(&generated.join("acme__sketch__fast.rs"));
    assert!(
        endpoint.contains("impl fal_runtime::Endpoint for"),
        "{endpoint}"
    );

    let fresh = fal(&args("check"));
    assert_eq!(fresh.status.code(), Some(0), "{fresh:?}");

    // A file no document asks for, an edited file, an edited feature table.
    std::fs::write(generated.join("acme__gone.rs"), "").unwrap_or_else(|e| panic!("{e}"));
    let extra = fal(&args("check"));
    assert_eq!(extra.status.code(), Some(1), "{extra:?}");
    assert!(String::from_utf8_lossy(&extra.stderr).contains("acme__gone.rs no longer generated"));
    std::fs::write(generated.join("acme__sketch__fast.rs"), "// edited\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &manifest,
        cargo.replace("default = []", "default = [\"full\"]"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let stale = fal(&args("check"));
    assert_eq!(stale.status.code(), Some(1), "{stale:?}");
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert!(
        stderr.contains("acme__sketch__fast.rs stale or missing"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("[features] of {} differ", manifest.display())),
        "{stderr}"
    );
    assert!(stderr.contains("--crate"), "{stderr}");

    // generate repairs all three.
    let repaired = fal(&args("generate"));
    assert_eq!(repaired.status.code(), Some(0), "{repaired:?}");
    assert!(!generated.join("acme__gone.rs").exists());
    assert_eq!(read(&generated.join("acme__sketch__fast.rs")), endpoint);
    assert_eq!(read(&manifest), cargo);
    assert_eq!(fal(&args("check")).status.code(), Some(0));
}

/// `--in-parts` (how the catalogue is cut under crates.io's 300-feature
/// limit): each endpoint goes to the part crate beside the bundle named after
/// the first letter of its alias; the bundle re-exports each owner's module
/// from its parts, lists every endpoint with its part and forwards `full` and
/// the owners' features.
#[test]
fn a_bundle_in_parts_puts_each_endpoint_in_the_part_of_its_alias() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let suffixes = ["", "-a-e", "-f", "-g-k", "-l-o", "-p-r", "-s-z"];
    for suffix in suffixes {
        let krate = dir.path().join(format!("cat{suffix}"));
        std::fs::create_dir_all(&krate).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            krate.join("Cargo.toml"),
            format!("[package]\nname = \"cat{suffix}\"\n\n# @generated by fal-codegen\n"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let schemas = fixtures();
    let krate = dir.path().join("cat");
    let args = |verb: &'static str| {
        [
            "codegen",
            verb,
            "--schemas",
            text(&schemas),
            "--crate",
            text(&krate),
            "--in-parts",
        ]
    };
    let written = fal(&args("generate"));
    assert_eq!(written.status.code(), Some(0), "{written:?}");
    let read = |path: PathBuf| std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));

    // `echo` (workflows/acme/echo) and `chat` are in a-e, `shapes` and `sketch`
    // in s-z: `acme` spans two parts.
    let a_e = read(dir.path().join("cat-a-e/Cargo.toml"));
    assert!(a_e.contains("\nworkflows__acme__echo = []\n"), "{a_e}");
    assert!(!a_e.contains("acme__sketch__fast"), "{a_e}");
    let s_z = read(dir.path().join("cat-s-z/Cargo.toml"));
    assert!(s_z.contains("\nacme__sketch__fast = []\n"), "{s_z}");
    assert!(dir
        .path()
        .join("cat-s-z/src/generated/acme__sketch__fast.rs")
        .is_file());
    assert!(dir
        .path()
        .join("cat-a-e/src/generated/workflows__acme__echo.rs")
        .is_file());
    let f = read(dir.path().join("cat-f/Cargo.toml"));
    assert!(f.contains("\nfull = []\n"), "an empty part: {f}");

    let facade = read(dir.path().join("cat/Cargo.toml"));
    for line in [
        "full = [\"cat-a-e/full\", \"cat-f/full\", \"cat-g-k/full\", \"cat-l-o/full\", \"cat-p-r/full\", \"cat-s-z/full\"]",
        "acme = [\"cat-a-e/acme\", \"cat-s-z/acme\"]",
        "workflows__acme = [\"cat-a-e/workflows__acme\"]",
    ] {
        assert!(facade.lines().any(|l| l == line), "{line} in\n{facade}");
    }
    assert!(!facade.contains("acme__sketch__fast"), "{facade}");
    let tree = read(dir.path().join("cat/src/generated/mod.rs"));
    assert!(tree.contains("pub use cat_s_z::acme::*;"), "{tree}");
    assert!(
        tree.contains("pub use cat_a_e::workflows::acme::*;"),
        "{tree}"
    );
    assert!(
        tree.contains("package: \"cat-s-z\", feature: \"acme__sketch__fast\""),
        "{tree}"
    );
    // A part declares its owners' modules whatever features are on.
    let part = read(dir.path().join("cat-s-z/src/generated/mod.rs"));
    assert!(
        part.contains("/// Endpoints under `acme`.\npub mod acme {"),
        "{part}"
    );

    assert_eq!(fal(&args("check")).status.code(), Some(0));
    std::fs::remove_file(
        dir.path()
            .join("cat-s-z/src/generated/acme__sketch__fast.rs"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let stale = fal(&args("check"));
    assert_eq!(stale.status.code(), Some(1), "{stale:?}");
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert!(
        stderr.contains("acme__sketch__fast.rs stale or missing"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--in-parts"),
        "the command to rerun: {stderr}"
    );
}

#[test]
fn a_bundle_crate_without_the_marker_is_bad_input() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("Cargo.toml"), "[package]\nname = \"x\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let result = fal(&[
        "codegen",
        "generate",
        "--schemas",
        text(&fixtures()),
        "--crate",
        text(dir.path()),
    ]);
    assert_eq!(result.status.code(), Some(2), "{result:?}");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("Cargo.toml: no line starting with `# @generated by fal-codegen`"),
        "{stderr}"
    );
    assert!(!dir.path().join("src/generated").exists());
}
