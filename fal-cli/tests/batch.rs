//! `fal batch` end to end: the real binary against a testkit on 127.0.0.1,
//! killed with SIGKILL at random moments and resumed; three workers sharing a
//! PostgreSQL state, one killed mid-way. The invariants are the issue's:
//! every job ends with exactly one result line, no job whose request id was
//! recorded is submitted again, and jobs submitted more than once are exactly
//! the ones listed as doubtful.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use fal_runtime::batch::Batch;
use fal_testkit::{PricingTable, RouteKind, Testkit};
use rand::{Rng, SeedableRng};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn fal(kit: &Testkit) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_fal"));
    command
        .env("FAL_KEY", kit.key())
        .env("FAL_QUEUE_URL", kit.queue_url())
        .env("FAL_RUN_URL", kit.run_url())
        .env("FAL_REST_URL", kit.rest_url())
        .env("FAL_API_URL", kit.api_url())
        .env_remove("FAL_KEY_ID")
        .env_remove("FAL_KEY_SECRET")
        .env_remove("FAL_BATCH_STATE")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    command
}

/// `fal batch run fal-ai/flux/dev --input INPUT --out OUT EXTRA…`, polling
/// fast, stderr piped.
fn batch_run(kit: &Testkit, input: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = fal(kit);
    command
        .args(["batch", "run", "fal-ai/flux/dev", "--input"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--poll-interval", "0.05"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// `fal batch resume OUT EXTRA…`, polling fast, stderr piped.
fn batch_resume(kit: &Testkit, out: &Path, extra: &[&str]) -> Command {
    let mut command = fal(kit);
    command
        .args(["batch", "resume"])
        .arg(out)
        .args(["--poll-interval", "0.05"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn write_input(dir: &Path, jobs: u64) -> PathBuf {
    let path = dir.join("in.jsonl");
    let mut text = String::new();
    for n in 1..=jobs {
        text.push_str(&format!("{{\"prompt\":\"job {n}\",\"seed\":{n}}}\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// Waits for `child` without blocking the runtime the testkit serves on.
async fn wait(mut child: Child) -> Output {
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Lets `child` run for `after`, then kills it with SIGKILL. `Some` if it
/// exited by itself first.
async fn kill_after(mut child: Child, after: Duration) -> Option<Output> {
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return Some(child.wait_with_output().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    let _ = child.wait();
    None
}

fn result_lines(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("results.jsonl")).unwrap_or_default();
    text.lines()
        .map(|line| serde_json::from_str(line).expect("each result line is JSON"))
        .collect()
}

/// Every submit the testkit accepted, by the job line its input names.
async fn accepted_submits(kit: &Testkit) -> BTreeMap<u64, Vec<String>> {
    let client = kit.client_builder().build().unwrap();
    let mut by_line: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for entry in kit.journal() {
        if entry.route != RouteKind::Submit || entry.status != 200 {
            continue;
        }
        let id = entry
            .request_id
            .clone()
            .expect("an accepted submit has an id");
        // The testkit echoes the prompt, which names the job.
        let output = client
            .endpoint("fal-ai/flux/dev")
            .request(&id)
            .unwrap()
            .result()
            .await;
        let output = match output {
            Ok(output) => output,
            // A request cancelled because its id could not be recorded.
            Err(err) => serde_json::from_str(&err.api().unwrap().body).unwrap_or(Value::Null),
        };
        let line = output["prompt"]
            .as_str()
            .and_then(|p| p.strip_prefix("job "))
            .map(|n| n.parse::<u64>().unwrap());
        if let Some(line) = line {
            by_line.entry(line).or_default().push(id);
        }
    }
    by_line
}

/// The invariants over the union of the result directories.
async fn check_invariants(kit: &Testkit, dirs: &[PathBuf], jobs: u64, state: Option<&str>) {
    let mut lines: HashMap<u64, Value> = HashMap::new();
    for dir in dirs {
        for record in result_lines(dir) {
            let line = record["line"].as_u64().unwrap();
            assert!(
                lines.insert(line, record.clone()).is_none(),
                "job {line} has more than one result line"
            );
            assert_eq!(record["status"], "ok", "{record}");
            // The testkit bills one unit per completed result (x-fal-billable-units: 1).
            assert_eq!(record["billable_units"], 1.0, "{record}");
            for file in record["files"].as_array().unwrap() {
                let bytes = std::fs::read(dir.join(file["path"].as_str().unwrap())).unwrap();
                assert_eq!(bytes.len() as u64, file["size"].as_u64().unwrap());
                assert_eq!(hex::encode(Sha256::digest(&bytes)), file["sha256"]);
            }
            assert!(!record["files"].as_array().unwrap().is_empty(), "{record}");
        }
    }
    let expected: HashSet<u64> = (1..=jobs).collect();
    assert_eq!(
        lines.keys().copied().collect::<HashSet<u64>>(),
        expected,
        "every job has a result line"
    );

    let batch = Batch::open_read(&dirs[0], state).await.unwrap();
    let status = batch.status().await.unwrap();
    assert!(status.counts.is_complete(), "{:?}", status.counts);
    // The state holds the units of every job, once each (SQLite or PostgreSQL).
    assert_eq!(status.billable_units, (jobs as f64, jobs));
    let doubtful: HashMap<u64, u64> = status.doubtful.iter().copied().collect();
    let mut recorded: HashMap<u64, Vec<String>> = HashMap::new();
    for (line, id) in batch.request_ids().await.unwrap() {
        recorded.entry(line).or_default().push(id);
    }
    let accepted = accepted_submits(kit).await;
    for line in 1..=jobs {
        let ids = recorded.get(&line).cloned().unwrap_or_default();
        assert_eq!(
            ids.len(),
            1,
            "job {line}: one recorded request id, got {ids:?}"
        );
        assert_eq!(lines[&line]["request_id"], ids[0].as_str(), "job {line}");
        let sent = accepted.get(&line).cloned().unwrap_or_default();
        assert!(
            sent.contains(&ids[0]),
            "job {line}: the recorded id was queued"
        );
        let extra = sent.len() as u64 - 1;
        assert!(
            extra <= doubtful.get(&line).copied().unwrap_or(0),
            "job {line} was queued {} times but has {} doubtful submits",
            sent.len(),
            doubtful.get(&line).copied().unwrap_or(0)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_and_resumed_every_job_has_one_line() {
    const JOBS: u64 = 60;
    const CONCURRENCY: usize = 6;
    let seed: u64 = std::env::var("FAL_BATCH_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("kill schedule seed {seed} (FAL_BATCH_TEST_SEED={seed} replays it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let kit = Testkit::builder()
        .queue_delay(Duration::from_millis(30))
        .run_duration(Duration::from_millis(60))
        .start()
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let input = write_input(work.path(), JOBS);
    let out = work.path().join("out");
    let flags = [
        "--concurrency".to_owned(),
        CONCURRENCY.to_string(),
        "--poll-interval".into(),
        "0.05".into(),
    ];

    let mut first = fal(&kit);
    first
        .args(["batch", "run", "fal-ai/flux/dev", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(&flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = Some(first.spawn().unwrap());
    let mut kills = 0;
    for round in 0..8 {
        let after = Duration::from_millis(rng.gen_range(20..400));
        let running = child.take().expect("a run to kill");
        if let Some(output) = kill_after(running, after).await {
            let stderr = String::from_utf8_lossy(&output.stderr);
            if stderr.contains("holds no batch") {
                // Killed before the jobs were recorded: nothing was sent, and
                // the batch does not exist yet; `run` creates it.
                assert!(accepted_submits(&kit).await.is_empty(), "{stderr}");
                child = Some(first.spawn().unwrap());
                continue;
            }
            assert_eq!(output.status.code(), Some(0), "round {round}: {output:?}");
            break;
        }
        kills += 1;
        // Whatever moment the kill hit, the directory resumes.
        let mut resume = fal(&kit);
        resume
            .args(["batch", "resume"])
            .arg(&out)
            .args(&flags)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        child = Some(resume.spawn().unwrap());
    }
    if let Some(last) = child {
        let output = wait(last).await;
        assert_eq!(
            output.status.code(),
            Some(0),
            "final resume: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    eprintln!("killed {kills} times");
    assert!(kills > 0, "the schedule killed the run at least once");
    check_invariants(&kit, std::slice::from_ref(&out), JOBS, None).await;

    // At most `concurrency` jobs can have been in flight at each kill.
    let batch = Batch::open_read(&out, None).await.unwrap();
    let doubtful: u64 = batch
        .status()
        .await
        .unwrap()
        .doubtful
        .iter()
        .map(|d| d.1)
        .sum();
    assert!(
        doubtful <= (kills * CONCURRENCY) as u64,
        "{doubtful} doubtful after {kills} kills"
    );

    // `status` reads the same facts.
    let status = fal(&kit)
        .args(["batch", "status", "--json"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0), "{status:?}");
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["ok"], JOBS);
    assert_eq!(status["complete"], true);
}

/// PostgreSQL from `FAL_BATCH_TEST_POSTGRES` (CI starts a server and sets
/// it). Missing: a clear skip locally, a failure under `CI=true`.
fn postgres_url() -> Option<String> {
    match std::env::var("FAL_BATCH_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but FAL_BATCH_TEST_POSTGRES is not set: .ci/run must start PostgreSQL")
        }
        _ => {
            eprintln!(
                "SKIPPED: set FAL_BATCH_TEST_POSTGRES=postgres://user@127.0.0.1:PORT/db to run the PostgreSQL test"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_postgres_workers_one_killed_every_job_done_once() {
    let Some(url) = postgres_url() else {
        return;
    };
    const JOBS: u64 = 90;
    let kit = Testkit::builder()
        .queue_delay(Duration::from_millis(30))
        .run_duration(Duration::from_millis(80))
        .start()
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let input = write_input(work.path(), JOBS);
    let name = format!("test-{:016x}", rand::random::<u64>());
    let dirs: Vec<PathBuf> = (1..=3)
        .map(|n| work.path().join(format!("worker{n}")))
        .collect();
    let worker = |dir: &Path| {
        let mut command = fal(&kit);
        command
            .args(["batch", "run", "fal-ai/flux/dev", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(dir)
            .args(["--state", &url, "--batch", &name])
            .args([
                "--concurrency",
                "4",
                "--poll-interval",
                "0.05",
                "--lease",
                "2",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command.spawn().unwrap()
    };
    let doomed = worker(&dirs[0]);
    let others: Vec<Child> = dirs[1..].iter().map(|d| worker(d)).collect();
    // Kill the first worker once it has written some results: it then holds
    // leases on jobs in flight, which the others must take over.
    let deadline = Instant::now() + Duration::from_secs(120);
    while result_lines(&dirs[0]).len() < 5 {
        assert!(Instant::now() < deadline, "worker 1 never produced results");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        kill_after(doomed, Duration::ZERO).await.is_none(),
        "worker 1 ended by itself"
    );
    for (n, child) in others.into_iter().enumerate() {
        let output = wait(child).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        // A worker ends 0 when every line is written, or 1 naming the lines
        // recorded for the killed worker's directory.
        assert!(
            output.status.code() == Some(0) || stderr.contains("other directories"),
            "worker {}: {stderr}",
            n + 2
        );
    }
    // The killed worker's directory writes any line recorded for it.
    let output = {
        let mut resume = fal(&kit);
        resume
            .args(["batch", "resume"])
            .arg(&dirs[0])
            .args(["--state", &url, "--lease", "2", "--poll-interval", "0.05"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        wait(resume.spawn().unwrap()).await
    };
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    check_invariants(&kit, &dirs, JOBS, Some(&url)).await;
    for dir in &dirs[1..] {
        assert!(!result_lines(dir).is_empty(), "{} took part", dir.display());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_submitting_and_resume_finishes() {
    const JOBS: u64 = 40;
    let kit = Testkit::builder()
        .queue_delay(Duration::from_millis(20))
        .run_duration(Duration::from_millis(150))
        .start()
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let input = write_input(work.path(), JOBS);
    let out = work.path().join("out");
    let child = batch_run(&kit, &input, &out, &["--concurrency", "2"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while result_lines(&out).len() < 2 {
        assert!(Instant::now() < deadline, "no results");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = wait(child).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stopping: no new submits"), "{stderr}");
    assert!(stderr.contains("fal batch resume"), "{stderr}");
    let written = result_lines(&out).len() as u64;
    assert!(written < JOBS, "stopped before the end ({written} lines)");
    let submits_at_stop = kit
        .journal()
        .iter()
        .filter(|e| e.route == RouteKind::Submit)
        .count() as u64;
    assert!(submits_at_stop < JOBS, "it stopped submitting");

    let output = wait(batch_resume(&kit, &out, &[]).spawn().unwrap()).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    check_invariants(&kit, std::slice::from_ref(&out), JOBS, None).await;
    // A clean stop leaves nothing in doubt.
    let batch = Batch::open_read(&out, None).await.unwrap();
    assert!(batch.status().await.unwrap().doubtful.is_empty());
}

#[test]
fn a_bad_input_line_is_named_and_nothing_is_created() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("in.jsonl");
    std::fs::write(&input, "{\"prompt\":\"a\"}\n{\"prompt\": oops}\n").unwrap();
    let out = work.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_fal"))
        .args(["batch", "run", "fal-ai/flux/dev", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .env("FAL_KEY", "k")
        .env("FAL_QUEUE_URL", "http://127.0.0.1:9/queue")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("in.jsonl:2:"), "{stderr}");
    assert!(!out.join("batch.json").exists());
    // Without a key the batch does not start.
    let output = Command::new(env!("CARGO_BIN_EXE_fal"))
        .args(["batch", "resume"])
        .arg(&out)
        .env_remove("FAL_KEY")
        .env_remove("FAL_KEY_ID")
        .env_remove("FAL_KEY_SECRET")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    // A directory that was never made holds no batch, and says so (a run
    // killed before it made `out/` leaves exactly this).
    let output = Command::new(env!("CARGO_BIN_EXE_fal"))
        .args(["batch", "resume"])
        .arg(&out)
        .env("FAL_KEY", "k")
        .env("FAL_QUEUE_URL", "http://127.0.0.1:9/queue")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("holds no batch"), "{stderr}");
}

fn submits(kit: &Testkit) -> usize {
    kit.journal()
        .iter()
        .filter(|e| e.route == RouteKind::Submit)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_estimate_is_printed_and_a_budget_below_it_refuses_to_start() {
    const JOBS: u64 = 4;
    let kit = Testkit::builder()
        .pricing(PricingTable::new().endpoint("fal-ai/flux/dev", 0.5, "image"))
        .start()
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let input = write_input(work.path(), JOBS);
    let out = work.path().join("out");
    let mut run = batch_run(&kit, &input, &out, &["--budget", "1.5"]);
    let output = wait(run.spawn().unwrap()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    // Four calls at the testkit's 0.5 USD per call (one image each, none run yet).
    assert!(
        stderr.contains("estimated cost: 2.00 USD for 4 call(s) of fal-ai/flux/dev"),
        "{stderr}"
    );
    assert!(stderr.contains("above --budget 1.5 USD"), "{stderr}");
    assert!(stderr.contains("nothing was submitted"), "{stderr}");
    assert_eq!(submits(&kit), 0, "refused before any submit");
    assert!(result_lines(&out).is_empty());

    // A budget equal to the estimate lets it run.
    let mut resume = batch_resume(&kit, &out, &["--budget", "2"]);
    let output = wait(resume.spawn().unwrap()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("estimated cost: 2.00 USD for 4 call(s)"),
        "{stderr}"
    );
    check_invariants(&kit, std::slice::from_ref(&out), JOBS, None).await;

    // Nothing left to run: nothing to estimate, and the budget is not asked.
    let mut again = batch_resume(&kit, &out, &["--budget", "0"]);
    let output = wait(again.spawn().unwrap()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("estimated cost"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_estimate_a_budget_refuses_and_no_budget_warns() {
    const JOBS: u64 = 3;
    let kit = Testkit::builder().start().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let input = write_input(work.path(), JOBS);
    let out = work.path().join("out");
    // A Platform API base with no pricing routes: every estimate is a 404.
    let without_pricing = |mut command: Command| {
        command.env("FAL_API_URL", kit.rest_url());
        command.spawn().unwrap()
    };
    let run = |extra: &str| {
        let extra: Vec<&str> = extra.split_whitespace().collect();
        without_pricing(batch_run(&kit, &input, &out, &extra))
    };

    let output = wait(run("--budget=-1")).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--budget must be zero or more"), "{stderr}");

    let output = wait(run("--budget 100")).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refusing to start: --budget 100 USD is set but fal gave no cost estimate"),
        "{stderr}"
    );
    assert!(stderr.contains("404"), "the reason is named: {stderr}");
    assert_eq!(submits(&kit), 0, "refused before any submit");

    // The refused run left its state: resume runs it, warning without a budget.
    let output = wait(without_pricing(batch_resume(&kit, &out, &[]))).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no cost estimate ("), "{stderr}");
    check_invariants(&kit, std::slice::from_ref(&out), JOBS, None).await;
}
