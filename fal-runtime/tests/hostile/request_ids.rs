//! No request id is lost: every `x-fal-request-id` a retried submit was
//! answered with is reported (in the final error, or in a tracing warning when
//! a later attempt succeeds); a submit whose 2xx body is not JSON is followed by
//! the id its headers named; an error keeps the id of the request being
//! followed and the id its answer named, each in its own place. Over real
//! sockets against the testkit, whose fault rules answer with fresh ids.

use std::time::Duration;

use crate::common::{entries, fast_retry, prompt, testkit, Capture};
use fal_runtime::{Client, ErrorKind};
use fal_testkit::{FaultRule, RouteKind, Testkit};

const ZERO: Duration = Duration::ZERO;

fn client(kit: &Testkit, retries: u32) -> Client {
    kit.client_builder()
        .retry(fast_retry().max_retries(retries))
        .build()
        .expect("client builds")
}

/// The request ids the testkit answered the submits with, in order.
fn submit_ids(kit: &Testkit) -> Vec<String> {
    entries(kit, RouteKind::Submit)
        .into_iter()
        .map(|entry| entry.request_id.expect("every answer names an id"))
        .collect()
}

#[tokio::test]
async fn every_id_a_retried_submit_was_answered_with_is_in_the_error() {
    let kit = testkit(ZERO, ZERO).await;
    kit.inject(FaultRule::status(503).on(RouteKind::Submit).always());
    let err = client(&kit, 2)
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap_err();
    let ids = submit_ids(&kit);
    assert_eq!(ids.len(), 3, "one submit and two retries");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err}");
    assert_eq!(err.request_id(), Some(ids[2].as_str()), "{err}");
    assert_eq!(err.earlier_request_ids(), &ids[..2], "{err}");
    let shown = err.to_string();
    for id in &ids {
        assert!(shown.contains(id.as_str()), "{id} missing from: {shown}");
    }
}

#[tokio::test]
async fn ids_of_retried_answers_are_logged_when_a_later_attempt_succeeds() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let kit = testkit(ZERO, ZERO).await;
    kit.inject(FaultRule::status(503).on(RouteKind::Submit).times(2));
    let handle = client(&kit, 3)
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    let ids = submit_ids(&kit);
    assert_eq!(ids.len(), 3);
    assert_eq!(handle.request_id(), ids[2]);
    let logged = capture.text();
    for id in &ids[..2] {
        assert!(logged.contains(id.as_str()), "{id} not logged: {logged}");
    }
    assert!(logged.contains("WARN"), "{logged}");
}

#[tokio::test]
async fn a_submit_answered_with_a_malformed_body_is_followed_by_its_header_id() {
    let kit = testkit(ZERO, ZERO).await;
    kit.inject(FaultRule::malformed_body().on(RouteKind::Submit));
    let client = client(&kit, 3);
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .expect("followed by the id the headers named");
    let ids = submit_ids(&kit);
    assert_eq!(ids.len(), 1, "submitted once, never again");
    assert_eq!(handle.request_id(), ids[0]);

    // The whole wait works the same way: one submit, then the request it named.
    kit.clear_journal();
    kit.inject(FaultRule::malformed_body().on(RouteKind::Submit));
    let output = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(prompt())
        .await
        .unwrap();
    assert_eq!(output["seed"], 7);
    let ids = submit_ids(&kit);
    assert_eq!(ids.len(), 1);
    let results = entries(&kit, RouteKind::Result);
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].request_id, Some(ids[0].clone()));
}

#[tokio::test]
async fn a_status_answer_that_is_not_json_is_a_decode_error_naming_the_request() {
    let kit = testkit(ZERO, ZERO).await;
    let handle = client(&kit, 0)
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    kit.inject(FaultRule::malformed_body().on(RouteKind::Status));
    let err = handle.status(false).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    assert_eq!(err.request_id(), Some(handle.request_id()));
}

#[tokio::test]
async fn an_error_keeps_the_followed_id_and_the_answers_own_apart() {
    let kit = testkit(ZERO, ZERO).await;
    let client = client(&kit, 0);
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    let followed = handle.request_id().to_owned();
    for route in [RouteKind::Status, RouteKind::Result] {
        kit.inject(
            FaultRule::status(404)
                .on(route)
                .answer_as_request("another-request"),
        );
        let err = match route {
            RouteKind::Status => handle.status(false).await.map(drop),
            _ => handle.result().await.map(drop),
        }
        .unwrap_err();
        assert_eq!(
            err.request_id(),
            Some(followed.as_str()),
            "{route:?}: {err}"
        );
        let api = err.api().expect("fal's answer");
        assert_eq!(api.request_id.as_deref(), Some("another-request"));
        let shown = err.to_string();
        assert!(shown.contains(&followed), "{shown}");
        assert!(shown.contains("another-request"), "{shown}");
    }
}
