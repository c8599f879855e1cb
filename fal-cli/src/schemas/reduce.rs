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
    /// Leave out endpoints that a document in this directory already
    /// describes (e.g. the project's own `schemas/`, which keep their own
    /// words). Repeatable.
    #[arg(long, value_name = "DIR")]
    pub except: Vec<PathBuf>,
    /// Write nothing; exit 1 unless --out already holds exactly what this run
    /// would write (and, with --prune, nothing else).
    #[arg(long)]
    pub check: bool,
}

/// What a run did (or, checking, would do), for the summary and for callers.
#[derive(Debug, Default)]
pub struct Summary {
    /// Output file name -> the input it came from.
    pub written: BTreeMap<String, PathBuf>,
    /// Output files whose content changed (or, checking, would change).
    pub changed: Vec<String>,
    /// Inputs left out because an --except directory describes their endpoint.
    pub excepted: Vec<PathBuf>,
    /// Inputs skipped because an earlier one had the same output name.
    pub shadowed: Vec<(PathBuf, PathBuf)>,
    /// Files deleted (or, checking, that would be deleted) by --prune.
    pub pruned: Vec<PathBuf>,
    /// Prose strings removed (or replaced by neutral text in examples),
    /// over all documents.
    pub prose_removed: usize,
    /// Examples their own schema refuses, dropped, over all documents.
    pub contradicting_examples: usize,
    /// Keys no allowlist names, over all documents.
    pub dropped: BTreeMap<String, usize>,
}

/// Runs `fal schemas reduce`: exit 2 when an input cannot be read or is not
/// an OpenAPI 3 document, exit 1 when a reduction fails its audit (a bug in
/// the reducer; nothing is written for that document).
pub fn run(args: ReduceArgs) -> Result<(), Failure> {
    let options = Options {
        prune: args.prune,
        except: &args.except,
        check: args.check,
    };
    let summary = reduce_into(&args.inputs, &args.out, &options)?;
    if args.check {
        let mut stale: Vec<String> = summary.changed.clone();
        stale.extend(
            summary
                .pruned
                .iter()
                .map(|p| format!("{} (not an input)", p.display())),
        );
        if stale.is_empty() {
            eprintln!(
                "{} is up to date ({} document(s))",
                args.out.display(),
                summary.written.len()
            );
            return Ok(());
        }
        return Err(Failure::Api(format!(
            "{} is stale: {}; rerun without --check",
            args.out.display(),
            stale.join(", ")
        )));
    }
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
        "reduced {} document(s) into {} ({} prose string(s) removed or made neutral, {} \
         example(s) their own schema refuses dropped)",
        summary.written.len(),
        args.out.display(),
        summary.prose_removed,
        summary.contradicting_examples
    );
    Ok(())
}

/// How [`reduce_into`] runs (the flags of [`ReduceArgs`]).
#[derive(Debug, Default)]
pub struct Options<'a> {
    /// Delete `*.json` files of the output that were not written.
    pub prune: bool,
    /// Directories whose endpoints are left out.
    pub except: &'a [PathBuf],
    /// Compare instead of writing.
    pub check: bool,
}

/// Reduces `inputs` into `out` (see [`ReduceArgs`]).
pub fn reduce_into(
    inputs: &[PathBuf],
    out: &Path,
    options: &Options<'_>,
) -> Result<Summary, Failure> {
    let files = expand(inputs)?;
    let excepted = excepted_names(options.except)?;
    let out_dir = if options.check {
        OutDir::existing(out)
    } else {
        OutDir::create(out)?
    };
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
        if excepted.contains(&name) {
            summary.excepted.push(file);
            continue;
        }
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
        let text = reduce::to_text(&reduction.document);
        let io = |e: std::io::Error| Failure::Api(format!("{}: {e}", out.join(&name).display()));
        let changed = if options.check {
            !out_dir.holds(&name, text.as_bytes()).map_err(io)?
        } else {
            out_dir
                .write_if_changed(&name, text.as_bytes())
                .map_err(io)?
        };
        if changed {
            summary.changed.push(name.clone());
        }
        summary.prose_removed += reduction.prose_removed;
        summary.contradicting_examples += reduction.contradicting_examples;
        for (key, n) in reduction.dropped {
            *summary.dropped.entry(key).or_default() += n;
        }
        summary.written.insert(name, file);
    }
    summary.changed.sort();
    if options.prune {
        let keep: BTreeSet<&str> = summary.written.keys().map(String::as_str).collect();
        summary.pruned = out_dir
            .json_except(&keep, !options.check)
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

/// The output names the documents in `dirs` would get (their endpoints).
fn excepted_names(dirs: &[PathBuf]) -> Result<BTreeSet<String>, Failure> {
    let mut names = BTreeSet::new();
    for file in expand(dirs)? {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Failure::Usage(format!("--except {}: {e}", file.display())))?;
        let document: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| Failure::Usage(format!("--except {}: {e}", file.display())))?;
        names.insert(output_name(&file, &document)?);
    }
    Ok(names)
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

        let prune = Options {
            prune: true,
            ..Options::default()
        };
        let summary = reduce_into(&[a.clone(), b.clone()], &out, &prune).expect("reduces");
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
        assert_eq!(summary.changed.len(), 3);

        // Nothing changes on a second run, and --check agrees.
        let again = reduce_into(&[a.clone(), b.clone()], &out, &prune).expect("reduces");
        assert!(again.changed.is_empty() && again.pruned.is_empty());
        let check = Options {
            prune: true,
            check: true,
            ..Options::default()
        };
        let fresh = reduce_into(&[a.clone(), b.clone()], &out, &check).expect("checks");
        assert!(fresh.changed.is_empty() && fresh.pruned.is_empty());

        // --check reports a changed, a missing and a stray file, touching none.
        std::fs::write(out.join("acme__y.json"), "{}").expect("write");
        std::fs::remove_file(out.join("platform.json")).expect("remove");
        std::fs::write(out.join("stray.json"), "{}").expect("write");
        let stale = reduce_into(&[a.clone(), b.clone()], &out, &check).expect("checks");
        assert_eq!(stale.changed, ["acme__y.json", "platform.json"]);
        assert_eq!(stale.pruned, [out.join("stray.json")]);
        assert_eq!(
            std::fs::read_to_string(out.join("acme__y.json")).expect("read"),
            "{}"
        );
        assert!(out.join("stray.json").exists());
    }

    #[test]
    fn except_leaves_out_endpoints_described_elsewhere() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ours = dir.path().join("ours");
        let theirs = dir.path().join("theirs");
        let out = dir.path().join("out");
        for d in [&ours, &theirs] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(ours.join("mine.json"), queue_doc("acme/x", "Ours.")).expect("write");
        std::fs::write(theirs.join("acme__x.json"), queue_doc("acme/x", "Theirs.")).expect("write");
        std::fs::write(theirs.join("acme__y.json"), queue_doc("acme/y", "Theirs.")).expect("write");
        let options = Options {
            except: std::slice::from_ref(&ours),
            ..Options::default()
        };
        let summary = reduce_into(std::slice::from_ref(&theirs), &out, &options).expect("reduces");
        let names: Vec<&str> = summary.written.keys().map(String::as_str).collect();
        assert_eq!(names, ["acme__y.json"]);
        assert_eq!(summary.excepted, [theirs.join("acme__x.json")]);
    }

    #[test]
    fn bad_inputs_are_usage_errors_naming_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let missing = dir.path().join("missing.json");
        let none = Options::default();
        let err = reduce_into(std::slice::from_ref(&missing), &out, &none).expect_err("missing");
        assert!(
            matches!(&err, Failure::Usage(m) if m.contains("missing.json")),
            "{err}"
        );
        let swagger = dir.path().join("swagger.json");
        std::fs::write(&swagger, r#"{"swagger": "2.0"}"#).expect("write");
        let err = reduce_into(&[swagger], &out, &none).expect_err("not OpenAPI 3");
        assert!(
            matches!(&err, Failure::Usage(m) if m.contains("swagger.json")),
            "{err}"
        );
    }
}
