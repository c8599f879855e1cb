//! The status SSE stream (spec 3.3) over a real socket.

mod common;

use std::time::Duration;

use common::*;
use fal_testkit::{FaultRule, Testkit};
use futures::StreamExt;
use serde_json::{json, Value};

/// Reads SSE frames until the body ends; returns the parsed `data:` payloads,
/// whether a comment line was seen, and whether the body ended cleanly.
async fn read_events(response: reqwest::Response) -> (Vec<Value>, bool, bool) {
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let mut clean = true;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(bytes) => text.push_str(&String::from_utf8_lossy(&bytes)),
            Err(_) => {
                clean = false;
                break;
            }
        }
    }
    let mut events = Vec::new();
    let mut comment = false;
    for line in text.lines() {
        if let Some(data) = line.strip_prefix("data:") {
            events.push(serde_json::from_str(data.trim()).expect("event data is JSON"));
        } else if line.starts_with(':') {
            comment = true;
        }
    }
    (events, comment, clean)
}

fn stream_url(sub: &Value, logs: u8) -> String {
    format!(
        "{}/stream?logs={logs}",
        sub["status_url"].as_str().expect("url")
    )
}

#[tokio::test]
async fn stream_reports_each_change_and_ends_after_completed() {
    let kit = start(
        Testkit::builder()
            .queue_delay(Duration::from_millis(200))
            .run_duration(Duration::from_millis(300))
            .keep_alive(Duration::from_millis(50)),
    )
    .await;
    let first = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "1"})).await;
    tokio::time::sleep(Duration::from_millis(60)).await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "2"})).await;
    let response = authed(&kit, client().get(stream_url(&sub, 1)))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let (events, comment, clean) = read_events(response).await;
    assert!(clean, "the stream ends normally after COMPLETED");
    assert!(comment, "keep-alive comments are sent");
    let statuses: Vec<&str> = events.iter().filter_map(|e| e["status"].as_str()).collect();
    assert_eq!(statuses.first(), Some(&"IN_QUEUE"));
    assert_eq!(statuses.last(), Some(&"COMPLETED"));
    assert!(statuses.contains(&"IN_PROGRESS"));
    assert_eq!(events[0]["queue_position"], 1);
    assert!(
        events.iter().any(|e| e["queue_position"] == 0),
        "position counted down"
    );
    // Only new log lines per event; together they are the whole log, once.
    let lines: usize = events
        .iter()
        .filter_map(|e| e["logs"].as_array())
        .map(Vec::len)
        .sum();
    assert_eq!(lines, 4);
    let last = events.last().expect("events");
    assert!(last["metrics"]["inference_time"].is_number());
    assert_eq!(last["request_id"], sub["request_id"]);
    drop(first);
}

#[tokio::test]
async fn stream_of_a_completed_request_is_one_event() {
    let kit = start(fast()).await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    let response = get(&kit, &stream_url(&sub, 0)).await;
    let (events, _, clean) = read_events(response).await;
    assert!(clean);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["status"], "COMPLETED");
    assert!(events[0]["logs"].is_null());
}

#[tokio::test]
async fn stream_sees_a_cancel() {
    let kit = start(fast().queue_delay(Duration::from_secs(5))).await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    let stream = tokio::spawn({
        let url = stream_url(&sub, 0);
        let key = kit.key().to_owned();
        async move {
            let response = client()
                .get(url)
                .header("authorization", format!("Key {key}"))
                .send()
                .await
                .expect("sent");
            read_events(response).await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let cancel = authed(&kit, client().put(sub["cancel_url"].as_str().expect("url")))
        .send()
        .await
        .expect("sent");
    assert_eq!(cancel.status(), 202);
    let (events, _, clean) = stream.await.expect("joined");
    assert!(clean);
    let last = events.last().expect("events");
    assert_eq!(last["status"], "COMPLETED");
    assert_eq!(last["error_type"], "client_cancelled");
}

#[tokio::test]
async fn truncate_fault_cuts_the_stream_after_n_events() {
    let kit = start(
        Testkit::builder()
            .queue_delay(Duration::from_millis(100))
            .run_duration(Duration::from_millis(200)),
    )
    .await;
    kit.inject(FaultRule::truncate_stream(1));
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    let (events, _, clean) = read_events(get(&kit, &stream_url(&sub, 1)).await).await;
    assert!(!clean, "the connection is cut, not closed cleanly");
    assert_eq!(events.len(), 1);
    assert_ne!(events[0]["status"], "COMPLETED");
    // The fault was used up: the next stream runs to completion.
    let (events, _, clean) = read_events(get(&kit, &stream_url(&sub, 1)).await).await;
    assert!(clean);
    assert_eq!(
        events.last().map(|e| e["status"].clone()),
        Some(json!("COMPLETED"))
    );
}

#[tokio::test]
async fn stream_for_unknown_request_is_404() {
    let kit = start(fast()).await;
    let url = format!(
        "{}/fal-ai/flux/requests/00000000-0000-4000-8000-000000000000/status/stream",
        kit.queue_url()
    );
    assert_eq!(get(&kit, &url).await.status(), 404);
}
