//! Bundled bindings (`fal_endpoints`, generated from `schemas/`) called
//! end to end through the testkit: the input type picks the endpoint and the
//! output type, with no ids or turbofish at the call site.

use std::time::Duration;

use fal_endpoints::fal_ai::flux::dev::{FluxDevInput, FluxDevOutput, ImageSizePreset};
use fal_testkit::{RouteKind, Testkit};

async fn kit() -> Testkit {
    match Testkit::builder()
        .queue_delay(Duration::from_millis(20))
        .run_duration(Duration::from_millis(20))
        .start()
        .await
    {
        Ok(kit) => kit,
        Err(e) => panic!("testkit starts: {e}"),
    }
}

#[tokio::test]
async fn subscribe_and_run_are_typed_by_the_generated_input() {
    let kit = kit().await;
    let client = match kit.client_builder().build() {
        Ok(client) => client,
        Err(e) => panic!("client: {e}"),
    };
    let input = FluxDevInput::new("a lighthouse at dusk")
        .with_image_size(ImageSizePreset::Landscape4_3)
        .with_num_images(2);
    let out: FluxDevOutput = match client
        .subscribe(input.clone())
        .poll_interval(Duration::from_millis(10))
        .await
    {
        Ok(out) => out,
        Err(e) => panic!("subscribe: {e}"),
    };
    assert_eq!(out.prompt, "a lighthouse at dusk");
    assert_eq!(out.images.len(), 2);
    let submit = kit
        .journal()
        .into_iter()
        .find(|e| e.route == RouteKind::Submit);
    assert_eq!(
        submit.and_then(|e| e.endpoint).as_deref(),
        Some("fal-ai/flux/dev")
    );

    let direct: FluxDevOutput = match client.run(input).await {
        Ok(out) => out,
        Err(e) => panic!("run: {e}"),
    };
    assert_eq!(direct.images.len(), 2);
}
