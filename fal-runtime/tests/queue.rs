//! Every queue operation against the testkit, over real sockets.

mod common;

use std::time::Duration;

use common::{client, entries, prompt, testkit};
use fal_runtime::{QueueStatus, RequestOptions};
use fal_testkit::RouteKind;
use futures::StreamExt;

const ZERO: Duration = Duration::ZERO;

#[tokio::test]
async fn submit_status_result_use_the_base_app_urls() {
    let tk = testkit(ZERO, ZERO).await;
    let client = client(&tk);
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    assert!(!handle.request_id().is_empty());
    let id = handle.request_id().to_owned();

    let status = handle.status(true).await.unwrap();
    assert!(status.is_completed(), "{status:?}");
    let quiet = handle.status(false).await.unwrap();
    assert!(quiet.logs().is_empty());

    let output = handle.result().await.unwrap();
    assert_eq!(output["prompt"], "a lighthouse at dusk");
    assert!(output["images"][0]["url"].is_string());

    let submit = entries(&tk, RouteKind::Submit);
    assert_eq!(submit.len(), 1);
    assert!(
        submit[0].path.ends_with("/fal-ai/flux/dev"),
        "{}",
        submit[0].path
    );
    let status = entries(&tk, RouteKind::Status);
    assert_eq!(status.len(), 2);
    assert!(
        status[0]
            .path
            .contains(&format!("/fal-ai/flux/requests/{id}/status")),
        "sub-path must be dropped: {}",
        status[0].path
    );
    assert!(status[0].path.contains("logs=1"));
    assert!(status[1].path.contains("logs=0"));
    let result = entries(&tk, RouteKind::Result);
    assert!(result[0]
        .path
        .ends_with(&format!("/fal-ai/flux/requests/{id}")));
}

#[tokio::test]
async fn a_handle_rebuilt_from_the_id_reaches_the_same_request() {
    let tk = testkit(ZERO, ZERO).await;
    let client = client(&tk);
    let id = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap()
        .request_id()
        .to_owned();
    let again = client.endpoint("fal-ai/flux/dev").request(&id).unwrap();
    assert!(again.status(false).await.unwrap().is_completed());
    assert_eq!(again.result().await.unwrap()["seed"], 7);
}

#[tokio::test]
async fn status_stream_follows_the_request_to_completion() {
    let tk = testkit(Duration::from_millis(60), Duration::from_millis(60)).await;
    let client = client(&tk);
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    let updates: Vec<_> = handle.status_stream(true).await.unwrap().collect().await;
    let updates: Vec<QueueStatus> = updates.into_iter().map(Result::unwrap).collect();
    assert!(updates.last().unwrap().is_completed(), "{updates:?}");
    assert!(
        updates.len() >= 2,
        "expected progress before completion: {updates:?}"
    );
    assert!(matches!(updates[0], QueueStatus::InQueue { .. }));
    let stream = entries(&tk, RouteKind::StatusStream);
    assert!(
        stream[0].path.contains("/fal-ai/flux/requests/"),
        "{}",
        stream[0].path
    );
}

#[tokio::test]
async fn submit_sends_options_as_fal_headers_and_webhook_query() {
    let tk = testkit(ZERO, ZERO).await;
    let client = client(&tk);
    client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .options(
            RequestOptions::new()
                .start_timeout(Duration::from_secs(30))
                .priority(fal_runtime::Priority::Low)
                .runner_hint("hint-1"),
        )
        .webhook("https://example.invalid/hook?a=1")
        .await
        .unwrap();
    let submit = &entries(&tk, RouteKind::Submit)[0];
    assert_eq!(submit.header("x-fal-request-timeout"), Some("30"));
    assert_eq!(submit.header("x-fal-queue-priority"), Some("low"));
    assert_eq!(submit.header("x-fal-runner-hint"), Some("hint-1"));
    assert!(submit.header("user-agent").unwrap().starts_with("fal-rs/"));
    assert!(
        submit
            .path
            .contains("fal_webhook=https%3A%2F%2Fexample.invalid%2Fhook%3Fa%3D1"),
        "{}",
        submit.path
    );
}

#[tokio::test]
async fn cancel_while_queued_means_it_never_runs() {
    let tk = testkit(Duration::from_secs(5), ZERO).await;
    let client = client(&tk);
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    assert!(matches!(
        handle.status(false).await.unwrap(),
        QueueStatus::InQueue { .. }
    ));
    handle.cancel().await.unwrap();
    let after = handle.status(false).await.unwrap();
    assert!(
        matches!(after, QueueStatus::Completed { error: Some(_), .. }),
        "{after:?}"
    );
    assert!(handle.result().await.is_err());
    assert_eq!(entries(&tk, RouteKind::Cancel).len(), 1);
}

#[tokio::test]
async fn cancel_while_running_is_accepted() {
    let tk = testkit(ZERO, Duration::from_secs(5)).await;
    let client = client(&tk);
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    assert!(matches!(
        handle.status(false).await.unwrap(),
        QueueStatus::InProgress { .. }
    ));
    handle.cancel().await.unwrap();
    let cancel = entries(&tk, RouteKind::Cancel);
    assert_eq!(cancel.len(), 1);
    assert!((200..300).contains(&cancel[0].status));
}

#[tokio::test]
async fn direct_run_returns_the_output() {
    let tk = testkit(ZERO, ZERO).await;
    let client = client(&tk);
    let output = client
        .endpoint("fal-ai/flux/dev")
        .run(prompt())
        .await
        .unwrap();
    assert_eq!(output["prompt"], "a lighthouse at dusk");
    let run = entries(&tk, RouteKind::Run);
    assert_eq!(run.len(), 1);
    assert!(run[0].path.ends_with("/fal-ai/flux/dev"));
}

#[tokio::test]
async fn billable_units_reach_results_and_errors() {
    let tk = testkit(ZERO, ZERO).await;
    let client = client(&tk);
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    let completed = handle.completed().await.unwrap();
    assert_eq!(completed.billable_units, Some(1.0));
    assert_eq!(completed.request_id, handle.request_id());
    assert_eq!(completed.output["prompt"], "a lighthouse at dusk");

    // A refused input bills nothing, and says so.
    let err = client
        .endpoint("fal-ai/flux/dev")
        .run(serde_json::json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.billable_units(), Some(0.0), "{err}");
}
