//! Waits without bound (issue 14 item 3): a host that never answers, never
//! sends headers, drips or stalls a body, against each bound of [`Timeouts`].
//! Bounds are set short on the client, so nothing here waits out a default;
//! every call is also wrapped in [`guard`], so a missing bound fails the test
//! instead of hanging it.

use std::future::IntoFuture;
use std::time::Duration;

use crate::common::{self, entries, prompt, testkit};
use fal_runtime::{Client, ErrorKind, RequestOptions, RetryPolicy, Timeouts};
use fal_testkit::{FaultRule, RouteKind, Testkit};

/// How long a hostile fault holds a connection: far beyond any bound below
/// (the testkit ends it at shutdown).
const FOREVER: Duration = Duration::from_secs(600);

/// A bound under test: short, yet far above what a loaded machine needs for
/// the testkit's normal answers, which never meet it.
const BOUND: Duration = Duration::from_millis(400);

/// Fails the test when `work` outlives every bound it should have met.
async fn guard<F: IntoFuture>(work: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), work.into_future())
        .await
        .expect("the client gave up within its bound, not the test's guard")
}

/// A client for `tk` with these bounds and no retries (each fault fires once).
fn client_with(tk: &Testkit, timeouts: Timeouts) -> Client {
    tk.client_builder()
        .retry(RetryPolicy::none())
        .timeouts(timeouts)
        .build()
        .expect("client builds")
}

/// A testkit that queues and runs each request for 20 ms.
async fn quick() -> Testkit {
    testkit(Duration::from_millis(20), Duration::from_millis(20)).await
}

fn assert_timeout(err: &fal_runtime::Error, needle: &str) {
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    let shown = err.to_string();
    assert!(shown.contains(needle), "{needle:?} not in: {shown}");
}

// ---- Waits without bound (issue 14, item 3) ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_never_answered_times_out_and_is_not_sent_again() {
    let tk = quick().await;
    tk.inject(FaultRule::delay(FOREVER).on(RouteKind::Submit));
    let mut timeouts = Timeouts::default();
    timeouts.submit = BOUND;
    let client = tk
        .client_builder()
        .retry(common::fast_retry())
        .timeouts(timeouts)
        .build()
        .unwrap();
    let err = guard(client.endpoint("fal-ai/flux/dev").submit(prompt()))
        .await
        .unwrap_err();
    assert_timeout(&err, "submit request to");
    assert!(
        tk.pending_faults().is_empty(),
        "one submit took the fault; a retry would have found no fault left"
    );
    // A second submit would have been answered at once and queued a request.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        entries(&tk, RouteKind::Submit)
            .iter()
            .all(|e| e.status != 200),
        "a timed-out submit was sent again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_call_bound_replaces_the_clients() {
    let tk = quick().await;
    tk.inject(FaultRule::delay(FOREVER).on(RouteKind::Submit));
    // The client's own bound is the default minute; this call's is short.
    let client = client_with(&tk, Timeouts::default());
    let err = guard(
        client
            .endpoint("fal-ai/flux/dev")
            .submit(prompt())
            .options(RequestOptions::new().client_timeout(BOUND)),
    )
    .await
    .unwrap_err();
    assert_timeout(&err, "submit request to");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_run_never_answered_times_out() {
    let tk = quick().await;
    tk.inject(FaultRule::delay(FOREVER).on(RouteKind::Run));
    let mut timeouts = Timeouts::default();
    timeouts.run = BOUND;
    let client = client_with(&tk, timeouts);
    let err = guard(client.endpoint("fal-ai/flux/dev").run(prompt()))
        .await
        .unwrap_err();
    assert_timeout(&err, "run request to");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_headers_never_come_times_out() {
    let tk = quick().await;
    tk.inject(FaultRule::delay(FOREVER).on(RouteKind::Stream));
    let mut timeouts = Timeouts::default();
    timeouts.stream_headers = BOUND;
    let client = client_with(&tk, timeouts);
    let err = guard(client.endpoint("fal-ai/flux/dev").stream(prompt()))
        .await
        .unwrap_err();
    assert_timeout(&err, "no response headers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_gone_silent_fails_after_the_clients_idle_bound() {
    let tk = quick().await;
    tk.inject(FaultRule::stall_stream(1));
    let mut timeouts = Timeouts::default();
    timeouts.stream_idle = BOUND;
    let client = client_with(&tk, timeouts);
    let mut events = guard(client.endpoint("fal-ai/flux/dev").stream(prompt()))
        .await
        .unwrap();
    use futures::StreamExt;
    assert!(guard(events.next()).await.unwrap().is_ok(), "first event");
    let err = guard(events.next()).await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_stream_without_headers_gives_way_to_polling() {
    let tk = quick().await;
    tk.inject(FaultRule::delay(FOREVER).on(RouteKind::StatusStream));
    let mut timeouts = Timeouts::default();
    timeouts.status = Duration::from_secs(2);
    let client = client_with(&tk, timeouts);
    let output = guard(
        client
            .endpoint("fal-ai/flux/dev")
            .subscribe(prompt())
            .poll_interval(Duration::from_millis(10)),
    )
    .await
    .unwrap();
    assert_eq!(output["seed"], 7);
    assert!(!entries(&tk, RouteKind::Status).is_empty(), "it polled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dripping_result_is_cut_at_its_total() {
    let tk = quick().await;
    let client = client_with(&tk, {
        let mut timeouts = Timeouts::default();
        timeouts.result = BOUND;
        timeouts
    });
    let handle = guard(client.endpoint("fal-ai/flux/dev").submit(prompt()))
        .await
        .unwrap();
    guard(async {
        while !handle.status(false).await.unwrap().is_completed() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // One byte every 50 ms: each byte keeps the idle timer happy, and the
    // whole answer would take longer than the test's guard.
    tk.inject(FaultRule::drip(Duration::from_millis(50)).on(RouteKind::Result));
    let err = guard(handle.result()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert_eq!(err.request_id(), Some(handle.request_id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stalls_after_its_headers_trips_the_idle_bound() {
    let tk = quick().await;
    let client = client_with(&tk, {
        let mut timeouts = Timeouts::default();
        timeouts.idle_body = BOUND;
        timeouts
    });
    let handle = guard(client.endpoint("fal-ai/flux/dev").submit(prompt()))
        .await
        .unwrap();
    // Headers at once, then not one byte: only the idle bound can end it
    // before the poll's one-minute total.
    tk.inject(FaultRule::drip(FOREVER).on(RouteKind::Status));
    let err = guard(handle.status(false)).await.unwrap_err();
    assert_timeout(&err, "the body stalled");
    assert_eq!(err.request_id(), Some(handle.request_id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_never_answered_times_out() {
    let tk = testkit(Duration::from_secs(60), Duration::from_millis(20)).await;
    let client = client_with(&tk, {
        let mut timeouts = Timeouts::default();
        timeouts.cancel = BOUND;
        timeouts
    });
    let handle = guard(client.endpoint("fal-ai/flux/dev").submit(prompt()))
        .await
        .unwrap();
    tk.inject(FaultRule::delay(FOREVER).on(RouteKind::Cancel));
    let err = guard(handle.cancel()).await.unwrap_err();
    assert_timeout(&err, "cancel request to");
}

/// A request that stays queued past the caller's patience (the issue's
/// "IN_PROGRESS forever"): `Subscribe::timeout` ends the wait, cancels the
/// request and keeps its id.
#[tokio::test]
async fn in_progress_forever_ends_at_the_subscribe_timeout_which_cancels_and_keeps_the_id() {
    let tk = testkit(Duration::from_secs(5), Duration::ZERO).await;
    let client = common::client(&tk);
    let err = guard(
        client
            .endpoint("fal-ai/flux/dev")
            .subscribe(prompt())
            .timeout(Duration::from_millis(200)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    let id = err.request_id().expect("the timeout names the request");
    assert!(err.was_cancelled(), "{err}");
    assert!(err.to_string().contains(id));
    let cancels = entries(&tk, RouteKind::Cancel);
    assert_eq!(cancels.len(), 1);
    assert_eq!(cancels[0].request_id.as_deref(), Some(id));
    let status = client
        .endpoint("fal-ai/flux/dev")
        .request(id)
        .unwrap()
        .status(false)
        .await
        .unwrap();
    assert!(
        status.is_completed(),
        "cancelled request is finished: {status:?}"
    );
}

#[cfg(feature = "storage")]
mod uploads {
    use super::*;
    use fal_runtime::storage::{UploadOptions, UploadSource};

    fn parts() -> UploadOptions {
        UploadOptions::default()
            .multipart_threshold(1000)
            .part_size(4000)
            .part_concurrency(1)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_upload_part_never_answered_times_out() {
        let tk = quick().await;
        tk.inject(FaultRule::delay(FOREVER).on(RouteKind::Cdn));
        let mut timeouts = Timeouts::default();
        timeouts.upload_part = BOUND;
        let client = client_with(&tk, timeouts);
        let data = vec![7u8; 3000];
        let err = guard(client.upload(UploadSource::bytes(data), &parts()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(err.to_string().contains("part 1"), "{err}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_upload_complete_never_answered_times_out() {
        let tk = quick().await;
        // The one part passes (a zero delay), the `complete` after it hangs.
        tk.inject(FaultRule::delay(Duration::ZERO).on(RouteKind::Cdn));
        tk.inject(FaultRule::delay(FOREVER).on(RouteKind::Cdn));
        let mut timeouts = Timeouts::default();
        timeouts.upload_complete = BOUND;
        let client = client_with(&tk, timeouts);
        let data = vec![7u8; 3000];
        let err = guard(client.upload(UploadSource::bytes(data), &parts()))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        assert!(err.to_string().contains("completing"), "{err}");
    }
}

#[cfg(feature = "realtime")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realtime_handshake_never_answered_times_out() {
    let tk = quick().await;
    tk.inject(FaultRule::delay(FOREVER).on(RouteKind::Realtime));
    let mut timeouts = Timeouts::default();
    timeouts.realtime_handshake = BOUND;
    let client = client_with(&tk, timeouts);
    let err = guard(
        client
            .endpoint("testkit/echo/realtime")
            .realtime()
            .connect(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[cfg(feature = "webhook")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_set_never_served_times_out() {
    let tk = quick().await;
    let mut timeouts = Timeouts::default();
    timeouts.jwks = BOUND;
    let verifier = client_with(&tk, timeouts).webhook_verifier();
    let mut headers = axum::http::HeaderMap::new();
    for (name, value) in tk.webhooks().sign("req-1", b"{}") {
        headers.insert(name, value.parse().unwrap());
    }
    tk.inject(FaultRule::delay(FOREVER).on(RouteKind::Rest));
    let err = guard(verifier.verify(&headers, b"{}")).await.unwrap_err();
    assert_eq!(fal_runtime::Error::from(err).kind(), ErrorKind::Timeout);
}

/// A host whose TCP accept queue is full: the kernel drops further SYNs, so a
/// connect to it neither succeeds nor fails. The listener never accepts; the
/// connections that filled its queue are kept open with it.
struct Unanswering {
    address: std::net::SocketAddr,
    _listener: tokio::net::TcpListener,
    _fillers: Vec<tokio::task::JoinHandle<()>>,
}

impl Unanswering {
    async fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        // The smallest backlog: one or two queued connections fill it.
        let listener = socket.listen(0).unwrap();
        let address = listener.local_addr().unwrap();
        // Fill the queue; the fillers beyond it hang like the client will.
        let fillers = (0..4)
            .map(|_| {
                tokio::spawn(async move {
                    if let Ok(stream) = tokio::net::TcpStream::connect(address).await {
                        tokio::time::sleep(FOREVER).await;
                        drop(stream);
                    }
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(200)).await;
        Self {
            address,
            _listener: listener,
            _fillers: fillers,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_never_completes_the_connect_is_bounded_by_the_connect_timeout() {
    let host = Unanswering::new().await;
    // Show the premise: a plain connect to this host hangs past the bound.
    assert!(
        tokio::time::timeout(BOUND * 2, tokio::net::TcpStream::connect(host.address))
            .await
            .is_err(),
        "the host accepted a connection; the test's premise does not hold here"
    );
    let mut timeouts = Timeouts::default();
    timeouts.connect = BOUND;
    let client = Client::builder()
        .ignore_env()
        .key("test-key")
        .queue_url(format!("{}/queue", host.url()))
        .retry(RetryPolicy::none())
        .timeouts(timeouts)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = guard(client.endpoint("fal-ai/flux/dev").submit(prompt()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    // Only the connect bound (400 ms) can end it this early: the submit's own
    // bound is the default, minutes away.
    assert!(
        started.elapsed() < Timeouts::default().submit / 2,
        "ended after {:?}",
        started.elapsed()
    );
}
