//! Upload throughput and memory: `Client::upload_file` (multipart, parts in
//! parallel) against a bare reqwest PUT of the same file, both to a testkit
//! running in a child process, so the peak RSS measured is the client's own.
//!
//! Run (not part of `cargo test`):
//!
//! ```text
//! cargo bench -p fal-runtime --bench upload
//! FAL_BENCH_UPLOAD_MIB=256 cargo bench -p fal-runtime --bench upload   # smaller file
//! ```
//!
//! The file is generated in a temporary directory and deleted afterwards.
//! Each side runs twice, alternating; the table shows every run and the
//! ratio of the best runs (ours / bare throughput). Peak RSS is the process
//! high-water mark, reset before each run (`/proc/self/clear_refs`).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fal_runtime::storage::{UploadOptions, UploadSource};
use fal_runtime::Client;
use tokio_util::io::ReaderStream;

const SERVE_ENV: &str = "FAL_BENCH_SERVE";

fn main() {
    if std::env::var_os(SERVE_ENV).is_some() {
        serve();
        return;
    }
    if let Err(err) = bench() {
        eprintln!("upload bench failed: {err}");
        std::process::exit(1);
    }
}

/// Child mode: run a testkit, print its base URL, exit when stdin closes.
fn serve() {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async {
        let kit = fal_testkit::Testkit::builder()
            .start()
            .await
            .expect("testkit start");
        println!("{}", kit.base_url());
        let _ = std::io::stdout().flush();
        // Block until the parent closes our stdin.
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            while std::io::stdin()
                .read_line(&mut sink)
                .map(|n| n > 0)
                .unwrap_or(false)
            {}
        })
        .await;
        drop(kit);
    });
}

type Failure = Box<dyn std::error::Error>;

fn bench() -> Result<(), Failure> {
    let mib: u64 = std::env::var("FAL_BENCH_UPLOAD_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let size = mib * 1024 * 1024;

    let mut child = Command::new(std::env::current_exe()?)
        .env(SERVE_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no child stdout")?).read_line(&mut line)?;
    let base = line.trim().to_owned();

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench-upload.bin");
    write_file(&path, size)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(measure(&base, &path, size));
    drop(child.stdin.take());
    let _ = child.wait();
    drop(dir);
    result
}

/// Writes `size` bytes of a cheap non-repeating pattern, 1 MiB at a time.
fn write_file(path: &std::path::Path, size: u64) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut chunk = vec![0u8; 1 << 20];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut written = 0;
    while written < size {
        for word in chunk.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = (size - written).min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n])?;
        written += n as u64;
    }
    file.flush()
}

struct Run {
    name: &'static str,
    elapsed: Duration,
    peak_rss_kib: u64,
}

async fn measure(base: &str, path: &std::path::Path, size: u64) -> Result<(), Failure> {
    let key = fal_testkit::DEFAULT_KEY;
    let client = Client::builder()
        .key(key)
        .rest_url(format!("{base}/rest"))
        .queue_url(format!("{base}/queue"))
        .run_url(format!("{base}/run"))
        .ignore_env()
        .build()?;
    let http = reqwest::Client::new();
    let mut runs = Vec::new();
    for _ in 0..2 {
        reset_peak_rss();
        let start = Instant::now();
        bare_put(&http, base, key, path, size).await?;
        runs.push(Run {
            name: "bare reqwest PUT",
            elapsed: start.elapsed(),
            peak_rss_kib: peak_rss_kib(),
        });

        reset_peak_rss();
        let start = Instant::now();
        let url = client
            .upload(UploadSource::file(path), &UploadOptions::default())
            .await?;
        let elapsed = start.elapsed();
        runs.push(Run {
            name: "fal upload_file",
            elapsed,
            peak_rss_kib: peak_rss_kib(),
        });
        let served = http.get(&url).send().await?;
        let served_len = served.content_length().unwrap_or(0);
        if served_len != size {
            return Err(format!("served {served_len} bytes, uploaded {size}").into());
        }
    }

    let mib = size as f64 / (1024.0 * 1024.0);
    println!("upload of {mib:.0} MiB to the testkit (child process) over 127.0.0.1");
    println!(
        "{:<18} {:>10} {:>12} {:>14}",
        "run", "seconds", "MiB/s", "peak RSS MiB"
    );
    for run in &runs {
        println!(
            "{:<18} {:>10.3} {:>12.1} {:>14.1}",
            run.name,
            run.elapsed.as_secs_f64(),
            mib / run.elapsed.as_secs_f64(),
            run.peak_rss_kib as f64 / 1024.0
        );
    }
    let best = |name: &str| {
        runs.iter()
            .filter(|r| r.name == name)
            .map(|r| r.elapsed)
            .min()
            .unwrap_or(Duration::MAX)
    };
    let ratio = best("bare reqwest PUT").as_secs_f64() / best("fal upload_file").as_secs_f64();
    println!("throughput ratio (ours / bare, best runs): {:.2}", ratio);
    Ok(())
}

/// The baseline: one initiate, then the file streamed in a single PUT.
async fn bare_put(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    path: &std::path::Path,
    size: u64,
) -> Result<(), Failure> {
    let answer: serde_json::Value = http
        .post(format!("{base}/rest/storage/upload/initiate?storage_type=fal-cdn-v3"))
        .header("authorization", format!("Key {key}"))
        .json(&serde_json::json!({"content_type": "application/octet-stream", "file_name": "bare.bin"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let upload_url = answer["upload_url"].as_str().ok_or("no upload_url")?;
    let file = tokio::fs::File::open(path).await?;
    http.put(upload_url)
        .header("content-type", "application/octet-stream")
        .header("content-length", size)
        .body(reqwest::Body::wrap_stream(ReaderStream::with_capacity(
            file,
            256 * 1024,
        )))
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}

fn reset_peak_rss() {
    // "5" resets the high-water mark (Linux 4.0+); elsewhere the figure is
    // the process-wide peak, still an upper bound.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
