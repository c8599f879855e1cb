//! The Platform API routes (`/api/v1/…`) over real sockets: prices and
//! estimates from the configured table, history, usage, analytics and billing
//! computed from jobs the testkit really ran, payload deletion, storage
//! settings, the error envelope, auth and idempotency.

mod common;

use common::*;
use fal_testkit::{PricingTable, Testkit};
use serde_json::{json, Value};

fn schemas_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

async fn kit() -> Testkit {
    start(
        fast().schemas_dir(schemas_dir()).pricing(
            PricingTable::new()
                .endpoint("fal-ai/flux/dev", 0.03, "image")
                .category("llm", 0.002, "request"),
        ),
    )
    .await
}

async fn api(
    kit: &Testkit,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = authed(
        kit,
        client().request(method, format!("{}/v1/{path}", kit.api_url())),
    );
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    let has_id = response.headers().contains_key("x-fal-request-id");
    let body = response.json().await.unwrap_or(Value::Null);
    assert!(has_id, "every platform answer carries x-fal-request-id");
    (status, body)
}

async fn get_api(kit: &Testkit, path: &str) -> (u16, Value) {
    api(kit, reqwest::Method::GET, path, None).await
}

/// Runs `count` queued requests of `endpoint` to completion; returns their ids.
async fn run_jobs(kit: &Testkit, endpoint: &str, input: Value, count: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let submitted = submit(kit, endpoint, input.clone()).await;
        let status_url = submitted["status_url"]
            .as_str()
            .expect("status url")
            .to_owned();
        wait_completed(kit, &status_url).await;
        ids.push(submitted["request_id"].as_str().expect("id").to_owned());
    }
    ids
}

#[tokio::test]
async fn prices_come_from_the_table_then_the_category_then_the_fallback() {
    let kit = kit().await;
    let (status, body) = get_api(
        &kit,
        "models/pricing?endpoint_id=fal-ai/flux/dev,fal-ai/fast-sdxl&endpoint_id=fal-ai/bytedance/seed/v2/mini&endpoint_id=acme/unknown",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let prices: Vec<(String, f64, String)> = body["prices"]
        .as_array()
        .expect("prices")
        .iter()
        .map(|p| {
            assert_eq!(p["currency"], "USD");
            (
                p["endpoint_id"].as_str().unwrap_or_default().to_owned(),
                p["unit_price"].as_f64().unwrap_or(-1.0),
                p["unit"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        prices,
        vec![
            ("fal-ai/flux/dev".into(), 0.03, "image".into()),
            ("fal-ai/fast-sdxl".into(), 0.025, "image".into()),
            (
                "fal-ai/bytedance/seed/v2/mini".into(),
                0.002,
                "request".into()
            ),
            ("acme/unknown".into(), 0.01, "request".into()),
        ]
    );
    assert_eq!(body["has_more"], false);
    assert!(body["next_cursor"].is_null());

    let (status, body) = get_api(&kit, "models/pricing").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "validation_error");
    assert!(body["error"]["request_id"].is_string(), "{body}");
}

#[tokio::test]
async fn estimates_use_unit_prices_or_what_calls_billed() {
    let kit = kit().await;
    let (status, body) = api(
        &kit,
        reqwest::Method::POST,
        "models/pricing/estimate",
        Some(json!({"estimate_type": "unit_price", "endpoints": {
            "fal-ai/flux/dev": {"unit_quantity": 10},
            "fal-ai/kling-video/v1.6/standard/image-to-video": {"unit_quantity": 2}
        }})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["estimate_type"], "unit_price");
    assert!((body["total_cost"].as_f64().unwrap_or(0.0) - (10.0 * 0.03 + 2.0 * 0.25)).abs() < 1e-9);

    // No calls yet: one unit per call. Then two calls of four images each.
    let historical = json!({"estimate_type": "historical_api_price", "endpoints": {"fal-ai/flux/dev": {"call_quantity": 5}}});
    let (_, before) = api(
        &kit,
        reqwest::Method::POST,
        "models/pricing/estimate",
        Some(historical.clone()),
    )
    .await;
    assert!(
        (before["total_cost"].as_f64().unwrap_or(0.0) - 5.0 * 0.03).abs() < 1e-9,
        "{before}"
    );
    run_jobs(
        &kit,
        "fal-ai/flux/dev",
        json!({"prompt": "a kite", "num_images": 4}),
        2,
    )
    .await;
    let (_, after) = api(
        &kit,
        reqwest::Method::POST,
        "models/pricing/estimate",
        Some(historical),
    )
    .await;
    assert!(
        (after["total_cost"].as_f64().unwrap_or(0.0) - 5.0 * 4.0 * 0.03).abs() < 1e-9,
        "{after}"
    );

    for bad in [
        json!({"estimate_type": "guess", "endpoints": {"a/b": {"unit_quantity": 1}}}),
        json!({"estimate_type": "unit_price", "endpoints": {"a/b": {"unit_quantity": 0}}}),
        json!({"estimate_type": "historical_api_price", "endpoints": {"a/b": {"call_quantity": 1.5}}}),
        json!({"estimate_type": "unit_price", "endpoints": {}}),
    ] {
        let (status, body) = api(
            &kit,
            reqwest::Method::POST,
            "models/pricing/estimate",
            Some(bad.clone()),
        )
        .await;
        assert_eq!(
            (status, body["error"]["type"].clone()),
            (400, json!("validation_error")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn history_usage_and_billing_follow_the_jobs_that_ran() {
    let kit = kit().await;
    let ok = run_jobs(
        &kit,
        "fal-ai/flux/dev",
        json!({"prompt": "a", "num_images": 2}),
        3,
    )
    .await;
    // A rejected input (422) is a user error and bills nothing.
    let bad = submit(&kit, "fal-ai/flux/dev", json!({"num_images": 2})).await;
    wait_completed(&kit, bad["status_url"].as_str().expect("url")).await;
    // A direct run is part of the history too.
    let run = authed(
        &kit,
        client().post(format!("{}/fal-ai/flux/dev", kit.run_url())),
    )
    .json(&json!({"prompt": "direct"}))
    .send()
    .await
    .expect("run");
    assert_eq!(run.status(), 200);
    let run_id = run.headers()["x-fal-request-id"]
        .to_str()
        .expect("id")
        .to_owned();

    let (status, history) = get_api(
        &kit,
        "models/requests/by-endpoint?endpoint_id=fal-ai/flux/dev&expand=payloads&limit=2",
    )
    .await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(history["has_more"], true);
    assert_eq!(
        history["items"][0]["request_id"],
        run_id.as_str(),
        "newest first"
    );
    assert_eq!(
        history["items"][0]["json_input"],
        json!({"prompt": "direct"})
    );
    let mut seen: Vec<Value> = history["items"].as_array().cloned().unwrap_or_default();
    let mut cursor = history["next_cursor"].as_str().map(str::to_owned);
    while let Some(next) = cursor {
        let (_, page) = get_api(
            &kit,
            &format!(
                "models/requests/by-endpoint?endpoint_id=fal-ai/flux/dev&limit=2&cursor={}",
                next.replace('=', "%3D")
            ),
        )
        .await;
        seen.extend(page["items"].as_array().cloned().unwrap_or_default());
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 5);
    let codes: Vec<i64> = seen
        .iter()
        .filter_map(|i| i["status_code"].as_i64())
        .collect();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 4);
    assert_eq!(codes.iter().filter(|c| **c == 422).count(), 1);
    let (_, user_errors) = get_api(
        &kit,
        "models/requests/by-endpoint?endpoint_id=fal-ai/flux/dev&status=user_error",
    )
    .await;
    assert_eq!(user_errors["items"][0]["request_id"], bad["request_id"]);

    // Usage: 3 × 2 images + 1 image from the direct run (its default), at 0.03.
    let (status, usage) = get_api(
        &kit,
        "models/usage?expand=time_series,summary&timeframe=day",
    )
    .await;
    assert_eq!(status, 200, "{usage}");
    let summary = &usage["summary"][0];
    assert_eq!(summary["endpoint_id"], "fal-ai/flux/dev");
    assert_eq!(summary["quantity"].as_f64(), Some(7.0), "{usage}");
    assert!((summary["cost_total"].as_f64().unwrap_or(0.0) - 7.0 * 0.03).abs() < 1e-9);
    assert_eq!(usage["time_series"][0]["results"][0]["unit"], "image");

    let (_, events) = get_api(&kit, "models/billing-events?endpoint_id=fal-ai/flux/dev").await;
    let events = events["billing_events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(events.len(), 4, "successful jobs bill, the 422 does not");
    let billed: Vec<&str> = events
        .iter()
        .filter_map(|e| e["request_id"].as_str())
        .collect();
    for id in &ok {
        assert!(billed.contains(&id.as_str()), "{id} billed");
    }
    assert_eq!(
        events[0]["output_units"].as_f64(),
        Some(1.0),
        "the direct run, newest"
    );

    let (_, analytics) = get_api(
        &kit,
        "models/analytics?endpoint_id=fal-ai/flux/dev&expand=summary",
    )
    .await;
    let totals = &analytics["summary"][0];
    assert_eq!(
        (
            totals["request_count"].as_i64(),
            totals["success_count"].as_i64(),
            totals["user_error_count"].as_i64()
        ),
        (Some(5), Some(4), Some(1)),
        "{analytics}"
    );
    let (status, body) = get_api(&kit, "models/analytics").await;
    assert_eq!(
        (status, body["error"]["type"].clone()),
        (400, json!("validation_error"))
    );
}

#[tokio::test]
async fn deleting_payloads_removes_the_output_and_its_files() {
    let kit = kit().await;
    let id = run_jobs(&kit, "fal-ai/flux/dev", json!({"prompt": "a"}), 1)
        .await
        .remove(0);
    let result_url = format!("{}/fal-ai/flux/requests/{id}", kit.queue_url());
    let output = json(get(&kit, &result_url).await).await;
    let image = output["images"][0]["url"]
        .as_str()
        .expect("image url")
        .to_owned();
    assert_eq!(
        client().get(&image).send().await.expect("file").status(),
        200
    );

    let delete = |key: &'static str| {
        authed(
            &kit,
            client().delete(format!(
                "{}/v1/models/requests/{id}/payloads",
                kit.api_url()
            )),
        )
        .header("idempotency-key", key)
        .send()
    };
    let response = delete("k1").await.expect("sent");
    assert_eq!(response.status(), 200);
    let deleted = json(response).await;
    assert_eq!(deleted["cdn_delete_results"][0]["link"], image.as_str());
    assert!(deleted["cdn_delete_results"][0]["exception"].is_null());
    // The same key replays the answer; the file and the result are gone.
    let replay = json(delete("k1").await.expect("sent")).await;
    assert_eq!(replay, deleted);
    assert_eq!(
        client().get(&image).send().await.expect("file").status(),
        404
    );
    assert_eq!(get(&kit, &result_url).await.status(), 410);
    let (_, history) = get_api(
        &kit,
        &format!("models/requests/by-endpoint?endpoint_id=fal-ai/flux/dev&expand=payloads&request_id={id}"),
    )
    .await;
    assert!(
        history["items"][0]["json_input"].is_null() && history["items"][0]["json_output"].is_null()
    );
    assert_eq!(
        history["items"][0]["status_code"], 200,
        "the history keeps how it ended"
    );

    let (status, body) = api(
        &kit,
        reqwest::Method::DELETE,
        "models/requests/00000000-0000-0000-0000-000000000000/payloads",
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["type"].clone()),
        (404, json!("not_found"))
    );
}

#[tokio::test]
async fn auth_rules_and_the_admin_key() {
    let kit = start(fast().admin_key("admin-id:admin-secret")).await;
    let call = |path: &str, key: Option<&str>| {
        let mut request = client().get(format!("{}/v1/{path}", kit.api_url()));
        if let Some(key) = key {
            request = request.header("authorization", format!("Key {key}"));
        }
        request.send()
    };
    let status_and_type = |response: reqwest::Response| async move {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (status, body["error"]["type"].as_str().map(str::to_owned))
    };
    assert_eq!(call("meta", None).await.expect("sent").status(), 200);
    assert_eq!(call("models", None).await.expect("sent").status(), 200);
    assert_eq!(
        status_and_type(
            call("models/pricing?endpoint_id=a/b", None)
                .await
                .expect("sent")
        )
        .await,
        (401, Some("authorization_error".into()))
    );
    assert_eq!(
        status_and_type(
            call("models/pricing?endpoint_id=a/b", Some("wrong"))
                .await
                .expect("sent")
        )
        .await,
        (401, Some("authorization_error".into()))
    );
    assert_eq!(
        call("models/pricing?endpoint_id=a/b", Some(kit.key()))
            .await
            .expect("sent")
            .status(),
        200
    );
    assert_eq!(
        status_and_type(call("models/usage", Some(kit.key())).await.expect("sent")).await,
        (403, Some("authorization_error".into()))
    );
    assert_eq!(
        call("models/usage", Some("admin-id:admin-secret"))
            .await
            .expect("sent")
            .status(),
        200
    );
    // The admin key also works where an ordinary key does.
    assert_eq!(
        call(
            "models/pricing?endpoint_id=a/b",
            Some("admin-id:admin-secret")
        )
        .await
        .expect("sent")
        .status(),
        200
    );
    assert_eq!(
        status_and_type(
            call("models/nothing-here", Some(kit.key()))
                .await
                .expect("sent")
        )
        .await,
        (404, Some("not_found".into()))
    );
}

#[tokio::test]
async fn storage_settings_acls_and_signed_urls() {
    let kit = kit().await;
    let (status, settings) = get_api(&kit, "storage/settings").await;
    assert_eq!(
        (status, settings.clone()),
        (
            200,
            json!({"expiration_duration_seconds": null, "initial_acl": null})
        )
    );
    let (status, updated) = api(
        &kit,
        reqwest::Method::PUT,
        "storage/settings",
        Some(json!({"expiration_duration_seconds": 3600, "initial_acl": {"default": "forbid"}})),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        updated["initial_acl"],
        json!({"default": "forbid", "rules": []})
    );
    assert_eq!(get_api(&kit, "storage/settings").await.1, updated);

    let file = format!("{}/files/abc/out.png", kit.cdn_url());
    let acl_path = format!("storage/files/acl?url={}", urlencode(&file));
    assert_eq!(
        get_api(&kit, &acl_path).await.1,
        json!({"default": "forbid", "rules": []}),
        "initial ACL"
    );
    let acl = json!({"default": "hide", "rules": [{"user": "team-a", "decision": "allow"}]});
    let (status, _) = api(&kit, reqwest::Method::PUT, &acl_path, Some(acl.clone())).await;
    assert_eq!(status, 200);
    assert_eq!(get_api(&kit, &acl_path).await.1, acl);
    let (status, body) = api(
        &kit,
        reqwest::Method::PUT,
        &acl_path,
        Some(json!({"default": "maybe"})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["type"].clone()),
        (400, json!("validation_error"))
    );

    let sign_path = format!("storage/files/sign?url={}", urlencode(&file));
    let (status, signed) = api(
        &kit,
        reqwest::Method::POST,
        &sign_path,
        Some(json!({"expiration_seconds": 60})),
    )
    .await;
    assert_eq!(status, 200, "{signed}");
    let signed = signed["signed_url"].as_str().expect("signed url");
    assert!(
        signed.starts_with(&file) && signed.contains("expires=") && signed.contains("signature="),
        "{signed}"
    );
    let (status, _) = api(
        &kit,
        reqwest::Method::POST,
        &sign_path,
        Some(json!({"expiration_seconds": 0})),
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = get_api(
        &kit,
        "storage/files/acl?url=https%3A%2F%2Fexample.com%2Fnot-a-file",
    )
    .await;
    assert_eq!(
        (status, body["error"]["type"].clone()),
        (404, json!("not_found"))
    );
}

#[tokio::test]
async fn meta_and_models_search() {
    let kit = kit().await;
    let (status, meta) = get_api(&kit, "meta").await;
    assert_eq!(status, 200);
    assert!(meta["webhook_ip_ranges"]
        .as_array()
        .is_some_and(|r| !r.is_empty()));
    let (_, found) = get_api(&kit, "models?q=image-to-video&expand=openapi-3.0").await;
    let ids: Vec<&str> = found["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["endpoint_id"].as_str())
        .collect();
    assert_eq!(
        ids,
        vec![
            "fal-ai/kling-video/v1.6/standard/image-to-video",
            "fal-ai/luma-dream-machine/image-to-video"
        ]
    );
    assert!(found["models"][0]["openapi"]["paths"].is_object());
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
