//! Output synthesis: what a request returns. An endpoint whose schema the
//! testkit has (`schemas_dir`) is validated and synthesized from it
//! (`crate::schema`); every other endpoint answers like FLUX (text-to-image).
//! The queue and run routes only call [`output`].
//!
//! FLUX-like validation is schema-driven too: the testkit carries a small input
//! model of its own (`flux_like.json`: `prompt` required, `image_size` a preset
//! or `{width, height}`, `num_images` 1-4, `seed` a non-negative integer), so
//! every endpoint answers fal's pydantic v2 422 (spec 9.1) in one wording.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use http::StatusCode;
use serde_json::{json, Value};

use crate::image;
use crate::reply::Failure;
use crate::schema::{EndpointSchema, SynthParams};

/// What synthesis needs to know besides the input.
pub(crate) struct SynthCtx<'a> {
    /// The full endpoint id called.
    #[allow(dead_code)] // kept for logs and future per-endpoint defaults
    pub endpoint: &'a str,
    /// The endpoint's schema, when the testkit has one.
    pub schema: Option<&'a EndpointSchema>,
    /// The request id: seeds schema-driven outputs when the input has no `seed`.
    pub request_id: &'a str,
    /// Absolute CDN base URL for file URLs (same routing form as the request).
    pub cdn_base: &'a str,
    /// How long the run takes (reported in `timings`).
    pub run_duration: Duration,
}

/// FLUX's `image_size` presets.
pub(crate) const PRESETS: [(&str, u32, u32); 6] = [
    ("square_hd", 1024, 1024),
    ("square", 512, 512),
    ("portrait_4_3", 768, 1024),
    ("portrait_16_9", 576, 1024),
    ("landscape_4_3", 1024, 768),
    ("landscape_16_9", 1024, 576),
];

/// The output for `input`, or the 422 the app would answer.
pub(crate) fn output(ctx: &SynthCtx<'_>, input: &Value) -> Result<Value, Failure> {
    match ctx.schema {
        Some(schema) if schema.has_output() => from_schema(ctx, schema, input),
        _ => flux_like(ctx, input),
    }
}

/// Schema-driven: pydantic's 422 for an invalid input, else a conforming output
/// seeded by the input's `seed` (else by the request id).
fn from_schema(
    ctx: &SynthCtx<'_>,
    schema: &EndpointSchema,
    input: &Value,
) -> Result<Value, Failure> {
    let errors = schema.validate_input(input);
    if !errors.is_empty() {
        return Err(Failure::app_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &crate::schema::detail_body(&errors),
        ));
    }
    let seed = input
        .get("seed")
        .and_then(crate::schema::lax_int)
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or_else(|| seed_of(ctx.request_id));
    let params = SynthParams {
        seed,
        cdn_base: ctx.cdn_base,
        inference_secs: ctx.run_duration.as_secs_f64(),
    };
    Ok(schema
        .synthesize_output(input, &params)
        .unwrap_or(Value::Null))
}

/// A seed derived from the request id (FNV-1a), so a replayed id replays the output.
pub(crate) fn seed_of(request_id: &str) -> u64 {
    let hash = request_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    // Keep it within JavaScript's safe integers, as fal's seeds are.
    hash & ((1 << 53) - 1)
}

/// The input model of the FLUX-like default, validated by the same code as a
/// schema-driven endpoint so both answer fal's pydantic v2 422 in one wording.
const FLUX_LIKE_DOCUMENT: &str = include_str!("flux_like.json");

/// [`FLUX_LIKE_DOCUMENT`], parsed once (a unit test proves it parses).
fn flux_like_schema() -> Option<&'static EndpointSchema> {
    static SCHEMA: OnceLock<Option<EndpointSchema>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            EndpointSchema::parse(
                Path::new("fal-testkit/src/flux_like.json"),
                FLUX_LIKE_DOCUMENT,
            )
            .map_err(|error| tracing::error!(%error, "the FLUX-like input model does not parse"))
            .ok()
        })
        .as_ref()
}

/// FLUX-like: every endpoint without a schema. The input is validated first;
/// the fields are then read as pydantic would have coerced them (lax: `"2"`
/// is 2), with the model's defaults.
fn flux_like(ctx: &SynthCtx<'_>, input: &Value) -> Result<Value, Failure> {
    let Some(schema) = flux_like_schema() else {
        return Err(Failure::request_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the testkit's FLUX-like input model does not parse",
            "internal_error",
        ));
    };
    let errors = schema.validate_input(input);
    if !errors.is_empty() {
        return Err(Failure::app_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &crate::schema::detail_body(&errors),
        ));
    }
    let prompt = input
        .get("prompt")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (width, height) = image_size(input.get("image_size"));
    let count = input
        .get("num_images")
        .and_then(lax_u64)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1);
    let seed = input
        .get("seed")
        .and_then(lax_u64)
        .unwrap_or_else(|| u64::from(rand::random::<u32>()));
    let images: Vec<Value> = (0..count)
        .map(|i| {
            json!({
                "url": format!("{}/{}", ctx.cdn_base, image::path(width, height, seed, i)),
                "width": width,
                "height": height,
                "content_type": "image/png",
            })
        })
        .collect();
    let nsfw: Vec<Value> = (0..count).map(|_| Value::Bool(false)).collect();
    Ok(json!({
        "images": images,
        "timings": { "inference": ctx.run_duration.as_secs_f64() },
        "seed": seed,
        "has_nsfw_concepts": nsfw,
        "prompt": prompt,
    }))
}

/// A validated, non-negative integer field (lax, as pydantic coerces it).
fn lax_u64(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| crate::schema::lax_int(value).and_then(|n| u64::try_from(n).ok()))
}

/// A validated `image_size`: a preset name, or `{width, height}` whose missing
/// sides take the model's default (512); absent or null is `landscape_4_3`.
fn image_size(value: Option<&Value>) -> (u32, u32) {
    let side = |size: &Value, name: &str| {
        size.get(name)
            .and_then(lax_u64)
            .and_then(|v| u32::try_from(v).ok())
            .unwrap_or(512)
    };
    match value {
        Some(Value::String(name)) => PRESETS
            .iter()
            .find(|(n, _, _)| n == name)
            .map_or((1024, 768), |(_, w, h)| (*w, *h)),
        Some(size @ Value::Object(_)) => (side(size, "width"), side(size, "height")),
        _ => (1024, 768),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> SynthCtx<'static> {
        SynthCtx {
            endpoint: "fal-ai/flux/dev",
            schema: None,
            request_id: "00000000-0000-4000-8000-000000000000",
            cdn_base: "http://h/cdn",
            run_duration: Duration::from_millis(250),
        }
    }

    #[test]
    fn flux_like_output_uses_size_seed_and_count() {
        let out = output(
            &ctx(),
            &json!({"prompt": "a cat", "image_size": "square", "seed": 7, "num_images": 2}),
        )
        .expect("valid input");
        assert_eq!(out["seed"], 7);
        assert_eq!(out["images"].as_array().map(Vec::len), Some(2));
        assert_eq!(
            out["images"][1]["url"],
            "http://h/cdn/files/testkit/512x512-7-1.png"
        );
        assert_eq!(out["timings"]["inference"], 0.25);
        assert_eq!(out["has_nsfw_concepts"], json!([false, false]));
    }

    #[test]
    fn the_flux_like_model_parses() {
        assert!(flux_like_schema().is_some());
    }

    #[test]
    fn missing_prompt_is_fal_422_in_pydantic_v2_wording() {
        let err = output(&ctx(), &json!({})).expect_err("no prompt");
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = serde_json::from_slice(&err.body).expect("json");
        assert_eq!(
            body,
            json!({"detail":[{"loc":["body","prompt"],"msg":"Field required","type":"missing"}]})
        );
    }

    #[test]
    fn bad_sizes_and_counts_are_named() {
        let err = output(
            &ctx(),
            &json!({"prompt": "x", "image_size": {"width": 0, "height": "a"}, "num_images": 9, "seed": -1}),
        )
        .expect_err("invalid");
        let body: Value = serde_json::from_slice(&err.body).expect("json");
        let entries: Vec<(String, String)> = body["detail"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["loc"].to_string(),
                            e["type"].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let has = |loc: &str, kind: &str| entries.iter().any(|(l, k)| l == loc && k == kind);
        assert!(
            has(
                r#"["body","image_size","ImageSize","width"]"#,
                "greater_than"
            ),
            "{entries:?}"
        );
        assert!(
            has(
                r#"["body","image_size","ImageSize","height"]"#,
                "int_parsing"
            ),
            "{entries:?}"
        );
        assert!(
            has(r#"["body","num_images"]"#, "less_than_equal"),
            "{entries:?}"
        );
        assert!(
            has(r#"["body","seed"]"#, "greater_than_equal"),
            "{entries:?}"
        );
    }

    #[test]
    fn lax_values_and_defaults_shape_the_output() {
        let out = output(
            &ctx(),
            &json!({"prompt": "x", "image_size": {"height": "64"}, "num_images": "2", "seed": 5.0}),
        )
        .expect("pydantic coerces these");
        assert_eq!(out["images"].as_array().map(Vec::len), Some(2));
        assert_eq!(out["images"][0]["width"], 512, "the model's default width");
        assert_eq!(out["images"][0]["height"], 64);
        assert_eq!(out["seed"], 5);
    }
}
