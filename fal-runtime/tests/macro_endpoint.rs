//! An endpoint declared with `#[fal_endpoint]` called end to end through the
//! testkit: subscribe, submit + result, and direct run are all typed by the
//! declaration, exactly as for generated bindings.

use std::time::Duration;

use fal_runtime::{fal_endpoint, ErrorKind, Image};
use fal_testkit::{RouteKind, Testkit};
use serde::Deserialize;

/// A user's own endpoint (not in any schema directory), with a sub-path.
#[fal_endpoint("acme/sketch/v2", output = Sketched)]
struct Sketch {
    prompt: String,
    num_images: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
}

/// Only the fields this user cares about; fal's others are ignored.
#[derive(Debug, Deserialize)]
struct Sketched {
    images: Vec<Image>,
    seed: u64,
    prompt: String,
}

/// An input the app refuses (no `prompt`), to see the typed error.
#[fal_endpoint("acme/sketch", output = serde_json::Value)]
struct Wrong {
    text: String,
}

async fn kit() -> Testkit {
    Testkit::builder()
        .queue_delay(Duration::from_millis(20))
        .run_duration(Duration::from_millis(20))
        .start()
        .await
        .expect("testkit starts")
}

#[tokio::test]
async fn subscribe_returns_the_declared_output() {
    let kit = kit().await;
    let client = kit.client_builder().build().expect("client");
    let out: Sketched = client
        .subscribe(Sketch {
            prompt: "a red kite".into(),
            num_images: 2,
            seed: Some(11),
        })
        .poll_interval(Duration::from_millis(10))
        .await
        .expect("subscribe");
    assert_eq!(out.prompt, "a red kite");
    assert_eq!(out.seed, 11);
    assert_eq!(out.images.len(), 2);

    let journal = kit.journal();
    let submit = journal
        .iter()
        .find(|e| e.route == RouteKind::Submit)
        .expect("a submit");
    assert_eq!(submit.endpoint.as_deref(), Some("acme/sketch/v2"));
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.route == RouteKind::Submit)
            .count(),
        1,
        "submitted exactly once"
    );
    let result = journal
        .iter()
        .find(|e| e.route == RouteKind::Result)
        .expect("a result fetch");
    assert!(result.path.contains("/acme/sketch/"), "{}", result.path);
}

#[tokio::test]
async fn submit_then_result_and_direct_run_are_typed_too() {
    let kit = kit().await;
    let client = kit.client_builder().build().expect("client");
    let handle = client
        .submit(Sketch {
            prompt: "a lighthouse".into(),
            num_images: 1,
            seed: None,
        })
        .await
        .expect("submit");
    let mut waited = 0;
    while !handle.status(false).await.expect("status").is_completed() {
        waited += 1;
        assert!(waited < 200, "request never completed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let queued: Sketched = handle.result().await.expect("result");
    assert_eq!(queued.prompt, "a lighthouse");
    assert_eq!(queued.images.len(), 1);

    let direct: Sketched = client
        .run(Sketch {
            prompt: "a fox".into(),
            num_images: 3,
            seed: Some(5),
        })
        .await
        .expect("direct run");
    assert_eq!((direct.seed, direct.images.len()), (5, 3));
    let run = kit
        .journal()
        .into_iter()
        .find(|e| e.route == RouteKind::Run)
        .expect("a direct run");
    assert_eq!(run.endpoint.as_deref(), Some("acme/sketch/v2"));
}

#[tokio::test]
async fn refused_input_is_a_typed_api_error() {
    let kit = kit().await;
    let client = kit.client_builder().build().expect("client");
    let err = client
        .run(Wrong { text: "hi".into() })
        .await
        .expect_err("the app needs a prompt");
    assert_eq!(err.kind(), ErrorKind::Api, "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(422), "{err}");
}
