//! Both kinds of typed call, from the packaged crates, through the testkit, and
//! the packaged id grammar.

use fal_outside_consumer::{FluxDevInput, Sketch};

#[tokio::test]
async fn a_bundled_and_a_declared_endpoint_are_called_through_the_testkit() {
    let kit = match fal_testkit::Testkit::builder().start().await {
        Ok(kit) => kit,
        Err(e) => panic!("testkit starts: {e}"),
    };
    let client = match kit.client_builder().build() {
        Ok(client) => client,
        Err(e) => panic!("client: {e}"),
    };

    let drawn = match client.subscribe(FluxDevInput::new("a red kite")).await {
        Ok(out) => out,
        Err(e) => panic!("bundled fal-ai/flux/dev: {e}"),
    };
    assert_eq!(drawn.prompt, "a red kite");
    assert_eq!(drawn.images.len(), 1);

    // Decoding into `Sketched` (which requires `seed`) is itself a check.
    let _sketched = match client
        .run(Sketch {
            prompt: "a kite".into(),
        })
        .await
    {
        Ok(out) => out,
        Err(e) => panic!("declared acme/sketch/v2: {e}"),
    };
    let journal = kit.journal();
    let run = journal
        .iter()
        .find(|e| e.endpoint.as_deref() == Some("acme/sketch/v2"));
    assert!(run.is_some(), "the testkit saw no call to acme/sketch/v2");
}

/// The packaged grammar (fal-id, used directly) and the packaged client refuse
/// the same id, and the refused call sends nothing.
#[tokio::test]
async fn the_packaged_id_grammar_and_client_refuse_a_dot_segment() {
    assert!(fal_id::EndpointId::parse("acme/../x").is_err());
    assert!(fal_id::EndpointId::parse("acme/sketch/v2").is_ok());

    let kit = match fal_testkit::Testkit::builder().start().await {
        Ok(kit) => kit,
        Err(e) => panic!("testkit starts: {e}"),
    };
    let client = match kit.client_builder().build() {
        Ok(client) => client,
        Err(e) => panic!("client: {e}"),
    };
    let refused = client
        .endpoint("acme/../x")
        .run(serde_json::json!({ "prompt": "a kite" }))
        .await;
    match refused {
        Ok(_) => panic!("acme/../x was called"),
        Err(e) => assert_eq!(e.kind(), fal_runtime::ErrorKind::InvalidId, "{e}"),
    }
    assert!(kit.journal().is_empty(), "a refused id reached the server");
}
