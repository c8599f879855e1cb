//! Benchmark (not a test): time to parse and generate bindings for every
//! document in the given directories, in total and per endpoint.
//!
//! ```text
//! cargo run --release -p fal-codegen --example codegen_bench -- ../shared/fal-schemas/bulk [--out FILE]
//! ```
//!
//! The baseline measured in the same run is reading and JSON-parsing the same
//! files into `serde_json::Value` (the unavoidable floor); generation is
//! reported as a ratio of it.

use std::path::PathBuf;
use std::time::Instant;

fn main() -> std::process::ExitCode {
    let mut dirs = Vec::new();
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--out" {
            out = args.next().map(PathBuf::from);
        } else {
            dirs.push(PathBuf::from(arg));
        }
    }
    if dirs.is_empty() {
        eprintln!("usage: codegen_bench DIR... [--out FILE]");
        return std::process::ExitCode::from(2);
    }
    let mut builder = fal_codegen::Builder::new();
    let mut files = Vec::new();
    for dir in &dirs {
        builder = builder.schema_dir(dir);
        if let Ok(entries) = std::fs::read_dir(dir) {
            files.extend(
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == "json")),
            );
        }
    }

    let started = Instant::now();
    let mut bytes = 0usize;
    for file in &files {
        if let Ok(text) = std::fs::read_to_string(file) {
            bytes += text.len();
            let _ = std::hint::black_box(serde_json::from_str::<serde_json::Value>(&text));
        }
    }
    let baseline = started.elapsed();

    let started = Instant::now();
    let generated = match builder.generate() {
        Ok(generated) => generated,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let total = started.elapsed();
    let n = generated.endpoints.len().max(1);
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| documents | {} ({:.1} MB) |",
        files.len(),
        bytes as f64 / 1e6
    );
    println!("| endpoints generated | {} |", generated.endpoints.len());
    println!(
        "| generated code | {:.1} MB, {} lines |",
        generated.code.len() as f64 / 1e6,
        generated.code.lines().count()
    );
    println!(
        "| baseline: read + serde_json::Value parse | {:.1} ms |",
        baseline.as_secs_f64() * 1e3
    );
    println!(
        "| parse + lower + emit + format (all) | {:.1} ms |",
        total.as_secs_f64() * 1e3
    );
    println!(
        "| per endpoint | {:.3} ms |",
        total.as_secs_f64() * 1e3 / n as f64
    );
    println!(
        "| ratio to baseline | {:.1}x |",
        total.as_secs_f64() / baseline.as_secs_f64().max(1e-9)
    );
    if let Some(out) = out {
        if let Err(e) = std::fs::write(&out, &generated.code) {
            eprintln!("error: {}: {e}", out.display());
            return std::process::ExitCode::from(1);
        }
    }
    std::process::ExitCode::SUCCESS
}
