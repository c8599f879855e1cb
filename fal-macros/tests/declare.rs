//! Endpoints declared with `#[fal_endpoint]` implement `fal_runtime::Endpoint`
//! exactly as written: the id, the output type, and the JSON the input sends.

use fal_runtime::{fal_endpoint, Endpoint};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::json;

#[derive(Debug, Deserialize, PartialEq)]
struct Images {
    seed: u64,
}

/// Serialize is derived by the attribute, through fal_runtime's serde.
#[fal_endpoint("fal-ai/flux/dev", output = Images)]
struct AutoDerived {
    prompt: String,
    #[serde(rename = "num_images")]
    count: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
}

/// The user's own derive is kept and not doubled.
#[fal_endpoint("fal-ai/flux/schnell", output = Images)]
#[derive(Serialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
struct UserDerived {
    image_url: String,
}

/// A derive placed above the attribute is invisible to it (rustc strips it
/// before the attribute runs), so that order needs `derive_serialize = false`.
#[derive(serde::Serialize)]
#[fal_endpoint("workflows/acme/my-flow", output = serde_json::Value, derive_serialize = false)]
struct UserDerivedFirst {
    text: String,
}

/// A hand-written Serialize with the automatic derive turned off.
#[fal_endpoint("comfy/acme/wf/extra", output = serde_json::Value, derive_serialize = false)]
struct Manual {
    upper: bool,
}

impl Serialize for Manual {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        json!({ "case": if self.upper { "upper" } else { "lower" } }).serialize(s)
    }
}

/// An endpoint without inputs, a nested path, a trailing comma.
#[fal_endpoint("12345-my-app", output = Vec<Images>,)]
struct Empty {}

/// Compiles only when `E::Output` is exactly `O`.
fn output_is<E: Endpoint<Output = O>, O>() {}

#[test]
fn ids_are_emitted_as_written() {
    assert_eq!(AutoDerived::ENDPOINT_ID, "fal-ai/flux/dev");
    assert_eq!(UserDerived::ENDPOINT_ID, "fal-ai/flux/schnell");
    assert_eq!(UserDerivedFirst::ENDPOINT_ID, "workflows/acme/my-flow");
    assert_eq!(Manual::ENDPOINT_ID, "comfy/acme/wf/extra");
    assert_eq!(Empty::ENDPOINT_ID, "12345-my-app");
    for id in [
        AutoDerived::ENDPOINT_ID,
        UserDerivedFirst::ENDPOINT_ID,
        Manual::ENDPOINT_ID,
        Empty::ENDPOINT_ID,
    ] {
        assert!(fal_runtime::EndpointId::parse(id).is_ok(), "{id}");
    }
}

#[test]
fn outputs_are_the_declared_types() {
    output_is::<AutoDerived, Images>();
    output_is::<UserDerived, Images>();
    output_is::<UserDerivedFirst, serde_json::Value>();
    output_is::<Manual, serde_json::Value>();
    output_is::<Empty, Vec<Images>>();
    let out: <AutoDerived as Endpoint>::Output =
        serde_json::from_value(json!({"seed": 3, "images": [], "timings": {}}))
            .expect("unknown fields are ignored");
    assert_eq!(out, Images { seed: 3 });
}

#[test]
fn inputs_serialize_with_their_serde_attributes() {
    let auto = AutoDerived {
        prompt: "a red kite".into(),
        count: 2,
        seed: None,
    };
    assert_eq!(
        serde_json::to_value(&auto).expect("serialize"),
        json!({"prompt": "a red kite", "num_images": 2})
    );
    let user = UserDerived {
        image_url: "https://example.com/a.png".into(),
    };
    assert_eq!(
        serde_json::to_value(user.clone()).expect("serialize"),
        json!({"imageUrl": "https://example.com/a.png"})
    );
    assert_eq!(
        serde_json::to_value(UserDerivedFirst { text: "hi".into() }).expect("serialize"),
        json!({"text": "hi"})
    );
    assert_eq!(
        serde_json::to_value(Manual { upper: true }).expect("serialize"),
        json!({"case": "upper"})
    );
    assert_eq!(
        serde_json::to_value(Empty {}).expect("serialize"),
        json!({})
    );
}
