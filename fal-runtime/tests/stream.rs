//! `/stream` end to end against the testkit on 127.0.0.1: typed events, the final
//! output, the inactivity timeout, and every typed failure.

use std::time::{Duration, Instant};

use fal_runtime::stream::StreamError;
use fal_runtime::{Client, Endpoint, Error, ErrorKind, Image};
use fal_testkit::{Fault, FaultRule, RouteKind, Testkit};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Serialize)]
struct FluxInput {
    prompt: String,
}

#[derive(Debug, Deserialize)]
struct FluxOutput {
    images: Vec<Image>,
    seed: u64,
    prompt: String,
    /// The testkit marks partial events; fal's apps use their own shapes.
    #[serde(default)]
    partial: bool,
}

impl Endpoint for FluxInput {
    const ENDPOINT_ID: &'static str = "fal-ai/flux/dev";
    type Output = FluxOutput;
}

async fn testkit() -> Testkit {
    Testkit::builder()
        .run_duration(Duration::from_millis(40))
        .start()
        .await
        .expect("testkit starts")
}

fn client(kit: &Testkit) -> Client {
    kit.client_builder().build().expect("client builds")
}

/// Every test is bounded, whatever the code under test does.
async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(8), f)
        .await
        .expect("the test finished in time")
}

fn stream_error(error: &Error) -> &StreamError {
    error
        .stream()
        .unwrap_or_else(|| panic!("expected a stream error, got {error:?}"))
}

#[tokio::test]
async fn typed_events_then_the_final_output() {
    bounded(async {
        let kit = testkit().await;
        let client = client(&kit);
        let mut events = client
            .stream(FluxInput {
                prompt: "a lighthouse".into(),
            })
            .await
            .expect("stream starts");
        let request_id = events.request_id().expect("x-fal-request-id").to_owned();
        let mut all = Vec::new();
        while let Some(event) = events.next().await {
            all.push(event.expect("a good event"));
        }
        assert_eq!(all.len(), 4, "three partial events and the final output");
        assert!(all[..3].iter().all(|e| e.partial));
        let last = all.last().expect("final");
        assert!(!last.partial);
        assert_eq!(last.prompt, "a lighthouse");
        assert!(!last.images.is_empty());
        assert!(all.iter().all(|e| e.seed == last.seed));

        let journal = kit.journal();
        let entry = journal
            .iter()
            .find(|e| e.route == RouteKind::Stream)
            .expect("journaled");
        assert_eq!(entry.path, "/run/fal-ai/flux/dev/stream");
        assert_eq!(entry.header("accept"), Some("text/event-stream"));
        assert_eq!(entry.request_id.as_deref(), Some(request_id.as_str()));
    })
    .await;
}

#[tokio::test]
async fn final_output_is_the_last_event_and_stream_suffix_is_not_doubled() {
    bounded(async {
        let kit = testkit().await;
        let client = client(&kit);
        let input = json!({"text": "hello", "n": [1, 2, 3]});
        let output: Value = client
            .endpoint("testkit/echo/stream")
            .stream(input.clone())
            .await
            .expect("stream starts")
            .final_output()
            .await
            .expect("final output");
        assert_eq!(output, input, "the echo endpoint streams the input back");
        let paths: Vec<String> = kit.journal().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, vec!["/run/testkit/echo/stream".to_owned()]);
    })
    .await;
}

#[tokio::test]
async fn the_inactivity_timeout_fires_during_a_silent_gap() {
    bounded(async {
        let kit = testkit().await;
        kit.inject(FaultRule::stall_stream(1));
        let client = client(&kit);
        let mut events = client
            .endpoint("fal-ai/flux/dev")
            .stream(json!({"prompt": "p"}))
            .inactivity_timeout(Duration::from_millis(300))
            .await
            .expect("stream starts");
        events.next().await.expect("one event").expect("good");
        let started = Instant::now();
        let error = events.next().await.expect("an item").expect_err("timeout");
        assert!(stream_error(&error).is_timeout(), "{error}");
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error}");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(error.request_id().is_some(), "the error names the request");
        assert!(events.next().await.is_none());
    })
    .await;
}

#[tokio::test]
async fn an_error_event_is_a_typed_error() {
    bounded(async {
        let kit = testkit().await;
        kit.inject(FaultRule::stream_error_event(2));
        let client = client(&kit);
        let events = client
            .endpoint("fal-ai/flux/dev")
            .stream(json!({"prompt": "p"}))
            .await
            .expect("stream starts");
        let items: Vec<_> = events.collect().await;
        assert_eq!(items.len(), 3);
        assert!(items[..2].iter().all(Result::is_ok));
        let error = items[2].as_ref().expect_err("error event");
        assert_eq!(error.kind(), ErrorKind::Reported, "{error}");
        match stream_error(error) {
            StreamError::ErrorEvent {
                message,
                error_type,
                ..
            } => {
                assert_eq!(message, "injected by the testkit");
                assert_eq!(error_type.as_deref(), Some("internal_error"));
            }
            other => panic!("unexpected {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn non_json_data_is_a_typed_error() {
    bounded(async {
        let kit = testkit().await;
        kit.inject(FaultRule::malformed_event(0));
        let client = client(&kit);
        let error = client
            .endpoint("fal-ai/flux/dev")
            .stream(json!({"prompt": "p"}))
            .await
            .expect("stream starts")
            .final_output()
            .await
            .expect_err("bad data");
        assert!(
            matches!(stream_error(&error), StreamError::InvalidEvent { excerpt, .. } if excerpt == "this is not json"),
            "{error:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_cut_stream_is_reported_as_cut_not_as_done() {
    bounded(async {
        let kit = testkit().await;
        kit.inject(FaultRule::truncate_stream(1).on(RouteKind::Stream));
        // Cut after the head and a few body bytes: a cut before the head would be
        // retried as a failed request, which is right but not what this tests.
        kit.inject(
            FaultRule::new(Fault::DropConnection {
                after_bytes: Some(100),
            })
            .on(RouteKind::Stream),
        );
        let client = client(&kit);
        for _ in 0..2 {
            let events = client
                .endpoint("fal-ai/flux/dev")
                .stream(json!({"prompt": "p"}))
                .await
                .expect("stream starts");
            let error = events.final_output().await.expect_err("cut");
            assert!(stream_error(&error).is_cut(), "{error:?}");
            assert_eq!(error.kind(), ErrorKind::Transport, "{error:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_rejected_input_fails_before_streaming_with_the_api_error() {
    bounded(async {
        let kit = testkit().await;
        let client = client(&kit);
        let error = client
            .endpoint("fal-ai/flux/dev")
            .stream(json!({"seed": 1}))
            .await
            .expect_err("422");
        assert_eq!(error.status().map(|s| s.as_u16()), Some(422));
        assert!(!error.field_errors().is_empty());
        assert!(error.request_id().is_some());
    })
    .await;
}

#[tokio::test]
async fn a_body_that_is_not_an_event_stream_is_a_typed_error() {
    bounded(async {
        let kit = testkit().await;
        // Point the run host at the queue host: POST …/stream is then a queue submit,
        // answered 200 with JSON rather than an event stream.
        let client = Client::builder()
            .ignore_env()
            .key(kit.key())
            .run_url(kit.queue_url())
            .build()
            .expect("client");
        let error = client
            .endpoint("fal-ai/flux/dev")
            .stream(json!({"prompt": "p"}))
            .await
            .map(|_| ())
            .expect_err("not SSE");
        assert!(
            matches!(stream_error(&error), StreamError::NotEventStream { content_type: Some(ct) } if ct.contains("application/json")),
            "{error:?}"
        );
    })
    .await;
}
