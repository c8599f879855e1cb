//! fal's failures surface as typed errors; retries follow spec 10.

mod common;

use std::time::{Duration, Instant};

use common::{client, entries, fast_retry, prompt, testkit};
use fal_runtime::{Client, ErrorKind, RetryPolicy};
use fal_testkit::{FaultRule, RouteKind};
use reqwest::StatusCode;

const ZERO: Duration = Duration::ZERO;

#[tokio::test]
async fn a_bad_key_is_401() {
    let tk = testkit(ZERO, ZERO).await;
    let client = tk.client_builder().key("wrong:key").build().unwrap();
    let err = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED), "{err}");
    assert_eq!(
        entries(&tk, RouteKind::Submit).len(),
        1,
        "401 is not retried"
    );
}

#[tokio::test]
async fn an_unknown_request_is_404() {
    let tk = testkit(ZERO, ZERO).await;
    let client = client(&tk);
    let handle = client
        .endpoint("fal-ai/flux")
        .request("00000000-0000-4000-8000-000000000000")
        .unwrap();
    let err = handle.status(false).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND), "{err}");
    let err = handle.result().await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND), "{err}");
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let tk = testkit(ZERO, ZERO).await;
    let client = client(&tk);
    for err in [
        client
            .endpoint("fal-ai/flux/dev")
            .run(serde_json::json!({}))
            .await
            .unwrap_err(),
        client
            .endpoint("fal-ai/flux/dev")
            .subscribe(serde_json::json!({}))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(
            err.status(),
            Some(StatusCode::UNPROCESSABLE_ENTITY),
            "{err}"
        );
        let fields: Vec<&str> = err.field_errors().iter().map(|f| f.path.as_str()).collect();
        assert_eq!(fields, ["body.prompt"], "{err}");
        assert!(err.to_string().contains("body.prompt"), "{err}");
    }
}

#[tokio::test]
async fn rate_limit_is_retried_after_retry_after() {
    let tk = testkit(ZERO, ZERO).await;
    tk.inject(FaultRule::status(429).retry_after(1).on(RouteKind::Submit));
    // The header says 1 s; the cap brings it to 150 ms, far above the 1 ms backoff,
    // so the elapsed time shows the header was honoured.
    let client = tk
        .client_builder()
        .retry(fast_retry().max_retry_after(Duration::from_millis(150)))
        .build()
        .unwrap();
    let started = Instant::now();
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(!handle.request_id().is_empty());
    let submits = entries(&tk, RouteKind::Submit);
    assert_eq!(
        submits.iter().map(|e| e.status).collect::<Vec<_>>(),
        [429, 200]
    );
}

#[tokio::test]
async fn retry_after_in_the_body_is_honoured_too() {
    let tk = testkit(ZERO, ZERO).await;
    tk.inject(
        FaultRule::status(429)
            .body(serde_json::json!({"detail": "Rate limit exceeded", "retry_after": 0.12}))
            .on(RouteKind::Run),
    );
    let client = client(&tk);
    let started = Instant::now();
    client
        .endpoint("fal-ai/flux/dev")
        .run(prompt())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(120));
    assert_eq!(entries(&tk, RouteKind::Run).len(), 2);
}

#[tokio::test]
async fn service_unavailable_twice_then_success() {
    let tk = testkit(ZERO, ZERO).await;
    tk.inject(FaultRule::status(503).times(2).on(RouteKind::Submit));
    let client = client(&tk);
    let output = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(prompt())
        .await
        .unwrap();
    assert_eq!(output["seed"], 7);
    let statuses: Vec<u16> = entries(&tk, RouteKind::Submit)
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [503, 503, 200]);
}

#[tokio::test]
async fn a_user_start_timeout_is_not_retried() {
    let tk = testkit(ZERO, ZERO).await;
    tk.inject(FaultRule::user_timeout().on(RouteKind::Run));
    let client = client(&tk);
    let err = client
        .endpoint("fal-ai/flux/dev")
        .run(prompt())
        .await
        .unwrap_err();
    assert!(err.is_user_timeout(), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::GATEWAY_TIMEOUT));
    assert_eq!(entries(&tk, RouteKind::Run).len(), 1);
}

#[tokio::test]
async fn a_plain_504_on_run_is_retried_but_never_on_submit() {
    let tk = testkit(ZERO, ZERO).await;
    tk.inject(FaultRule::status(504).on(RouteKind::Run));
    tk.inject(FaultRule::status(504).on(RouteKind::Submit));
    let client = client(&tk);
    client
        .endpoint("fal-ai/flux/dev")
        .run(prompt())
        .await
        .unwrap();
    assert_eq!(entries(&tk, RouteKind::Run).len(), 2);
    let err = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::GATEWAY_TIMEOUT));
    assert_eq!(
        entries(&tk, RouteKind::Submit).len(),
        1,
        "a submit that may have been accepted is not repeated"
    );
}

#[tokio::test]
async fn a_submit_cut_after_acceptance_is_not_repeated() {
    let tk = testkit(ZERO, ZERO).await;
    tk.inject(FaultRule::drop_connection().on(RouteKind::Submit));
    let client = client(&tk);
    // The headers named the queued request: the handle follows it by that id.
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    let submits = entries(&tk, RouteKind::Submit);
    assert_eq!(submits.len(), 1);
    assert_eq!(submits[0].request_id.as_deref(), Some(handle.request_id()));
    tokio::time::sleep(Duration::from_millis(20)).await;
    let output = handle.result().await.unwrap();
    assert_eq!(output["seed"], 7);
}

#[tokio::test]
async fn status_polls_retry_500_and_retries_can_be_switched_off() {
    let tk = testkit(ZERO, ZERO).await;
    let client = client(&tk);
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    tk.inject(FaultRule::status(500).on(RouteKind::Status));
    assert!(handle.status(false).await.unwrap().is_completed());
    assert_eq!(entries(&tk, RouteKind::Status).len(), 2);

    let strict = tk
        .client_builder()
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    tk.inject(FaultRule::status(503).on(RouteKind::Run));
    let err = strict
        .endpoint("fal-ai/flux/dev")
        .run(prompt())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(entries(&tk, RouteKind::Run).len(), 1);
}

#[tokio::test]
async fn a_connection_refused_is_a_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = Client::builder()
        .ignore_env()
        .queue_url(format!("http://127.0.0.1:{port}/queue"))
        .retry(fast_retry())
        .build()
        .unwrap();
    let err = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
}

#[tokio::test]
async fn an_output_of_the_wrong_shape_names_the_path() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Wrong {
        seed: String,
    }
    let tk = testkit(ZERO, ZERO).await;
    let client = client(&tk);
    let err = client
        .endpoint("fal-ai/flux/dev")
        .run(prompt())
        .output::<Wrong>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
    let shown = err.to_string();
    assert!(shown.contains("at `seed`"), "{shown}");
    assert!(
        shown.contains("\"seed\":"),
        "the body preview is shown: {shown}"
    );
    assert!(err.request_id().is_some(), "{shown}");
}

#[tokio::test]
async fn an_injected_client_is_used_and_a_timed_out_run_is_not_repeated() {
    let tk = testkit(ZERO, ZERO).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let client = tk
        .client_builder()
        .http_client(http)
        .retry(fast_retry())
        .build()
        .unwrap();
    // The delay hits one request only: had the run been sent again, the second
    // attempt would have succeeded, so the error itself shows it was sent once.
    tk.inject(FaultRule::delay(Duration::from_millis(400)).on(RouteKind::Run));
    let err = client
        .endpoint("fal-ai/flux/dev")
        .run(prompt())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");

    // A status poll is a read: its timeout is retried.
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    tk.inject(FaultRule::delay(Duration::from_millis(400)).on(RouteKind::Status));
    assert!(handle.status(false).await.unwrap().is_completed());
}
