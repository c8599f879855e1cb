//! Generates typed bindings for the endpoint documents in the repository's
//! `schemas/` directory into `OUT_DIR/endpoints.rs` (see `src/lib.rs`, module
//! `endpoints`). Reruns when that directory or any document in it changes.
//! Without the directory (e.g. a packaged crate) the module is empty.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(manifest) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        eprintln!("error: CARGO_MANIFEST_DIR is not set");
        return ExitCode::FAILURE;
    };
    let schemas = manifest.join("../schemas");
    println!("cargo:rerun-if-changed={}", schemas.display());
    let builder = fal_codegen::Builder::new().out_file("endpoints.rs");
    let builder = if schemas.is_dir() {
        builder.schema_dir(&schemas)
    } else {
        builder
    };
    match builder.build() {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            // A broken schema names its file and JSON pointer here.
            eprintln!("error: generating bindings from schemas/: {error}");
            ExitCode::FAILURE
        }
    }
}
