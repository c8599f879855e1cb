//! The JSON body of a webhook delivery (spec 8.2), typed over the endpoint's output.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The `status` of a delivery.
///
/// fal's webhook docs send `OK` or `ERROR`; fal's API reference guide shows
/// `COMPLETED` for success (spec 9.1b), so both mean success here. Anything
/// else is kept verbatim and treated as a failure: a receiver must never take
/// an unknown status for a finished result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookStatus {
    /// `OK` (or `COMPLETED`): the request finished and `payload` is its output.
    Ok,
    /// `ERROR`: the request failed; `error` says why.
    Error,
    /// Any other value, as received.
    Other(String),
}

impl<'de> Deserialize<'de> for WebhookStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Ok(match raw.as_str() {
            "OK" | "COMPLETED" => Self::Ok,
            "ERROR" => Self::Error,
            _ => Self::Other(raw),
        })
    }
}

/// The wire shape, before the outcome is decided.
#[derive(Deserialize)]
struct RawDelivery {
    request_id: String,
    #[serde(default)]
    gateway_request_id: Option<String>,
    status: WebhookStatus,
    #[serde(default)]
    payload: Option<Value>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    payload_error: Option<String>,
}

/// What a delivery reports about its request.
#[derive(Clone, Debug, PartialEq)]
pub enum WebhookOutcome<T> {
    /// The request completed; this is its output.
    Ok(T),
    /// The request completed but fal could not serialise its output as JSON,
    /// so no payload was sent; `payload_error` is fal's explanation.
    OutputNotJson {
        /// fal's `payload_error` text.
        payload_error: String,
    },
    /// The request failed (`ERROR`, or a status this client does not know).
    Error {
        /// fal's `error` text (e.g. `Invalid status code: 422`), or a description
        /// of the unknown status when fal sent none.
        error: String,
        /// The error body the endpoint returned, when there was one
        /// (e.g. `{"detail": [...]}` for a validation failure).
        payload: Option<Value>,
    },
}

/// A parsed webhook delivery.
///
/// Parse only a body whose signature was verified (see
/// [`WebhookVerifier`](crate::webhook::WebhookVerifier)); the parser trusts the
/// content to be fal's.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookDelivery<T = Value> {
    /// The queue request id the delivery is about.
    pub request_id: String,
    /// fal's id of the last internal attempt; usually equal to `request_id`.
    pub gateway_request_id: Option<String>,
    /// The status as sent.
    pub status: WebhookStatus,
    /// Output or failure.
    pub outcome: WebhookOutcome<T>,
}

/// Why a delivery body could not be parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The body is not JSON of the delivery shape (`request_id`, `status`, …).
    #[error("webhook body is not a fal delivery")]
    Shape(#[source] serde_json::Error),
    /// The delivery is fine but its `payload` is not the endpoint's output type.
    #[error("webhook payload of request {request_id} does not match the endpoint's output type")]
    Output {
        /// The request the delivery is about.
        request_id: String,
        /// What did not match.
        #[source]
        source: serde_json::Error,
    },
}

impl<T: DeserializeOwned> WebhookDelivery<T> {
    /// Parses a raw delivery body.
    pub fn parse(body: &[u8]) -> Result<Self, PayloadError> {
        let raw: RawDelivery = serde_json::from_slice(body).map_err(PayloadError::Shape)?;
        let outcome = match &raw.status {
            WebhookStatus::Ok => match raw.payload {
                Some(payload) => {
                    WebhookOutcome::Ok(serde_json::from_value(payload).map_err(|source| {
                        PayloadError::Output {
                            request_id: raw.request_id.clone(),
                            source,
                        }
                    })?)
                }
                None => WebhookOutcome::OutputNotJson {
                    payload_error: raw
                        .payload_error
                        .unwrap_or_else(|| "fal sent no payload and no payload_error".to_owned()),
                },
            },
            WebhookStatus::Error => WebhookOutcome::Error {
                error: raw
                    .error
                    .or(raw.payload_error)
                    .unwrap_or_else(|| "fal reported an error without a message".to_owned()),
                payload: raw.payload,
            },
            WebhookStatus::Other(status) => WebhookOutcome::Error {
                error: raw
                    .error
                    .unwrap_or_else(|| format!("unknown webhook status {status:?}")),
                payload: raw.payload,
            },
        };
        Ok(Self {
            request_id: raw.request_id,
            gateway_request_id: raw.gateway_request_id,
            status: raw.status,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Out {
        seed: u64,
    }

    fn parse<T: DeserializeOwned>(body: Value) -> Result<WebhookDelivery<T>, PayloadError> {
        WebhookDelivery::parse(body.to_string().as_bytes())
    }

    #[test]
    fn ok_and_completed_are_success() {
        for status in ["OK", "COMPLETED"] {
            let d: WebhookDelivery<Out> = parse(json!({
                "request_id": "r1", "gateway_request_id": "g1", "status": status,
                "payload": {"seed": 7}
            }))
            .unwrap();
            assert_eq!(d.outcome, WebhookOutcome::Ok(Out { seed: 7 }));
            assert_eq!(d.status, WebhookStatus::Ok);
            assert_eq!(d.gateway_request_id.as_deref(), Some("g1"));
        }
    }

    #[test]
    fn error_keeps_message_and_body() {
        let d: WebhookDelivery<Out> = parse(json!({
            "request_id": "r1", "status": "ERROR", "error": "Invalid status code: 422",
            "payload": {"detail": [{"loc": ["body", "prompt"], "msg": "field required"}]}
        }))
        .unwrap();
        match d.outcome {
            WebhookOutcome::Error { error, payload } => {
                assert_eq!(error, "Invalid status code: 422");
                assert!(payload.unwrap()["detail"].is_array());
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn null_payload_reports_payload_error() {
        let d: WebhookDelivery<Out> = parse(json!({
            "request_id": "r1", "status": "OK", "payload": null,
            "payload_error": "Response payload is not JSON"
        }))
        .unwrap();
        assert_eq!(
            d.outcome,
            WebhookOutcome::OutputNotJson {
                payload_error: "Response payload is not JSON".into()
            }
        );
    }

    #[test]
    fn unknown_status_is_a_failure() {
        let d: WebhookDelivery<Out> =
            parse(json!({"request_id": "r1", "status": "WEIRD", "payload": {"seed": 1}})).unwrap();
        assert!(matches!(d.outcome, WebhookOutcome::Error { .. }));
        assert_eq!(d.status, WebhookStatus::Other("WEIRD".into()));
    }

    #[test]
    fn wrong_output_type_names_the_request() {
        let err =
            parse::<Out>(json!({"request_id": "r9", "status": "OK", "payload": {"seed": "x"}}))
                .unwrap_err();
        assert!(err.to_string().contains("r9"), "{err}");
        assert!(matches!(
            parse::<Out>(json!({"status": "OK"})),
            Err(PayloadError::Shape(_))
        ));
    }
}
