//! Webhook mode's receiving side (`fal batch receive DIR --listen ADDR`): an
//! axum route that checks each delivery's signature with
//! [`WebhookVerifier`] and records its body in the batch's state, where the
//! runner picks it up.
//!
//! fal retries a delivery that did not get a 2xx (about ten times over two
//! hours), so recording is idempotent on the request id and every answer says
//! what fal should do: 200 recorded (or already recorded), 401 a bad
//! signature (a retry cannot help), 400 not a delivery, 503 the keys or the
//! state could not be reached right now (retry).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;

use super::Batch;
use crate::webhook::{WebhookDelivery, WebhookError, WebhookVerifier};

/// Largest delivery body accepted (outputs may inline `data:` URIs).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// What the route needs: the batch and the verifier.
#[derive(Clone, Debug)]
pub struct ReceiveState {
    batch: Arc<Batch>,
    verifier: WebhookVerifier,
}

/// A router with `POST /` (and `POST /*path`, so any webhook path works)
/// recording verified deliveries into `batch`'s state.
pub fn receive_router(batch: Arc<Batch>, verifier: WebhookVerifier) -> Router {
    Router::new()
        .route("/", post(deliver))
        .route("/{*path}", post(deliver))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(ReceiveState { batch, verifier })
}

async fn deliver(
    State(state): State<ReceiveState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let signer = match state.verifier.verify(&headers, &body).await {
        Ok(signer) => signer,
        Err(err @ WebhookError::Jwks(_)) => {
            return (StatusCode::SERVICE_UNAVAILABLE, err.to_string())
        }
        Err(WebhookError::Payload(err)) => return (StatusCode::BAD_REQUEST, err.to_string()),
        Err(err) => return (StatusCode::UNAUTHORIZED, err.to_string()),
    };
    let delivery = match WebhookDelivery::<Value>::parse(&body) {
        Ok(delivery) => delivery,
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()),
    };
    if delivery.request_id != signer.request_id {
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "the body is about request {} but the signature about {}",
                delivery.request_id, signer.request_id
            ),
        );
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not UTF-8".into());
    };
    match state
        .batch
        .record_delivery(&delivery.request_id, text)
        .await
    {
        Ok(true) => {
            tracing::info!(request_id = %delivery.request_id, "webhook delivery recorded");
            (StatusCode::OK, "recorded".into())
        }
        Ok(false) => (StatusCode::OK, "already recorded".into()),
        Err(err) => {
            tracing::error!(error = %err, "could not record a webhook delivery");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the batch state is unavailable".into(),
            )
        }
    }
}
