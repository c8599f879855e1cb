//! The Platform API verbs end to end: the real `fal` binary against a testkit
//! on 127.0.0.1 whose jobs, prices and files the answers must agree with.

mod common;

use std::process::Output;
use std::time::Duration;

use fal_testkit::{PricingTable, Testkit};
use serde_json::{json, Value};

async fn kit() -> Testkit {
    Testkit::builder()
        .queue_delay(Duration::ZERO)
        .run_duration(Duration::ZERO)
        .schemas_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas"))
        .pricing(PricingTable::new().endpoint("fal-ai/flux/dev", 0.03, "image"))
        .start()
        .await
        .expect("testkit starts")
}

/// `fal ARGS` pointed at `kit` (FAL_API_URL, as documented), off the runtime
/// the testkit serves on.
async fn fal(kit: &Testkit, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env = [
        ("FAL_KEY".to_owned(), kit.key().to_owned()),
        ("FAL_API_URL".to_owned(), kit.api_url()),
        ("FAL_QUEUE_URL".to_owned(), kit.queue_url()),
        ("FAL_REST_URL".to_owned(), kit.rest_url()),
    ];
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        common::fal_with(&args, &env)
    })
    .await
    .expect("fal ran")
}

fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

fn json_of(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).expect("stdout is JSON")
}

/// Runs one queued request to its end; returns its id.
async fn run_job(kit: &Testkit, input: Value) -> String {
    let client = kit.client_builder().build().expect("client");
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(input)
        .await
        .expect("submitted");
    handle.result().await.ok();
    handle.request_id().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pricing_and_both_estimates_as_tables_and_json() {
    let kit = kit().await;
    let table = ok(&fal(&kit, &["pricing", "fal-ai/flux/dev"]).await);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("ENDPOINT"), "{table}");
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(cells, ["fal-ai/flux/dev", "0.03", "USD", "image"]);

    let prices = json_of(&fal(&kit, &["pricing", "fal-ai/flux/dev", "--json"]).await);
    assert_eq!(prices[0]["unit_price"], json!(0.03));

    let estimate = json_of(&fal(&kit, &["estimate", "fal-ai/flux/dev=100", "--json"]).await);
    assert_eq!(estimate["estimate_type"], "unit_price");
    assert!((estimate["total_cost"].as_f64().unwrap() - 3.0).abs() < 1e-9);
    let calls = json_of(
        &fal(
            &kit,
            &["estimate", "--calls", "fal-ai/flux/dev=10", "--json"],
        )
        .await,
    );
    assert_eq!(calls["estimate_type"], "historical_api_price");
    let table = ok(&fal(&kit, &["estimate", "fal-ai/flux/dev=100"]).await);
    assert!(
        table.lines().nth(1).unwrap().contains("unit_price"),
        "{table}"
    );

    let bad = fal(&kit, &["estimate", "fal-ai/flux/dev"]).await;
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("ENDPOINT=N"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_search_and_get() {
    let kit = kit().await;
    let found = json_of(&fal(&kit, &["models", "search", "image-to-video", "--json"]).await);
    let ids: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["endpoint_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "fal-ai/kling-video/v1.6/standard/image-to-video",
            "fal-ai/luma-dream-machine/image-to-video"
        ]
    );
    let table = ok(&fal(&kit, &["models", "search", "image-to-video"]).await);
    assert_eq!(table.lines().count(), 3, "{table}");

    let document = json_of(&fal(&kit, &["models", "get", "fal-ai/flux/dev", "--openapi"]).await);
    assert_eq!(
        document["info"]["x-fal-metadata"]["endpointId"],
        "fal-ai/flux/dev"
    );
    let table = ok(&fal(&kit, &["models", "get", "fal-ai/flux/dev"]).await);
    assert!(table.contains("fal-ai/flux/dev"), "{table}");
    let missing = fal(&kit, &["models", "get", "nobody/nothing"]).await;
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_history_and_payload_deletion_follow_the_jobs_that_ran() {
    let kit = kit().await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        ids.push(run_job(&kit, json!({"prompt": "a", "num_images": 2})).await);
    }
    let usage = json_of(&fal(&kit, &["usage", "--endpoint", "fal-ai/flux/dev", "--json"]).await);
    assert_eq!(usage[0]["quantity"], json!(4.0));
    assert!((usage[0]["cost_total"].as_f64().unwrap() - 0.12).abs() < 1e-9);
    let table = ok(&fal(&kit, &["usage"]).await);
    assert!(
        table.lines().nth(1).unwrap().starts_with("fal-ai/flux/dev"),
        "{table}"
    );

    let listed = json_of(&fal(&kit, &["requests", "list", "fal-ai/flux/dev", "--json"]).await);
    let mut listed_ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["request_id"].as_str().unwrap())
        .collect();
    listed_ids.sort();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(listed_ids, expected);
    let one = json_of(
        &fal(
            &kit,
            &[
                "requests",
                "list",
                "fal-ai/flux/dev",
                "--limit",
                "1",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(one.as_array().unwrap().len(), 1);
    let table = ok(&fal(&kit, &["requests", "list", "fal-ai/flux/dev"]).await);
    assert_eq!(table.lines().count(), 3, "{table}");

    let deleted = json_of(
        &fal(
            &kit,
            &["requests", "delete-payloads", ids[0].as_str(), "--json"],
        )
        .await,
    );
    let file = deleted["cdn_delete_results"][0]["link"]
        .as_str()
        .expect("a file")
        .to_owned();
    let status = reqwest::get(&file).await.expect("file").status();
    assert_eq!(status.as_u16(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_key_the_platform_verbs_exit_2() {
    for args in [
        &["pricing", "fal-ai/flux/dev"][..],
        &["estimate", "fal-ai/flux/dev=1"],
        &["usage"],
        &["models", "search", "flux"],
        &["requests", "list", "fal-ai/flux/dev"],
    ] {
        let out = tokio::task::spawn_blocking(move || common::fal_with(args, &[]))
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("FAL_KEY is not set"));
        assert!(out.stdout.is_empty());
    }
}
