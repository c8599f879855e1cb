//! Whatever arrives at a webhook receiver, verification and parsing answer
//! with a verdict, never a panic.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signer, SigningKey};
use fal_runtime::webhook::{
    parse_jwks, signed_message, verify_signature, WebhookDelivery, HEADER_REQUEST_ID,
    HEADER_SIGNATURE, HEADER_TIMESTAMP, HEADER_USER_ID,
};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;

const NAMES: [&str; 4] = [
    HEADER_REQUEST_ID,
    HEADER_USER_ID,
    HEADER_TIMESTAMP,
    HEADER_SIGNATURE,
];

fn headers(values: &[Option<Vec<u8>>]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in NAMES.iter().zip(values) {
        if let Some(value) = value {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                map.insert(HeaderName::from_static(name), value);
            }
        }
    }
    map
}

proptest! {
    // Signature checks are slow in debug builds; this keeps the file near a second.
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn arbitrary_headers_and_bodies_never_panic(
        values in proptest::collection::vec(proptest::option::of(proptest::collection::vec(any::<u8>(), 0..140)), 4),
        body in proptest::collection::vec(any::<u8>(), 0..256),
        now in any::<u64>(),
    ) {
        let key = SigningKey::from_bytes(&[9; 32]).verifying_key();
        let now = UNIX_EPOCH.checked_add(Duration::from_secs(now)).unwrap_or(UNIX_EPOCH);
        let _ = verify_signature(&headers(&values), &body, &[key], now);
        let _ = WebhookDelivery::<serde_json::Value>::parse(&body);
        let _ = parse_jwks(&body);
    }

    #[test]
    fn textual_timestamps_and_signatures_never_panic(
        ts in "[-+0-9 ]{0,25}",
        sig in "[0-9a-fA-F]{0,130}",
        body in ".{0,64}",
    ) {
        let key = SigningKey::from_bytes(&[9; 32]).verifying_key();
        let values = [Some(b"r".to_vec()), Some(b"u".to_vec()), Some(ts.into_bytes()), Some(sig.into_bytes())];
        let _ = verify_signature(&headers(&values), body.as_bytes(), &[key], SystemTime::now());
    }

    #[test]
    fn one_flipped_body_byte_breaks_a_valid_signature(
        body in proptest::collection::vec(any::<u8>(), 1..128),
        index in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let signer = SigningKey::from_bytes(&[3; 32]);
        let now = SystemTime::now();
        let ts = now.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0).to_string();
        let sig = signer.sign(&signed_message("req", "user", &ts, &body));
        let values = [
            Some(b"req".to_vec()),
            Some(b"user".to_vec()),
            Some(ts.into_bytes()),
            Some(hex::encode(sig.to_bytes()).into_bytes()),
        ];
        let keys = [signer.verifying_key()];
        prop_assert!(verify_signature(&headers(&values), &body, &keys, now).is_ok());
        let mut altered = body.clone();
        let i = index.index(altered.len());
        altered[i] ^= flip;
        prop_assert!(verify_signature(&headers(&values), &altered, &keys, now).is_err());
    }
}
