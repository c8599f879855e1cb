//! Load bench for the testkit itself (issue 7 part 4): can one testkit hold
//! 10,000 queued requests and 1,000 open status streams on a 2-core machine,
//! and what do they cost? And does a long-running testkit keep its memory flat
//! (issue 13 item 7): 100,000 submits against a testkit that forgets finished
//! requests after a short retention, and the same against the default (one
//! hour, so nothing is forgotten during the run) as the same-run baseline.
//!
//! Run (release build, about a minute):
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target cargo bench -p fal-testkit --bench load
//! ```
//!
//! The bench re-executes itself as a child process that serves the testkit
//! (and, as the same-run baseline, a bare axum route answering a fixed JSON
//! body), so the memory figures are the server's alone. The parent drives the
//! load with reqwest, 64 requests in flight, and prints one table.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};

const CHILD_ENV: &str = "FAL_TESTKIT_LOAD_CHILD";
const QUEUED: usize = 10_000;
const STREAMS: usize = 1_000;
const IN_FLIGHT: usize = 64;
/// Submits of the memory-over-time phase, and how often RSS is sampled.
const LONG_RUN: usize = 100_000;
const SAMPLE_EVERY: usize = 10_000;
/// The retention of the evicting testkit in that phase.
const SHORT_RETENTION: Duration = Duration::from_secs(1);

fn main() {
    match std::env::var(CHILD_ENV).as_deref() {
        Ok("retention") => retention_child(SHORT_RETENTION),
        Ok("default-retention") => retention_child(fal_testkit::DEFAULT_RETENTION),
        Ok(_) => child(),
        Err(_) => {
            if let Err(e) = parent() {
                eprintln!("load bench failed: {e}");
                std::process::exit(1);
            }
        }
    }
}

/// Serves a testkit whose requests finish at once and are kept for
/// `retention`, until stdin closes.
fn retention_child(retention: Duration) {
    serve_until_stdin_closes(async move {
        let kit = started(
            fal_testkit::Testkit::builder()
                .queue_delay(Duration::ZERO)
                .run_duration(Duration::ZERO)
                .retention(retention),
        )
        .await;
        println!("PORTS {}", kit.addr().port());
        kit
    });
}

/// Serves the testkit and the baseline until stdin closes.
fn child() {
    serve_until_stdin_closes(async {
        let kit = started(
            fal_testkit::Testkit::builder()
                .queue_delay(Duration::from_secs(3600))
                .run_duration(Duration::ZERO)
                .keep_alive(Duration::from_secs(2)),
        )
        .await;
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("child baseline: {e}");
                std::process::exit(1);
            }
        };
        let baseline_port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let app = axum::Router::new().fallback(|| async {
            (
                [("content-type", "application/json")],
                r#"{"request_id":"00000000-0000-4000-8000-000000000000","status":"IN_QUEUE"}"#,
            )
        });
        tokio::spawn(async move { axum::serve(listener, app).await });
        println!("PORTS {} {baseline_port}", kit.addr().port());
        kit
    });
}

/// The started testkit, or the process ends saying why.
async fn started(builder: fal_testkit::TestkitBuilder) -> fal_testkit::Testkit {
    match builder.start().await {
        Ok(kit) => kit,
        Err(e) => {
            eprintln!("child testkit: {e}");
            std::process::exit(1);
        }
    }
}

/// Runs `serve` (which prints the `PORTS` line and returns what must stay
/// alive) and then serves until the parent closes stdin.
fn serve_until_stdin_closes<T>(serve: impl std::future::Future<Output = T>) {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("child runtime: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(async {
        let _alive = serve.await;
        let _ = std::io::stdout().flush();
        std::thread::spawn(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
            std::process::exit(0);
        });
        futures::future::pending::<()>().await;
    });
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// `(rss_kib, peak_rss_kib)` of a process.
fn rss(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// CPU ticks (user + system) a process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields after the name start at state (3rd field): utime is 14th, stime 15th.
    get(11) + get(12)
}

struct Row {
    what: String,
    count: usize,
    secs: f64,
}

/// A served child: its process, pid and the ports it printed.
struct Served {
    child: std::process::Child,
    pid: u32,
    ports: Vec<u16>,
}

impl Served {
    fn start(mode: &str) -> Result<Served, Failure> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .env(CHILD_ENV, mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let pid = child.id();
        let stdout = child.stdout.take().ok_or("child stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let ports = line
            .split_whitespace()
            .skip(1)
            .filter_map(|p| p.parse().ok())
            .collect();
        Ok(Served { child, pid, ports })
    }

    /// Closes the child's stdin, which ends it.
    fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn parent() -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let served = Served::start("load")?;
    let [kit_port, baseline_port] = served.ports[..] else {
        return Err(format!("unexpected child ports {:?}", served.ports).into());
    };
    let result = runtime.block_on(drive(served.pid, kit_port, baseline_port));
    served.stop();
    result?;

    // Memory over time: the same 100,000 submits against a testkit keeping
    // everything (the default hour outlasts the run) and one forgetting after 1 s.
    let mut curves = Vec::new();
    for (mode, label) in [
        (
            "default-retention",
            "retention 1 h (default; nothing expires during the run)",
        ),
        ("retention", "retention 1 s"),
    ] {
        let served = Served::start(mode)?;
        let [port] = served.ports[..] else {
            return Err(format!("unexpected child ports {:?}", served.ports).into());
        };
        let curve = runtime.block_on(long_run(served.pid, port));
        served.stop();
        curves.push((label, curve?));
    }
    println!();
    print!("| submits |");
    for (label, _) in &curves {
        print!(" RSS MiB, {label} |");
    }
    println!();
    println!("|---:|{}", "---:|".repeat(curves.len()));
    let samples = curves.first().map_or(0, |(_, c)| c.len());
    for i in 0..samples {
        print!("| {} |", curves[0].1[i].0);
        for (_, curve) in &curves {
            print!(" {:.1} |", curve[i].1 as f64 / 1024.0);
        }
        println!();
    }
    println!();
    for (label, curve) in &curves {
        // Flat means the last sample is no larger than the one after warm-up.
        let (first, last) = (curve[1].1 as f64, curve[curve.len() - 1].1 as f64);
        println!(
            "{label}: RSS at {LONG_RUN} submits / RSS at {} = {:.2}",
            curve[1].0,
            last / first
        );
    }
    Ok(())
}

/// Submits [`LONG_RUN`] requests (each completes at once), sampling the
/// server's RSS in KiB before the first and every [`SAMPLE_EVERY`] submits.
async fn long_run(pid: u32, port: u16) -> Result<Vec<(usize, u64)>, Failure> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()?;
    let key = format!("Key {}", fal_testkit::DEFAULT_KEY);
    let url = format!("http://127.0.0.1:{port}/queue/fal-ai/flux/dev");
    let mut samples = vec![(0, rss(pid).0)];
    for batch in 0..LONG_RUN / SAMPLE_EVERY {
        futures::stream::iter(0..SAMPLE_EVERY)
            .map(|i| {
                let request = client
                    .post(&url)
                    .header("authorization", &key)
                    .json(&serde_json::json!({"prompt": format!("long run {batch}/{i}")}));
                async move { request.send().await?.error_for_status()?.bytes().await }
            })
            .buffer_unordered(IN_FLIGHT)
            .try_for_each(|_| async { Ok(()) })
            .await?;
        samples.push(((batch + 1) * SAMPLE_EVERY, rss(pid).0));
    }
    Ok(samples)
}

async fn drive(pid: u32, kit_port: u16, baseline_port: u16) -> Result<(), Failure> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()?;
    let key = format!("Key {}", fal_testkit::DEFAULT_KEY);
    let kit = format!("http://127.0.0.1:{kit_port}");
    let mut rows = Vec::new();
    let idle_rss = rss(pid);

    // Baseline: the same POST against a bare axum route.
    let started = Instant::now();
    futures::stream::iter(0..QUEUED)
        .map(|_| {
            let request = client
                .post(format!(
                    "http://127.0.0.1:{baseline_port}/queue/fal-ai/flux/dev"
                ))
                .json(&serde_json::json!({"prompt": "load"}));
            async move { request.send().await?.bytes().await }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_for_each(|_| async { Ok(()) })
        .await?;
    rows.push(Row {
        what: "baseline: bare axum POST".into(),
        count: QUEUED,
        secs: started.elapsed().as_secs_f64(),
    });

    // Submit 10,000 requests that stay queued.
    let started = Instant::now();
    let status_urls: Vec<String> = futures::stream::iter(0..QUEUED)
        .map(|i| {
            let request = client
                .post(format!("{kit}/queue/fal-ai/flux/dev"))
                .header("authorization", &key)
                .json(&serde_json::json!({"prompt": format!("load {i}")}));
            async move {
                let body: serde_json::Value = request.send().await?.json().await?;
                Ok::<_, reqwest::Error>(body["status_url"].as_str().unwrap_or_default().to_owned())
            }
        })
        .buffered(IN_FLIGHT)
        .try_collect()
        .await?;
    rows.push(Row {
        what: "testkit: queue submit".into(),
        count: QUEUED,
        secs: started.elapsed().as_secs_f64(),
    });
    let queued_rss = rss(pid);

    let poll_all = |label: &'static str| {
        let client = client.clone();
        let key = key.clone();
        let urls = status_urls.clone();
        async move {
            let started = Instant::now();
            let positions: Vec<u64> = futures::stream::iter(urls)
                .map(|url| {
                    let request = client.get(url).header("authorization", &key);
                    async move {
                        let body: serde_json::Value = request.send().await?.json().await?;
                        Ok::<_, reqwest::Error>(body["queue_position"].as_u64().unwrap_or(u64::MAX))
                    }
                })
                .buffered(IN_FLIGHT)
                .try_collect()
                .await?;
            // Submits raced 64 at a time, so arrival order is not index order; the
            // positions must still be exactly 0..N, once each.
            let mut sorted = positions.clone();
            sorted.sort_unstable();
            if !sorted.iter().enumerate().all(|(i, p)| *p == i as u64) {
                return Err::<Row, Failure>("queue positions are not a permutation of 0..N".into());
            }
            Ok(Row {
                what: label.into(),
                count: positions.len(),
                secs: started.elapsed().as_secs_f64(),
            })
        }
    };
    rows.push(poll_all("testkit: status poll (10k queued)").await?);

    // Open 1,000 status streams on the last-queued requests; each must deliver its first event.
    let started = Instant::now();
    let mut streams = Vec::with_capacity(STREAMS);
    for url in status_urls.iter().rev().take(STREAMS) {
        let response = client
            .get(format!("{url}/stream?logs=0"))
            .header("authorization", &key)
            .send()
            .await?;
        let mut body = response.bytes_stream();
        let mut seen = String::new();
        while !seen.contains("data:") {
            let chunk = body
                .next()
                .await
                .ok_or("stream ended before its first event")??;
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        streams.push(body);
    }
    rows.push(Row {
        what: "testkit: open status stream (first event)".into(),
        count: STREAMS,
        secs: started.elapsed().as_secs_f64(),
    });
    let streams_rss = rss(pid);

    rows.push(poll_all("testkit: status poll (10k queued, 1k streams open)").await?);

    // Idle cost of the open streams, then proof they are all alive (keep-alive arrives on each).
    let ticks_before = cpu_ticks(pid);
    let idle = Duration::from_secs(5);
    tokio::time::sleep(idle).await;
    let ticks = cpu_ticks(pid).saturating_sub(ticks_before);
    let mut alive = 0;
    for body in streams.iter_mut() {
        if let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_secs(5), body.next()).await {
            alive += 1;
        }
    }
    let final_rss = rss(pid);

    println!();
    println!("| operation | count | seconds | ops/s | ratio to baseline |");
    println!("|---|---:|---:|---:|---:|");
    let base = rows.first().map(|r| r.count as f64 / r.secs).unwrap_or(1.0);
    for row in &rows {
        let rate = row.count as f64 / row.secs;
        println!(
            "| {} | {} | {:.2} | {:.0} | {:.2} |",
            row.what,
            row.count,
            row.secs,
            rate,
            rate / base
        );
    }
    println!();
    println!("| server memory | RSS MiB | ratio to idle |");
    println!("|---|---:|---:|");
    let mib = |kib: u64| kib as f64 / 1024.0;
    for (what, (now, _)) in [
        ("idle (after start)", idle_rss),
        ("10k queued", queued_rss),
        ("10k queued + 1k streams", streams_rss),
        ("after polls and idle streams", final_rss),
    ] {
        println!(
            "| {what} | {:.1} | {:.2} |",
            mib(now),
            now as f64 / idle_rss.0.max(1) as f64
        );
    }
    println!(
        "| peak (VmHWM) | {:.1} | {:.2} |",
        mib(final_rss.1),
        final_rss.1 as f64 / idle_rss.0.max(1) as f64
    );
    println!();
    let hz = 100.0; // USER_HZ on Linux
    println!(
        "idle CPU with {STREAMS} open streams: {:.1}% of one core over {}s; streams alive afterwards (keep-alive received): {alive}/{STREAMS}",
        ticks as f64 / hz / idle.as_secs_f64() * 100.0,
        idle.as_secs()
    );
    if alive != STREAMS {
        return Err(format!("only {alive} of {STREAMS} streams were still served").into());
    }
    Ok(())
}
