//! Realtime frames: msgpack out, msgpack or JSON in, and what each message means
//! (spec 6.3 and 6.4).
//!
//! Inputs are msgpack maps with named fields (`rmp_serde::to_vec_named`), as fal's
//! clients send them, so a runner sees the same keys as in JSON. Binary frames from
//! the server are msgpack, text frames JSON. Both are classified the same way (fal's
//! JS client does; the Python client looks at `type` in text frames only): a
//! msgpack-encoded `x-fal-error` is still an error, not an output.

use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::error::RealtimeError;

/// What one server frame turned out to be.
#[derive(Debug)]
pub(crate) enum Incoming<O> {
    /// A model output for the caller.
    Output(O),
    /// `x-fal-message` (timings and other meta): not for the caller.
    Meta,
    /// `x-fal-error` `TIMEOUT`: the server is about to close an idle socket.
    IdleTimeout,
    /// `{"status":"error","error":"Unauthorized"}`: the token was refused.
    Unauthorized,
    /// Any other error the server reported; the socket may stay open.
    Error(RealtimeError),
}

/// Encodes an input as a msgpack map with named fields.
pub(crate) fn encode<I: Serialize + ?Sized>(input: &I) -> Result<Vec<u8>, RealtimeError> {
    rmp_serde::to_vec_named(input).map_err(|e| RealtimeError::Encode(Box::new(e)))
}

/// Decodes a binary (msgpack) frame.
pub(crate) fn decode_binary<O: DeserializeOwned>(frame: &[u8]) -> Incoming<O> {
    // Only a top-level map can be a control message; rmp-serde would otherwise read
    // an array positionally into the envelope struct.
    let is_map = matches!(frame.first(), Some(0x80..=0x8f | 0xde | 0xdf));
    if is_map {
        if let Ok(envelope) = rmp_serde::from_slice::<Envelope>(frame) {
            if let Some(control) = envelope.classify() {
                return control;
            }
        }
    }
    match rmp_serde::from_slice::<O>(frame) {
        Ok(output) => Incoming::Output(output),
        Err(e) => Incoming::Error(RealtimeError::Decode {
            format: "msgpack",
            source: Box::new(e),
        }),
    }
}

/// Decodes a text (JSON) frame.
pub(crate) fn decode_text<O: DeserializeOwned>(frame: &str) -> Incoming<O> {
    if frame.trim_start().starts_with('{') {
        if let Ok(envelope) = serde_json::from_str::<Envelope>(frame) {
            if let Some(control) = envelope.classify() {
                return control;
            }
        }
    }
    match serde_json::from_str::<O>(frame) {
        Ok(output) => Incoming::Output(output),
        Err(e) => Incoming::Error(RealtimeError::Decode {
            format: "JSON",
            source: Box::new(e),
        }),
    }
}

/// The few keys that mark a control message; everything else is skipped.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Envelope {
    #[serde(rename = "type")]
    kind: Loose,
    status: Loose,
    error: Loose,
    reason: Loose,
}

impl Envelope {
    fn classify<O>(self) -> Option<Incoming<O>> {
        match self.kind.0.as_deref() {
            Some("x-fal-message") => return Some(Incoming::Meta),
            Some("x-fal-error") => {
                let error = self.error.0.unwrap_or_else(|| "UNKNOWN_ERROR".to_owned());
                if error == "TIMEOUT" {
                    return Some(Incoming::IdleTimeout);
                }
                return Some(Incoming::Error(RealtimeError::Server {
                    error,
                    reason: self.reason.0,
                }));
            }
            _ => {}
        }
        if self.status.0.as_deref() == Some("error") {
            let error = self.error.0.unwrap_or_else(|| "UNKNOWN_ERROR".to_owned());
            if error == "Unauthorized" {
                return Some(Incoming::Unauthorized);
            }
            // fal's JS client drops these silently; a typed client should not hide them.
            return Some(Incoming::Error(RealtimeError::Server {
                error,
                reason: self.reason.0,
            }));
        }
        None
    }
}

/// A field that is kept when it is a string and ignored when it is anything else, so
/// an output with, say, a numeric `status` still decodes as an output.
#[derive(Default)]
struct Loose(Option<String>);

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any value")
    }
    fn visit_str<E>(self, v: &str) -> Result<Loose, E> {
        Ok(Loose(Some(v.to_owned())))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Loose, E> {
        Ok(Loose(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Loose, E> {
        Ok(Loose(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Loose, E> {
        Ok(Loose(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Loose, E> {
        Ok(Loose(None))
    }
    fn visit_bytes<E>(self, _: &[u8]) -> Result<Loose, E> {
        Ok(Loose(None))
    }
    fn visit_unit<E>(self) -> Result<Loose, E> {
        Ok(Loose(None))
    }
    fn visit_none<E>(self) -> Result<Loose, E> {
        Ok(Loose(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Loose, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn msgpack(value: &Value) -> Vec<u8> {
        encode(value).unwrap()
    }

    #[test]
    fn inputs_are_named_maps() {
        #[derive(Serialize)]
        struct Input {
            prompt: String,
            seed: u32,
        }
        let bytes = encode(&Input {
            prompt: "a cat".into(),
            seed: 3,
        })
        .unwrap();
        assert_eq!(bytes[0], 0x82, "a two-entry fixmap, not an array");
        let back: Value = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(back, json!({"prompt": "a cat", "seed": 3}));
    }

    #[test]
    fn control_messages_in_either_framing() {
        let meta = json!({"type": "x-fal-message", "action": "timings", "timing": 0.1});
        assert!(matches!(
            decode_text::<Value>(&meta.to_string()),
            Incoming::Meta
        ));
        assert!(matches!(
            decode_binary::<Value>(&msgpack(&meta)),
            Incoming::Meta
        ));
        let idle = json!({"type": "x-fal-error", "error": "TIMEOUT", "reason": "no inputs"});
        assert!(matches!(
            decode_text::<Value>(&idle.to_string()),
            Incoming::IdleTimeout
        ));
        let err = json!({"type": "x-fal-error", "error": "INTERNAL_ERROR", "reason": "boom"});
        match decode_binary::<Value>(&msgpack(&err)) {
            Incoming::Error(RealtimeError::Server { error, reason }) => {
                assert_eq!(error, "INTERNAL_ERROR");
                assert_eq!(reason.as_deref(), Some("boom"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let unauthorized = json!({"status": "error", "error": "Unauthorized"});
        assert!(matches!(
            decode_text::<Value>(&unauthorized.to_string()),
            Incoming::Unauthorized
        ));
        let no_error = json!({"type": "x-fal-error"});
        assert!(matches!(decode_text::<Value>(&no_error.to_string()),
            Incoming::Error(RealtimeError::Server { ref error, .. }) if error == "UNKNOWN_ERROR"));
    }

    #[test]
    fn outputs_with_odd_status_fields_stay_outputs() {
        let out = json!({"status": 3, "type": ["x"], "images": []});
        assert!(matches!(
            decode_binary::<Value>(&msgpack(&out)),
            Incoming::Output(_)
        ));
        assert!(matches!(decode_text::<Value>("[1,2]"), Incoming::Output(_)));
    }

    #[test]
    fn binary_payloads_decode_into_byte_fields() {
        #[derive(Deserialize)]
        struct Out {
            #[serde(with = "serde_bytes_shim")]
            image: Vec<u8>,
        }
        mod serde_bytes_shim {
            use serde::Deserializer;
            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Vec<u8>;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                        Ok(v.to_vec())
                    }
                }
                d.deserialize_bytes(V)
            }
        }
        // {"image": bin8[3]} written by hand: msgpack bin is what runners send for images.
        let frame = [0x81, 0xa5, b'i', b'm', b'a', b'g', b'e', 0xc4, 3, 1, 2, 3];
        match decode_binary::<Out>(&frame) {
            Incoming::Output(out) => assert_eq!(out.image, vec![1, 2, 3]),
            _ => panic!("expected an output"),
        }
    }

    proptest! {
        #[test]
        fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_binary::<Value>(&bytes);
            let _ = decode_binary::<std::collections::HashMap<String, String>>(&bytes);
            let text = String::from_utf8_lossy(&bytes);
            let _ = decode_text::<Value>(&text);
        }

        #[test]
        fn truncated_msgpack_is_an_error(cut in 1usize..40) {
            let full = msgpack(&json!({"prompt": "a long enough prompt", "seed": 123456}));
            let cut = cut.min(full.len() - 1);
            let is_decode_error = matches!(
                decode_binary::<Value>(&full[..cut]),
                Incoming::Error(RealtimeError::Decode { .. })
            );
            prop_assert!(is_decode_error);
        }
    }
}
