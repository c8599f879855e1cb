//! Generation is deterministic: two runs give identical bytes, and the order
//! in which documents are given does not matter. A type's name and key do not
//! change when unrelated endpoints are added.

use std::path::{Path, PathBuf};

/// The fixture documents, then the one-construct documents.
fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files = Vec::new();
    for dir in [dir.clone(), dir.join("constructs")] {
        let mut listed: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        listed.retain(|p| p.extension().is_some_and(|e| e == "json"));
        listed.sort();
        files.extend(listed);
    }
    assert!(files.len() >= 11, "fixtures missing: {files:?}");
    files
}

/// A slice of the reference corpus beside the repository, when present: all
/// of tier A and the IMG.LY tier, and every 16th bulk document (the whole bulk
/// set is generated and compiled by `tests/bindings-all`).
fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(dir) = ["../../shared/fal-schemas", "../../../shared/fal-schemas"]
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.is_dir())
    else {
        eprintln!("../shared/fal-schemas not found; determinism is checked on the fixtures only");
        return Vec::new();
    };
    let mut files = Vec::new();
    for (sub, step) in [("", 1), ("derived/imgly", 1), ("bulk", 16)] {
        let mut listed: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
            .map(|entries| entries.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        listed.retain(|p| p.extension().is_some_and(|e| e == "json"));
        listed.sort();
        files.extend(listed.into_iter().step_by(step));
    }
    // Tier A and the IMG.LY tier describe some of the same endpoints.
    let mut seen = std::collections::BTreeSet::new();
    files.retain(|p| seen.insert(p.file_name().map(|n| n.to_owned())));
    files
}

fn generate(files: &[PathBuf]) -> String {
    let mut builder = fal_codegen::Builder::new();
    for file in files {
        builder = builder.schema_file(file);
    }
    match builder.generate() {
        Ok(generated) => generated.code,
        Err(e) => panic!("{e}"),
    }
}

/// A fixed permutation (no randomness needed to change the order).
fn shuffled(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = files.to_vec();
    out.reverse();
    let half = out.len() / 2;
    out.rotate_left(half);
    out
}

#[test]
fn identical_across_runs_and_input_orders() {
    let mut files = fixtures();
    files.extend(corpus());
    let first = generate(&files);
    let second = generate(&files);
    assert!(first == second, "two runs differ");
    let reordered = generate(&shuffled(&files));
    assert!(first == reordered, "the input order changed the output");
}

#[test]
fn names_are_stable_when_endpoints_are_added() {
    let files = fixtures();
    let alone = generate(&files[..1]);
    let together = generate(&files);
    // Every line declaring or re-exporting a type for the first endpoint is
    // unchanged when the other endpoints join.
    let decls = |code: &str| -> Vec<String> {
        code.lines()
            .map(str::trim)
            .filter(|l| {
                l.starts_with("pub use ")
                    || l.starts_with("pub struct ")
                    || l.starts_with("pub enum ")
            })
            .map(str::to_owned)
            .collect()
    };
    let together_decls = decls(&together);
    for line in decls(&alone) {
        assert!(
            together_decls.contains(&line),
            "changed when endpoints were added: {line}"
        );
    }
}
