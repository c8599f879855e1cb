//! Signature check of one delivery (spec 8.3), free of I/O so it can be
//! tested exhaustively: headers, raw body, keys and the current time in,
//! verdict out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signature, VerifyingKey};
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// Header carrying the queue request id.
pub const HEADER_REQUEST_ID: &str = "x-fal-webhook-request-id";
/// Header carrying the submitter's fal user id.
pub const HEADER_USER_ID: &str = "x-fal-webhook-user-id";
/// Header carrying the signing time, Unix seconds as a decimal string.
pub const HEADER_TIMESTAMP: &str = "x-fal-webhook-timestamp";
/// Header carrying the hex-encoded 64-byte Ed25519 signature.
pub const HEADER_SIGNATURE: &str = "x-fal-webhook-signature";

/// How far the signing time may be from the receiver's clock, either way.
/// A captured delivery replayed later than this is refused.
pub const TIMESTAMP_TOLERANCE: Duration = Duration::from_secs(300);

/// The signed facts of a delivery whose signature checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedHeaders {
    /// The queue request id the delivery is about.
    pub request_id: String,
    /// The fal user who submitted the request.
    pub user_id: String,
    /// When fal signed the delivery (Unix seconds).
    pub timestamp: i64,
}

/// Why a delivery's signature was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// One of the four signature headers is absent.
    #[error("webhook header {0} is missing")]
    MissingHeader(&'static str),
    /// A signature header is present but unusable.
    #[error("webhook header {header} is invalid: {reason}")]
    InvalidHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with its value.
        reason: &'static str,
    },
    /// The signing time is more than [`TIMESTAMP_TOLERANCE`] away from now:
    /// an old (possibly replayed) or future-dated delivery.
    #[error(
        "webhook timestamp {timestamp} is {skew_secs} s away from now (at most 300 s allowed)"
    )]
    Expired {
        /// The timestamp as sent.
        timestamp: i64,
        /// Distance from the receiver's clock, in seconds.
        skew_secs: u64,
    },
    /// The key set is empty, so nothing can be verified.
    #[error("no webhook verification keys are known")]
    NoKeys,
    /// The signature matches none of the known keys (forged, altered body, or
    /// signed with a key this receiver has not fetched yet).
    #[error("webhook signature does not match any known fal key")]
    Mismatch,
}

impl SignatureError {
    /// Whether fetching a fresh key set could change the verdict.
    pub(crate) fn may_need_new_keys(&self) -> bool {
        matches!(self, Self::NoKeys | Self::Mismatch)
    }
}

/// Checks a delivery's signature.
///
/// The message fal signs is `request_id \n user_id \n timestamp \n
/// hex(sha256(body))`, with the timestamp exactly as sent and the body exactly
/// as received, so pass the raw bytes, never a re-serialised JSON value. The
/// signature is accepted under any key of the set, since deliveries do not name
/// their key.
pub fn verify_signature(
    headers: &HeaderMap,
    body: &[u8],
    keys: &[VerifyingKey],
    now: SystemTime,
) -> Result<VerifiedHeaders, SignatureError> {
    let request_id = header(headers, HEADER_REQUEST_ID)?;
    let user_id = header(headers, HEADER_USER_ID)?;
    let timestamp_text = header(headers, HEADER_TIMESTAMP)?;
    let signature_text = header(headers, HEADER_SIGNATURE)?;

    let timestamp: i64 = timestamp_text
        .parse()
        .map_err(|_| SignatureError::InvalidHeader {
            header: HEADER_TIMESTAMP,
            reason: "not a decimal Unix time in seconds",
        })?;
    let now_secs = match now.duration_since(UNIX_EPOCH) {
        Ok(elapsed) => i128::from(elapsed.as_secs()),
        Err(before) => -i128::from(before.duration().as_secs()),
    };
    let skew = (now_secs - i128::from(timestamp)).unsigned_abs();
    if skew > u128::from(TIMESTAMP_TOLERANCE.as_secs()) {
        return Err(SignatureError::Expired {
            timestamp,
            skew_secs: u64::try_from(skew).unwrap_or(u64::MAX),
        });
    }

    let mut raw_signature = [0u8; 64];
    hex::decode_to_slice(signature_text.trim(), &mut raw_signature).map_err(|_| {
        SignatureError::InvalidHeader {
            header: HEADER_SIGNATURE,
            reason: "not 128 hex digits",
        }
    })?;
    let signature = Signature::from_bytes(&raw_signature);

    if keys.is_empty() {
        return Err(SignatureError::NoKeys);
    }
    let message = signed_message(request_id, user_id, timestamp_text, body);
    if keys
        .iter()
        .any(|key| key.verify_strict(&message, &signature).is_ok())
    {
        Ok(VerifiedHeaders {
            request_id: request_id.to_owned(),
            user_id: user_id.to_owned(),
            timestamp,
        })
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The bytes fal signs for a delivery. Public to the crate so signers in tests
/// and the testkit cannot drift from the verifier.
pub fn signed_message(request_id: &str, user_id: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    let digest = hex::encode(Sha256::digest(body));
    format!("{request_id}\n{user_id}\n{timestamp}\n{digest}").into_bytes()
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, SignatureError> {
    let value = headers
        .get(name)
        .ok_or(SignatureError::MissingHeader(name))?;
    value.to_str().map_err(|_| SignatureError::InvalidHeader {
        header: name,
        reason: "not visible ASCII",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn signed(key: &SigningKey, ts: i64, body: &[u8]) -> HeaderMap {
        let ts = ts.to_string();
        let sig = key.sign(&signed_message("req-1", "user-1", &ts, body));
        let mut h = HeaderMap::new();
        h.insert(HEADER_REQUEST_ID, "req-1".parse().unwrap());
        h.insert(HEADER_USER_ID, "user-1".parse().unwrap());
        h.insert(HEADER_TIMESTAMP, ts.parse().unwrap());
        h.insert(
            HEADER_SIGNATURE,
            hex::encode(sig.to_bytes()).parse().unwrap(),
        );
        h
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn valid_signature_under_any_key_is_accepted() {
        let body = br#"{"request_id":"req-1","status":"OK","payload":{}}"#;
        let headers = signed(&key(2), 1_700_000_000, body);
        let keys = [key(1).verifying_key(), key(2).verifying_key()];
        let ok = verify_signature(&headers, body, &keys, at(1_700_000_100)).unwrap();
        assert_eq!(ok.request_id, "req-1");
        assert_eq!(ok.user_id, "user-1");
    }

    #[test]
    fn altered_body_wrong_key_and_window_are_refused() {
        let body = b"{}";
        let headers = signed(&key(2), 1_700_000_000, body);
        let good = [key(2).verifying_key()];
        assert_eq!(
            verify_signature(&headers, b"{ }", &good, at(1_700_000_000)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(&headers, body, &[key(3).verifying_key()], at(1_700_000_000)),
            Err(SignatureError::Mismatch)
        );
        assert!(verify_signature(&headers, body, &good, at(1_700_000_300)).is_ok());
        assert!(matches!(
            verify_signature(&headers, body, &good, at(1_700_000_301)),
            Err(SignatureError::Expired { skew_secs: 301, .. })
        ));
        assert!(matches!(
            verify_signature(&headers, body, &good, at(1_699_999_699)),
            Err(SignatureError::Expired { .. })
        ));
        assert_eq!(
            verify_signature(&headers, body, &[], at(1_700_000_000)),
            Err(SignatureError::NoKeys)
        );
    }

    #[test]
    fn each_missing_header_is_named() {
        let body = b"{}";
        for name in [
            HEADER_REQUEST_ID,
            HEADER_USER_ID,
            HEADER_TIMESTAMP,
            HEADER_SIGNATURE,
        ] {
            let mut headers = signed(&key(2), 1_700_000_000, body);
            headers.remove(name);
            assert_eq!(
                verify_signature(&headers, body, &[key(2).verifying_key()], at(1_700_000_000)),
                Err(SignatureError::MissingHeader(name))
            );
        }
    }
}
