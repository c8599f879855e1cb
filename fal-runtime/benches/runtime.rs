//! Runtime overhead against bare reqwest, on the in-process testkit with zero
//! delays. Not a test: run it with
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target cargo bench -p fal-runtime --bench runtime
//! ```
//!
//! It measures, in one process and one run:
//! (a) sequential direct runs: median and p99 latency;
//! (b) 1,000 subscribes with 64 in flight: throughput and peak RSS (VmHWM,
//!     reset between rounds through /proc/self/clear_refs); five rounds of each,
//!     alternating, because one round lasts ~0.1 s and a shared machine is noisy;
//! (c) the same HTTP calls made by hand with one bare `reqwest::Client` as the baseline
//!     (run: one POST; subscribe: submit POST, status-stream GET read to its end,
//!     result GET).
//!
//! The testkit serves from the same process, so RSS includes its state, which
//! keeps every request it ever saw (later rounds start with all earlier rounds'
//! records; its journal is cleared between rounds). Each round starts with the
//! memory the allocator kept from the one before, so the first round of each side
//! is the cleanest comparison; the highest round shows the testkit's growth.

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use fal_runtime::Client;
use fal_testkit::Testkit;
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};

const SEQUENTIAL_RUNS: usize = 1_000;
const SUBSCRIBES: usize = 1_000;
const IN_FLIGHT: usize = 64;
const ROUNDS: usize = 5;
const ENDPOINT: &str = "fal-ai/flux/dev";
/// The bare-reqwest baseline sends the user agent the client sends by default.
const AGENT: &str = concat!("fal-rs/", env!("CARGO_PKG_VERSION"));

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(bench())
}

fn input() -> Value {
    json!({"prompt": "benchmark", "seed": 1})
}

/// The hand-written client: the same requests with the same headers (auth,
/// user agent, accept, content type), no retries, no typing.
struct Bare {
    http: reqwest::Client,
    auth: String,
    queue: String,
    run: String,
}

impl Bare {
    async fn run(&self) -> Result<Value, BoxError> {
        let response = self
            .http
            .post(format!("{}/{ENDPOINT}", self.run))
            .header("authorization", &self.auth)
            .header("user-agent", AGENT)
            .header("accept", "application/json")
            .json(&input())
            .send()
            .await?
            .error_for_status()?;
        Ok(serde_json::from_slice(&response.bytes().await?)?)
    }

    async fn subscribe(&self) -> Result<Value, BoxError> {
        let submitted: Value = self
            .http
            .post(format!("{}/{ENDPOINT}", self.queue))
            .header("authorization", &self.auth)
            .header("user-agent", AGENT)
            .header("accept", "application/json")
            .json(&input())
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let status_url = submitted["status_url"].as_str().ok_or("no status_url")?;
        let response_url = submitted["response_url"]
            .as_str()
            .ok_or("no response_url")?;
        let stream = self
            .http
            .get(format!("{status_url}/stream?logs=0"))
            .header("authorization", &self.auth)
            .header("user-agent", AGENT)
            .header("accept", "text/event-stream")
            .send()
            .await?
            .error_for_status()?;
        let body: Vec<bytes::Bytes> = stream.bytes_stream().try_collect().await?;
        if !body
            .iter()
            .any(|chunk| chunk.windows(9).any(|w| w == b"COMPLETED"))
        {
            return Err("stream ended without COMPLETED".into());
        }
        let result = self
            .http
            .get(response_url)
            .header("authorization", &self.auth)
            .header("user-agent", AGENT)
            .header("accept", "application/json")
            .send()
            .await?
            .error_for_status()?;
        Ok(serde_json::from_slice(&result.bytes().await?)?)
    }
}

async fn bench() -> Result<(), BoxError> {
    let tk = Testkit::builder()
        .queue_delay(Duration::ZERO)
        .run_duration(Duration::ZERO)
        .start()
        .await?;
    let client: Client = tk.client_builder().build()?;
    let bare = Bare {
        http: reqwest::Client::new(),
        auth: format!("Key {}", tk.key()),
        queue: tk.queue_url(),
        run: tk.run_url(),
    };

    // Warm both connection pools and the testkit.
    for _ in 0..50 {
        bare.run().await?;
        client.endpoint(ENDPOINT).run(input()).await?;
        bare.subscribe().await?;
        client.endpoint(ENDPOINT).subscribe(input()).await?;
    }

    // (a) sequential direct runs, interleaved so drift hits both alike, and
    // alternating which goes first so neither always follows the other.
    let mut bare_lat = Vec::with_capacity(SEQUENTIAL_RUNS);
    let mut ours_lat = Vec::with_capacity(SEQUENTIAL_RUNS);
    for i in 0..SEQUENTIAL_RUNS {
        for ours_turn in [i % 2 == 0, i % 2 != 0] {
            let t = Instant::now();
            if ours_turn {
                client.endpoint(ENDPOINT).run(input()).await?;
                ours_lat.push(t.elapsed());
            } else {
                bare.run().await?;
                bare_lat.push(t.elapsed());
            }
        }
    }

    // (b) concurrent subscribes: ROUNDS rounds of each, alternating so load from
    // other processes hits both alike; throughput is the median round, RSS the
    // highest per-round peak (VmHWM reset before each round).
    let mut bare_rounds = Vec::with_capacity(ROUNDS);
    let mut ours_rounds = Vec::with_capacity(ROUNDS);
    let (mut bare_peak, mut ours_peak) = (None, None);
    let (mut base_rss_before, mut ours_rss_before) = (None, None);
    let (mut bare_first, mut ours_first) = (None, None);
    for _ in 0..ROUNDS {
        // The journal copies every request's headers; it is test tooling, not
        // what is being measured.
        tk.clear_journal();
        reset_peak_rss();
        base_rss_before = base_rss_before.or(current_rss_kib());
        let t = Instant::now();
        futures::stream::iter(0..SUBSCRIBES)
            .map(|_| bare.subscribe())
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<_>>()
            .await?;
        bare_rounds.push(t.elapsed());
        bare_peak = bare_peak.max(peak_rss_kib());
        bare_first = bare_first.or(peak_rss_kib());

        tk.clear_journal();
        reset_peak_rss();
        ours_rss_before = ours_rss_before.or(current_rss_kib());
        let t = Instant::now();
        futures::stream::iter(0..SUBSCRIBES)
            .map(|_| client.endpoint(ENDPOINT).subscribe(input()).into_future())
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<_>>()
            .await?;
        ours_rounds.push(t.elapsed());
        ours_peak = ours_peak.max(peak_rss_kib());
        ours_first = ours_first.or(peak_rss_kib());
    }
    let bare_elapsed = percentile(&mut bare_rounds, 0.5);
    let ours_elapsed = percentile(&mut ours_rounds, 0.5);

    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let rate = |d: Duration| SUBSCRIBES as f64 / d.as_secs_f64();
    let mib = |k: Option<u64>| k.map(|k| k as f64 / 1024.0);
    let growth =
        |peak: Option<u64>, start: Option<u64>| Some(peak?.saturating_sub(start?) as f64 / 1024.0);
    let rows = [
        (
            format!("(a) run median, µs (n={SEQUENTIAL_RUNS})"),
            Some(micros(percentile(&mut ours_lat, 0.5))),
            Some(micros(percentile(&mut bare_lat, 0.5))),
        ),
        (
            "(a) run p99, µs".to_owned(),
            Some(micros(percentile(&mut ours_lat, 0.99))),
            Some(micros(percentile(&mut bare_lat, 0.99))),
        ),
        (
            format!(
                "(b) subscribes/s ({SUBSCRIBES}, {IN_FLIGHT} in flight; median of {ROUNDS} rounds)"
            ),
            Some(rate(ours_elapsed)),
            Some(rate(bare_elapsed)),
        ),
        (
            "(b) peak RSS (first round), MiB".to_owned(),
            mib(ours_first),
            mib(bare_first),
        ),
        (
            "(b) peak RSS (highest round), MiB".to_owned(),
            mib(ours_peak),
            mib(bare_peak),
        ),
        (
            "(b) RSS before first round, MiB".to_owned(),
            mib(ours_rss_before),
            mib(base_rss_before),
        ),
        (
            "(b) RSS growth over that, MiB".to_owned(),
            growth(ours_peak, ours_rss_before),
            growth(bare_peak, base_rss_before),
        ),
    ];
    println!("| measure | fal-runtime | bare reqwest | ratio (runtime / bare) |");
    println!("|---|---:|---:|---:|");
    for (name, ours, bare) in rows {
        let show = |v: Option<f64>| v.map_or("n/a".to_owned(), |v| format!("{v:.1}"));
        let ratio = match (ours, bare) {
            (Some(o), Some(b)) if b > 0.0 => format!("{:.3}", o / b),
            _ => "n/a".to_owned(),
        };
        println!("| {name} | {} | {} | {ratio} |", show(ours), show(bare));
    }
    Ok(())
}

fn percentile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples.get(index).copied().unwrap_or_default()
}

fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|line| line.starts_with(name))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn peak_rss_kib() -> Option<u64> {
    status_field("VmHWM:")
}

fn current_rss_kib() -> Option<u64> {
    status_field("VmRSS:")
}

/// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
