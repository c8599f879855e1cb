//! Receiving fal webhooks (spec 8): the delivery body, its Ed25519 signature,
//! and the key set the signature is checked against.
//!
//! fal posts the outcome of a queued request to the `fal_webhook` URL given at
//! submit time. Anyone can post to that URL, so a receiver must check the
//! signature before trusting the body: [`WebhookVerifier`] does that with keys
//! fetched from fal's JWKS and cached, and [`WebhookDelivery::parse`] then turns
//! the raw body into the endpoint's typed output. With the `axum` feature,
//! `VerifiedWebhook` does both as a request extractor.

mod jwks;
mod payload;
mod verify;

#[cfg(feature = "axum")]
mod extract;

pub use jwks::{
    parse_jwks, JwksError, WebhookError, WebhookVerifier, DEFAULT_JWKS_URL, LEGACY_JWKS_URL,
};
pub use payload::{PayloadError, WebhookDelivery, WebhookOutcome, WebhookStatus};
pub use verify::{
    signed_message, verify_signature, SignatureError, VerifiedHeaders, HEADER_REQUEST_ID,
    HEADER_SIGNATURE, HEADER_TIMESTAMP, HEADER_USER_ID, TIMESTAMP_TOLERANCE,
};

#[cfg(feature = "axum")]
pub use extract::{VerifiedWebhook, WebhookRejection};
