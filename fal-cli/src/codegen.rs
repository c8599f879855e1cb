//! `fal codegen generate|check`: the same generator a build script runs
//! (`fal_codegen::Builder`), for bindings kept in the source tree; and
//! `fal codegen rest`, a typed client module for a REST document
//! (`fal_codegen::generate_rest`), which is how fal-runtime's Platform API
//! client is written and checked.
//!
//! Exit codes (DESIGN.md): 0 done / up to date, 1 `check` found the file stale,
//! 2 bad input (unreadable directory, broken schema: the message names the
//! file and JSON pointer).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::{CodegenArgs, Failure};

/// Writes bindings for every `*.json` document in `--schemas` to `--out`
/// (left untouched when already identical, so builds do not rerun).
pub fn generate(args: CodegenArgs) -> Result<(), Failure> {
    let generated = builder(&args.schemas)
        .write_to(&args.out)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    eprintln!(
        "wrote bindings for {} endpoint(s) to {}",
        generated.endpoints.len(),
        args.out.display()
    );
    Ok(())
}

/// Fails (exit 1) unless `--out` holds exactly what `generate` would write.
pub fn check(args: CodegenArgs) -> Result<(), Failure> {
    let generated = builder(&args.schemas)
        .generate()
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let stale = |why: &str| {
        Failure::Api(format!(
            "{} {why}; run `fal codegen generate --schemas {} --out {}`",
            args.out.display(),
            args.schemas.display(),
            args.out.display()
        ))
    };
    match std::fs::read_to_string(&args.out) {
        Ok(existing) if existing == generated.code => {
            eprintln!(
                "{} is up to date ({} endpoint(s))",
                args.out.display(),
                generated.endpoints.len()
            );
            Ok(())
        }
        Ok(_) => Err(stale("is stale")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(stale("does not exist")),
        Err(e) => Err(Failure::Usage(format!("{}: {e}", args.out.display()))),
    }
}

fn builder(schemas: &Path) -> fal_codegen::Builder {
    fal_codegen::Builder::new().schema_dir(schemas)
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
