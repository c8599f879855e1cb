//! `fal_runtime::batch` against the testkit: the fault matrix during a batch,
//! a full filesystem, webhook mode, and the result files.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fal_runtime::batch::{Batch, BatchError, BatchOptions, InDoubt, Progress, StateLocation};
use fal_runtime::Client;
use fal_testkit::{FaultRule, RouteKind, Testkit};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const ENDPOINT: &str = "fal-ai/flux/dev";

fn write_input(dir: &Path, jobs: u64) -> PathBuf {
    let path = dir.join("in.jsonl");
    let text: String = (1..=jobs)
        .map(|n| format!("{{\"prompt\":\"job {n}\",\"seed\":{n},\"image_size\":{{\"width\":32,\"height\":32}}}}\n"))
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

fn options() -> BatchOptions {
    BatchOptions::new()
        .concurrency(4)
        .poll_interval(Duration::from_millis(20))
        .webhook_poll_interval(Duration::from_millis(200))
}

async fn run(
    batch: &Batch,
    client: &Client,
    options: &BatchOptions,
) -> Result<fal_runtime::batch::Summary, BatchError> {
    let (progress, _watch) = watch::channel(Progress::default());
    batch
        .run(client, options, &CancellationToken::new(), &progress)
        .await
}

fn result_lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("results.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// One line per job; files whole; returns the lines by job.
fn check_lines(dir: &Path, jobs: u64) -> HashMap<u64, Value> {
    let mut by_line = HashMap::new();
    for record in result_lines(dir) {
        let line = record["line"].as_u64().unwrap();
        assert!(
            by_line.insert(line, record.clone()).is_none(),
            "job {line} twice"
        );
        if record["status"] == "ok" {
            for file in record["files"].as_array().unwrap() {
                let bytes = std::fs::read(dir.join(file["path"].as_str().unwrap())).unwrap();
                assert_eq!(
                    hex::encode(Sha256::digest(&bytes)),
                    file["sha256"],
                    "{record}"
                );
                assert_eq!(bytes.len() as u64, file["size"].as_u64().unwrap());
            }
        }
    }
    assert_eq!(by_line.len() as u64, jobs, "every job has a line");
    by_line
}

/// Accepted submits per request id that the batch recorded, and in all.
fn accepted_submits(kit: &Testkit) -> usize {
    kit.journal()
        .iter()
        .filter(|e| e.route == RouteKind::Submit && e.status == 200)
        .count()
}

#[tokio::test]
async fn a_batch_writes_one_line_per_job_with_its_files() {
    let kit = common::testkit(Duration::from_millis(10), Duration::from_millis(20)).await;
    let client = common::client(&kit);
    let work = tempfile::tempdir().unwrap();
    let input = write_input(work.path(), 10);
    let out = work.path().join("out");
    let batch = Batch::create(&out, ENDPOINT, &input, StateLocation::Sqlite, None)
        .await
        .unwrap();
    let summary = run(&batch, &client, &options()).await.unwrap();
    assert!(summary.counts.is_complete());
    assert_eq!(summary.counts.ok, 10);
    let lines = check_lines(&out, 10);
    for (line, record) in &lines {
        assert_eq!(record["status"], "ok");
        assert_eq!(record["output"]["seed"], *line);
        let file = &record["files"][0];
        assert_eq!(file["pointer"], "/images/0");
        assert!(file["path"]
            .as_str()
            .unwrap()
            .starts_with(&format!("files/{line}-0.")));
    }
    assert_eq!(accepted_submits(&kit), 10);
    // The result URLs were fetched without the API key.
    for entry in kit.journal().iter().filter(|e| e.route == RouteKind::Cdn) {
        assert!(entry.header("authorization").is_none(), "{entry:?}");
    }
    // Polls, not one status stream per job.
    assert!(kit
        .journal()
        .iter()
        .all(|e| e.route != RouteKind::StatusStream));
    // A second run has nothing to do and sends nothing.
    drop(batch);
    let before = kit.journal().len();
    let batch = Batch::open(&out, None).await.unwrap();
    run(&batch, &client, &options()).await.unwrap();
    assert_eq!(kit.journal().len(), before);
    // The directory is one runner's at a time.
    assert!(matches!(
        Batch::open(&out, None).await,
        Err(BatchError::Busy(_))
    ));
    // And it is not created twice.
    assert!(matches!(
        Batch::create(&out, ENDPOINT, &input, StateLocation::Sqlite, None).await,
        Err(BatchError::Mismatch(_))
    ));
}

/// A fault, where it acts, and what the job then ends with.
struct Case {
    name: &'static str,
    rule: FaultRule,
    /// Result line status of the job the fault hits.
    expect_error: bool,
    /// Whether the submit's answer can have been lost (a doubtful submit).
    may_doubt: bool,
}

fn cases() -> Vec<Case> {
    let on = |rule: FaultRule, route| rule.on(route).times(2);
    vec![
        Case {
            name: "submit 429 + Retry-After",
            rule: on(FaultRule::status(429).retry_after(1), RouteKind::Submit).times(6),
            expect_error: false,
            may_doubt: false,
        },
        Case {
            name: "submit 503",
            rule: on(FaultRule::status(503), RouteKind::Submit).times(6),
            expect_error: false,
            may_doubt: false,
        },
        Case {
            name: "submit 500",
            rule: on(FaultRule::status(500), RouteKind::Submit),
            expect_error: false,
            may_doubt: true,
        },
        Case {
            name: "submit 502",
            rule: on(FaultRule::status(502), RouteKind::Submit),
            expect_error: false,
            may_doubt: true,
        },
        Case {
            name: "submit 504",
            rule: on(FaultRule::status(504), RouteKind::Submit),
            expect_error: false,
            may_doubt: true,
        },
        Case {
            name: "submit ingress 502",
            rule: on(FaultRule::status(502).ingress(), RouteKind::Submit),
            expect_error: false,
            may_doubt: true,
        },
        Case {
            name: "submit body cut",
            rule: on(FaultRule::drop_connection(), RouteKind::Submit),
            expect_error: false,
            may_doubt: false,
        },
        Case {
            name: "submit 422",
            rule: FaultRule::status(422).on(RouteKind::Submit),
            expect_error: true,
            may_doubt: false,
        },
        Case {
            name: "status 500",
            rule: on(FaultRule::status(500), RouteKind::Status).times(8),
            expect_error: false,
            may_doubt: false,
        },
        Case {
            name: "status 429",
            rule: on(FaultRule::status(429).retry_after(0), RouteKind::Status).times(8),
            expect_error: false,
            may_doubt: false,
        },
        Case {
            name: "status body cut",
            rule: on(FaultRule::drop_connection(), RouteKind::Status).times(8),
            expect_error: false,
            may_doubt: false,
        },
        Case {
            name: "status slow",
            rule: on(
                FaultRule::delay(Duration::from_millis(300)),
                RouteKind::Status,
            )
            .times(4),
            expect_error: false,
            may_doubt: false,
        },
        Case {
            name: "result 502",
            rule: on(FaultRule::status(502), RouteKind::Result).times(6),
            expect_error: false,
            may_doubt: false,
        },
        Case {
            name: "result 503",
            rule: on(FaultRule::status(503), RouteKind::Result).times(6),
            expect_error: false,
            may_doubt: false,
        },
        Case {
            name: "result body cut",
            rule: on(FaultRule::drop_connection(), RouteKind::Result).times(6),
            expect_error: false,
            may_doubt: false,
        },
        Case {
            name: "file 503",
            rule: on(FaultRule::status(503), RouteKind::Cdn).times(3),
            expect_error: false,
            may_doubt: false,
        },
        Case {
            name: "file body cut",
            rule: on(FaultRule::drop_connection(), RouteKind::Cdn).times(3),
            expect_error: false,
            may_doubt: false,
        },
        Case {
            name: "file 404 for good",
            rule: FaultRule::status(404).on(RouteKind::Cdn).times(20),
            expect_error: true,
            may_doubt: false,
        },
        Case {
            name: "model error",
            rule: FaultRule::complete_with_error(500, "CUDA out of memory").on(RouteKind::Submit),
            expect_error: true,
            may_doubt: false,
        },
        Case {
            name: "model 422",
            rule: FaultRule::complete_with_error(422, "bad prompt").on(RouteKind::Submit),
            expect_error: true,
            may_doubt: false,
        },
        Case {
            name: "runner gave up",
            rule: FaultRule::runner_cancel().on(RouteKind::Submit),
            expect_error: true,
            may_doubt: false,
        },
    ]
}

/// Every fault of the testkit's matrix that a batch meets, each on its own
/// testkit: every job ends with one line, the faulted one with an error only
/// when fal really failed it, and extra submits only where the answer was lost.
#[tokio::test]
async fn the_fault_matrix_during_a_batch() {
    const JOBS: u64 = 6;
    let runs = cases().into_iter().map(|case| async move {
        let kit = common::testkit(Duration::from_millis(5), Duration::from_millis(10)).await;
        kit.inject(case.rule.clone());
        let client = common::client(&kit);
        let work = tempfile::tempdir().unwrap();
        let input = write_input(work.path(), JOBS);
        let out = work.path().join("out");
        let batch = Batch::create(&out, ENDPOINT, &input, StateLocation::Sqlite, None)
            .await
            .unwrap();
        let summary =
            tokio::time::timeout(Duration::from_secs(60), run(&batch, &client, &options()))
                .await
                .unwrap_or_else(|_| panic!("{}: the batch hung", case.name))
                .unwrap_or_else(|err| panic!("{}: {err}", case.name));
        assert!(
            summary.counts.is_complete(),
            "{}: {:?}",
            case.name,
            summary.counts
        );
        let lines = check_lines(&out, JOBS);
        let errors: Vec<&Value> = lines.values().filter(|r| r["status"] == "error").collect();
        if case.expect_error {
            assert!(!errors.is_empty(), "{}: some job fails", case.name);
            for record in &errors {
                assert!(
                    record["error"]["kind"].is_string(),
                    "{}: {record}",
                    case.name
                );
                if record["error"]["kind"] != "download" {
                    assert!(
                        record["request_id"].is_string() || case.name == "submit 422",
                        "{}: {record}",
                        case.name
                    );
                }
            }
        } else {
            assert!(errors.is_empty(), "{}: {errors:?}", case.name);
        }
        let status = batch.status().await.unwrap();
        let doubtful: u64 = status.doubtful.iter().map(|d| d.1).sum();
        let accepted = accepted_submits(&kit) as u64;
        if case.may_doubt {
            assert!(
                accepted <= JOBS + doubtful,
                "{}: {accepted} accepted, {doubtful} doubtful",
                case.name
            );
        } else {
            assert_eq!(doubtful, 0, "{}", case.name);
            // Jobs whose submit fal refused for good were never queued.
            let refused = kit
                .journal()
                .iter()
                .filter(|e| {
                    e.route == RouteKind::Submit
                        && (400..500).contains(&e.status)
                        && e.status != 429
                })
                .count() as u64;
            assert_eq!(
                accepted + refused,
                JOBS,
                "{}: each job queued once",
                case.name
            );
        }
        // Every recorded id is the one in the job's line.
        for (line, id) in batch.request_ids().await.unwrap() {
            assert_eq!(lines[&line]["request_id"], id.as_str(), "{}", case.name);
        }
        case.name
    });
    let done = futures::future::join_all(runs).await;
    assert_eq!(done.len(), cases().len());
}

#[tokio::test]
async fn doubtful_submits_can_fail_instead_of_resubmitting() {
    let kit = common::testkit(Duration::from_millis(5), Duration::from_millis(5)).await;
    kit.inject(FaultRule::status(502).on(RouteKind::Submit));
    let client = common::client(&kit);
    let work = tempfile::tempdir().unwrap();
    let input = write_input(work.path(), 3);
    let out = work.path().join("out");
    let batch = Batch::create(&out, ENDPOINT, &input, StateLocation::Sqlite, None)
        .await
        .unwrap();
    run(&batch, &client, &options().in_doubt(InDoubt::Fail))
        .await
        .unwrap();
    let lines = check_lines(&out, 3);
    let failed: Vec<&Value> = lines.values().filter(|r| r["status"] == "error").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["error"]["kind"], "submit_in_doubt");
    let status = batch.status().await.unwrap();
    assert_eq!(status.doubtful.len(), 1);
    assert_eq!(accepted_submits(&kit), 2);
}

#[tokio::test]
async fn a_bad_key_stops_the_batch_and_keeps_every_job() {
    let kit = common::testkit(Duration::ZERO, Duration::ZERO).await;
    let client = kit
        .client_builder()
        .key("wrong:key")
        .retry(common::fast_retry())
        .build()
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let input = write_input(work.path(), 3);
    let out = work.path().join("out");
    let batch = Batch::create(&out, ENDPOINT, &input, StateLocation::Sqlite, None)
        .await
        .unwrap();
    let err = run(&batch, &client, &options()).await.unwrap_err();
    assert!(matches!(err, BatchError::Refused(_)), "{err}");
    assert!(err.to_string().contains("401"), "{err}");
    let status = batch.status().await.unwrap();
    assert_eq!(status.counts.queued, 3, "{:?}", status.counts);
    assert!(result_lines(&out).is_empty());
    // With the right key the same directory completes.
    drop(batch);
    let batch = Batch::open(&out, None).await.unwrap();
    run(&batch, &common::client(&kit), &options())
        .await
        .unwrap();
    check_lines(&out, 3);
}

/// A mounted tmpfs, unmounted on drop.
struct SmallFs {
    path: PathBuf,
}

impl SmallFs {
    /// Mounts a tmpfs of `size` at `path`: needs root. `None` (with the
    /// reason on stderr) when it cannot; under `CI=true` that is a failure.
    fn mount(path: &Path, size: &str) -> Option<SmallFs> {
        std::fs::create_dir_all(path).unwrap();
        let output = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output();
        match output {
            Ok(out) if out.status.success() => Some(SmallFs {
                path: path.to_owned(),
            }),
            other => {
                let why = format!("cannot mount a tmpfs (needs root): {other:?}");
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("CI=true: {why}");
                }
                eprintln!("SKIPPED: {why}");
                None
            }
        }
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

/// The batch directory on a filesystem that fills up mid-run: a clear error
/// naming the file, nothing recorded lost, and after space is freed the same
/// directory resumes to one line per job with no job queued twice.
#[tokio::test]
async fn a_full_filesystem_stops_cleanly_and_resumes() {
    const JOBS: u64 = 40;
    let work = tempfile::tempdir().unwrap();
    let Some(fs) = SmallFs::mount(&work.path().join("small"), "16m") else {
        return;
    };
    let kit = common::testkit(Duration::from_millis(5), Duration::from_millis(5)).await;
    let client = common::client(&kit);
    let input = write_input(work.path(), JOBS);
    let out = fs.path.join("out");
    let batch = Batch::create(&out, ENDPOINT, &input, StateLocation::Sqlite, None)
        .await
        .unwrap();
    // Leave a little room: the first few jobs fit, then the disk is full.
    let filler = fs.path.join("filler");
    let free = {
        let stat = std::process::Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&fs.path)
            .output()
            .unwrap();
        String::from_utf8_lossy(&stat.stdout)
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    std::fs::write(&filler, vec![7u8; (free - 128 * 1024) as usize]).unwrap();
    let err = run(&batch, &client, &options()).await.unwrap_err();
    assert!(err.is_storage_full(), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(out.to_str().unwrap()),
        "names the file: {message}"
    );
    assert!(
        message.contains("space") || message.contains("full"),
        "says the disk is full: {message}"
    );
    let done_before = batch.status().await.map(|s| s.counts.done()).unwrap_or(0);
    assert!(done_before < JOBS, "the disk filled before the end");
    drop(batch);

    std::fs::remove_file(&filler).unwrap();
    let batch = Batch::open(&out, None).await.unwrap();
    let summary = run(&batch, &client, &options()).await.unwrap();
    assert!(summary.counts.is_complete(), "{:?}", summary.counts);
    let lines = check_lines(&out, JOBS);
    assert!(lines.values().all(|r| r["status"] == "ok"));
    let status = batch.status().await.unwrap();
    let doubtful: u64 = status.doubtful.iter().map(|d| d.1).sum();
    assert!(accepted_submits(&kit) as u64 <= JOBS + doubtful);
    drop(batch);
    drop(fs);
}

/// Webhook mode: the testkit delivers each outcome to `receive_router`, which
/// verifies and records it; the runner finishes jobs from the deliveries
/// (status polls are 60 s apart, so the run could not end in time by polling).
#[tokio::test]
async fn webhook_deliveries_finish_jobs_and_polling_covers_lost_ones() {
    let kit = common::testkit(Duration::from_millis(5), Duration::from_millis(10)).await;
    let client = common::client(&kit);
    let work = tempfile::tempdir().unwrap();
    let input = write_input(work.path(), 8);

    // The receiver, on a port of its own.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let out = work.path().join("out");
    let webhook = format!("http://{addr}/fal/webhook");
    let batch = Batch::create(&out, ENDPOINT, &input, StateLocation::Sqlite, Some(webhook))
        .await
        .unwrap();
    let receiver_batch = Arc::new(Batch::open_read(&out, None).await.unwrap());
    let jwks = url::Url::parse(&format!("{}/.well-known/jwks.json", kit.rest_url())).unwrap();
    let verifier =
        fal_runtime::webhook::WebhookVerifier::with_jwks_url(reqwest::Client::new(), jwks);
    let app = fal_runtime::batch::receive_router(receiver_batch, verifier);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let slow_polls = options().webhook_poll_interval(Duration::from_secs(60));
    let summary = tokio::time::timeout(Duration::from_secs(30), run(&batch, &client, &slow_polls))
        .await
        .expect("deliveries finish the jobs long before the first poll")
        .unwrap();
    assert!(summary.counts.is_complete());
    check_lines(&out, 8);
    let polls = kit
        .journal()
        .iter()
        .filter(|e| e.route == RouteKind::Status)
        .count();
    assert_eq!(polls, 0, "no status poll was needed");
    for (_, id) in batch.request_ids().await.unwrap() {
        assert!(kit
            .webhook_of(&id)
            .is_some_and(|u| u.ends_with("/fal/webhook")));
    }
    // A delivery recorded twice (fal retries) changes nothing.
    assert!(kit
        .webhooks()
        .attempts()
        .iter()
        .all(|a| a.status == Some(200)));
    server.abort();

    // Deliveries that never arrive: the receiver is gone; polls cover them.
    let work2 = tempfile::tempdir().unwrap();
    let input = write_input(work2.path(), 4);
    let out2 = work2.path().join("out");
    let batch = Batch::create(
        &out2,
        ENDPOINT,
        &input,
        StateLocation::Sqlite,
        Some(format!("http://{addr}/gone")),
    )
    .await
    .unwrap();
    run(&batch, &client, &options()).await.unwrap();
    check_lines(&out2, 4);
}

/// A forged delivery is refused, a real one recorded once however often it comes.
#[tokio::test]
async fn the_receiver_verifies_and_is_idempotent() {
    let kit = common::testkit(Duration::ZERO, Duration::ZERO).await;
    let work = tempfile::tempdir().unwrap();
    let input = write_input(work.path(), 1);
    let out = work.path().join("out");
    let batch = Arc::new(
        Batch::create(
            &out,
            ENDPOINT,
            &input,
            StateLocation::Sqlite,
            Some("http://127.0.0.1:9/".into()),
        )
        .await
        .unwrap(),
    );
    let jwks = url::Url::parse(&format!("{}/.well-known/jwks.json", kit.rest_url())).unwrap();
    let verifier =
        fal_runtime::webhook::WebhookVerifier::with_jwks_url(reqwest::Client::new(), jwks);
    let app = fal_runtime::batch::receive_router(batch.clone(), verifier);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let body = r#"{"request_id":"r-1","status":"OK","payload":{"images":[]}}"#;
    let forged = http
        .post(format!("http://{addr}/"))
        .header("x-fal-webhook-request-id", "r-1")
        .header("x-fal-webhook-user-id", "u")
        .header("x-fal-webhook-timestamp", "1")
        .header("x-fal-webhook-signature", "00".repeat(64))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    // A signed one, as the testkit signs: submit with this webhook and let it deliver.
    let client = common::client(&kit);
    let handle = client
        .endpoint(ENDPOINT)
        .submit(serde_json::json!({"prompt": "x"}))
        .webhook(format!("http://{addr}/hook"))
        .await
        .unwrap();
    let id = handle.request_id().to_owned();
    let mut tries = 0;
    while batch.status().await.is_ok() && tries < 200 {
        let attempts = kit.webhooks().attempts();
        if attempts
            .iter()
            .any(|a| a.request_id == id && a.status == Some(200))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        tries += 1;
    }
    assert!(kit
        .webhooks()
        .attempts()
        .iter()
        .any(|a| a.request_id == id && a.status == Some(200)));
    // Recorded: recording it again is a no-op.
    assert!(!batch.record_delivery(&id, "{}").await.unwrap());
    server.abort();
}
