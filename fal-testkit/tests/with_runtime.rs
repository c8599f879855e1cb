//! The docs/testkit.md example, kept compiling and passing: an application's
//! code (here, fal-runtime's subscribe) tested offline against the testkit,
//! including a fault it must survive.

use std::time::Duration;

use fal_testkit::{FaultRule, RouteKind, Testkit};
use serde_json::json;

#[tokio::test]
async fn subscribe_survives_a_503_and_submits_once() {
    let kit = Testkit::builder()
        .queue_delay(Duration::from_millis(50))
        .run_duration(Duration::from_millis(50))
        .start()
        .await
        .expect("testkit starts");
    kit.inject(FaultRule::status(503).on(RouteKind::Submit));
    let client = kit.client_builder().build().expect("client");

    let output = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(json!({"prompt": "a lighthouse at dusk", "seed": 7}))
        .await
        .expect("subscribe completes");

    assert_eq!(output["seed"], 7);
    let image = output["images"][0]["url"].as_str().expect("image url");
    assert!(image.starts_with(&kit.cdn_url()));
    let accepted = kit
        .journal()
        .iter()
        .filter(|e| e.route == RouteKind::Submit && e.status == 200)
        .count();
    assert_eq!(accepted, 1, "the input was queued exactly once");
}
