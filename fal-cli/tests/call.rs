//! The `fal` binary end to end: output streams and exit codes of DESIGN.md.

use std::process::{Command, Output};

mod common;

use common::fal_with as fal_env;

fn fal(args: &[&str]) -> Output {
    fal_env(args, &[])
}

#[test]
fn without_a_key_every_calling_verb_exits_2_and_names_the_way_out() {
    let input = r#"{"prompt":"a cat"}"#;
    let id = "00000000-0000-4000-8000-000000000000";
    let file = std::env::current_exe().expect("the test binary exists");
    let file = file.to_str().expect("a UTF-8 path");
    let verbs: [&[&str]; 8] = [
        &["run", "fal-ai/flux/dev", "--input", input],
        &["run", "fal-ai/flux/dev", "--sync", "--input", input],
        &["submit", "fal-ai/flux/dev", "--input", input],
        &["status", "fal-ai/flux/dev", id],
        &["result", "fal-ai/flux/dev", id],
        &["cancel", "fal-ai/flux/dev", id],
        &["stream", "fal-ai/flux/dev", "--input", input],
        &["upload", file],
    ];
    for args in verbs {
        for env in [&[][..], &[("FAL_TESTKIT", "0")][..]] {
            let out = fal_env(args, env);
            assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {out:?}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("FAL_KEY is not set") && stderr.contains("--testkit"),
                "{args:?}: {stderr}"
            );
            assert!(!stderr.contains("embedded fal testkit at"), "{stderr}");
            assert!(out.stdout.is_empty(), "{args:?}: nothing synthesized");
        }
    }
}

#[test]
fn testkit_flag_and_variable_run_against_an_embedded_testkit_and_say_so() {
    let input = r#"{"prompt":"a cat"}"#;
    for (args, env) in [
        (
            &["run", "--testkit", "fal-ai/flux/dev", "--input", input][..],
            &[][..],
        ),
        (
            &["run", "fal-ai/flux/dev", "--input", input][..],
            &[("FAL_TESTKIT", "1")][..],
        ),
    ] {
        let out = fal_env(args, env);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("embedded fal testkit"), "{stderr}");
        assert!(stderr.contains("synthesized"), "{stderr}");
        let result: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("stdout is JSON");
        assert_eq!(result["prompt"], "a cat");
    }
    let out = fal_env(
        &["run", "fal-ai/flux/dev", "--input", input],
        &[("FAL_TESTKIT", "maybe")],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAL_TESTKIT"));
}

#[test]
fn sync_run_prints_the_result() {
    let out = fal(&[
        "run",
        "fal-ai/flux/dev",
        "--testkit",
        "--sync",
        "--input",
        r#"{"prompt":"x"}"#,
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert!(result["images"][0]["url"].is_string());
}

#[test]
fn a_model_failure_exits_1_naming_status_and_request_id() {
    let out = fal(&[
        "run",
        "fal-ai/flux/dev",
        "--testkit",
        "--sync",
        "--input",
        "{}",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("422") && stderr.contains("request id"),
        "{stderr}"
    );
    assert!(stderr.contains("body.prompt"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_input_exits_2_naming_the_flag_or_file() {
    let out = fal(&["run", "fal-ai/flux/dev", "--input", "{oops"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--input"));

    let out = fal(&[
        "run",
        "fal-ai/flux/dev",
        "--input",
        "@/nonexistent/input.json",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/input.json"));

    let out = fal(&["status", "flux", "some-id"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("flux"));

    // A bad endpoint id is refused before any embedded testkit starts.
    for verb in ["run", "stream"] {
        let out = fal(&[verb, "flux", "--input", "{}"]);
        assert_eq!(out.status.code(), Some(2), "{verb}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("invalid endpoint id \"flux\""),
            "{verb}: {stderr}"
        );
        assert!(!stderr.contains("embedded fal testkit"), "{verb}: {stderr}");
    }
}

fn fal_at(tk: &fal_testkit::Testkit, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fal"))
        .args(args)
        .env("FAL_KEY", tk.key())
        .env("FAL_QUEUE_URL", tk.queue_url())
        .env("FAL_RUN_URL", tk.run_url())
        .env("FAL_REST_URL", tk.rest_url())
        .output()
        .expect("fal runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_verbs_against_a_testkit() {
    let tk = fal_testkit::Testkit::builder()
        .queue_delay(std::time::Duration::from_secs(5))
        .start()
        .await
        .unwrap();
    let out = fal_at(
        &tk,
        &[
            "submit",
            "fal-ai/flux/dev",
            "--input",
            r#"{"prompt":"q"}"#,
            "--webhook",
            "https://example.invalid/hook",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(!id.is_empty());
    assert_eq!(
        tk.webhook_of(&id).as_deref(),
        Some("https://example.invalid/hook")
    );

    let out = fal_at(&tk, &["status", "fal-ai/flux/dev", &id, "--logs"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["status"], "IN_QUEUE");

    let out = fal_at(&tk, &["result", "fal-ai/flux/dev", &id]);
    assert_eq!(out.status.code(), Some(1), "not finished yet: {out:?}");

    let out = fal_at(&tk, &["cancel", "fal-ai/flux/dev", &id]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(out.stdout.is_empty());

    let out = fal_at(
        &tk,
        &[
            "status",
            "fal-ai/flux/dev",
            "00000000-0000-4000-8000-000000000000",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("404"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testkit_verb_prints_a_base_url_that_serves_fal() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = Command::new(env!("CARGO_BIN_EXE_fal"))
        .args(["testkit", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fal testkit starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .unwrap();
    let base = line.expect("a line on stdout").trim().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let client = fal_runtime::Client::builder()
        .ignore_env()
        .key(fal_testkit::DEFAULT_KEY)
        .queue_url(format!("{base}/queue"))
        .run_url(format!("{base}/run"))
        .build()
        .unwrap();
    let output = client
        .endpoint("fal-ai/flux/dev")
        .run(serde_json::json!({"prompt": "served"}))
        .await;
    child.kill().expect("the testkit stops");
    let _ = child.wait();
    assert_eq!(output.unwrap()["prompt"], "served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_split_key_form_and_url_prefixes_with_slashes_work() {
    let tk = fal_testkit::Testkit::builder().start().await.unwrap();
    let (id, secret) = tk.key().split_once(':').unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fal"))
        .args([
            "run",
            "fal-ai/flux/dev",
            "--sync",
            "--input",
            r#"{"prompt":"split"}"#,
        ])
        .env_remove("FAL_KEY")
        .env("FAL_KEY_ID", id)
        .env("FAL_KEY_SECRET", secret)
        .env("FAL_QUEUE_URL", format!("{}/", tk.queue_url()))
        .env("FAL_RUN_URL", format!("{}/", tk.run_url()))
        .env("FAL_REST_URL", tk.rest_url())
        .output()
        .expect("fal runs");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("embedded"), "a key was set: {stderr}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["prompt"], "split");
}
