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

    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let generated = match builder.generate() {
        Ok(generated) => generated,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let total = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;

    // The same work again, phase by phase.
    let mut phases = Vec::new();
    let t = Instant::now();
    let mut documents = Vec::new();
    for file in &files {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Ok(doc) = fal_codegen::parse::parse_document(file, &text) {
                documents.push(doc);
            }
        }
    }
    phases.push(("read + parse documents", t.elapsed()));
    let t = Instant::now();
    let Ok(ir) = fal_codegen::ir::lower(&documents) else {
        return std::process::ExitCode::from(1);
    };
    phases.push(("lower to IR", t.elapsed()));
    let t = Instant::now();
    let _ = std::hint::black_box(fal_codegen::emit::render(&ir));
    phases.push(("emit + format (all cores)", t.elapsed()));
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
    println!(
        "| CPU time of the process for the full run (user+sys) | {:.0} ms |",
        cpu * 1e3
    );
    for (name, took) in phases {
        println!("| phase: {name} | {:.1} ms |", took.as_secs_f64() * 1e3);
    }
    if let Some(out) = out {
        if let Err(e) = std::fs::write(&out, &generated.code) {
            eprintln!("error: {}: {e}", out.display());
            return std::process::ExitCode::from(1);
        }
    }
    std::process::ExitCode::SUCCESS
}

/// User + system CPU seconds of this process so far (Linux `/proc/self/stat`;
/// 0 elsewhere). Wall time on a shared machine includes waiting for a core.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
