//! Ctrl-C and `--timeout` while `fal` waits on a testkit over real sockets:
//! the request id is printed whatever stderr is (here a pipe), a queued request
//! is cancelled, the exit status is 130 (1 for a timeout), and a second Ctrl-C
//! does not wait for the cancel. Also what the CLI prints from a hostile
//! server: no control characters reach the terminal, JSON stays JSON.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use fal_testkit::{FaultRule, RouteKind, Testkit};

/// Generous bound for anything the test waits on; never an assertion on speed.
const PATIENCE: Duration = Duration::from_secs(60);

/// `fal ARGS` pointed at `kit` by the environment, stdout and stderr piped.
fn spawn(kit: &Testkit, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fal"))
        .args(args)
        .env_remove("FAL_TESTKIT")
        .env("FAL_KEY", kit.key())
        .env("FAL_QUEUE_URL", kit.queue_url())
        .env("FAL_RUN_URL", kit.run_url())
        .env("FAL_REST_URL", kit.rest_url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fal starts")
}

/// Sends SIGINT, as Ctrl-C in a terminal does.
fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// Stderr lines as they arrive.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// Everything still on stderr once the child has exited: the reader thread
/// may not have passed the last lines on yet, so this waits for it to reach
/// the end of the pipe (bounded, so a stuck pipe fails instead of hanging).
fn rest_of(lines: &mpsc::Receiver<String>) -> Vec<String> {
    let mut rest = Vec::new();
    loop {
        match lines.recv_timeout(PATIENCE) {
            Ok(line) => rest.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => return rest,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("stderr never closed; saw: {rest:?}"),
        }
    }
}

/// Collects stderr lines until one contains `needle`; everything seen so far.
fn wait_for_line(lines: &mpsc::Receiver<String>, seen: &mut String, needle: &str) {
    while !seen.contains(needle) {
        let line = lines
            .recv_timeout(PATIENCE)
            .unwrap_or_else(|_| panic!("no {needle:?} on stderr; saw:\n{seen}"));
        seen.push_str(&line);
        seen.push('\n');
    }
}

/// Waits for the exit status (bounded by [`PATIENCE`]).
fn exit_code(child: &mut Child) -> Option<i32> {
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        assert!(started.elapsed() < PATIENCE, "fal did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The id of the one accepted submit, once the testkit has answered it.
async fn accepted_submit(kit: &Testkit) -> String {
    let started = std::time::Instant::now();
    loop {
        let found = kit
            .journal()
            .into_iter()
            .find(|e| e.route == RouteKind::Submit && e.status == 200)
            .and_then(|e| e.request_id);
        if let Some(id) = found {
            return id;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "no submit reached the testkit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn cancels_of(kit: &Testkit, id: &str) -> Vec<u16> {
    kit.journal()
        .into_iter()
        .filter(|e| e.route == RouteKind::Cancel && e.request_id.as_deref() == Some(id))
        .map(|e| e.status)
        .collect()
}

async fn queued_for_a_minute() -> Testkit {
    Testkit::builder()
        .queue_delay(Duration::from_secs(60))
        .start()
        .await
        .expect("testkit starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_run_prints_the_id_cancels_and_exits_130() {
    let kit = queued_for_a_minute().await;
    let mut child = spawn(
        &kit,
        &["run", "fal-ai/flux/dev", "--input", r#"{"prompt":"x"}"#],
    );
    let lines = stderr_lines(&mut child);
    let id = accepted_submit(&kit).await;
    interrupt(&child);
    let code = tokio::task::spawn_blocking(move || exit_code(&mut child))
        .await
        .expect("joined");
    let stderr: String = rest_of(&lines).join("\n");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!("interrupted; request id: {id}")),
        "{stderr}"
    );
    assert!(stderr.contains("it was cancelled"), "{stderr}");
    assert_eq!(cancels_of(&kit, &id), [202], "one cancel, accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_ctrl_c_does_not_wait_for_the_cancel() {
    let kit = queued_for_a_minute().await;
    // The cancel is never answered in the time the test allows.
    kit.inject(FaultRule::delay(Duration::from_secs(600)).on(RouteKind::Cancel));
    let mut child = spawn(
        &kit,
        &["run", "fal-ai/flux/dev", "--input", r#"{"prompt":"x"}"#],
    );
    let lines = stderr_lines(&mut child);
    let id = accepted_submit(&kit).await;
    interrupt(&child);
    let mut seen = String::new();
    wait_for_line(&lines, &mut seen, "cancelling request");
    interrupt(&child);
    let code = tokio::task::spawn_blocking(move || exit_code(&mut child))
        .await
        .expect("joined");
    seen.extend(rest_of(&lines).into_iter().map(|l| l + "\n"));
    assert_eq!(code, Some(130), "{seen}");
    assert!(seen.contains(&id), "{seen}");
    assert!(
        seen.contains("interrupted again; exiting without waiting"),
        "{seen}"
    );
    assert!(
        !seen.contains("got no answer"),
        "did not wait out the cancel: {seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_cancels_prints_the_id_and_exits_1() {
    let kit = queued_for_a_minute().await;
    let mut child = spawn(
        &kit,
        &[
            "run",
            "fal-ai/flux/dev",
            "--timeout",
            "1s",
            "--input",
            r#"{"prompt":"x"}"#,
        ],
    );
    let lines = stderr_lines(&mut child);
    let code = tokio::task::spawn_blocking(move || exit_code(&mut child))
        .await
        .expect("joined");
    let stderr: String = rest_of(&lines).join("\n");
    let id = accepted_submit(&kit).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("timed out after 1s (--timeout); request id: {id}")),
        "{stderr}"
    );
    assert_eq!(cancels_of(&kit, &id), [202]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_stream_prints_its_id_and_exits_130() {
    let kit = Testkit::builder().start().await.expect("testkit starts");
    // One event, then silence with the connection held open.
    kit.inject(FaultRule::stall_stream(1).on(RouteKind::Stream));
    let mut child = spawn(
        &kit,
        &["stream", "fal-ai/flux/dev", "--input", r#"{"prompt":"x"}"#],
    );
    let lines = stderr_lines(&mut child);
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let first = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).map(|_| line)
    })
    .await
    .expect("joined")
    .expect("an event line");
    let event: serde_json::Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(event["partial"], true);
    interrupt(&child);
    let code = tokio::task::spawn_blocking(move || exit_code(&mut child))
        .await
        .expect("joined");
    let stderr: String = rest_of(&lines).join("\n");
    let id = kit
        .journal()
        .into_iter()
        .find(|e| e.route == RouteKind::Stream)
        .and_then(|e| e.request_id)
        .expect("the stream's id");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains(&format!("request id: {id}")), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_upload_exits_130_and_serves_nothing() {
    let kit = Testkit::builder().start().await.expect("testkit starts");
    // The upload's first call is held long enough to be interrupted.
    kit.inject(FaultRule::delay(Duration::from_secs(600)).on(RouteKind::Rest));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"never uploaded").expect("written");
    let mut child = spawn(&kit, &["upload", file.to_str().expect("UTF-8 path")]);
    let lines = stderr_lines(&mut child);
    // The held request is journaled only once answered, but it takes its fault
    // rule on arrival: then the upload is under way (and Ctrl-C handled).
    let started = std::time::Instant::now();
    while !kit.pending_faults().is_empty() {
        assert!(
            started.elapsed() < PATIENCE,
            "the upload never reached the testkit"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    interrupt(&child);
    let code = tokio::task::spawn_blocking(move || exit_code(&mut child))
        .await
        .expect("joined");
    let stderr: String = rest_of(&lines).join("\n");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(kit.storage().files().is_empty(), "nothing was stored");
}

/// What a hostile host says is printed, never obeyed: the error detail's
/// escape sequences (clear screen, window title, clipboard write) are escaped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_text_on_stderr_has_its_control_characters_escaped() {
    let kit = Testkit::builder().start().await.expect("testkit starts");
    let hostile = "\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}]52;c;Zm9v\u{7}\u{9b}31m";
    kit.inject(
        FaultRule::status(500)
            .body(serde_json::json!({"detail": hostile}))
            .on(RouteKind::Run),
    );
    let mut child = spawn(
        &kit,
        &[
            "run",
            "--sync",
            "fal-ai/flux/dev",
            "--input",
            r#"{"prompt":"x"}"#,
        ],
    );
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut stderr)
        .expect("readable");
    let code = tokio::task::spawn_blocking(move || exit_code(&mut child))
        .await
        .expect("joined");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        !stderr.chars().any(|c| c.is_control() && c != '\n'),
        "a control character reached stderr: {stderr:?}"
    );
    assert!(stderr.contains("\\u{1b}[2J"), "shown escaped: {stderr}");
}

/// JSON on stdout stays JSON whatever the strings hold, with no raw controls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_is_valid_json_without_raw_controls() {
    let kit = Testkit::builder().start().await.expect("testkit starts");
    // The testkit's echo endpoint streams its input back.
    let text = "\u{1b}[2J \u{9b}31m \u{7f} \u{202e}exe.txt \n tab\t";
    let input = serde_json::json!({"prompt": text}).to_string();
    let mut child = spawn(&kit, &["stream", "testkit/echo", "--input", &input]);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout is piped")
        .read_to_string(&mut stdout)
        .expect("readable");
    let code = tokio::task::spawn_blocking(move || exit_code(&mut child))
        .await
        .expect("joined");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        !stdout
            .chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{202e}'),
        "raw control on stdout: {stdout:?}"
    );
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect();
    assert!(events.len() >= 2);
    assert_eq!(
        events.last().expect("a final event")["prompt"],
        text,
        "same value"
    );
}
