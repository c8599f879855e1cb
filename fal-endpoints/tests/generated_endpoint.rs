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

/// A typed input that breaks its schema fails before any request, with the
/// field errors a 422 would carry; with validation off for the call, the
/// testkit (validating with the same rules) answers that 422 itself.
#[tokio::test]
async fn inputs_are_validated_before_sending_like_a_422() {
    let schemas = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let kit = match Testkit::builder().schemas_dir(schemas).start().await {
        Ok(kit) => kit,
        Err(e) => panic!("testkit starts: {e}"),
    };
    let client = match kit.client_builder().build() {
        Ok(client) => client,
        Err(e) => panic!("client: {e}"),
    };
    let input = FluxDevInput::new("a lighthouse").with_num_images(9);
    let local = match client.subscribe(input.clone()).await {
        Ok(_) => panic!("an input breaking num_images ≤ 4 was accepted"),
        Err(e) => e,
    };
    assert!(kit.journal().is_empty(), "nothing may be sent");
    assert_eq!(local.kind(), fal_runtime::ErrorKind::Validation);
    let shape = |e: &fal_runtime::Error| -> Vec<(String, Option<String>)> {
        e.field_errors()
            .iter()
            .map(|f| (f.path.clone(), f.kind.clone()))
            .collect()
    };
    assert_eq!(
        shape(&local),
        [(
            "body.num_images".to_owned(),
            Some("less_than_equal".to_owned())
        )]
    );
    assert_eq!(
        local.field_errors()[0].message,
        "Input should be less than or equal to 4"
    );

    // fal queues any body and fails the request with the app's 422.
    let unchecked = fal_runtime::RequestOptions::new().validate(false);
    let remote = match client
        .subscribe(input.clone())
        .options(unchecked)
        .poll_interval(Duration::from_millis(10))
        .await
    {
        Ok(_) => panic!("the testkit accepted num_images = 9"),
        Err(e) => e,
    };
    assert_eq!(remote.status().map(|s| s.as_u16()), Some(422));
    assert_eq!(shape(&remote), shape(&local));
    assert_eq!(
        remote.field_errors()[0].message,
        local.field_errors()[0].message
    );

    let lenient = match kit.client_builder().validate_inputs(false).build() {
        Ok(client) => client,
        Err(e) => panic!("client: {e}"),
    };
    let remote = lenient.run(input).await.err();
    assert_eq!(
        remote.and_then(|e| e.status()).map(|s| s.as_u16()),
        Some(422)
    );
}
