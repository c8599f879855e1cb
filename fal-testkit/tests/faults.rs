//! Fault injection and scenario replay over real sockets (issue 7 part 2).

mod common;

use std::time::{Duration, Instant};

use common::*;
use fal_testkit::{Fault, FaultRule, RouteKind, Scenario, Testkit};
use serde_json::json;

async fn post_submit(kit: &Testkit, endpoint: &str) -> reqwest::Response {
    authed(
        kit,
        client().post(format!("{}/{endpoint}", kit.queue_url())),
    )
    .json(&json!({"prompt": "p"}))
    .send()
    .await
    .expect("sent")
}

#[tokio::test]
async fn status_429_with_retry_after_then_success() {
    let kit = start(fast()).await;
    kit.inject(FaultRule::status(429).retry_after(2).on(RouteKind::Submit));
    let first = post_submit(&kit, "fal-ai/flux/dev").await;
    assert_eq!(first.status(), 429);
    assert_eq!(
        first
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    assert!(first.headers().contains_key("x-fal-request-id"));
    assert!(json(first).await["detail"].is_string());
    assert_eq!(post_submit(&kit, "fal-ai/flux/dev").await.status(), 200);
    let submits: Vec<u16> = kit
        .journal()
        .iter()
        .filter(|e| e.route == RouteKind::Submit)
        .map(|e| e.status)
        .collect();
    assert_eq!(submits, [429, 200]);
    assert_eq!(kit.request_count(), 1, "the rejected submit was not queued");
}

#[tokio::test]
async fn status_503_twice_then_success_and_custom_body() {
    let kit = start(fast()).await;
    kit.inject(
        FaultRule::status(503)
            .times(2)
            .endpoint("fal-ai/flux")
            .body(
                json!({"detail": "Runner unavailable", "error_type": "runner_scheduling_failure"}),
            ),
    );
    let codes = [
        post_submit(&kit, "fal-ai/other").await.status().as_u16(),
        post_submit(&kit, "fal-ai/flux/dev").await.status().as_u16(),
        post_submit(&kit, "fal-ai/flux/schnell")
            .await
            .status()
            .as_u16(),
        post_submit(&kit, "fal-ai/flux/dev").await.status().as_u16(),
    ];
    assert_eq!(
        codes,
        [200, 503, 503, 200],
        "only the named app is hit, twice"
    );
    assert!(kit.pending_faults().is_empty());
}

#[tokio::test]
async fn ingress_errors_lack_the_request_id_and_say_nginx() {
    let kit = start(fast()).await;
    kit.inject(FaultRule::status(502).ingress());
    let response = post_submit(&kit, "fal-ai/flux/dev").await;
    assert_eq!(response.status(), 502);
    assert!(!response.headers().contains_key("x-fal-request-id"));
    assert!(response.text().await.expect("text").contains("nginx"));
}

#[tokio::test]
async fn user_timeout_504_is_marked() {
    let kit = start(fast()).await;
    kit.inject(FaultRule::user_timeout().on(RouteKind::Run));
    let response = authed(
        &kit,
        client().post(format!("{}/fal-ai/flux/dev", kit.run_url())),
    )
    .json(&json!({"prompt": "p"}))
    .send()
    .await
    .expect("sent");
    assert_eq!(response.status(), 504);
    assert_eq!(
        response
            .headers()
            .get("x-fal-request-timeout-type")
            .and_then(|v| v.to_str().ok()),
        Some("user")
    );
}

#[tokio::test]
async fn delay_holds_the_response_then_answers_normally() {
    let kit = start(fast()).await;
    kit.inject(FaultRule::delay(Duration::from_millis(300)).on(RouteKind::Submit));
    let started = Instant::now();
    assert_eq!(post_submit(&kit, "fal-ai/flux/dev").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn dropped_connection_after_submit_still_queues_the_request() {
    let kit = start(fast()).await;
    kit.inject(FaultRule::drop_connection().on(RouteKind::Submit));
    let response = post_submit(&kit, "fal-ai/flux/dev").await;
    assert_eq!(response.status(), 200, "status and headers arrive");
    assert!(response.headers().contains_key("x-fal-request-id"));
    assert!(response.bytes().await.is_err(), "the body is cut");
    assert_eq!(
        kit.request_count(),
        1,
        "the submit was accepted before the cut"
    );
    let entry = kit.journal().into_iter().next().expect("journal");
    assert!(
        entry.request_id.is_some(),
        "the journal keeps the id the client never read"
    );
}

#[tokio::test]
async fn drop_connection_after_exact_bytes_on_result() {
    let kit = start(fast()).await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    kit.inject(
        FaultRule::new(Fault::DropConnection {
            after_bytes: Some(5),
        })
        .on(RouteKind::Result),
    );
    let cut = get(&kit, sub["response_url"].as_str().expect("url")).await;
    assert!(cut.bytes().await.is_err());
    let whole = get(&kit, sub["response_url"].as_str().expect("url")).await;
    assert!(whole.bytes().await.is_ok());
}

#[tokio::test]
async fn complete_with_error_and_runner_cancel_end_the_request() {
    let kit = start(fast().run_duration(Duration::from_millis(100))).await;
    kit.inject(
        FaultRule::complete_with_error(500, "CUDA out of memory")
            .error_type("runner_server_error")
            .on(RouteKind::Submit),
    );
    kit.inject(FaultRule::runner_cancel().on(RouteKind::Submit));
    let failed = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    let cancelled = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    let status = wait_completed(&kit, failed["status_url"].as_str().expect("url")).await;
    assert_eq!(status["error"], "CUDA out of memory");
    assert_eq!(status["error_type"], "runner_server_error");
    let result = get(&kit, failed["response_url"].as_str().expect("url")).await;
    assert_eq!(result.status(), 500);
    assert_eq!(
        json(result).await,
        json!({"detail": "CUDA out of memory", "error_type": "runner_server_error"})
    );
    let status = wait_completed(&kit, cancelled["status_url"].as_str().expect("url")).await;
    assert_eq!(status["error_type"], "runner_disconnected");
    let result = get(&kit, cancelled["response_url"].as_str().expect("url")).await;
    assert_eq!(result.status(), 503);

    kit.inject(FaultRule::complete_with_error(422, "nope").on(RouteKind::Run));
    let run = authed(
        &kit,
        client().post(format!("{}/fal-ai/flux/dev", kit.run_url())),
    )
    .json(&json!({"prompt": "p"}))
    .send()
    .await
    .expect("sent");
    assert_eq!(run.status(), 422);
}

#[tokio::test]
async fn faults_can_target_one_request_id() {
    let kit = start(fast()).await;
    let a = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "a"})).await;
    let b = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "b"})).await;
    kit.inject(
        FaultRule::status(500)
            .request(a["request_id"].as_str().expect("id"))
            .always(),
    );
    assert_eq!(
        get(&kit, b["status_url"].as_str().expect("url"))
            .await
            .status(),
        200
    );
    assert_eq!(
        get(&kit, a["status_url"].as_str().expect("url"))
            .await
            .status(),
        500
    );
    assert_eq!(
        get(&kit, a["status_url"].as_str().expect("url"))
            .await
            .status(),
        500
    );
    kit.clear_faults();
    assert_eq!(
        get(&kit, a["status_url"].as_str().expect("url"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn scenario_file_replays_its_events_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("incident.json");
    std::fs::write(
        &path,
        r#"{
          "queue_delay_ms": 0,
          "run_duration_ms": 0,
          "events": [
            { "route": "submit", "fault": { "kind": "status", "status": 429, "retry_after": 1 } },
            { "route": "submit", "times": 2, "fault": { "kind": "status", "status": 503 } },
            { "route": "result", "fault": { "kind": "status", "status": 502 } }
          ]
        }"#,
    )
    .expect("write scenario");
    let kit = start(Testkit::builder().scenario_file(&path)).await;
    let mut codes = Vec::new();
    let mut last = None;
    for _ in 0..4 {
        let response = post_submit(&kit, "fal-ai/flux/dev").await;
        codes.push(response.status().as_u16());
        if response.status() == 200 {
            last = Some(json(response).await);
        }
    }
    assert_eq!(codes, [429, 503, 503, 200]);
    let sub = last.expect("one accepted");
    let url = sub["response_url"].as_str().expect("url");
    assert_eq!(get(&kit, url).await.status(), 502);
    assert_eq!(get(&kit, url).await.status(), 200);
}

#[tokio::test]
async fn bad_scenario_files_fail_start_with_a_named_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"events": [{"fault": {"kind": "status", "status": 1000}}]}"#,
    )
    .expect("write");
    let err = Testkit::builder()
        .scenario_file(&path)
        .start()
        .await
        .expect_err("invalid");
    let text = err.to_string();
    assert!(
        text.contains("bad.json") && text.contains("events[0]"),
        "{text}"
    );
    let missing = Testkit::builder()
        .scenario_file(dir.path().join("missing.json"))
        .start()
        .await
        .expect_err("missing");
    assert!(missing.to_string().contains("missing.json"));
    let parsed = Scenario::from_json(r#"{"events": []}"#).expect("empty is fine");
    assert!(parsed.events.is_empty());
}

#[tokio::test]
async fn absurd_scenario_durations_are_capped_not_fatal() {
    let scenario = Scenario::from_json(
        r#"{"queue_delay_ms": 18446744073709551615, "run_duration_ms": 18446744073709551615}"#,
    )
    .expect("parses");
    let kit = start(Testkit::builder().scenario(scenario)).await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    let status = json(get(&kit, sub["status_url"].as_str().expect("url")).await).await;
    assert_eq!(status["status"], "IN_QUEUE");
}
