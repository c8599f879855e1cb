//! `fal batch` against a plain semaphore + subscribe loop, in the same run.
//!
//! ```text
//! cargo bench -p fal-cli --bench batch                      # 10,000 jobs, both scenarios
//! cargo bench -p fal-cli --bench batch -- --jobs 2000       # smaller
//! ```
//!
//! A testkit serves in this process; each client runs as a child process so
//! its peak RSS (`VmHWM`) and open sockets (`/proc/PID/fd`) are its own,
//! sampled every 20 ms. Both clients get the same jobs (a prompt, a seed and a
//! 64x64 image, so the testkit's PNG drawing stays cheap), the same
//! concurrency, and both save every output and its image:
//! - `fal batch run` (the durable runner: SQLite state, result lines, files);
//! - `baseline`: this binary again, as a loop of `subscribe` calls under a
//!   semaphore of the same size, appending outputs to a JSONL file and
//!   downloading the images, with no state (what people write by hand).
//!
//! Scenarios: zero delays (pure overhead) and realistic ones (a queue wait and
//! a run time per request). Then resume pickup: a batch whose 10,000 requests
//! are all submitted and recorded is killed, and the time for `fal batch
//! resume` to be following every one of them again (a status poll seen for
//! each) is measured, against the time the first run took to submit them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fal_testkit::{RouteKind, Testkit};
use serde_json::{json, Value};

const ENDPOINT: &str = "fal-ai/flux/dev";

struct Settings {
    jobs: u64,
    concurrency: usize,
    queue_delay_ms: u64,
    run_ms: u64,
}

fn arg(args: &[String], name: &str) -> Option<u64> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("baseline-child") {
        baseline_child(&args[2..]);
        return;
    }
    let settings = Settings {
        jobs: arg(&args, "--jobs").unwrap_or(10_000),
        concurrency: arg(&args, "--concurrency").unwrap_or(64) as usize,
        queue_delay_ms: arg(&args, "--queue-delay-ms").unwrap_or(200),
        run_ms: arg(&args, "--run-ms").unwrap_or(800),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(bench(settings));
}

struct Measured {
    wall: Duration,
    peak_rss_kib: u64,
    peak_sockets: usize,
    ok: bool,
}

/// Samples a child's memory and sockets until it exits.
async fn measure(mut child: Child) -> Measured {
    let started = Instant::now();
    let pid = child.id();
    let mut peak_rss_kib = 0;
    let mut peak_sockets = 0;
    loop {
        if let Some(rss) = vm_hwm(pid) {
            peak_rss_kib = peak_rss_kib.max(rss);
        }
        peak_sockets = peak_sockets.max(sockets(pid));
        if let Some(status) = child.try_wait().expect("wait") {
            return Measured {
                wall: started.elapsed(),
                peak_rss_kib,
                peak_sockets,
                ok: status.success(),
            };
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn sockets(pid: u32) -> usize {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

fn env_for(command: &mut Command, kit: &Testkit) {
    command
        .env("FAL_KEY", kit.key())
        .env("FAL_QUEUE_URL", kit.queue_url())
        .env("FAL_RUN_URL", kit.run_url())
        .env("FAL_REST_URL", kit.rest_url())
        .env("FAL_API_URL", kit.api_url())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
}

fn write_input(dir: &Path, jobs: u64) -> PathBuf {
    let path = dir.join("in.jsonl");
    let mut text = String::new();
    for n in 1..=jobs {
        let job = json!({"prompt": format!("job {n}"), "seed": n, "image_size": {"width": 64, "height": 64}});
        text.push_str(&job.to_string());
        text.push('\n');
    }
    std::fs::write(&path, text).expect("write the input");
    path
}

async fn testkit(queue_delay: Duration, run: Duration) -> Testkit {
    Testkit::builder()
        .queue_delay(queue_delay)
        .run_duration(run)
        .start()
        .await
        .expect("testkit starts")
}

fn batch_child(kit: &Testkit, input: &Path, out: &Path, concurrency: usize, poll: &str) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fal"));
    env_for(&mut command, kit);
    command
        .args(["batch", "run", ENDPOINT, "--input"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .args([
            "--concurrency",
            &concurrency.to_string(),
            "--poll-interval",
            poll,
        ]);
    command.spawn().expect("fal batch run starts")
}

fn baseline(kit: &Testkit, input: &Path, out: &Path, concurrency: usize) -> Child {
    let mut command = Command::new(std::env::current_exe().expect("own path"));
    env_for(&mut command, kit);
    command
        .arg("baseline-child")
        .arg(input)
        .arg(out)
        .arg(concurrency.to_string());
    command.spawn().expect("baseline starts")
}

/// One table row; the ratios are against the baseline of the same scenario
/// (throughput: higher is faster; RSS and sockets: lower is less).
fn row(scenario: &str, client: &str, jobs: u64, m: &Measured, baseline: &Measured) {
    let rate = jobs as f64 / m.wall.as_secs_f64();
    let ratio = |ours: f64, theirs: f64| {
        if theirs > 0.0 {
            format!("{:.2}", ours / theirs)
        } else {
            "-".to_owned()
        }
    };
    println!(
        "| {scenario} | {client} | {jobs} | {:.1} | {rate:.0} | {} | {:.1} | {} | {} | {} |{}",
        m.wall.as_secs_f64(),
        ratio(baseline.wall.as_secs_f64(), m.wall.as_secs_f64()),
        m.peak_rss_kib as f64 / 1024.0,
        ratio(m.peak_rss_kib as f64, baseline.peak_rss_kib as f64),
        m.peak_sockets,
        ratio(m.peak_sockets as f64, baseline.peak_sockets as f64),
        if m.ok { "" } else { " FAILED" }
    );
}

/// The machine's load, printed with the figures (they were measured on
/// whatever else the machine was doing).
fn uptime() {
    if let Ok(out) = Command::new("uptime").output() {
        print!("uptime: {}", String::from_utf8_lossy(&out.stdout));
    }
}

async fn bench(s: Settings) {
    println!(
        "{} jobs, concurrency {}; realistic = {} ms queued + {} ms running per request",
        s.jobs, s.concurrency, s.queue_delay_ms, s.run_ms
    );
    uptime();
    println!("| scenario | client | jobs | wall s | jobs/s | throughput vs baseline | peak RSS MiB | RSS vs baseline | peak sockets | sockets vs baseline |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let scenarios = [
        ("zero delays", Duration::ZERO, Duration::ZERO),
        (
            "realistic delays",
            Duration::from_millis(s.queue_delay_ms),
            Duration::from_millis(s.run_ms),
        ),
    ];
    for (name, queue, run) in scenarios {
        let work = tempfile::tempdir().expect("temp dir");
        let input = write_input(work.path(), s.jobs);
        // A fresh testkit per client, so neither inherits the other's queue.
        let kit = testkit(queue, run).await;
        let base = measure(baseline(
            &kit,
            &input,
            &work.path().join("baseline"),
            s.concurrency,
        ))
        .await;
        drop(kit);
        let kit = testkit(queue, run).await;
        let batch = measure(batch_child(
            &kit,
            &input,
            &work.path().join("batch"),
            s.concurrency,
            "1",
        ))
        .await;
        drop(kit);
        row(
            name,
            "semaphore + subscribe (baseline)",
            s.jobs,
            &base,
            &base,
        );
        row(name, "fal batch run", s.jobs, &batch, &base);
    }
    resume_pickup(s.jobs).await;
    uptime();
}

/// Time for `resume` to follow every recorded request again.
async fn resume_pickup(jobs: u64) {
    let work = tempfile::tempdir().expect("temp dir");
    let input = write_input(work.path(), jobs);
    let out = work.path().join("batch");
    // Nothing completes: every request stays queued for an hour.
    let kit = testkit(Duration::from_secs(3600), Duration::ZERO).await;
    let started = Instant::now();
    let mut child = batch_child(&kit, &input, &out, jobs as usize, "2");
    let accepted = |kit: &Testkit| {
        kit.journal()
            .iter()
            .filter(|e| e.route == RouteKind::Submit && e.status == 200)
            .count() as u64
    };
    while accepted(&kit) < jobs {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Recorded: the state commits before the run waits on a request.
    let recorded = loop {
        let status = Command::new(env!("CARGO_BIN_EXE_fal"))
            .args(["batch", "status", "--json"])
            .arg(&out)
            .output()
            .expect("status runs");
        let status: Value = serde_json::from_slice(&status.stdout).unwrap_or(Value::Null);
        if status["in_flight"].as_u64() == Some(jobs) {
            break started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    kit.clear_journal();
    let resumed = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_fal"));
    env_for(&mut command, &kit);
    command.args(["batch", "resume"]).arg(&out).args([
        "--concurrency",
        &jobs.to_string(),
        "--poll-interval",
        "2",
    ]);
    let mut child = command.spawn().expect("resume starts");
    let pid = child.id();
    let mut peak_rss = 0;
    let picked_up = loop {
        let polled: HashSet<String> = kit
            .journal()
            .iter()
            .filter(|e| e.route == RouteKind::Status)
            .filter_map(|e| e.request_id.clone())
            .collect();
        peak_rss = peak_rss.max(vm_hwm(pid).unwrap_or(0));
        if polled.len() as u64 >= jobs {
            break resumed.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let submits_after_resume = kit
        .journal()
        .iter()
        .filter(|e| e.route == RouteKind::Submit)
        .count();
    let _ = child.kill();
    let _ = child.wait();
    println!();
    println!("| resume pickup | seconds | ratio to first submit of all |");
    println!("|---|---:|---:|");
    println!(
        "| first run: {jobs} submitted and recorded | {:.2} | 1.00 |",
        recorded.as_secs_f64()
    );
    println!(
        "| resume: every recorded request polled again | {:.2} | {:.2} |",
        picked_up.as_secs_f64(),
        picked_up.as_secs_f64() / recorded.as_secs_f64()
    );
    println!(
        "resume peak RSS {:.1} MiB; submits sent by the resume: {submits_after_resume}",
        peak_rss as f64 / 1024.0
    );
}

/// The baseline: subscribe under a semaphore, outputs to a JSONL file, images
/// downloaded. Nothing survives a crash.
fn baseline_child(args: &[String]) {
    let input = PathBuf::from(&args[0]);
    let out = PathBuf::from(&args[1]);
    let concurrency: usize = args[2].parse().expect("concurrency");
    std::fs::create_dir_all(out.join("files")).expect("out dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let client = fal_runtime::Client::from_env().expect("client");
        let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let results = Arc::new(tokio::sync::Mutex::new(
            tokio::fs::File::create(out.join("results.jsonl"))
                .await
                .expect("results file"),
        ));
        let text = std::fs::read_to_string(&input).expect("input");
        let mut tasks = tokio::task::JoinSet::new();
        for (index, line) in text.lines().enumerate() {
            let job: Value = serde_json::from_str(line).expect("job");
            let permit = semaphore.clone().acquire_owned().await.expect("permit");
            let client = client.clone();
            let results = results.clone();
            let files = out.join("files");
            tasks.spawn(async move {
                let _permit = permit;
                let output = client
                    .endpoint(ENDPOINT)
                    .subscribe(job)
                    .await
                    .expect("subscribe");
                for (n, image) in output["images"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if let Some(url) = image["url"].as_str() {
                        let bytes = client.download(url).await.expect("download");
                        tokio::fs::write(files.join(format!("{}-{n}.png", index + 1)), bytes)
                            .await
                            .expect("write");
                    }
                }
                let record = json!({"line": index + 1, "output": output}).to_string() + "\n";
                use tokio::io::AsyncWriteExt;
                results
                    .lock()
                    .await
                    .write_all(record.as_bytes())
                    .await
                    .expect("append");
            });
            while let Some(done) = tasks.try_join_next() {
                done.expect("task");
            }
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("task");
        }
    });
}
