//! Realtime sessions end to end against the testkit on 127.0.0.1: msgpack round
//! trips, throttling, tokens and their refresh, reconnects, and server errors.

use std::time::Duration;

use fal_runtime::realtime::RealtimeError;
use fal_runtime::{Client, Endpoint};
use fal_testkit::{FaultRule, JournalEntry, RouteKind, Testkit};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize)]
struct Input {
    prompt: String,
    /// Sent as msgpack binary, to show byte fields survive the trip.
    #[serde(with = "bytes_field")]
    mask: Vec<u8>,
}

#[derive(Debug, Deserialize)]
struct Output {
    prompt: String,
    seq: u64,
}

impl Endpoint for Input {
    // The testkit's `echo` alias answers with the input and `seq` (1, 2, … per
    // connection), so each test can tell which input an answer belongs to.
    const ENDPOINT_ID: &'static str = "testkit/echo";
    type Output = Output;
}

mod bytes_field {
    pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }
}

fn input(prompt: &str) -> Input {
    Input {
        prompt: prompt.into(),
        mask: vec![0, 1, 2, 255],
    }
}

async fn testkit(idle: Duration) -> Testkit {
    Testkit::builder()
        .realtime_idle_timeout(idle)
        .start()
        .await
        .expect("testkit starts")
}

fn client(kit: &Testkit) -> Client {
    kit.client_builder().build().expect("client builds")
}

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(8), f)
        .await
        .expect("the test finished in time")
}

fn token_requests(kit: &Testkit) -> usize {
    kit.journal()
        .iter()
        .filter(|e| e.route == RouteKind::Rest && e.path.starts_with("/rest/tokens/"))
        .count()
}

fn handshakes(kit: &Testkit) -> Vec<JournalEntry> {
    kit.journal()
        .into_iter()
        .filter(|e| e.route == RouteKind::Realtime)
        .collect()
}

#[tokio::test]
async fn typed_round_trips_over_msgpack() {
    bounded(async {
        let kit = testkit(Duration::from_secs(30)).await;
        let client = client(&kit);
        let mut session = client
            .realtime::<Input>()
            .max_buffering(4)
            .connect()
            .await
            .expect("connects");
        for (n, prompt) in ["a red fox", "a blue fox"].into_iter().enumerate() {
            session.send(&input(prompt)).expect("encodes");
            let output = session.recv().await.expect("an item").expect("an output");
            assert_eq!(output.prompt, prompt);
            assert_eq!(output.seq, n as u64 + 1, "same connection, next sequence");
        }
        let shakes = handshakes(&kit);
        assert_eq!(shakes.len(), 1);
        let path = &shakes[0].path;
        assert!(
            path.starts_with("/run/testkit/echo/realtime?")
                && path.contains("max_buffering=4")
                && path.contains("fal_jwt_token="),
            "{path}"
        );
        assert_eq!(token_requests(&kit), 1);
        session.close().await;
    })
    .await;
}

#[tokio::test]
async fn bad_max_buffering_is_refused_before_any_network() {
    let kit = testkit(Duration::from_secs(30)).await;
    let client = client(&kit);
    for n in [0, 61] {
        let error = client
            .realtime::<Input>()
            .max_buffering(n)
            .connect()
            .await
            .expect_err("out of range");
        assert!(
            matches!(error.realtime(), Some(RealtimeError::InvalidMaxBuffering(m)) if *m == n),
            "{error:?}"
        );
    }
    assert!(kit.journal().is_empty());
}

#[tokio::test]
async fn throttling_keeps_only_the_latest_input() {
    bounded(async {
        let kit = testkit(Duration::from_secs(30)).await;
        let client = client(&kit);
        let mut session = client
            .realtime::<Input>()
            .throttle(Duration::from_secs(1))
            .connect()
            .await
            .expect("connects");
        session.send(&input("p0")).expect("encodes");
        let first = session.recv().await.expect("item").expect("output");
        assert_eq!(first.prompt, "p0");
        // p0 went out less than a second ago: these land in its window.
        for n in 1..5 {
            session.send(&input(&format!("p{n}"))).expect("encodes");
        }
        let second = session.recv().await.expect("item").expect("output");
        assert_eq!(
            second.prompt, "p4",
            "only the newest input of a window survives"
        );
        let nothing_more = tokio::time::timeout(Duration::from_millis(1300), session.recv()).await;
        assert!(nothing_more.is_err(), "p1..p3 were dropped, not queued");
    })
    .await;
}

#[tokio::test]
async fn a_server_closing_mid_session_loses_no_input() {
    bounded(async {
        let kit = testkit(Duration::from_secs(30)).await;
        // The first connection answers one input, then drops on the second.
        kit.inject(FaultRule::realtime_close(1));
        let client = client(&kit);
        let mut session = client
            .realtime::<Input>()
            .connect()
            .await
            .expect("connects");
        session.send(&input("first")).expect("encodes");
        assert_eq!(session.recv().await.expect("item").expect("out").seq, 1);
        session.send(&input("second")).expect("encodes");
        let output = session.recv().await.expect("item").expect("out");
        assert_eq!(
            output.prompt, "second",
            "the unanswered input was sent again"
        );
        assert_eq!(output.seq, 1, "on a new connection");
        assert_eq!(handshakes(&kit).len(), 2);
        assert_eq!(token_requests(&kit), 2, "the reconnect used a fresh token");
    })
    .await;
}

#[tokio::test]
async fn an_idle_socket_closed_by_the_server_reconnects_on_the_next_input() {
    bounded(async {
        let kit = testkit(Duration::from_millis(200)).await;
        let client = client(&kit);
        let mut session = client
            .realtime::<Input>()
            .connect()
            .await
            .expect("connects");
        session.send(&input("before")).expect("encodes");
        assert_eq!(session.recv().await.expect("item").expect("out").seq, 1);
        // The testkit sends x-fal-error TIMEOUT and closes; that is not an error.
        let quiet = tokio::time::timeout(Duration::from_millis(600), session.recv()).await;
        assert!(quiet.is_err(), "the idle notice is not surfaced: {quiet:?}");
        assert_eq!(handshakes(&kit).len(), 1, "no reconnect while idle");
        session.send(&input("after")).expect("encodes");
        let output = session.recv().await.expect("item").expect("out");
        assert_eq!((output.prompt.as_str(), output.seq), ("after", 1));
        assert_eq!(handshakes(&kit).len(), 2);
        assert_eq!(token_requests(&kit), 2);
    })
    .await;
}

#[tokio::test]
async fn x_fal_error_is_a_typed_error_and_the_session_recovers() {
    bounded(async {
        let kit = testkit(Duration::from_secs(30)).await;
        kit.inject(FaultRule::realtime_error(
            0,
            "INTERNAL_ERROR",
            "the app raised",
        ));
        let client = client(&kit);
        let mut session = client
            .realtime::<Input>()
            .connect()
            .await
            .expect("connects");
        session.send(&input("boom")).expect("encodes");
        let error = session
            .recv()
            .await
            .expect("item")
            .expect_err("server error");
        assert!(
            matches!(&error, RealtimeError::Server { error, reason }
                if error == "INTERNAL_ERROR" && reason.as_deref() == Some("the app raised")),
            "{error:?}"
        );
        // The erroring input is not resent; the next one reconnects and works.
        tokio::time::sleep(Duration::from_millis(150)).await;
        session.send(&input("fine")).expect("encodes");
        let output = session.recv().await.expect("item").expect("out");
        assert_eq!(output.prompt, "fine");
    })
    .await;
}

#[tokio::test]
async fn tokens_are_refreshed_at_ninety_percent_of_their_life() {
    bounded(async {
        // Sockets idle for 300 ms are closed, so the next input needs a new connection.
        let kit = testkit(Duration::from_millis(300)).await;
        let client = client(&kit);
        let connected = tokio::time::Instant::now();
        let mut session = client
            .realtime::<Input>()
            .token_expiration(Duration::from_secs(1))
            .connect()
            .await
            .expect("connects");
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(token_requests(&kit), 1, "not refreshed early");
        let deadline = connected + Duration::from_secs(4);
        while token_requests(&kit) < 2 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(token_requests(&kit) >= 2, "refreshed near 0.9 s");
        // The first token has expired now; the reconnect must not use it.
        tokio::time::sleep_until(connected + Duration::from_millis(1200)).await;
        session.send(&input("still here")).expect("encodes");
        let output = session.recv().await.expect("item").expect("out");
        assert_eq!(output.prompt, "still here");
        let shakes = handshakes(&kit);
        assert_eq!(shakes.len(), 2);
        assert!(
            shakes.iter().all(|e| e.status == 101),
            "every handshake was accepted: {shakes:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_refused_handshake_fails_connect_and_is_retried_on_reconnect() {
    bounded(async {
        let kit = testkit(Duration::from_secs(30)).await;
        let client = client(&kit);
        kit.inject(FaultRule::status(401).on(RouteKind::Realtime));
        let error = client
            .realtime::<Input>()
            .connect()
            .await
            .expect_err("refused");
        assert!(
            matches!(
                error.realtime(),
                Some(RealtimeError::Refused { status: 401, .. })
            ),
            "{error:?}"
        );
        assert_eq!(error.status().map(|s| s.as_u16()), Some(401), "{error}");
        assert!(
            !error.to_string().contains("fal_jwt_token"),
            "the token stays out of messages"
        );

        // First connection drops on its first input; the reconnect is refused once
        // with 503; the attempt after that delivers the input.
        kit.inject(FaultRule::realtime_close(0));
        kit.inject(FaultRule::status(503).on(RouteKind::Realtime));
        let mut session = client
            .realtime::<Input>()
            .connect()
            .await
            .expect("connects");
        session.send(&input("persistent")).expect("encodes");
        let output = session.recv().await.expect("item").expect("out");
        assert_eq!(output.prompt, "persistent");
        let statuses: Vec<u16> = handshakes(&kit).iter().map(|e| e.status).collect();
        assert_eq!(statuses, vec![401, 101, 503, 101]);
    })
    .await;
}

#[tokio::test]
async fn json_values_work_too() {
    bounded(async {
        let kit = testkit(Duration::from_secs(30)).await;
        let client = client(&kit);
        let mut session = client
            .endpoint("testkit/echo/realtime")
            .realtime()
            .connect()
            .await
            .expect("connects");
        session
            .send(&serde_json::json!({"prompt": "x", "strength": 0.5}))
            .expect("encodes");
        let output = session.recv().await.expect("item").expect("out");
        assert_eq!(output["strength"], 0.5);
        assert_eq!(output["seq"], 1);
        let path = &handshakes(&kit)[0].path;
        assert!(
            path.starts_with("/run/testkit/echo/realtime?"),
            "not doubled: {path}"
        );
    })
    .await;
}

#[tokio::test]
async fn outputs_are_a_stream_and_senders_work_from_other_tasks() {
    use futures::StreamExt;
    bounded(async {
        let kit = testkit(Duration::from_secs(30)).await;
        let client = client(&kit);
        let mut session = client
            .realtime::<Input>()
            .throttle(Duration::ZERO)
            .connect()
            .await
            .expect("connects");
        let sender = session.sender();
        let producer = tokio::spawn(async move {
            sender.send(&input("from a task")).expect("encodes");
        });
        producer.await.expect("producer ran");
        let output = session.next().await.expect("item").expect("out");
        assert_eq!(output.prompt, "from a task");
    })
    .await;
}

#[tokio::test]
async fn the_token_endpoint_checks_key_and_body() {
    bounded(async {
        let kit = testkit(Duration::from_secs(30)).await;
        let http = reqwest::Client::new();
        let url = format!("{}/tokens/", kit.rest_url());
        let no_key = http
            .post(&url)
            .json(&serde_json::json!({"allowed_apps": ["x"], "token_expiration": 120}))
            .send()
            .await
            .expect("sent");
        assert_eq!(no_key.status(), 401);
        for body in [
            serde_json::json!({"allowed_apps": []}),
            serde_json::json!({"allowed_apps": ["x"], "token_expiration": 0}),
            serde_json::json!({"token_expiration": 120}),
        ] {
            let response = http
                .post(&url)
                .header("authorization", format!("Key {}", kit.key()))
                .json(&body)
                .send()
                .await
                .expect("sent");
            assert_eq!(response.status(), 422, "{body}");
        }
        let ok = http
            .post(&url)
            .header("authorization", format!("Key {}", kit.key()))
            .json(&serde_json::json!({"allowed_apps": ["x"]}))
            .send()
            .await
            .expect("sent");
        assert_eq!(ok.status(), 201);
        let token: String = ok.json().await.expect("a bare JSON string");
        assert!(!token.is_empty());
    })
    .await;
}
