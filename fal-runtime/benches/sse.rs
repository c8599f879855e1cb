//! SSE events parsed per second, against a same-run baseline.
//!
//! Run: `cargo bench -p fal-runtime --bench sse`
//!
//! The body is 100 000 events fed in 16 KiB chunks (what reqwest typically hands
//! over). Rows:
//! - `line split (baseline)`: memchr line splitting that counts `data:` lines,
//!   no SSE semantics, no copies: the floor any SSE parser sits on;
//! - `SSE framing`: our parser (line endings, fields, event assembly, UTF-8);
//! - `JSON -> Value only` / `JSON -> struct only` (baselines): `serde_json`
//!   parsing each payload, no SSE at all;
//! - `framing + decode`: what `EventStream` does per event (framing, the
//!   error-event probe, and the decode), to `serde_json::Value` and to a struct.

use std::hint::black_box;
use std::time::{Duration, Instant};

use fal_runtime::stream::__bench;
use serde::Deserialize;

const EVENTS: usize = 100_000;
const CHUNK: usize = 16 * 1024;

#[derive(Deserialize)]
#[allow(dead_code)] // fields exist to be decoded
struct LlmEvent {
    output: String,
    partial: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FluxEvent {
    images: Vec<fal_runtime::Image>,
    seed: u64,
    prompt: String,
    has_nsfw_concepts: Vec<bool>,
}

fn llm_body() -> Vec<u8> {
    let mut body = Vec::new();
    for n in 0..EVENTS {
        body.extend_from_slice(
            format!("data: {{\"output\":\"token {n} of a streamed answer\",\"partial\":true,\"error\":null}}\r\n\r\n")
                .as_bytes(),
        );
    }
    body
}

fn flux_body() -> Vec<u8> {
    let mut body = Vec::new();
    for n in 0..EVENTS {
        body.extend_from_slice(format!(
            "data: {{\"images\":[{{\"url\":\"https://v3.fal.media/files/testkit/1024x768-{n}-0.png\",\"width\":1024,\"height\":768,\"content_type\":\"image/png\"}}],\"timings\":{{\"inference\":0.1}},\"seed\":{n},\"has_nsfw_concepts\":[false],\"prompt\":\"a lighthouse at dusk, oil painting\"}}\n\n"
        ).as_bytes());
    }
    body
}

/// The baseline: split lines with memchr (carrying a line cut by a chunk
/// boundary over to the next chunk) and count those starting with `data:`.
fn line_split(body: &[u8]) -> usize {
    let mut count = 0;
    let mut pending: Vec<u8> = Vec::new();
    for chunk in body.chunks(CHUNK) {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            let line = &chunk[start..end];
            let is_data = if pending.is_empty() {
                line.starts_with(b"data:")
            } else {
                pending.extend_from_slice(line);
                let is = pending.starts_with(b"data:");
                pending.clear();
                is
            };
            count += usize::from(is_data);
            start = end + 1;
        }
        pending.extend_from_slice(&chunk[start..]);
    }
    count
}

fn payloads(body: &[u8]) -> Vec<&[u8]> {
    body.split(|b| *b == b'\n')
        .filter_map(|line| line.strip_prefix(b"data: "))
        .map(|p| p.strip_suffix(b"\r").unwrap_or(p))
        .collect()
}

/// Best of five runs, in events per second.
fn rate(mut run: impl FnMut() -> usize) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let n = black_box(run());
        assert_eq!(n, EVENTS, "every event counted");
        best = best.min(start.elapsed());
    }
    EVENTS as f64 / best.as_secs_f64()
}

fn table<T: serde::de::DeserializeOwned>(name: &str, body: &[u8]) {
    let data = payloads(body);
    let split = rate(|| line_split(body));
    let frame = rate(|| __bench::frame(body, CHUNK).expect("valid body"));
    let json = rate(|| {
        data.iter()
            .map(|p| {
                serde_json::from_slice::<serde_json::Value>(p)
                    .map(black_box)
                    .is_ok() as usize
            })
            .sum()
    });
    let json_typed = rate(|| {
        data.iter()
            .map(|p| serde_json::from_slice::<T>(p).map(black_box).is_ok() as usize)
            .sum()
    });
    let value = rate(|| __bench::decode::<serde_json::Value>(body, CHUNK).expect("decodes"));
    let typed_rate = rate(|| __bench::decode::<T>(body, CHUNK).expect("decodes"));
    let mib = body.len() as f64 / (1 << 20) as f64;
    println!("\n{name}: {EVENTS} events, {mib:.1} MiB, {CHUNK}-byte chunks");
    println!("{:<34} {:>14} {:>10}", "row", "events/s", "ratio");
    let row = |label: &str, r: f64, base: f64| {
        println!("{label:<34} {r:>14.0} {:>9.2}x", r / base);
    };
    row("line split (baseline)", split, split);
    row("SSE framing", frame, split);
    row("JSON -> Value only (baseline)", json, json);
    row("framing + decode -> Value", value, json);
    row("JSON -> struct only (baseline)", json_typed, json_typed);
    row("framing + decode -> struct", typed_rate, json_typed);
}

fn main() {
    table::<LlmEvent>("LLM-like partial outputs", &llm_body());
    table::<FluxEvent>("FLUX-like outputs", &flux_body());
}
