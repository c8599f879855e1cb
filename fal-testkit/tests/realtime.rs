//! Realtime answers over a real WebSocket: each input gets the endpoint's
//! output as a run would synthesize it (what fal's realtime apps send and its
//! clients read), an input the app refuses ends the session with fal's
//! `x-fal-error`, and the `echo` alias keeps echoing.

mod common;

use std::path::Path;
use std::time::Duration;

use fal_runtime::realtime::RealtimeError;
use serde_json::{json, Value};

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("finished in time")
}

/// One input on a fresh session; the first item that comes back.
async fn answer(
    kit: &fal_testkit::Testkit,
    endpoint: &str,
    input: Value,
) -> Result<Value, RealtimeError> {
    let client = kit.client_builder().build().expect("client builds");
    let mut session = client
        .endpoint(endpoint)
        .realtime()
        .connect()
        .await
        .expect("connects");
    session.send(&input).expect("encodes");
    let item = session.recv().await.expect("an item");
    session.close().await;
    item
}

#[tokio::test]
async fn flux_like_endpoints_answer_with_images_the_testkit_serves() {
    bounded(async {
        let kit = common::start(common::fast()).await;
        let output = answer(
            &kit,
            "fal-ai/fast-lcm-diffusion",
            json!({"prompt": "a fox", "image_size": "square", "seed": 3}),
        )
        .await
        .expect("an output");
        assert_eq!(output["seed"], 3);
        assert_eq!(output["prompt"], "a fox");
        assert!(output.get("seq").is_none(), "not an echo: {output}");
        let image = &output["images"][0];
        assert_eq!(
            (image["width"].as_u64(), image["height"].as_u64()),
            (Some(512), Some(512))
        );
        let url = image["url"].as_str().expect("an image URL");
        assert!(url.starts_with(&kit.cdn_url()), "{url}");
        let bytes = common::client()
            .get(url)
            .send()
            .await
            .expect("fetched")
            .bytes()
            .await
            .expect("body");
        assert!(bytes.starts_with(b"\x89PNG"), "a real PNG");
    })
    .await;
}

#[tokio::test]
async fn schema_driven_endpoints_answer_with_conforming_outputs() {
    bounded(async {
        let schemas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
        let kit = common::start(common::fast().schemas_dir(schemas)).await;
        let output = answer(
            &kit,
            "fal-ai/kokoro/american-english",
            json!({"prompt": "hello"}),
        )
        .await
        .expect("an output");
        let url = output["audio"]["url"].as_str().expect("an audio URL");
        assert!(url.ends_with(".wav"), "{output}");
    })
    .await;
}

#[tokio::test]
async fn a_refused_input_is_fal_s_internal_error_naming_the_field() {
    bounded(async {
        let kit = common::start(common::fast()).await;
        let error = answer(&kit, "fal-ai/fast-lcm-diffusion", json!({"num_images": 9}))
            .await
            .expect_err("no prompt, too many images");
        match &error {
            RealtimeError::Server { error, reason } => {
                assert_eq!(error, "INTERNAL_ERROR");
                let reason = reason.as_deref().unwrap_or_default();
                assert!(reason.starts_with("2 validation errors"), "{reason}");
                assert!(
                    reason.contains("prompt: Field required [type=missing]"),
                    "{reason}"
                );
                assert!(reason.contains("num_images: "), "{reason}");
            }
            other => panic!("expected a server error, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn the_echo_alias_echoes_with_a_sequence_number() {
    bounded(async {
        let kit = common::start(common::fast()).await;
        let output = answer(&kit, "testkit/echo", json!({"anything": [1, "two"]}))
            .await
            .expect("an output");
        assert_eq!(output, json!({"anything": [1, "two"], "seq": 1}));
    })
    .await;
}
