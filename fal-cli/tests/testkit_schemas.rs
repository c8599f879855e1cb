//! `fal testkit --schemas DIR`: the served endpoints validate and synthesize
//! from the schemas.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testkit_with_schemas_answers_pydantic_422_and_conforming_outputs() {
    let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fal"))
        .args(["testkit", "--port", "0", "--schemas"])
        .arg(&schemas)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("fal testkit starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .expect("reader joins");
    let base = line.expect("a line on stdout").trim().to_owned();

    let client = fal_runtime::Client::builder()
        .ignore_env()
        .key(fal_testkit::DEFAULT_KEY)
        .queue_url(format!("{base}/queue"))
        .run_url(format!("{base}/run"))
        .build()
        .expect("client");
    let kokoro = client
        .endpoint("fal-ai/kokoro/american-english")
        .run(serde_json::json!({"prompt": "hello"}))
        .await;
    let invalid = client
        .endpoint("fal-ai/flux/dev")
        .run(serde_json::json!({"prompt": "x", "num_images": 5}))
        .await;
    let _ = child.kill();
    let _ = child.wait();

    let audio = kokoro.expect("kokoro runs");
    assert!(
        audio["audio"]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(".wav")),
        "{audio}"
    );
    let err = invalid.expect_err("num_images 5 is over the limit");
    let api = err.api().expect("an API error");
    assert_eq!(api.status.as_u16(), 422);
    let body: serde_json::Value = serde_json::from_str(&api.body).expect("JSON body");
    assert_eq!(
        body,
        serde_json::json!({"detail":[{"loc":["body","num_images"],"msg":"Input should be less than or equal to 4","type":"less_than_equal"}]})
    );
}
