//! `fal schemas fetch` against an in-process testkit serving the project's own
//! `schemas/` directory on its `/web` (fal.ai) and `/api` (api.fal.ai) routes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fal_testkit::{Fault, FaultRule, RouteKind, Testkit};
use serde_json::Value;

/// Longest a single `fal` invocation may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(20);

fn shipped_schemas() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

fn shipped(id: &str) -> Value {
    let path = shipped_schemas().join(format!("{}.json", id.replace('/', "__")));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn testkit() -> Testkit {
    Testkit::builder()
        .schemas_dir(shipped_schemas())
        .start()
        .await
        .expect("testkit starts")
}

/// Runs the built `fal` with a clean fal environment plus `env`, killing it
/// after [`RUN_LIMIT`].
async fn fal(args: Vec<String>, env: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_fal"));
        for var in [
            "FAL_KEY",
            "FAL_KEY_ID",
            "FAL_KEY_SECRET",
            "FAL_WEB_URL",
            "FAL_API_URL",
        ] {
            command.env_remove(var);
        }
        command
            .args(&args)
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn fal");
        let started = Instant::now();
        loop {
            match child.try_wait().expect("wait for fal") {
                Some(_) => return child.wait_with_output().expect("collect output"),
                None if started.elapsed() > RUN_LIMIT => {
                    let _ = child.kill();
                    panic!("fal {args:?} ran longer than {RUN_LIMIT:?}");
                }
                None => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })
    .await
    .expect("runner thread")
}

fn args(ids: &[&str], out: &Path, extra: &[String]) -> Vec<String> {
    let mut a: Vec<String> = ["schemas", "fetch"].iter().map(|s| s.to_string()).collect();
    a.extend(ids.iter().map(|s| s.to_string()));
    a.push("--out".into());
    a.push(out.display().to_string());
    a.extend(extra.iter().cloned());
    a
}

fn hosts(kit: &Testkit) -> Vec<String> {
    vec![
        "--web-url".into(),
        format!("{}/web", kit.base_url()),
        "--api-url".into(),
        format!("{}/api/", kit.base_url()),
    ]
}

fn written(out: &Path, id: &str) -> Value {
    let path = out.join(format!("{}.json", id.replace('/', "__")));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn routes(kit: &Testkit) -> Vec<RouteKind> {
    kit.journal().iter().map(|e| e.route).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_documents_from_the_web_host() {
    let kit = testkit().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("fetched");
    let ids = ["fal-ai/flux/dev", "fal-ai/kokoro/american-english"];
    let output = fal(args(&ids, &out, &hosts(&kit)), vec![]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "stdout stays empty");
    for id in ids {
        assert_eq!(written(&out, id), shipped(id), "{id}");
    }
    let journal = kit.journal();
    assert_eq!(routes(&kit), vec![RouteKind::OpenApi, RouteKind::OpenApi]);
    for entry in &journal {
        assert!(
            entry
                .path
                .starts_with("/web/api/openapi/queue/openapi.json?endpoint_id=fal-ai%2F"),
            "{}",
            entry.path
        );
        assert!(entry.header("authorization").is_none(), "no key, no header");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_and_key_come_from_the_environment() {
    let kit = testkit().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let env = vec![
        ("FAL_WEB_URL", format!("{}/web/", kit.base_url())),
        ("FAL_API_URL", format!("{}/api", kit.base_url())),
        ("FAL_KEY", "id:secret".to_owned()),
    ];
    let output = fal(args(&["fal-ai/flux/schnell"], dir.path(), &[]), env).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        written(dir.path(), "fal-ai/flux/schnell"),
        shipped("fal-ai/flux/schnell")
    );
    let journal = kit.journal();
    assert_eq!(journal.len(), 1);
    assert!(
        journal[0].header("authorization").is_some(),
        "FAL_KEY is sent"
    );
    assert!(
        !stderr(&output).contains("secret"),
        "the key is never printed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_api_serves_as_source_and_as_fallback() {
    let kit = testkit().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let id = "fal-ai/bytedance/seed/v2/mini";

    let models_only = args(
        &[id],
        dir.path(),
        &[hosts(&kit), vec!["--source".into(), "models".into()]].concat(),
    );
    let output = fal(models_only, vec![]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(written(dir.path(), id), shipped(id));
    assert_eq!(routes(&kit), vec![RouteKind::Models]);
    let path = &kit.journal()[0].path;
    assert!(path.contains("expand=openapi-3.0"), "{path}");

    kit.clear_journal();
    std::fs::remove_dir_all(dir.path()).expect("clean");
    kit.inject(FaultRule::status(503).on(RouteKind::OpenApi));
    let output = fal(args(&[id], dir.path(), &hosts(&kit)), vec![]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(written(dir.path(), id), shipped(id));
    assert_eq!(routes(&kit), vec![RouteKind::OpenApi, RouteKind::Models]);
    let err = stderr(&output);
    assert!(err.contains("503") && err.contains("models API"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_failures_exit_1_and_name_the_cause() {
    let kit = testkit().await;
    let dir = tempfile::tempdir().expect("temp dir");

    // Only the web host, and it fails: the status and URL are named.
    kit.inject(FaultRule::status(503).on(RouteKind::OpenApi));
    let web_only = [hosts(&kit), vec!["--source".into(), "web".into()]].concat();
    let output = fal(args(&["fal-ai/flux/dev"], dir.path(), &web_only), vec![]).await;
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(
        err.contains("HTTP 503") && err.contains("/web/api/openapi/queue/openapi.json"),
        "{err}"
    );
    assert!(!dir.path().join("fal-ai__flux__dev.json").exists());

    // A 200 that is not a document is refused, not written.
    kit.inject(FaultRule::new(Fault::Status {
        status: 200,
        retry_after: None,
        body: Some(serde_json::json!({"detail": "maintenance"})),
        ingress: false,
        request_id: None,
    }));
    let output = fal(args(&["fal-ai/flux/dev"], dir.path(), &web_only), vec![]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no OpenAPI 3 version"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("fal-ai__flux__dev.json").exists());

    // Unknown to both services; the known one is still written.
    let output = fal(
        args(
            &["acme/nothing-here", "fal-ai/fast-sdxl"],
            dir.path(),
            &hosts(&kit),
        ),
        vec![],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("1 of 2"), "{err}");
    assert!(
        err.contains("acme/nothing-here") && err.contains("HTTP 404"),
        "{err}"
    );
    assert!(err.contains("does not include"), "{err}");
    assert_eq!(
        written(dir.path(), "fal-ai/fast-sdxl"),
        shipped("fal-ai/fast-sdxl")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_usage_exits_2_before_any_request() {
    let kit = testkit().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let output = fal(
        args(&["fal-ai/flux/dev", "flux"], dir.path(), &hosts(&kit)),
        vec![],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("invalid endpoint id \"flux\""),
        "{}",
        stderr(&output)
    );

    let bad_host = vec!["--web-url".into(), "not a url".into()];
    let output = fal(args(&["fal-ai/flux/dev"], dir.path(), &bad_host), vec![]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--web-url"), "{}", stderr(&output));

    let file = dir.path().join("a-file");
    std::fs::write(&file, b"").expect("write");
    let output = fal(args(&["fal-ai/flux/dev"], &file, &hosts(&kit)), vec![]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--out"), "{}", stderr(&output));

    assert!(kit.journal().is_empty(), "no request was made");
}

/// The testkit serves minified JSON on the web route (as fal does); whichever
/// service a document came from, the file is the same bytes: pretty JSON with
/// a trailing newline, mode 0644.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_writes_the_same_pretty_0644_file() {
    let kit = testkit().await;
    let id = "fal-ai/flux/schnell";
    let mut files = Vec::new();
    for source in ["web", "models"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let extra = [hosts(&kit), vec!["--source".into(), source.into()]].concat();
        let output = fal(args(&[id], dir.path(), &extra), vec![]).await;
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let path = dir.path().join("fal-ai__flux__schnell.json");
        let text = std::fs::read_to_string(&path).expect("written");
        assert!(text.ends_with("}\n"), "{source}: trailing newline");
        assert!(text.starts_with("{\n  \""), "{source}: pretty");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o644, "{source}: mode {mode:o}");
        }
        files.push(text);
    }
    assert_eq!(files[0], files[1], "web and models API give the same file");
}

/// Every `*.json` in `dir`, by file name.
fn json_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn all_args(out: &Path, kit: &Testkit, extra: &[&str]) -> Vec<String> {
    let mut a = args(&[], out, &hosts(kit));
    a.insert(2, "--all".into());
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_pages_through_the_models_listing() {
    let kit = testkit().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("all");
    let output = fal(all_args(&out, &kit, &["--page-size", "3"]), vec![]).await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let expected = json_names(&shipped_schemas());
    assert_eq!(json_names(&out), expected);
    for name in &expected {
        let id = name.trim_end_matches(".json").replace("__", "/");
        assert_eq!(written(&out, &id), shipped(&id), "{id}");
    }
    // ceil(documents / 3) pages, each asking for the documents; the cursor of
    // each reply is sent with the next request.
    let journal = kit.journal();
    assert_eq!(journal.len(), expected.len().div_ceil(3));
    assert!(journal.iter().all(|e| e.route == RouteKind::Models));
    assert!(journal[0].path.contains("limit=3") && journal[0].path.contains("expand=openapi-3.0"));
    assert!(!journal[0].path.contains("cursor="), "{}", journal[0].path);
    assert!(
        journal[1].path.contains("cursor=Mg%3D%3D"),
        "{}",
        journal[1].path
    );
    assert!(stderr(&output).contains(&format!("fetched {} document(s)", expected.len())));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_narrows_by_category_and_reports_page_failures() {
    let kit = testkit().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("tts");
    let output = fal(
        all_args(&out, &kit, &["--category", "text-to-speech"]),
        vec![],
    )
    .await;
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(json_names(&out), ["fal-ai__kokoro__american-english.json"]);
    assert!(kit.journal()[0].path.contains("category=text-to-speech"));

    kit.inject(FaultRule::status(503).on(RouteKind::Models));
    let out = dir.path().join("failed");
    let output = fal(all_args(&out, &kit, &[]), vec![]).await;
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("page 1") && err.contains("HTTP 503"), "{err}");
    assert!(json_names(&out).is_empty());

    // Ids and --all exclude each other; --all has no web-host form.
    let mut both = all_args(&out, &kit, &[]);
    both.insert(3, "fal-ai/flux/dev".into());
    assert_eq!(fal(both, vec![]).await.status.code(), Some(2));
    let web = fal(all_args(&out, &kit, &["--source", "web"]), vec![]).await;
    assert_eq!(web.status.code(), Some(2));
    assert!(stderr(&web).contains("--source web"), "{}", stderr(&web));
}

/// A schema host that answers with a document the generator would refuse (a
/// `$ref` chain 1,000 long, past its nesting bound) gets it refused at fetch
/// time, naming the file and JSON pointer, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_the_generator_refuses_is_not_written() {
    let kit = testkit().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut schemas = serde_json::Map::new();
    for i in 0..1_000 {
        let next = serde_json::json!({ "$ref": format!("#/components/schemas/C{}", i + 1) });
        schemas.insert(format!("C{i}"), next);
    }
    schemas.insert("C1000".into(), serde_json::json!({ "type": "string" }));
    let deep = serde_json::json!({
        "openapi": "3.0.4",
        "info": { "x-fal-metadata": { "endpointId": "fal-ai/flux/dev" } },
        "paths": { "/fal-ai/flux/dev": { "post": { "requestBody": { "content": {
            "application/json": { "schema": { "$ref": "#/components/schemas/C0" } }
        } } } } },
        "components": { "schemas": schemas }
    });
    kit.inject(
        FaultRule::new(Fault::Status {
            status: 200,
            retry_after: None,
            body: Some(deep),
            ingress: false,
            request_id: None,
        })
        .on(RouteKind::OpenApi),
    );
    let web_only = [hosts(&kit), vec!["--source".into(), "web".into()]].concat();
    let output = fal(args(&["fal-ai/flux/dev"], dir.path(), &web_only), vec![]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("code generator cannot use it")
            && err.contains("fal-ai__flux__dev.json")
            && err.contains("#/components/schemas/C"),
        "{err}"
    );
    assert!(!dir.path().join("fal-ai__flux__dev.json").exists());
}
