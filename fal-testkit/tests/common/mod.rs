//! Helpers shared by the integration tests: a started testkit and a client
//! that talks to it over a real socket.
#![allow(dead_code)]

use std::time::Duration;

use fal_testkit::{Testkit, TestkitBuilder};
use reqwest::{Client, RequestBuilder, Response};
use serde_json::Value;

pub async fn start(builder: TestkitBuilder) -> Testkit {
    builder.start().await.expect("testkit starts")
}

pub fn fast() -> TestkitBuilder {
    Testkit::builder()
        .queue_delay(Duration::ZERO)
        .run_duration(Duration::ZERO)
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

pub fn authed(kit: &Testkit, builder: RequestBuilder) -> RequestBuilder {
    builder.header("authorization", format!("Key {}", kit.key()))
}

pub async fn json(response: Response) -> Value {
    response.json().await.expect("json body")
}

/// Submits `input` to `endpoint`; returns the submit response body.
pub async fn submit(kit: &Testkit, endpoint: &str, input: Value) -> Value {
    let response = authed(
        kit,
        client().post(format!("{}/{endpoint}", kit.queue_url())),
    )
    .json(&input)
    .send()
    .await
    .expect("submit sent");
    assert_eq!(response.status(), 200, "submit status");
    json(response).await
}

pub async fn get(kit: &Testkit, url: &str) -> Response {
    authed(kit, client().get(url)).send().await.expect("sent")
}

/// Polls `status_url` until COMPLETED (bounded).
pub async fn wait_completed(kit: &Testkit, status_url: &str) -> Value {
    for _ in 0..200 {
        let body = json(get(kit, status_url).await).await;
        if body["status"] == "COMPLETED" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("request never completed");
}
