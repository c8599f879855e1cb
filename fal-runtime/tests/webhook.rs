//! Webhooks end to end over real sockets: the testkit signs and delivers,
//! an axum receiver using `VerifiedWebhook` verifies against the testkit's
//! JWKS and parses the typed payload; bad signatures are answered 401.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use ed25519_dalek::{Signer, SigningKey};
use fal_runtime::webhook::{
    signed_message, SignatureError, VerifiedWebhook, WebhookError, WebhookOutcome, WebhookVerifier,
};
use fal_runtime::Client;
use fal_testkit::webhook::{DeliveryPolicy, Outcome, Webhooks};
use fal_testkit::{FaultRule, RouteKind, Testkit};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

#[derive(Debug, Deserialize, PartialEq)]
struct Output {
    seed: u64,
    prompt: String,
}

/// A testkit whose webhook retries are quick.
async fn start_kit(policy: DeliveryPolicy) -> Testkit {
    Testkit::builder()
        .queue_delay(Duration::from_millis(20))
        .run_duration(Duration::from_millis(20))
        .webhook_policy(policy)
        .start()
        .await
        .unwrap()
}

fn client(kit: &Testkit) -> Client {
    kit.client_builder().build().expect("client builds")
}

#[derive(Clone)]
struct Receiver {
    verifier: WebhookVerifier,
    deliveries: mpsc::Sender<VerifiedWebhook<Output>>,
    /// Answer 503 this many times before accepting.
    refuse: Arc<AtomicU32>,
}

impl axum::extract::FromRef<Receiver> for WebhookVerifier {
    fn from_ref(receiver: &Receiver) -> Self {
        receiver.verifier.clone()
    }
}

async fn receive(State(receiver): State<Receiver>, hook: VerifiedWebhook<Output>) -> StatusCode {
    let refused = receiver
        .refuse
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if refused {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let _ = receiver.deliveries.send(hook).await;
    StatusCode::OK
}

/// Starts a receiver; returns its URL and the channel of accepted deliveries.
async fn start_receiver(
    verifier: WebhookVerifier,
    refuse: u32,
) -> (String, mpsc::Receiver<VerifiedWebhook<Output>>) {
    let (tx, rx) = mpsc::channel(8);
    let state = Receiver {
        verifier,
        deliveries: tx,
        refuse: Arc::new(AtomicU32::new(refuse)),
    };
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, rx)
}

fn fast_policy() -> DeliveryPolicy {
    DeliveryPolicy {
        attempts: 4,
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(80),
        attempt_timeout: Duration::from_secs(2),
    }
}

async fn next(rx: &mut mpsc::Receiver<VerifiedWebhook<Output>>) -> VerifiedWebhook<Output> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("no delivery within 5 s")
        .expect("receiver gone")
}

#[tokio::test]
async fn signed_deliveries_are_verified_and_parsed() {
    let kit = start_kit(fast_policy()).await;
    let hooks = kit.webhooks();
    let (url, mut rx) = start_receiver(client(&kit).webhook_verifier(), 0).await;

    hooks.deliver(
        url.clone(),
        "req-ok".into(),
        Outcome::Ok(json!({"seed": 42, "prompt": "a cat"})),
    );
    let hook = next(&mut rx).await;
    assert_eq!(hook.delivery.request_id, "req-ok");
    assert_eq!(hook.signer.user_id, "testkit-user");
    assert_eq!(
        hook.delivery.outcome,
        WebhookOutcome::Ok(Output {
            seed: 42,
            prompt: "a cat".into()
        })
    );

    hooks.deliver(
        url,
        "req-err".into(),
        Outcome::Error {
            payload: json!({"detail": [{"loc": ["body", "prompt"], "msg": "field required", "type": "value_error.missing"}]}),
            error: "Invalid status code: 422".into(),
        },
    );
    let hook = next(&mut rx).await;
    match hook.delivery.outcome {
        WebhookOutcome::Error { error, payload } => {
            assert_eq!(error, "Invalid status code: 422");
            assert_eq!(payload.unwrap()["detail"][0]["loc"][1], "prompt");
        }
        other => panic!("expected an error outcome, got {other:?}"),
    }
}

#[tokio::test]
async fn failed_deliveries_are_retried_until_accepted() {
    let kit = start_kit(fast_policy()).await;
    let hooks = kit.webhooks();
    let (url, mut rx) = start_receiver(client(&kit).webhook_verifier(), 2).await;
    hooks.deliver(
        url,
        "req-retry".into(),
        Outcome::Ok(json!({"seed": 1, "prompt": "p"})),
    );
    let hook = next(&mut rx).await;
    assert_eq!(hook.delivery.request_id, "req-retry");
    // The handler ran before its 200 reached the testkit; wait for the log.
    let mut statuses = Vec::new();
    for _ in 0..100 {
        statuses = hooks
            .attempts()
            .iter()
            .map(|a| a.status)
            .collect::<Vec<_>>();
        if statuses.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(statuses, [Some(503), Some(503), Some(200)]);

    // An unreachable receiver: every attempt fails, then delivery gives up.
    let gone = "http://127.0.0.1:9/hook".to_owned();
    let delivered = hooks
        .deliver_now(&gone, "req-lost", &Outcome::Ok(json!({})))
        .await;
    assert!(!delivered);
    let lost = hooks
        .attempts()
        .into_iter()
        .filter(|a| a.request_id == "req-lost")
        .count();
    assert_eq!(lost, 4);
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Posts `body` with the four signature headers, signed by `key` at `ts`.
async fn post_signed(
    url: &str,
    key: &SigningKey,
    ts: i64,
    body: &str,
    tamper: Option<&str>,
) -> u16 {
    let ts = ts.to_string();
    let signature = hex::encode(
        key.sign(&signed_message("req-1", "user-1", &ts, body.as_bytes()))
            .to_bytes(),
    );
    reqwest::Client::new()
        .post(url)
        .header("x-fal-webhook-request-id", "req-1")
        .header("x-fal-webhook-user-id", "user-1")
        .header("x-fal-webhook-timestamp", ts)
        .header("x-fal-webhook-signature", tamper.unwrap_or(&signature))
        .body(tamper.map_or(body.to_owned(), |_| body.to_owned()))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn forged_expired_and_wrong_key_signatures_get_401() {
    let trusted = SigningKey::from_bytes(&[7; 32]);
    let stranger = SigningKey::from_bytes(&[8; 32]);
    let verifier = WebhookVerifier::with_keys(vec![trusted.verifying_key()]);
    let (url, mut rx) = start_receiver(verifier, 0).await;
    let body = r#"{"request_id":"req-1","status":"OK","payload":{"seed":5,"prompt":"x"}}"#;
    let now = now_secs();

    assert_eq!(post_signed(&url, &trusted, now, body, None).await, 200);
    assert_eq!(next(&mut rx).await.delivery.request_id, "req-1");

    assert_eq!(
        post_signed(&url, &stranger, now, body, None).await,
        401,
        "wrong key"
    );
    assert_eq!(
        post_signed(&url, &trusted, now - 301, body, None).await,
        401,
        "expired"
    );
    assert_eq!(
        post_signed(&url, &trusted, now + 400, body, None).await,
        401,
        "future"
    );
    let forged = "ab".repeat(64);
    assert_eq!(
        post_signed(&url, &trusted, now, body, Some(&forged)).await,
        401,
        "forged"
    );
    let unsigned = reqwest::Client::new()
        .post(&url)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401, "no headers");

    // Authentic but not the endpoint's output type: 400.
    let mistyped = r#"{"request_id":"req-1","status":"OK","payload":{"seed":"five"}}"#;
    assert_eq!(post_signed(&url, &trusted, now, mistyped, None).await, 400);
    assert!(
        rx.try_recv().is_err(),
        "a refused delivery reached the handler"
    );
}

#[tokio::test]
async fn a_captured_delivery_replayed_outside_the_window_is_refused() {
    let kit = start_kit(fast_policy()).await;
    let hooks = kit.webhooks();
    let verifier = client(&kit).webhook_verifier();
    let body =
        Webhooks::body("req-cap", &Outcome::Ok(json!({"seed": 3, "prompt": "q"}))).to_string();
    let mut headers = http::HeaderMap::new();
    for (name, value) in hooks.sign("req-cap", body.as_bytes()) {
        headers.insert(name, value.parse().unwrap());
    }
    let now = SystemTime::now();
    assert!(verifier
        .verify_at(&headers, body.as_bytes(), now)
        .await
        .is_ok());
    let replay = now + Duration::from_secs(301 + 1);
    match verifier.verify_at(&headers, body.as_bytes(), replay).await {
        Err(WebhookError::Signature(SignatureError::Expired { .. })) => {}
        other => panic!("replay accepted or misreported: {other:?}"),
    }
    // A body swapped under captured headers is refused too.
    let swapped = body.replace("\"seed\":3", "\"seed\":4");
    assert!(matches!(
        verifier.verify_at(&headers, swapped.as_bytes(), now).await,
        Err(WebhookError::Signature(SignatureError::Mismatch))
    ));
}

#[tokio::test]
async fn a_missing_key_set_is_a_jwks_error_not_a_forgery() {
    // A REST base with no JWKS behind it: the verifier cannot know the keys.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, Router::new()).await });
    let verifier = Client::builder()
        .key("k:s")
        .rest_url(format!("{base}/rest"))
        .ignore_env()
        .build()
        .unwrap()
        .webhook_verifier();
    let key = SigningKey::from_bytes(&[1; 32]);
    let ts = now_secs().to_string();
    let mut headers = http::HeaderMap::new();
    headers.insert("x-fal-webhook-request-id", "r".parse().unwrap());
    headers.insert("x-fal-webhook-user-id", "u".parse().unwrap());
    headers.insert("x-fal-webhook-timestamp", ts.parse().unwrap());
    let sig = hex::encode(key.sign(&signed_message("r", "u", &ts, b"{}")).to_bytes());
    headers.insert("x-fal-webhook-signature", sig.parse().unwrap());
    assert!(matches!(
        verifier.verify(&headers, b"{}").await,
        Err(WebhookError::Jwks(_))
    ));
}

#[derive(serde::Serialize)]
struct Prompt {
    prompt: String,
}

impl fal_runtime::Endpoint for Prompt {
    const ENDPOINT_ID: &'static str = "fal-ai/flux/dev";
    type Output = Output;
}

#[tokio::test]
async fn queue_requests_submitted_with_a_webhook_are_delivered() {
    let kit = start_kit(fast_policy()).await;
    let client = client(&kit);
    let (url, mut rx) = start_receiver(client.webhook_verifier(), 0).await;

    let handle = client
        .submit(Prompt {
            prompt: "a lighthouse".into(),
        })
        .webhook(url.clone())
        .await
        .unwrap();
    let hook = next(&mut rx).await;
    assert_eq!(hook.delivery.request_id, handle.request_id());
    match hook.delivery.outcome {
        WebhookOutcome::Ok(output) => assert_eq!(output.prompt, "a lighthouse"),
        other => panic!("expected the output, got {other:?}"),
    }

    // A request the endpoint fails is delivered as ERROR with the error body.
    kit.inject(FaultRule::complete_with_error(422, "prompt is not allowed").on(RouteKind::Submit));
    let failing = client
        .submit(Prompt { prompt: "x".into() })
        .webhook(url)
        .await
        .unwrap();
    let hook = next(&mut rx).await;
    assert_eq!(hook.delivery.request_id, failing.request_id());
    match hook.delivery.outcome {
        WebhookOutcome::Error { error, payload } => {
            assert_eq!(error, "Invalid status code: 422");
            assert!(payload.is_some());
        }
        other => panic!("expected an error delivery, got {other:?}"),
    }
}

/// A JWKS host whose key can be swapped, counting fetches.
async fn rotating_jwks(key: Arc<std::sync::Mutex<SigningKey>>, fetches: Arc<AtomicU32>) -> String {
    use base64::Engine;
    let app = Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let key = key.lock().unwrap().verifying_key();
            fetches.fetch_add(1, Ordering::SeqCst);
            let x = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes());
            async move { axum::Json(json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x}]})) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn signed_headers(key: &SigningKey, body: &[u8]) -> http::HeaderMap {
    let ts = now_secs().to_string();
    let sig = hex::encode(key.sign(&signed_message("r", "u", &ts, body)).to_bytes());
    let mut headers = http::HeaderMap::new();
    headers.insert("x-fal-webhook-request-id", "r".parse().unwrap());
    headers.insert("x-fal-webhook-user-id", "u".parse().unwrap());
    headers.insert("x-fal-webhook-timestamp", ts.parse().unwrap());
    headers.insert("x-fal-webhook-signature", sig.parse().unwrap());
    headers
}

#[tokio::test]
async fn keys_are_cached_and_refetched_when_a_signature_matches_none() {
    let old = SigningKey::from_bytes(&[21; 32]);
    let new = SigningKey::from_bytes(&[22; 32]);
    let current = Arc::new(std::sync::Mutex::new(old.clone()));
    let fetches = Arc::new(AtomicU32::new(0));
    let url = rotating_jwks(current.clone(), fetches.clone()).await;
    let body = b"{}";

    // Refetch allowed at once: the rotation is picked up.
    let eager = WebhookVerifier::with_jwks_url(reqwest::Client::new(), url.parse().unwrap())
        .min_refresh_interval(Duration::ZERO);
    eager
        .verify(&signed_headers(&old, body), body)
        .await
        .unwrap();
    eager
        .verify(&signed_headers(&old, body), body)
        .await
        .unwrap();
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "the key set was not cached"
    );
    *current.lock().unwrap() = new.clone();
    eager
        .verify(&signed_headers(&new, body), body)
        .await
        .unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2);

    // Within the minimum refresh interval an unknown signature is refused
    // without another fetch, so forgeries cannot hammer the JWKS host.
    let patient = WebhookVerifier::with_jwks_url(reqwest::Client::new(), url.parse().unwrap());
    patient
        .verify(&signed_headers(&new, body), body)
        .await
        .unwrap();
    let before = fetches.load(Ordering::SeqCst);
    let forged = SigningKey::from_bytes(&[23; 32]);
    assert!(matches!(
        patient.verify(&signed_headers(&forged, body), body).await,
        Err(WebhookError::Signature(SignatureError::Mismatch))
    ));
    assert_eq!(fetches.load(Ordering::SeqCst), before);
}
