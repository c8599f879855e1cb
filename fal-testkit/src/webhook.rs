//! Webhook delivery, server side (spec 8): the testkit signs with its own
//! Ed25519 key, publishes the public half as a JWKS on the REST host, and
//! POSTs each finished request's outcome to the `fal_webhook` URL it was
//! submitted with, retrying failed deliveries with growing gaps.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::lifecycle::{Outcome as Finished, Phase};
use crate::state::Shared;

/// The user id the testkit signs deliveries for.
pub const TESTKIT_USER_ID: &str = "testkit-user";

/// How deliveries are retried.
#[derive(Clone, Debug)]
pub struct DeliveryPolicy {
    /// Attempts per delivery, the first included (fal makes up to 10).
    pub attempts: u32,
    /// Gap before the first retry; each later gap doubles, up to `max_delay`.
    pub first_delay: Duration,
    /// Longest gap between attempts.
    pub max_delay: Duration,
    /// How long one attempt may take before it counts as failed.
    pub attempt_timeout: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        // fal's schedule is about 10 tries over 2 hours; a local server keeps
        // the same shape on a scale tests can wait for.
        Self {
            attempts: 10,
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(10),
        }
    }
}

/// The outcome of a finished request, as a delivery reports it (spec 8.2).
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The request completed with this output.
    Ok(Value),
    /// The request completed but its output is not JSON: no payload is sent,
    /// `payload_error` says why.
    Unserializable {
        /// fal's explanation.
        payload_error: String,
    },
    /// The request failed: the error body and fal's `error` text.
    Error {
        /// The endpoint's error body, e.g. `{"detail": [...]}`.
        payload: Value,
        /// e.g. `Invalid status code: 422`.
        error: String,
    },
}

/// One delivery attempt, for tests to inspect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The request the delivery is about.
    pub request_id: String,
    /// The webhook URL.
    pub url: String,
    /// 1-based attempt number.
    pub attempt: u32,
    /// The receiver's status, or `None` when it could not be reached.
    pub status: Option<u16>,
}

/// The testkit's webhook signer and delivery log.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    key: SigningKey,
    kid: String,
    policy: DeliveryPolicy,
    http: reqwest::Client,
    attempts: Mutex<Vec<DeliveryAttempt>>,
    stop: CancellationToken,
}

impl Webhooks {
    /// A fresh random key and the given retry policy.
    pub fn new(policy: DeliveryPolicy) -> Self {
        Self::stopping_on(policy, CancellationToken::new())
    }

    /// Same, with pending deliveries (and their retries) abandoned once
    /// `stop` is cancelled (the testkit's shutdown).
    pub(crate) fn stopping_on(policy: DeliveryPolicy, stop: CancellationToken) -> Self {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let kid = hex::encode(&Sha256::digest(key.verifying_key().as_bytes())[..8]);
        Self {
            inner: Arc::new(Inner {
                key,
                kid,
                policy,
                http: reqwest::Client::new(),
                attempts: Mutex::new(Vec::new()),
                stop,
            }),
        }
    }

    /// The JWKS answer for `GET /.well-known/jwks.json` on the REST host.
    pub(crate) fn jwks_response(&self) -> Response {
        Json(self.jwks()).into_response()
    }

    /// The key set document: the testkit's one public key.
    pub fn jwks(&self) -> Value {
        json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(self.inner.key.verifying_key().as_bytes()),
                "kid": self.inner.kid,
                "use": "sig",
                "alg": "EdDSA",
            }]
        })
    }

    /// The raw 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.inner.key.verifying_key().to_bytes()
    }

    /// Every delivery attempt so far, in order.
    pub fn attempts(&self) -> Vec<DeliveryAttempt> {
        self.lock().clone()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<DeliveryAttempt>> {
        self.inner
            .attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The delivery body of spec 8.2.
    pub fn body(request_id: &str, outcome: &Outcome) -> Value {
        match outcome {
            Outcome::Ok(output) => json!({
                "request_id": request_id,
                "gateway_request_id": request_id,
                "status": "OK",
                "payload": output,
            }),
            Outcome::Unserializable { payload_error } => json!({
                "request_id": request_id,
                "gateway_request_id": request_id,
                "status": "OK",
                "payload": null,
                "payload_error": payload_error,
            }),
            Outcome::Error { payload, error } => json!({
                "request_id": request_id,
                "gateway_request_id": request_id,
                "status": "ERROR",
                "payload": payload,
                "error": error,
            }),
        }
    }

    /// The four signature headers for `body`, signed now (spec 8.3).
    pub fn sign(&self, request_id: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            .to_string();
        let digest = hex::encode(Sha256::digest(body));
        let message = format!("{request_id}\n{TESTKIT_USER_ID}\n{timestamp}\n{digest}");
        let signature = hex::encode(self.inner.key.sign(message.as_bytes()).to_bytes());
        vec![
            ("x-fal-webhook-request-id", request_id.to_owned()),
            ("x-fal-webhook-user-id", TESTKIT_USER_ID.to_owned()),
            ("x-fal-webhook-timestamp", timestamp),
            ("x-fal-webhook-signature", signature),
        ]
    }

    /// Delivers `outcome` to `url` in the background, retrying per the policy.
    pub fn deliver(&self, url: String, request_id: String, outcome: Outcome) {
        let this = self.clone();
        tokio::spawn(async move { this.deliver_now(&url, &request_id, &outcome).await });
    }

    /// Delivers and waits; returns whether some attempt got a 2xx.
    pub async fn deliver_now(&self, url: &str, request_id: &str, outcome: &Outcome) -> bool {
        let body = Self::body(request_id, outcome).to_string().into_bytes();
        let policy = &self.inner.policy;
        let mut delay = policy.first_delay;
        for attempt in 1..=policy.attempts.max(1) {
            // Re-signed per attempt: a late retry must still be inside the
            // receiver's five-minute window.
            let mut request = self
                .inner
                .http
                .post(url)
                .timeout(policy.attempt_timeout)
                .header("content-type", "application/json")
                .body(body.clone());
            for (name, value) in self.sign(request_id, &body) {
                request = request.header(name, value);
            }
            let status = match request.send().await {
                Ok(response) => Some(response.status()),
                Err(err) => {
                    tracing::debug!(%url, attempt, %err, "webhook delivery failed");
                    None
                }
            };
            self.lock().push(DeliveryAttempt {
                request_id: request_id.to_owned(),
                url: url.to_owned(),
                attempt,
                status: status.map(|s| s.as_u16()),
            });
            if status.is_some_and(|s| s.is_success()) {
                return true;
            }
            if attempt < policy.attempts {
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = self.inner.stop.cancelled() => return false,
                }
                delay = (delay * 2).min(policy.max_delay);
            }
        }
        false
    }
}

/// Delivers request `id`'s outcome to `url` once it completes. The queue
/// computes phases from the clock, so this sleeps until the next phase change
/// instead of polling.
pub(crate) fn watch(shared: Arc<Shared>, id: Uuid, url: String) {
    tokio::spawn(async move {
        loop {
            let Some(snapshot) = shared.store.snapshot(id, None) else {
                return;
            };
            if let Phase::Completed { outcome, .. } = snapshot.phase {
                let outcome = match outcome {
                    Finished::Output(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                        Ok(output) => Outcome::Ok(output),
                        Err(err) => Outcome::Unserializable {
                            payload_error: format!("Response payload is not JSON: {err}"),
                        },
                    },
                    Finished::Failed(failure) => Outcome::Error {
                        payload: serde_json::from_slice(&failure.body).unwrap_or(Value::Null),
                        error: format!("Invalid status code: {}", failure.status.as_u16()),
                    },
                };
                shared
                    .webhooks
                    .deliver_now(&url, &id.to_string(), &outcome)
                    .await;
                return;
            }
            let wait = snapshot
                .next_change
                .map(|at| at.saturating_duration_since(std::time::Instant::now()))
                .unwrap_or(Duration::from_millis(20))
                .clamp(Duration::from_millis(1), Duration::from_secs(1));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shared.shutdown.cancelled() => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_holds_the_signing_key() {
        let hooks = Webhooks::new(DeliveryPolicy::default());
        let jwks = hooks.jwks();
        let x = jwks["keys"][0]["x"].as_str().unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(x).unwrap(), hooks.public_key());
    }

    #[test]
    fn bodies_follow_the_spec() {
        let ok = Webhooks::body("r", &Outcome::Ok(json!({"seed": 1})));
        assert_eq!(ok["status"], "OK");
        assert_eq!(ok["payload"]["seed"], 1);
        let err = Webhooks::body(
            "r",
            &Outcome::Error {
                payload: json!({"detail": "bad"}),
                error: "Invalid status code: 422".into(),
            },
        );
        assert_eq!(err["status"], "ERROR");
        assert_eq!(err["error"], "Invalid status code: 422");
    }
}
