//! Queue lifecycle over real sockets (spec 3).

mod common;

use std::time::Duration;

use common::*;
use fal_testkit::Testkit;
use serde_json::json;

#[tokio::test]
async fn submit_returns_every_field_and_the_request_id_header() {
    let kit = start(fast().queue_delay(Duration::from_secs(5))).await;
    let response = authed(
        &kit,
        client().post(format!("{}/fal-ai/flux/dev", kit.queue_url())),
    )
    .json(&json!({"prompt": "a cat"}))
    .send()
    .await
    .expect("sent");
    assert_eq!(response.status(), 200);
    let header = response
        .headers()
        .get("x-fal-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = json(response).await;
    let id = body["request_id"].as_str().expect("request_id");
    assert_eq!(header.as_deref(), Some(id));
    let base = format!("{}/fal-ai/flux/requests/{id}", kit.queue_url());
    assert_eq!(body["response_url"], base);
    assert_eq!(body["status_url"], format!("{base}/status"));
    assert_eq!(body["cancel_url"], format!("{base}/cancel"));
    assert_eq!(body["status"], "IN_QUEUE");
    assert_eq!(body["queue_position"], 0);
}

#[tokio::test]
async fn lifecycle_goes_queued_running_completed_with_202_then_200() {
    let kit = start(
        Testkit::builder()
            .queue_delay(Duration::from_millis(300))
            .run_duration(Duration::from_millis(400)),
    )
    .await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "x", "seed": 3})).await;
    let status_url = format!("{}?logs=1", sub["status_url"].as_str().expect("url"));
    let mut seen = Vec::new();
    let mut logs_seen = 0;
    for _ in 0..100 {
        let response = get(&kit, &status_url).await;
        let code = response.status().as_u16();
        let body = json(response).await;
        let status = body["status"].as_str().unwrap_or_default().to_owned();
        match status.as_str() {
            "IN_QUEUE" | "IN_PROGRESS" => assert_eq!(code, 202),
            "COMPLETED" => assert_eq!(code, 200),
            other => panic!("unexpected status {other}"),
        }
        if status == "IN_PROGRESS" {
            let logs = body["logs"].as_array().expect("logs array");
            for line in logs {
                assert_eq!(line["level"], "INFO");
                assert_eq!(line["source"], "USER");
                assert!(line["message"].is_string());
                assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
            }
            logs_seen = logs_seen.max(logs.len());
        }
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if status == "COMPLETED" {
            assert!(body["metrics"]["inference_time"]
                .as_f64()
                .is_some_and(|t| t > 0.3));
            assert_eq!(body["logs"].as_array().map(Vec::len), Some(4));
            assert!(body.get("error").is_none());
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(seen, ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]);
    assert!(logs_seen >= 1, "IN_PROGRESS carried log lines");
    let result = get(&kit, sub["response_url"].as_str().expect("url")).await;
    assert_eq!(result.status(), 200);
    let output = json(result).await;
    assert_eq!(output["seed"], 3);
    assert_eq!(output["prompt"], "x");
}

#[tokio::test]
async fn queue_position_counts_requests_ahead_down_to_zero() {
    let kit = start(
        Testkit::builder()
            .queue_delay(Duration::from_millis(600))
            .run_duration(Duration::ZERO),
    )
    .await;
    let first = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "1"})).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let second = submit(&kit, "fal-ai/flux/schnell", json!({"prompt": "2"})).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let third = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "3"})).await;
    let other_app = submit(&kit, "fal-ai/other", json!({"prompt": "x"})).await;
    assert_eq!(first["queue_position"], 0);
    assert_eq!(second["queue_position"], 1, "same base app shares a queue");
    assert_eq!(third["queue_position"], 2);
    assert_eq!(
        other_app["queue_position"], 0,
        "other apps have their own queue"
    );
    let url = third["status_url"].as_str().expect("url").to_owned();
    let mut positions = Vec::new();
    for _ in 0..100 {
        let body = json(get(&kit, &url).await).await;
        match body["status"].as_str() {
            Some("IN_QUEUE") => {
                let p = body["queue_position"].as_u64().expect("position");
                if positions.last() != Some(&p) {
                    positions.push(p);
                }
            }
            _ => break,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Counting down: starts at 2 and only ever decreases. (Each step lasts
    // 150 ms and polls come every 20 ms, so on a loaded machine a step can be
    // missed, but never reordered.)
    assert_eq!(positions.first(), Some(&2), "{positions:?}");
    assert!(positions.windows(2).all(|w| w[1] < w[0]), "{positions:?}");
    assert!(
        positions.len() >= 2,
        "the position changed while queued: {positions:?}"
    );
}

#[tokio::test]
async fn zero_durations_complete_immediately_and_correctly() {
    let kit = start(fast()).await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "now"})).await;
    let response = get(&kit, sub["status_url"].as_str().expect("url")).await;
    assert_eq!(response.status(), 200);
    let body = json(response).await;
    assert_eq!(body["status"], "COMPLETED");
    assert_eq!(body["metrics"]["inference_time"], 0.0);
    assert!(body["logs"].is_null(), "logs=0 by default → null");
    let result = get(&kit, sub["response_url"].as_str().expect("url")).await;
    assert_eq!(result.status(), 200);
}

#[tokio::test]
async fn logs_param_accepts_all_boolean_spellings_and_trailing_slash() {
    let kit = start(fast()).await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    let status_url = sub["status_url"].as_str().expect("url");
    for (param, has_logs) in [("1", true), ("true", true), ("0", false), ("false", false)] {
        let body = json(get(&kit, &format!("{status_url}/?logs={param}")).await).await;
        assert_eq!(body["logs"].is_array(), has_logs, "logs={param}");
    }
    let bad = get(&kit, &format!("{status_url}?logs=maybe")).await;
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn status_result_cancel_work_under_both_path_forms() {
    let kit = start(fast()).await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    let id = sub["request_id"].as_str().expect("id");
    for prefix in ["fal-ai/flux", "fal-ai/flux/dev"] {
        let base = format!("{}/{prefix}/requests/{id}", kit.queue_url());
        assert_eq!(
            get(&kit, &format!("{base}/status")).await.status(),
            200,
            "{prefix}"
        );
        assert_eq!(get(&kit, &base).await.status(), 200, "{prefix}");
        let cancel = authed(&kit, client().put(format!("{base}/cancel")))
            .send()
            .await
            .expect("sent");
        assert_eq!(cancel.status(), 400, "{prefix}");
        assert_eq!(json(cancel).await["status"], "ALREADY_COMPLETED");
    }
    let wrong = format!("{}/fal-ai/other/requests/{id}/status", kit.queue_url());
    assert_eq!(get(&kit, &wrong).await.status(), 404);
}

#[tokio::test]
async fn unknown_requests_are_404_and_pending_results_400() {
    let kit = start(fast().queue_delay(Duration::from_secs(5))).await;
    let unknown = format!(
        "{}/fal-ai/flux/requests/00000000-0000-4000-8000-000000000000",
        kit.queue_url()
    );
    let response = get(&kit, &unknown).await;
    assert_eq!(response.status(), 404);
    assert!(json(response).await["detail"].is_string());
    assert_eq!(get(&kit, &format!("{unknown}/status")).await.status(), 404);
    let cancel = authed(&kit, client().put(format!("{unknown}/cancel")))
        .send()
        .await
        .expect("sent");
    assert_eq!(cancel.status(), 404);
    assert_eq!(json(cancel).await, json!({"status": "NOT_FOUND"}));
    let garbage = format!("{}/fal-ai/flux/requests/not-a-uuid/status", kit.queue_url());
    assert_eq!(get(&kit, &garbage).await.status(), 404);

    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    let pending = get(&kit, sub["response_url"].as_str().expect("url")).await;
    assert_eq!(pending.status(), 400);
    assert_eq!(
        json(pending).await,
        json!({"detail": "Request is still in progress"})
    );
}

#[tokio::test]
async fn cancel_while_queued_never_runs() {
    let kit = start(fast().queue_delay(Duration::from_millis(400))).await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    let cancel = authed(&kit, client().put(sub["cancel_url"].as_str().expect("url")))
        .send()
        .await
        .expect("sent");
    assert_eq!(cancel.status(), 202);
    assert_eq!(
        json(cancel).await,
        json!({"status": "CANCELLATION_REQUESTED"})
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = json(
        get(
            &kit,
            &format!("{}?logs=1", sub["status_url"].as_str().expect("url")),
        )
        .await,
    )
    .await;
    assert_eq!(status["status"], "COMPLETED");
    assert_eq!(status["error_type"], "client_cancelled");
    assert_eq!(
        status["logs"],
        json!([]),
        "a cancelled queued request never ran"
    );
    let result = get(&kit, sub["response_url"].as_str().expect("url")).await;
    assert_eq!(result.status(), 499);
    assert_eq!(
        result
            .headers()
            .get("x-fal-error-type")
            .and_then(|v| v.to_str().ok()),
        Some("client_cancelled")
    );
    let again = authed(&kit, client().put(sub["cancel_url"].as_str().expect("url")))
        .send()
        .await
        .expect("sent");
    assert_eq!(again.status(), 400);
}

#[tokio::test]
async fn cancel_while_running_stops_the_run() {
    let kit = start(fast().run_duration(Duration::from_secs(5))).await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    let status_url = sub["status_url"].as_str().expect("url");
    assert_eq!(
        json(get(&kit, status_url).await).await["status"],
        "IN_PROGRESS"
    );
    let cancel = authed(&kit, client().put(sub["cancel_url"].as_str().expect("url")))
        .send()
        .await
        .expect("sent");
    assert_eq!(cancel.status(), 202);
    let status = json(get(&kit, status_url).await).await;
    assert_eq!(status["status"], "COMPLETED");
    assert_eq!(status["error_type"], "client_cancelled");
    assert!(status["error"].is_string());
}

#[tokio::test]
async fn start_timeout_expiring_in_queue_gives_user_504() {
    let kit = start(fast().queue_delay(Duration::from_secs(5))).await;
    let response = authed(
        &kit,
        client().post(format!("{}/fal-ai/flux/dev", kit.queue_url())),
    )
    .header("x-fal-request-timeout", "0.2")
    .header("x-fal-queue-priority", "low")
    .header("x-fal-runner-hint", "session-1")
    .json(&json!({"prompt": "p"}))
    .send()
    .await
    .expect("sent");
    assert_eq!(response.status(), 200);
    let sub = json(response).await;
    let status = wait_completed(&kit, sub["status_url"].as_str().expect("url")).await;
    assert_eq!(status["error_type"], "request_timeout");
    let result = get(&kit, sub["response_url"].as_str().expect("url")).await;
    assert_eq!(result.status(), 504);
    assert_eq!(
        result
            .headers()
            .get("x-fal-request-timeout-type")
            .and_then(|v| v.to_str().ok()),
        Some("user")
    );
    let bad = authed(
        &kit,
        client().post(format!("{}/fal-ai/flux/dev", kit.queue_url())),
    )
    .header("x-fal-request-timeout", "soon")
    .json(&json!({"prompt": "p"}))
    .send()
    .await
    .expect("sent");
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn invalid_input_completes_with_the_apps_422_and_no_model_progress() {
    let kit = start(fast()).await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"seed": 1})).await;
    let status_url = sub["status_url"].as_str().expect("url");
    let status = wait_completed(&kit, status_url).await;
    assert_eq!(status["error"], "Invalid status code: 422");
    let with_logs = json(get(&kit, &format!("{status_url}?logs=1")).await).await;
    assert_eq!(
        with_logs["logs"],
        json!([]),
        "validation precedes the model: no progress was logged"
    );
    let result = get(&kit, sub["response_url"].as_str().expect("url")).await;
    assert_eq!(result.status(), 422);
    assert_eq!(
        json(result).await,
        json!({"detail":[{"loc":["body","prompt"],"msg":"Field required","type":"missing"}]})
    );
}

#[tokio::test]
async fn webhook_query_is_recorded() {
    let kit = start(fast()).await;
    let response = authed(
        &kit,
        client().post(format!(
            "{}/fal-ai/flux/dev?fal_webhook=https%3A%2F%2Fexample.invalid%2Fhook",
            kit.queue_url()
        )),
    )
    .json(&json!({"prompt": "p"}))
    .send()
    .await
    .expect("sent");
    let sub = json(response).await;
    let id = sub["request_id"].as_str().expect("id");
    assert_eq!(
        kit.webhook_of(id).as_deref(),
        Some("https://example.invalid/hook")
    );
}

#[tokio::test]
async fn namespaced_ids_use_the_three_segment_base_app() {
    let kit = start(fast()).await;
    let sub = submit(&kit, "workflows/acme/flow/step", json!({"prompt": "p"})).await;
    let id = sub["request_id"].as_str().expect("id");
    assert_eq!(
        sub["status_url"],
        format!(
            "{}/workflows/acme/flow/requests/{id}/status",
            kit.queue_url()
        )
    );
    assert_eq!(
        get(&kit, sub["status_url"].as_str().expect("url"))
            .await
            .status(),
        200
    );
    let bad = authed(
        &kit,
        client().post(format!("{}/workflows/acme", kit.queue_url())),
    )
    .json(&json!({"prompt": "p"}))
    .send()
    .await
    .expect("sent");
    assert_eq!(bad.status(), 404);
}
