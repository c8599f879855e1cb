//! `fal codegen generate|check`: the same generator a build script runs
//! (`fal_codegen::Builder`), for bindings kept in the source tree.
//!
//! Exit codes (DESIGN.md): 0 done / up to date, 1 `check` found the file stale,
//! 2 bad input (unreadable directory, broken schema: the message names the
//! file and JSON pointer).

use std::path::Path;

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
