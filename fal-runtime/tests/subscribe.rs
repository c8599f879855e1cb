//! subscribe: both waiting paths, a cut stream, and drop (its own timeout,
//! against a request that never finishes, is in the hostile suite).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{client, entries, prompt, testkit};
use fal_runtime::{QueueStatus, WaitMode};
use fal_testkit::{FaultRule, RouteKind};

const SHORT: Duration = Duration::from_millis(50);

#[tokio::test]
async fn subscribe_follows_the_status_stream_by_default() {
    let tk = testkit(SHORT, SHORT).await;
    let client = client(&tk);
    let updates = Arc::new(Mutex::new(Vec::new()));
    let seen = updates.clone();
    let enqueued = Arc::new(Mutex::new(None));
    let id_slot = enqueued.clone();
    let output = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(prompt())
        .logs(true)
        .on_enqueue(move |id| *id_slot.lock().unwrap() = Some(id.to_owned()))
        .on_update(move |status| seen.lock().unwrap().push(status.clone()))
        .await
        .unwrap();
    assert_eq!(output["prompt"], "a lighthouse at dusk");
    let updates = updates.lock().unwrap();
    assert!(updates.last().unwrap().is_completed(), "{updates:?}");
    assert!(enqueued.lock().unwrap().is_some());
    assert_eq!(entries(&tk, RouteKind::StatusStream).len(), 1);
    assert!(
        entries(&tk, RouteKind::Status).is_empty(),
        "no polling needed"
    );
    assert_eq!(entries(&tk, RouteKind::Submit).len(), 1);
}

#[tokio::test]
async fn subscribe_can_poll_and_reports_logs_once() {
    let tk = testkit(SHORT, Duration::from_millis(120)).await;
    let client = client(&tk);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let output = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(prompt())
        .mode(WaitMode::Polling)
        .poll_interval(Duration::from_millis(10))
        .logs(true)
        .on_update(move |status: &QueueStatus| {
            sink.lock()
                .unwrap()
                .extend(status.logs().iter().map(|l| l.message.clone()))
        })
        .await
        .unwrap();
    assert_eq!(output["seed"], 7);
    let polls = entries(&tk, RouteKind::Status);
    assert!(polls.len() >= 2, "polled {} times", polls.len());
    assert!(entries(&tk, RouteKind::StatusStream).is_empty());
    let lines = lines.lock().unwrap();
    let mut unique = lines.clone();
    unique.dedup();
    assert_eq!(*lines, unique, "a log line was reported twice");
}

#[tokio::test]
async fn a_status_stream_cut_mid_way_falls_back_to_polling() {
    let tk = testkit(SHORT, SHORT).await;
    // The first event (IN_QUEUE) reaches the client; the connection dies right
    // after the second.
    tk.inject(FaultRule::truncate_stream(2));
    let client = client(&tk);
    let updates = Arc::new(Mutex::new(Vec::new()));
    let seen = updates.clone();
    let output = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(prompt())
        .poll_interval(Duration::from_millis(10))
        .on_update(move |status| seen.lock().unwrap().push(status.clone()))
        .await
        .unwrap();
    assert_eq!(output["prompt"], "a lighthouse at dusk");
    let updates = updates.lock().unwrap();
    assert!(
        matches!(updates[0], QueueStatus::InQueue { .. }),
        "{updates:?}"
    );
    assert!(updates.last().unwrap().is_completed());
    assert_eq!(entries(&tk, RouteKind::StatusStream).len(), 1);
    assert!(
        !entries(&tk, RouteKind::Status).is_empty(),
        "fallback polled"
    );
    assert_eq!(entries(&tk, RouteKind::Submit).len(), 1);
}

#[tokio::test]
async fn a_status_stream_dropped_before_its_headers_is_reopened() {
    let tk = testkit(SHORT, SHORT).await;
    // Cut right after the first event, before the response is flushed: to the
    // client the open itself fails, which is retried like any status call.
    tk.inject(FaultRule::truncate_stream(1));
    let client = client(&tk);
    let output = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(prompt())
        .await
        .unwrap();
    assert_eq!(output["prompt"], "a lighthouse at dusk");
    assert!(!entries(&tk, RouteKind::StatusStream).is_empty());
    assert_eq!(entries(&tk, RouteKind::Submit).len(), 1);
}

#[tokio::test]
async fn a_silent_status_stream_falls_back_to_polling() {
    // No state change for 300 ms and keep-alives only every 10 s: the stream goes
    // quiet longer than the 40 ms idle limit.
    let tk = fal_testkit::Testkit::builder()
        .queue_delay(Duration::from_millis(300))
        .run_duration(ZERO_RUN)
        .keep_alive(Duration::from_secs(10))
        .start()
        .await
        .unwrap();
    let client = client(&tk);
    let output = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(prompt())
        .stream_idle_timeout(Duration::from_millis(40))
        .poll_interval(Duration::from_millis(10))
        .await
        .unwrap();
    assert_eq!(output["seed"], 7);
    assert_eq!(entries(&tk, RouteKind::StatusStream).len(), 1);
    assert!(
        !entries(&tk, RouteKind::Status).is_empty(),
        "fallback polled"
    );
}

const ZERO_RUN: Duration = Duration::ZERO;

#[tokio::test]
async fn dropping_a_subscribe_stops_all_traffic() {
    let tk = testkit(Duration::from_secs(5), ZERO_RUN).await;
    let client = client(&tk);
    let call = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(prompt())
        .mode(WaitMode::Polling)
        .poll_interval(Duration::from_millis(5))
        .into_future();
    assert!(tokio::time::timeout(Duration::from_millis(100), call)
        .await
        .is_err());
    // A poll in flight at the drop may still be journaled; let it land first.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let polls = entries(&tk, RouteKind::Status).len();
    assert!(polls > 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        entries(&tk, RouteKind::Status).len(),
        polls,
        "polling went on after drop"
    );
}

use std::future::IntoFuture;
