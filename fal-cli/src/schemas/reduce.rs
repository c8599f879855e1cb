//! `fal schemas reduce`: fal's documents cut down to facts
//! (`fal_codegen::reduce`), written where the repository may keep them.
//!
//! Inputs are read in the order given and the first document of an endpoint
//! wins, so the order of the arguments is the precedence of the sources (the
//! catalogue passes the most faithful tier first). Each reduction is audited
//! against its original before it is written: a document whose prose would
//! survive is not written at all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::Args;
use fal_codegen::reduce;

use super::store::OutDir;
use crate::Failure;

/// `fal schemas reduce`.
#[derive(Args, Debug)]
pub struct ReduceArgs {
    /// Documents or directories of documents (`*.json` directly inside), in
    /// order of precedence: when two name the same endpoint, the first wins.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Directory to write the reduced documents into (created when missing).
    /// A queue document is named after its endpoint id (`/` as `__`), any
    /// other document keeps its file name.
    #[arg(long)]
    pub out: PathBuf,
    /// Also delete `*.json` files in --out that this run did not write, so the
    /// directory holds exactly the reduced inputs.
    #[arg(long)]
    pub prune: bool,
}

/// What a run did, for the summary line and for callers.
#[derive(Debug, Default)]
pub struct Summary {
    /// Output file name -> the input it came from.
    pub written: BTreeMap<String, PathBuf>,
    /// Inputs skipped because an earlier one had the same output name.
    pub shadowed: Vec<(PathBuf, PathBuf)>,
    /// Files deleted by --prune.
    pub pruned: Vec<PathBuf>,
    /// Prose strings removed, over all documents.
    pub prose_removed: usize,
    /// Keys no allowlist names, over all documents.
    pub dropped: BTreeMap<String, usize>,
}

/// Runs `fal schemas reduce`: exit 2 when an input cannot be read or is not
/// an OpenAPI 3 document, exit 1 when a reduction fails its audit (a bug in
/// the reducer; nothing is written for that document).
pub fn run(args: ReduceArgs) -> Result<(), Failure> {
    let summary = reduce_into(&args.inputs, &args.out, args.prune)?;
    for (skipped, kept) in &summary.shadowed {
        eprintln!(
            "note: {} skipped: the same endpoint comes first from {}",
            skipped.display(),
            kept.display()
        );
    }
    for path in &summary.pruned {
        eprintln!("removed {}", path.display());
    }
    if !summary.dropped.is_empty() {
        let keys: Vec<String> = summary
            .dropped
            .iter()
            .map(|(key, n)| format!("{key} ({n})"))
            .collect();
        eprintln!("keys dropped (not on any allowlist): {}", keys.join(", "));
    }
    eprintln!(
        "reduced {} document(s) into {} ({} prose string(s) removed)",
        summary.written.len(),
        args.out.display(),
        summary.prose_removed
    );
    Ok(())
}

/// Reduces `inputs` into `out` (see [`ReduceArgs`]).
pub fn reduce_into(inputs: &[PathBuf], out: &Path, prune: bool) -> Result<Summary, Failure> {
    let files = expand(inputs)?;
    let out_dir = OutDir::create(out)?;
    let mut summary = Summary::default();
    let mut leaks = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
        let reduction =
            reduce::reduce_text(&file, &text).map_err(|e| Failure::Usage(e.to_string()))?;
        let original: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
        let name = output_name(&file, &reduction.document)?;
        if let Some(kept) = summary.written.get(&name) {
            summary.shadowed.push((file, kept.clone()));
            continue;
        }
        let found = reduce::audit(&original, &reduction.document);
        if !found.is_empty() {
            let list: Vec<String> = found.iter().take(5).map(ToString::to_string).collect();
            leaks.push(format!("{}: {}", file.display(), list.join("; ")));
            continue;
        }
        out_dir
            .write_if_changed(&name, reduce::to_text(&reduction.document).as_bytes())
            .map_err(|e| Failure::Api(format!("{}: {e}", out.join(&name).display())))?;
        summary.prose_removed += reduction.prose_removed;
        for (key, n) in reduction.dropped {
            *summary.dropped.entry(key).or_default() += n;
        }
        summary.written.insert(name, file);
    }
    if prune {
        let keep: BTreeSet<&str> = summary.written.keys().map(String::as_str).collect();
        summary.pruned = out_dir
            .remove_json_except(&keep)
            .map_err(|e| Failure::Api(format!("--prune in {}: {e}", out.display())))?;
    }
    if leaks.is_empty() {
        Ok(summary)
    } else {
        Err(Failure::Api(format!(
            "prose would survive the reduction of {} document(s), which were not written:\n  {}",
            leaks.len(),
            leaks.join("\n  ")
        )))
    }
}

/// Files first-to-last: a directory gives its `*.json` files, sorted.
fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let entries = std::fs::read_dir(input)
                .map_err(|e| Failure::Usage(format!("{}: {e}", input.display())))?;
            let mut found = Vec::new();
            for entry in entries {
                let path = entry
                    .map_err(|e| Failure::Usage(format!("{}: {e}", input.display())))?
                    .path();
                if path.extension().is_some_and(|e| e == "json") && path.is_file() {
                    found.push(path);
                }
            }
            found.sort();
            files.extend(found);
        } else if input.is_file() {
            files.push(input.clone());
        } else {
            return Err(Failure::Usage(format!(
                "{}: no such file or directory",
                input.display()
            )));
        }
    }
    Ok(files)
}

/// `<endpoint id with / as __>.json` for a queue document, else the input's
/// own file name.
fn output_name(file: &Path, document: &serde_json::Value) -> Result<String, Failure> {
    if let Some(id) = reduce::endpoint_id(document) {
        let id = fal_runtime::EndpointId::parse(&id)
            .map_err(|e| Failure::Usage(format!("{}: {e}", file.display())))?;
        return Ok(super::store::file_name(&id));
    }
    file.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| Failure::Usage(format!("{}: not a file name", file.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn queue_doc(id: &str, description: &str) -> String {
        json!({
            "openapi": "3.0.4",
            "info": {"title": format!("Queue OpenAPI for {id}"), "version": "1.0.0", "description": description},
            "paths": {
                format!("/{id}"): {"post": {"requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/In"}}}}, "responses": {"200": {"description": "The request status."}}}},
                format!("/{id}/requests/{{request_id}}/status"): {"get": {"responses": {"200": {"description": "The status."}}}}
            },
            "components": {"schemas": {"In": {"type": "object", "properties": {"prompt": {"type": "string", "description": description}}}}}
        })
        .to_string()
    }

    #[test]
    fn first_input_wins_and_prune_removes_strays() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let out = dir.path().join("out");
        for d in [&a, &b, &out] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(a.join("x.json"), queue_doc("acme/x", "First words.")).expect("write");
        std::fs::write(b.join("acme__x.json"), queue_doc("acme/x", "Second words."))
            .expect("write");
        std::fs::write(b.join("y.json"), queue_doc("acme/y", "More words.")).expect("write");
        let platform = json!({"openapi": "3.1.0", "info": {"title": "API", "version": "v1", "description": "Words."}, "paths": {}});
        std::fs::write(b.join("platform.json"), platform.to_string()).expect("write");
        std::fs::write(out.join("stale.json"), "{}").expect("write");
        std::fs::write(out.join("keep.txt"), "not json").expect("write");

        let summary = reduce_into(&[a.clone(), b.clone()], &out, true).expect("reduces");
        let names: Vec<&str> = summary.written.keys().map(String::as_str).collect();
        assert_eq!(names, ["acme__x.json", "acme__y.json", "platform.json"]);
        assert_eq!(summary.written["acme__x.json"], a.join("x.json"));
        assert_eq!(
            summary.shadowed,
            [(b.join("acme__x.json"), a.join("x.json"))]
        );
        assert_eq!(summary.pruned, [out.join("stale.json")]);
        assert!(out.join("keep.txt").exists(), "only *.json is pruned");
        let written = std::fs::read_to_string(out.join("acme__x.json")).expect("read");
        assert!(!written.contains("words"), "{written}");
        assert!(written.contains("\"title\": \"acme/x\""), "{written}");
    }

    #[test]
    fn bad_inputs_are_usage_errors_naming_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let missing = dir.path().join("missing.json");
        let err = reduce_into(std::slice::from_ref(&missing), &out, false).expect_err("missing");
        assert!(
            matches!(&err, Failure::Usage(m) if m.contains("missing.json")),
            "{err}"
        );
        let swagger = dir.path().join("swagger.json");
        std::fs::write(&swagger, r#"{"swagger": "2.0"}"#).expect("write");
        let err = reduce_into(&[swagger], &out, false).expect_err("not OpenAPI 3");
        assert!(
            matches!(&err, Failure::Usage(m) if m.contains("swagger.json")),
            "{err}"
        );
    }
}
