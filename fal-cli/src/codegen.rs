//! `fal codegen generate|check`: the same generator a build script runs
//! (`fal_codegen::Builder`), for bindings kept in the source tree: one file
//! (`--out`), or a crate of bundled bindings with one feature per endpoint
//! (`--crate`, `fal_codegen::Bundle`; how `fal-endpoints` is made).
//!
//! Exit codes (DESIGN.md): 0 done / up to date, 1 `check` found the bindings
//! stale, 2 bad input (unreadable directory, broken schema: the message names
//! the file and JSON pointer).

use std::path::{Path, PathBuf};

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
            let rendered = bundle(dir, &args.schemas).write().map_err(usage)?;
            eprintln!(
                "wrote bundled bindings for {} endpoint(s) into {}",
                rendered.endpoints.len(),
                dir.display()
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
            let bundle = bundle(dir, &args.schemas);
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
        Ok(Target::Crate(dir)) => words.push(format!("--crate {}", dir.display())),
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

fn bundle(dir: &Path, schemas: &[PathBuf]) -> fal_codegen::Bundle {
    schemas
        .iter()
        .fold(fal_codegen::Bundle::new(dir), |bundle, schemas| {
            bundle.schema_dir(schemas)
        })
}
