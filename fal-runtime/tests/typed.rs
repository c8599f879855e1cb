//! Typed calls: an input type implementing `Endpoint` names the endpoint and
//! the output type, so no id or type appears at the call site.

mod common;

use std::time::Duration;

use common::{client, entries, testkit};
use fal_runtime::{Endpoint, Image};
use fal_testkit::RouteKind;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct FluxInput {
    prompt: String,
    seed: u64,
}

#[derive(Debug, Deserialize)]
struct FluxOutput {
    images: Vec<Image>,
    seed: u64,
    prompt: String,
}

impl Endpoint for FluxInput {
    const ENDPOINT_ID: &'static str = "fal-ai/flux/dev";
    type Output = FluxOutput;
}

fn input() -> FluxInput {
    FluxInput {
        prompt: "typed".into(),
        seed: 42,
    }
}

#[tokio::test]
async fn typed_run_subscribe_and_queue() {
    let tk = testkit(Duration::ZERO, Duration::ZERO).await;
    let client = client(&tk);

    let ran: FluxOutput = client.run(input()).await.unwrap();
    assert_eq!(ran.seed, 42);
    assert!(!ran.images.is_empty());

    let waited = client.subscribe(input()).await.unwrap();
    assert_eq!(waited.prompt, "typed");

    let handle = client.submit(input()).await.unwrap();
    let again = client
        .request_handle::<FluxInput>(handle.request_id())
        .unwrap();
    assert!(again.status(false).await.unwrap().is_completed());
    assert_eq!(again.result().await.unwrap().seed, 42);
    assert_eq!(entries(&tk, RouteKind::Submit).len(), 2);
}

/// Clients and call futures cross threads and tasks.
#[test]
fn clients_and_calls_are_send_and_sync() {
    fn send_sync<T: Send + Sync + Clone>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<fal_runtime::Client>();
    send_sync::<fal_runtime::QueueHandle<FluxOutput>>();
    let client = fal_runtime::Client::builder().ignore_env().build().unwrap();
    send(&std::future::IntoFuture::into_future(
        client.subscribe(input()),
    ));
    send(&std::future::IntoFuture::into_future(client.run(input())));
    send(&std::future::IntoFuture::into_future(
        client.submit(input()),
    ));
}
