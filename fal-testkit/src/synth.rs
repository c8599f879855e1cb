//! Output synthesis: what a request returns. An endpoint whose schema the
//! testkit has (`schemas_dir`) is validated and synthesized from it
//! (`crate::schema`); every other endpoint answers like FLUX (text-to-image).
//! The queue and run routes only call [`output`].
//!
//! Validation follows FastAPI's 422 shape (spec 9.1): `prompt` is required and
//! must be a string; `image_size` is a preset name or `{width, height}`;
//! `num_images` is 1-4; `seed` an unsigned integer.

use std::time::Duration;

use http::StatusCode;
use serde_json::{json, Map, Value};

use crate::image;
use crate::reply::{field_error, Failure};
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

/// FLUX-like: every endpoint without a schema.
fn flux_like(ctx: &SynthCtx<'_>, input: &Value) -> Result<Value, Failure> {
    let Some(object) = input.as_object() else {
        return Err(invalid(vec![field_error(
            &["body"],
            "value is not a valid dict",
            "type_error.dict",
        )]));
    };
    let mut errors = Vec::new();
    let prompt = match object.get("prompt") {
        Some(Value::String(p)) => Some(p.clone()),
        Some(_) => {
            errors.push(field_error(
                &["body", "prompt"],
                "str type expected",
                "type_error.str",
            ));
            None
        }
        None => {
            errors.push(field_error(
                &["body", "prompt"],
                "field required",
                "value_error.missing",
            ));
            None
        }
    };
    let size = image_size(object, &mut errors);
    let count = num_images(object, &mut errors);
    let seed = seed(object, &mut errors);
    let (Some(prompt), Some((width, height)), Some(count), Some(seed)) =
        (prompt, size, count, seed)
    else {
        return Err(invalid(errors));
    };
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

fn invalid(errors: Vec<Value>) -> Failure {
    Failure::app_error(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({ "detail": errors }),
    )
}

fn image_size(object: &Map<String, Value>, errors: &mut Vec<Value>) -> Option<(u32, u32)> {
    match object.get("image_size") {
        None | Some(Value::Null) => Some((1024, 768)),
        Some(Value::String(name)) => {
            let found = PRESETS.iter().find(|(n, _, _)| n == name);
            if found.is_none() {
                let names: Vec<String> = PRESETS.iter().map(|(n, _, _)| format!("'{n}'")).collect();
                errors.push(field_error(
                    &["body", "image_size"],
                    &format!(
                        "value is not a valid enumeration member; permitted: {}",
                        names.join(", ")
                    ),
                    "type_error.enum",
                ));
            }
            found.map(|(_, w, h)| (*w, *h))
        }
        Some(Value::Object(size)) => {
            let width = side(size, "width", errors);
            let height = side(size, "height", errors);
            Some((width?, height?))
        }
        Some(_) => {
            errors.push(field_error(
                &["body", "image_size"],
                "value is not a valid dict",
                "type_error.dict",
            ));
            None
        }
    }
}

fn side(size: &Map<String, Value>, name: &str, errors: &mut Vec<Value>) -> Option<u32> {
    let loc = ["body", "image_size", name];
    match size.get(name) {
        None => {
            errors.push(field_error(&loc, "field required", "value_error.missing"));
            None
        }
        Some(value) => bounded(value, &loc, 1, u64::from(image::MAX_SIDE), errors)
            .and_then(|v| u32::try_from(v).ok()),
    }
}

fn num_images(object: &Map<String, Value>, errors: &mut Vec<Value>) -> Option<u32> {
    match object.get("num_images") {
        None | Some(Value::Null) => Some(1),
        Some(value) => bounded(value, &["body", "num_images"], 1, 4, errors)
            .and_then(|v| u32::try_from(v).ok()),
    }
}

fn seed(object: &Map<String, Value>, errors: &mut Vec<Value>) -> Option<u64> {
    match object.get("seed") {
        None | Some(Value::Null) => Some(u64::from(rand::random::<u32>())),
        Some(value) => bounded(value, &["body", "seed"], 0, u64::MAX, errors),
    }
}

/// An integer in `min..=max`, or a FastAPI error entry.
fn bounded(
    value: &Value,
    loc: &[&str],
    min: u64,
    max: u64,
    errors: &mut Vec<Value>,
) -> Option<u64> {
    let Some(number) = value.as_u64().or_else(|| value.as_i64().map(|_| 0)) else {
        errors.push(field_error(
            loc,
            "value is not a valid integer",
            "type_error.integer",
        ));
        return None;
    };
    if number < min || value.as_i64().is_some_and(|v| v < 0) {
        errors.push(field_error(
            loc,
            &format!("ensure this value is greater than or equal to {min}"),
            "value_error.number.not_ge",
        ));
        return None;
    }
    if number > max {
        errors.push(field_error(
            loc,
            &format!("ensure this value is less than or equal to {max}"),
            "value_error.number.not_le",
        ));
        return None;
    }
    Some(number)
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
    fn missing_prompt_is_fal_422() {
        let err = output(&ctx(), &json!({})).expect_err("no prompt");
        assert_eq!(err.status, StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = serde_json::from_slice(&err.body).expect("json");
        assert_eq!(
            body,
            json!({"detail":[{"loc":["body","prompt"],"msg":"field required","type":"value_error.missing"}]})
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
        let locs: Vec<String> = body["detail"]
            .as_array()
            .map(|a| a.iter().map(|e| e["loc"].to_string()).collect())
            .unwrap_or_default();
        assert_eq!(
            locs,
            [
                r#"["body","image_size","width"]"#,
                r#"["body","image_size","height"]"#,
                r#"["body","num_images"]"#,
                r#"["body","seed"]"#
            ]
        );
    }
}
