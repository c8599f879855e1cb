//! Receive fal's webhook for a queued request: an axum server whose handler
//! only ever sees deliveries whose Ed25519 signature verified against fal's
//! published keys, parsed into the endpoint's output type.
//!
//! `cargo run -p fal-examples --example webhook_receiver`
//!
//! No FAL_KEY: the embedded testkit signs and delivers the webhook to this
//! process. With a key, fal must be able to reach the receiver: set
//! `WEBHOOK_LISTEN` (address to bind, e.g. `0.0.0.0:8080`) and
//! `WEBHOOK_PUBLIC_URL` (the URL fal should call, e.g. a tunnel to that port).

use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use fal_runtime::webhook::{VerifiedWebhook, WebhookOutcome, WebhookVerifier};
use fal_testkit::Testkit;
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// What the handler needs: the verifier (for the extractor) and a way to hand
/// the delivery to `main`.
#[derive(Clone)]
struct Receiver {
    verifier: WebhookVerifier,
    deliveries: mpsc::Sender<VerifiedWebhook<Value>>,
}

impl axum::extract::FromRef<Receiver> for WebhookVerifier {
    fn from_ref(receiver: &Receiver) -> Self {
        receiver.verifier.clone()
    }
}

/// Runs only for authentic, well-formed deliveries; the extractor answers
/// everything else (401 for a bad signature, 400 for a bad body).
async fn receive(State(receiver): State<Receiver>, hook: VerifiedWebhook<Value>) {
    let _ = receiver.deliveries.send(hook).await;
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fal_examples::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let fal = fal_testkit::client_from_env_or_testkit(
        Testkit::builder()
            .queue_delay(Duration::ZERO)
            .run_duration(Duration::from_millis(200)),
    )
    .await?;
    let public_url = std::env::var("WEBHOOK_PUBLIC_URL").ok();
    if fal.testkit.is_none() && public_url.is_none() {
        return Err(
            "with a real FAL_KEY, set WEBHOOK_PUBLIC_URL (and WEBHOOK_LISTEN) \
                    to a receiver fal can reach"
                .into(),
        );
    }
    let listen = std::env::var("WEBHOOK_LISTEN").unwrap_or_else(|_| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let local = listener.local_addr()?;
    let webhook_url = public_url.unwrap_or_else(|| format!("http://{local}/fal/webhook"));

    let (deliveries, mut received) = mpsc::channel(4);
    // The verifier fetches fal's JWKS (here: the testkit's) and caches it.
    let receiver = Receiver {
        verifier: fal.client.webhook_verifier(),
        deliveries,
    };
    let app = Router::new()
        .route("/fal/webhook", post(receive))
        .with_state(receiver);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let handle = fal
        .client
        .endpoint("fal-ai/flux/schnell")
        .submit(json!({ "prompt": "a lantern in the fog" }))
        .webhook(&webhook_url)
        .await?;
    println!(
        "submitted {}; waiting for the webhook at {webhook_url}",
        handle.request_id()
    );

    let hook = tokio::time::timeout(Duration::from_secs(60), received.recv())
        .await
        .map_err(|_| "no webhook within 60 s")?
        .ok_or("the receiver stopped")?;
    println!(
        "verified delivery for {} (user {})",
        hook.delivery.request_id, hook.signer.user_id
    );
    match hook.delivery.outcome {
        WebhookOutcome::Ok(output) => println!("output: {}", output["images"]),
        other => println!("the request did not succeed: {other:?}"),
    }
    server.abort();
    Ok(())
}
