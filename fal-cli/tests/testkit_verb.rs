//! `fal testkit`: the base URL on stdout, a banner on stderr with every
//! variable a client needs and the schemas loaded and rejected, and the
//! `--key` / `--no-auth` choices enforced over real sockets.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running `fal testkit`, killed on drop.
struct Served {
    child: Child,
    base: String,
    banner: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `fal testkit ARGS` and reads its base URL and whole banner.
async fn serve(args: Vec<String>) -> Served {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fal"))
            .arg("testkit")
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("fal testkit starts");
        let mut base = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        BufReader::new(stdout)
            .read_line(&mut base)
            .expect("a line on stdout");
        let mut banner = String::new();
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
        while !banner.contains("Ctrl-C stops it.") {
            let mut line = String::new();
            if stderr.read_line(&mut line).expect("stderr readable") == 0 {
                break;
            }
            banner.push_str(&line);
        }
        Served {
            child,
            base: base.trim().to_owned(),
            banner,
        }
    })
    .await
    .expect("reader joins")
}

fn client(base: &str, key: Option<&str>) -> fal_runtime::Client {
    let builder = fal_runtime::Client::builder()
        .ignore_env()
        .queue_url(format!("{base}/queue"))
        .run_url(format!("{base}/run"))
        .rest_url(format!("{base}/rest"));
    match key {
        Some(key) => builder.key(key),
        None => builder,
    }
    .build()
    .expect("client builds")
}

async fn run(client: &fal_runtime::Client) -> Result<serde_json::Value, fal_runtime::Error> {
    client
        .endpoint("fal-ai/flux/dev")
        .run(serde_json::json!({"prompt": "served"}))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_banner_names_every_variable_and_the_chosen_key_is_enforced() {
    let served = serve(vec!["--key".into(), "mine:s3cret".into()]).await;
    let base = &served.base;
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    for line in [
        format!("FAL_QUEUE_URL={base}/queue"),
        format!("FAL_RUN_URL={base}/run"),
        format!("FAL_REST_URL={base}/rest"),
        format!("FAL_WEB_URL={base}/web"),
        format!("FAL_API_URL={base}/api"),
        "FAL_KEY=mine:s3cret".to_owned(),
        "forgotten 1h after they end".to_owned(),
    ] {
        assert!(served.banner.contains(&line), "{line} in {}", served.banner);
    }
    let output = run(&client(base, Some("mine:s3cret"))).await;
    assert_eq!(output.expect("the chosen key works")["prompt"], "served");
    let refused = run(&client(base, Some(fal_testkit::DEFAULT_KEY))).await;
    assert_eq!(
        refused
            .expect_err("the default key is not accepted")
            .status()
            .map(|s| s.as_u16()),
        Some(401)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_auth_accepts_calls_without_a_key() {
    let served = serve(vec!["--no-auth".into()]).await;
    assert!(served.banner.contains("auth is off"), "{}", served.banner);
    let output = run(&client(&served.base, None)).await;
    assert_eq!(output.expect("no key needed")["prompt"], "served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_banner_lists_schemas_loaded_and_rejected_with_reasons() {
    let dir = tempfile::tempdir().expect("temp dir");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    std::fs::copy(
        shipped.join("fal-ai__flux__dev.json"),
        dir.path().join("fal-ai__flux__dev.json"),
    )
    .expect("copied");
    // Indexed for discovery (it names its endpoint) but refused by the parser.
    std::fs::write(
        dir.path().join("broken.json"),
        r#"{"openapi":"2.0","info":{"x-fal-metadata":{"endpointId":"acme/broken"}},"paths":{"/acme/broken":{"post":{}}}}"#,
    )
    .expect("written");
    let served = serve(vec!["--schemas".into(), dir.path().display().to_string()]).await;
    let banner = &served.banner;
    assert!(banner.contains("1 loaded, 1 rejected"), "{banner}");
    assert!(banner.contains("loaded   fal-ai/flux/dev"), "{banner}");
    let rejected = banner
        .lines()
        .find(|l| l.contains("rejected acme/broken"))
        .unwrap_or_else(|| panic!("no rejected line in {banner}"));
    assert!(
        rejected.contains("broken.json"),
        "the reason names the file: {rejected}"
    );
    assert!(rejected.contains("2.0"), "and what is wrong: {rejected}");
}

#[test]
fn bad_keys_and_conflicting_flags_are_usage_errors() {
    for args in [
        &["testkit", "--key", "no-colon"][..],
        &["testkit", "--key", "a:b", "--no-auth"][..],
        &["testkit", "--retention", "soon"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_fal"))
            .args(args)
            .output()
            .expect("fal runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty());
    }
}
