//! `fal codegen generate|check`: the same generator a build script runs
//! (`fal_codegen::Builder`), for bindings kept in the source tree: one file
//! (`--out`), or a crate of bundled bindings with one feature per endpoint
//! (`--crate`, `fal_codegen::Bundle`; how `fal-endpoints` is made); and
//! `fal codegen rest`, a typed client module for a REST document
//! (`fal_codegen::generate_rest`), which is how fal-runtime's Platform API
//! client is written and checked.
//!
//! Exit codes (DESIGN.md): 0 done / up to date, 1 `check` found the bindings
//! stale, 2 bad input (unreadable directory, broken schema: the message names
//! the file and JSON pointer).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::{CodegenArgs, Failure};

/// Writes bindings for every `*.json` document in `--schemas` to `--out` or
/// into the `--crate` (files left untouched when already identical, so builds
/// do not rerun).
pub fn generate(args: CodegenArgs) -> Result<(), Failure> {
    let usage = |e: fal_codegen::Error| Failure::Usage(e.to_string());
    match target(&args)? {
        Target::File(out) => {
            let generated = builder(&args.schemas).write_to(out).map_err(usage)?;
            eprintln!(
                "wrote bindings for {} endpoint(s) to {}",
                generated.endpoints.len(),
                out.display()
            );
        }
        Target::Crate(dir) => {
            let rendered = bundle(dir, &args).write().map_err(usage)?;
            let crates: Vec<String> = rendered
                .crates
                .iter()
                .map(|c| c.dir.display().to_string())
                .collect();
            eprintln!(
                "wrote bundled bindings for {} endpoint(s) into {}",
                rendered.endpoints.len(),
                crates.join(", ")
            );
        }
    }
    Ok(())
}

/// Fails (exit 1) unless `--out` or the `--crate` holds exactly what `generate`
/// would write.
pub fn check(args: CodegenArgs) -> Result<(), Failure> {
    let usage = |e: fal_codegen::Error| Failure::Usage(e.to_string());
    let stale = |what: &Path, why: &str| {
        Failure::Api(format!(
            "{} {why}; run `fal codegen generate {}`",
            what.display(),
            rerun(&args)
        ))
    };
    match target(&args)? {
        Target::File(out) => {
            let generated = builder(&args.schemas).generate().map_err(usage)?;
            match std::fs::read_to_string(out) {
                Ok(existing) if existing == generated.code => {
                    eprintln!(
                        "{} is up to date ({} endpoint(s))",
                        out.display(),
                        generated.endpoints.len()
                    );
                    Ok(())
                }
                Ok(_) => Err(stale(out, "is stale")),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(stale(out, "does not exist"))
                }
                Err(e) => Err(Failure::Usage(format!("{}: {e}", out.display()))),
            }
        }
        Target::Crate(dir) => {
            let bundle = bundle(dir, &args);
            let staleness = bundle.check().map_err(usage)?;
            if staleness.is_fresh() {
                eprintln!("{} is up to date", dir.display());
                Ok(())
            } else {
                Err(stale(dir, &format!("is stale: {staleness}")))
            }
        }
    }
}

enum Target<'a> {
    File(&'a Path),
    Crate(&'a Path),
}

/// Where the bindings go (clap already refuses both or neither).
fn target(args: &CodegenArgs) -> Result<Target<'_>, Failure> {
    match (&args.out, &args.crate_dir) {
        (None, Some(dir)) => Ok(Target::Crate(dir)),
        (Some(out), None) => Ok(Target::File(out)),
        _ => Err(Failure::Usage(
            "give exactly one of --out FILE and --crate DIR".to_owned(),
        )),
    }
}

/// The arguments that regenerate what `args` checks.
fn rerun(args: &CodegenArgs) -> String {
    let mut words: Vec<String> = args
        .schemas
        .iter()
        .map(|dir| format!("--schemas {}", dir.display()))
        .collect();
    match target(args) {
        Ok(Target::File(out)) => words.push(format!("--out {}", out.display())),
        Ok(Target::Crate(dir)) => {
            words.push(format!("--crate {}", dir.display()));
            if args.in_parts {
                words.push("--in-parts".to_owned());
            }
        }
        Err(_) => {}
    }
    words.join(" ")
}

fn builder(schemas: &[PathBuf]) -> fal_codegen::Builder {
    schemas
        .iter()
        .fold(fal_codegen::Builder::new(), |builder, dir| {
            builder.schema_dir(dir)
        })
}

fn bundle(dir: &Path, args: &CodegenArgs) -> fal_codegen::Bundle {
    let bundle = args
        .schemas
        .iter()
        .fold(fal_codegen::Bundle::new(dir), |bundle, schemas| {
            bundle.schema_dir(schemas)
        });
    if args.in_parts {
        bundle.in_parts(fal_codegen::bundle::CATALOGUE_PARTS)
    } else {
        bundle
    }
}

/// `fal codegen rest`.
#[derive(Args, Debug)]
pub struct RestArgs {
    /// The OpenAPI 3.0/3.1 REST document (e.g. one reduced by `fal schemas reduce`).
    #[arg(long)]
    pub document: PathBuf,
    /// The module file to write (or check).
    #[arg(long)]
    pub out: PathBuf,
    /// A file listing the `operationId`s to generate, one per line (`#` starts
    /// a comment); every operation when absent.
    #[arg(long)]
    pub operations: Option<PathBuf>,
    /// Write nothing; exit 1 unless --out already holds exactly this.
    #[arg(long)]
    pub check: bool,
}

/// Runs `fal codegen rest`: exit 2 for an unreadable or invalid document or
/// list (the message names the file and JSON pointer), 1 when --check finds
/// the module stale.
pub fn rest(args: RestArgs) -> Result<(), Failure> {
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map_err(|e| Failure::Usage(format!("{}: {e}", path.display())))
    };
    let text = read(&args.document)?;
    let document = fal_codegen::parse::rest::parse_rest_document(&args.document, &text)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let operations: BTreeSet<String> = match &args.operations {
        Some(list) => read(list)?
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default().trim())
            .filter(|line| !line.is_empty())
            .map(str::to_owned)
            .collect(),
        None => BTreeSet::new(),
    };
    let generated = fal_codegen::generate_rest(&document, &operations)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    for (id, why) in &generated.skipped {
        eprintln!("note: operation {id} left out: {why}");
    }
    let count = generated.operations.len();
    if args.check {
        return match std::fs::read_to_string(&args.out) {
            Ok(existing) if existing == generated.code => {
                eprintln!(
                    "{} is up to date ({count} operation(s))",
                    args.out.display()
                );
                Ok(())
            }
            Ok(_) => Err(Failure::Api(format!(
                "{} is stale; run the same command without --check",
                args.out.display()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Failure::Api(format!(
                "{} does not exist; run the same command without --check",
                args.out.display()
            ))),
            Err(e) => Err(Failure::Usage(format!("{}: {e}", args.out.display()))),
        };
    }
    if std::fs::read_to_string(&args.out).is_ok_and(|existing| existing == generated.code) {
        eprintln!(
            "{} is up to date ({count} operation(s))",
            args.out.display()
        );
        return Ok(());
    }
    std::fs::write(&args.out, &generated.code)
        .map_err(|e| Failure::Usage(format!("{}: {e}", args.out.display())))?;
    eprintln!("wrote {count} operation(s) to {}", args.out.display());
    Ok(())
}
