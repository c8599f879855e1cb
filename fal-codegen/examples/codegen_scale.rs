//! Benchmark (not a test): generation time as one document grows, to show
//! it stays linear in the document's size (issue: 80k properties once took
//! 86 s). One process per size, so a caller can read each size's peak memory:
//!
//! ```text
//! cargo build --release -p fal-codegen --example codegen_scale
//! for n in 10000 100000 1000000; do
//!   /usr/bin/time -f "%e s %M KB" target/release/examples/codegen_scale $n
//! done
//! ```
//!
//! The document's input has `n` properties: plain strings, numbers with
//! limits, and every tenth an inline string enum of three values (so naming,
//! rules and enums are all exercised). The same-run baseline is parsing the
//! document's text into `serde_json::Value`; the figure to compare across
//! sizes is the time per property.

use std::time::Instant;

use serde_json::{json, Map, Value};

fn document(n: usize) -> String {
    let mut properties = Map::new();
    let mut order = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("field_{i}");
        let schema = match i % 10 {
            0 => json!({ "type": "string", "enum": [format!("a{i}"), "b", "c"] }),
            1..=3 => json!({ "type": "integer", "minimum": 0, "maximum": i }),
            _ => json!({ "type": "string", "maxLength": 100 }),
        };
        order.push(Value::from(name.clone()));
        properties.insert(name, schema);
    }
    json!({
        "openapi": "3.0.4",
        "paths": { "/acme/wide": { "post": { "requestBody": { "content": {
            "application/json": { "schema": { "$ref": "#/components/schemas/WideInput" } }
        } } } } },
        "components": { "schemas": { "WideInput": {
            "type": "object",
            "x-fal-order-properties": order,
            "properties": properties,
        } } }
    })
    .to_string()
}

fn main() -> std::process::ExitCode {
    let Some(n) = std::env::args()
        .nth(1)
        .and_then(|a| a.parse::<usize>().ok())
    else {
        eprintln!("usage: codegen_scale PROPERTIES");
        return std::process::ExitCode::from(2);
    };
    let text = document(n);
    let started = Instant::now();
    let _ = std::hint::black_box(serde_json::from_str::<Value>(&text));
    let baseline = started.elapsed();

    let path = std::path::Path::new("wide.json");
    let t = Instant::now();
    let doc = match fal_codegen::parse::parse_document(path, &text) {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let parse = t.elapsed();
    let t = Instant::now();
    let ir = match fal_codegen::ir::lower(std::slice::from_ref(&doc)) {
        Ok(ir) => ir,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    let lower = t.elapsed();
    let t = Instant::now();
    let code = fal_codegen::emit::render(&ir);
    let emit = t.elapsed();
    let total = parse + lower + emit;
    println!(
        "| {n} | {:.1} MB | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms ({:.1}x) | {:.2} µs | {:.1} MB |",
        text.len() as f64 / 1e6,
        baseline.as_secs_f64() * 1e3,
        parse.as_secs_f64() * 1e3,
        lower.as_secs_f64() * 1e3,
        emit.as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3,
        total.as_secs_f64() / baseline.as_secs_f64().max(1e-9),
        total.as_secs_f64() * 1e6 / n.max(1) as f64,
        code.map(|c| c.len()).unwrap_or_default() as f64 / 1e6,
    );
    std::process::ExitCode::SUCCESS
}
