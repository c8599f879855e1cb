//! `fal codegen rest`: generate and check a REST client module, and the CI
//! guard that fal-runtime's checked-in Platform API client is what the
//! repository's facts-only document generates.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fal(args: &[&str]) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_fal")).args(args).output() {
        Ok(output) => output,
        Err(e) => panic!("fal did not run: {e}"),
    }
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

/// Fails when `fal-runtime/src/platform/api.rs` is stale: regenerate it with
/// the command in `fal-runtime/platform/operations`.
#[test]
fn the_runtime_platform_client_is_up_to_date() {
    let document = repo("fal-runtime/platform/platform-apis-v1.openapi.json");
    let operations = repo("fal-runtime/platform/operations");
    let out = repo("fal-runtime/src/platform/api.rs");
    let checked = fal(&[
        "codegen",
        "rest",
        "--document",
        text(&document),
        "--operations",
        text(&operations),
        "--out",
        text(&out),
        "--check",
    ]);
    assert_eq!(
        checked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// Where fal's own document sits beside the repository, the kept copy must be
/// exactly its reduction (skipped cleanly elsewhere).
#[test]
fn the_kept_platform_document_is_the_reduction_of_fals() {
    let Some(original) = [
        "../shared/spec/platform/platform-apis-v1.openapi.json",
        "../../shared/spec/platform/platform-apis-v1.openapi.json",
    ]
    .iter()
    .map(|p| repo(p))
    .find(|p| p.is_file()) else {
        eprintln!("../shared/spec/platform not found; skipped");
        return;
    };
    let kept = repo("fal-runtime/platform");
    let checked = fal(&[
        "schemas",
        "reduce",
        text(&original),
        "--out",
        text(&kept),
        "--check",
    ]);
    assert_eq!(
        checked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
}

#[test]
fn generate_check_and_bad_input_exit_codes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("api.rs");
    let document = repo("fal-codegen/tests/rest_fixtures/acme-admin-api.json");
    let list = dir.path().join("ops");
    std::fs::write(&list, "# the listing only\nlistWidgets\n").unwrap_or_else(|e| panic!("{e}"));
    let args = |check: bool| {
        let mut args = vec![
            "codegen",
            "rest",
            "--document",
            text(&document),
            "--operations",
            text(&list),
            "--out",
            text(&out),
        ];
        if check {
            args.push("--check");
        }
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        fal(&refs)
    };
    let missing = run(args(true));
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
    let written = run(args(false));
    assert_eq!(written.status.code(), Some(0), "{written:?}");
    let code = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(code.contains("pub mod list_widgets") && !code.contains("pub mod create_widget"));
    assert_eq!(run(args(true)).status.code(), Some(0));
    std::fs::write(&out, format!("{code}// edited\n")).unwrap_or_else(|e| panic!("{e}"));
    let stale = run(args(true));
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("is stale"));

    std::fs::write(&list, "noSuchOperation\n").unwrap_or_else(|e| panic!("{e}"));
    let unknown = run(args(false));
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("`noSuchOperation`"));
    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        "{\"openapi\": \"3.1.0\", \"paths\": {\"/a/{x}\": {\"get\": {}}}}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let bad = fal(&[
        "codegen",
        "rest",
        "--document",
        text(&broken),
        "--out",
        text(&out),
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("#/paths/~1a~1{x}/get"));
}
