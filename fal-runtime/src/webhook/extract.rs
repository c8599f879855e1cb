//! An axum extractor for webhook receivers: a handler that takes
//! [`VerifiedWebhook<Output>`] only ever runs for authentic, well-formed
//! deliveries, and everything else is answered for it.

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::jwks::{WebhookError, WebhookVerifier};
use super::payload::WebhookDelivery;
use super::verify::VerifiedHeaders;

/// Largest delivery body read. Outputs may carry inline `data:` URIs, so this is
/// generous; anything larger is refused before it is buffered.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// A delivery whose signature verified and whose payload parsed as `T`.
///
/// The router's state must provide a [`WebhookVerifier`] (directly, or through
/// [`FromRef`]):
///
/// ```no_run
/// use axum::{routing::post, Router};
/// use fal_runtime::webhook::{VerifiedWebhook, WebhookOutcome, WebhookVerifier};
///
/// async fn receive(hook: VerifiedWebhook<serde_json::Value>) {
///     if let WebhookOutcome::Ok(output) = hook.delivery.outcome {
///         println!("{} finished: {output}", hook.delivery.request_id);
///     }
/// }
///
/// let verifier = WebhookVerifier::new(reqwest::Client::new());
/// let app: Router = Router::new().route("/fal/webhook", post(receive)).with_state(verifier);
/// ```
#[derive(Clone, Debug)]
pub struct VerifiedWebhook<T = Value> {
    /// The parsed delivery.
    pub delivery: WebhookDelivery<T>,
    /// The signed headers (request id, user id, timestamp).
    pub signer: VerifiedHeaders,
}

/// Why the extractor refused a delivery. As a response: 401 for a bad or
/// missing signature, 400 for an unreadable or mistyped body, 413 for an
/// oversized one, 503 when fal's keys could not be fetched (so fal retries).
#[derive(Debug, thiserror::Error)]
pub enum WebhookRejection {
    /// Signature, keys or payload check failed.
    #[error(transparent)]
    Webhook(#[from] WebhookError),
    /// The declared body size is above the limit; nothing was read.
    #[error("webhook body of {declared} bytes is above the {limit}-byte limit")]
    TooLarge {
        /// The request's `Content-Length`.
        declared: u64,
        /// The limit.
        limit: usize,
    },
    /// The body could not be read (connection cut, or longer than the limit).
    #[error("could not read the webhook body")]
    Body(#[source] axum::Error),
}

impl WebhookRejection {
    /// The HTTP status this rejection answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Webhook(WebhookError::Signature(_)) => StatusCode::UNAUTHORIZED,
            Self::Webhook(WebhookError::Payload(_)) => StatusCode::BAD_REQUEST,
            Self::Webhook(WebhookError::Jwks(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Body(_) => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        (self.status(), self.to_string()).into_response()
    }
}

impl<S, T> FromRequest<S> for VerifiedWebhook<T>
where
    S: Send + Sync,
    WebhookVerifier: FromRef<S>,
    T: DeserializeOwned + Send,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = WebhookVerifier::from_ref(state);
        let (parts, body) = req.into_parts();
        let declared = parts
            .headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if let Some(declared) = declared.filter(|&n| n > MAX_BODY as u64) {
            return Err(WebhookRejection::TooLarge {
                declared,
                limit: MAX_BODY,
            });
        }
        let body = axum::body::to_bytes(body, MAX_BODY)
            .await
            .map_err(WebhookRejection::Body)?;
        let signer = verifier.verify(&parts.headers, &body).await?;
        let delivery = WebhookDelivery::parse(&body).map_err(WebhookError::from)?;
        Ok(Self { delivery, signer })
    }
}
