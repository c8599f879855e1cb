//! Schema-driven endpoints over the repository's `schemas/` documents:
//! pydantic-style 422 bodies, conforming outputs, and real file bytes, both
//! through the public `schema` API and through a running testkit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fal_testkit::schema::{EndpointSchema, SynthParams};
use fal_testkit::Testkit;
use serde_json::{json, Value};

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas")
}

fn load(file: &str) -> EndpointSchema {
    let path = schemas_dir().join(file);
    let text = std::fs::read_to_string(&path).expect("schema file readable");
    EndpointSchema::parse(&path, &text).expect("codegen parses it")
}

fn params(seed: u64) -> SynthParams<'static> {
    SynthParams {
        seed,
        cdn_base: "http://127.0.0.1:9/cdn",
        inference_secs: 0.1,
    }
}

fn detail(errors: &[fal_testkit::schema::FieldError]) -> Value {
    fal_testkit::schema::detail_body(errors)
}

#[test]
fn every_repo_document_validates_its_own_synthesized_input_and_output() {
    let mut seen = 0;
    for entry in std::fs::read_dir(schemas_dir()).expect("schemas/ exists") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("readable");
        let schema = EndpointSchema::parse(&path, &text).expect("parses");
        for seed in [0, 1, 42, u64::from(u32::MAX)] {
            let input = schema.synthesize_input(&params(seed));
            assert_eq!(
                schema.validate_input(&input),
                [],
                "{} input {input}",
                path.display()
            );
            let output = schema
                .synthesize_output(&input, &params(seed))
                .expect("has an output schema");
            assert_eq!(
                schema.validate_output(&output),
                [],
                "{} output {output}",
                path.display()
            );
            let again = schema.synthesize_output(&input, &params(seed));
            assert_eq!(again.as_ref(), Some(&output), "deterministic for a seed");
        }
        seen += 1;
    }
    assert_eq!(seen, 8, "the repository ships 8 endpoint documents");
}

#[test]
fn missing_prompt_and_out_of_range_values_give_pydantic_errors() {
    let flux = load("fal-ai__flux__dev.json");
    assert_eq!(
        detail(&flux.validate_input(&json!({}))),
        json!({"detail":[{"loc":["body","prompt"],"msg":"Field required","type":"missing"}]})
    );
    let errors = flux.validate_input(&json!({
        "prompt": 5,
        "num_images": 9,
        "num_inference_steps": 0,
        "seed": 1.5,
        "enable_safety_checker": "maybe",
        "output_format": "gif",
        "guidance_scale": "high",
    }));
    let got: Vec<(Value, &str)> = errors.iter().map(|e| (json!(e.loc), e.kind)).collect();
    let want = [
        (json!(["body", "prompt"]), "string_type"),
        (json!(["body", "num_inference_steps"]), "greater_than_equal"),
        (json!(["body", "seed"]), "int_from_float"),
        (json!(["body", "guidance_scale"]), "float_parsing"),
        (json!(["body", "num_images"]), "less_than_equal"),
        (json!(["body", "enable_safety_checker"]), "bool_parsing"),
        (json!(["body", "output_format"]), "enum"),
    ];
    for w in &want {
        assert!(got.contains(w), "{w:?} not in {got:?}");
    }
    assert_eq!(got.len(), want.len(), "{got:?}");
    let enum_error = errors
        .iter()
        .find(|e| e.kind == "enum")
        .expect("enum error");
    assert_eq!(enum_error.msg, "Input should be 'jpeg' or 'png'");
    let le = errors
        .iter()
        .find(|e| e.kind == "less_than_equal")
        .expect("le");
    assert_eq!(le.msg, "Input should be less than or equal to 4");
}

#[test]
fn lax_values_pass_like_pydantic_and_bodies_must_be_objects() {
    let flux = load("fal-ai__flux__dev.json");
    let ok = flux.validate_input(&json!({
        "prompt": "x", "num_images": "2", "seed": 7.0, "enable_safety_checker": "yes",
        "guidance_scale": 3, "image_size": {"width": 512, "height": 512}, "unknown": [1]
    }));
    assert_eq!(ok, []);
    assert_eq!(
        detail(&flux.validate_input(&json!([1, 2]))),
        json!({"detail":[{"loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","type":"model_attributes_type"}]})
    );
}

#[test]
fn nested_and_union_errors_carry_their_path() {
    let sdxl = load("fal-ai__fast-sdxl.json");
    let errors = sdxl.validate_input(&json!({
        "prompt": "x",
        "loras": [{"path": "https://x/l.safetensors"}, {"scale": "a"}],
        "image_size": {"width": "wide"},
    }));
    let locs: Vec<Value> = errors.iter().map(|e| json!(e.loc)).collect();
    assert!(
        locs.contains(&json!(["body", "loras", 1, "path"])),
        "{locs:?}"
    );
    assert!(
        locs.contains(&json!(["body", "loras", 1, "scale"])),
        "{locs:?}"
    );
    // A union reports each arm under its name.
    assert!(
        locs.iter()
            .any(|l| l[1] == "image_size" && l.as_array().is_some_and(|a| a.len() >= 3)),
        "{locs:?}"
    );
    let kokoro = load("fal-ai__kokoro__american-english.json");
    assert_eq!(
        kokoro.validate_input(&json!({})),
        [],
        "kokoro requires nothing"
    );
}

#[test]
fn outputs_follow_the_input() {
    let flux = load("fal-ai__flux__dev.json");
    let input = json!({"prompt": "a fox", "num_images": 3, "image_size": "square", "seed": 11, "output_format": "jpeg"});
    let out = flux.synthesize_output(&input, &params(11)).expect("output");
    assert_eq!(out["seed"], 11);
    assert_eq!(out["prompt"], "a fox");
    let images = out["images"].as_array().expect("images");
    assert_eq!(images.len(), 3);
    assert_eq!(images[0]["width"], 512);
    assert_eq!(images[0]["content_type"], "image/jpeg");
    assert!(images[0]["url"]
        .as_str()
        .is_some_and(|u| u.ends_with(".jpg")));
    assert_ne!(images[0]["url"], images[1]["url"]);
    let other = flux.synthesize_output(&input, &params(12)).expect("output");
    assert_ne!(
        other["images"][0]["url"], images[0]["url"],
        "seed changes files"
    );
}

async fn fetch(client: &reqwest::Client, url: &str) -> (String, Vec<u8>) {
    let response = client.get(url).send().await.expect("fetch");
    assert!(
        response.status().is_success(),
        "{url}: {}",
        response.status()
    );
    let ct = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (ct, response.bytes().await.expect("body").to_vec())
}

async fn run(
    client: &reqwest::Client,
    kit: &Testkit,
    endpoint: &str,
    input: Value,
) -> (u16, Value) {
    let response = client
        .post(format!("{}/{endpoint}", kit.run_url()))
        .header("authorization", format!("Key {}", kit.key()))
        .json(&input)
        .send()
        .await
        .expect("run");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

#[tokio::test]
async fn a_testkit_with_schemas_validates_and_serves_real_files() {
    let kit = Testkit::builder()
        .schemas_dir(schemas_dir())
        .queue_delay(Duration::ZERO)
        .run_duration(Duration::from_millis(5))
        .start()
        .await
        .expect("starts");
    let client = reqwest::Client::new();

    // Direct run: the 422 comes at once, exactly as pydantic words it.
    let (status, body) = run(
        &client,
        &kit,
        "fal-ai/kling-video/v1.6/standard/image-to-video",
        json!({"prompt": "x", "duration": "7"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        body,
        json!({"detail":[
            {"loc":["body","image_url"],"msg":"Field required","type":"missing"},
            {"loc":["body","duration"],"msg":"Input should be '5' or '10'","type":"enum"}
        ]})
    );

    // PNG (flux/dev defaults to jpeg? no: its output_format default decides).
    let (status, out) = run(
        &client,
        &kit,
        "fal-ai/flux/dev",
        json!({"prompt": "p", "image_size": "square", "output_format": "png"}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let (ct, bytes) = fetch(&client, out["images"][0]["url"].as_str().expect("url")).await;
    assert_eq!(ct, "image/png");
    let info = png::Decoder::new(bytes.as_slice())
        .read_info()
        .expect("png decodes");
    assert_eq!((info.info().width, info.info().height), (512, 512));

    // JPEG (fast-sdxl's `format` defaults to jpeg).
    let (status, out) = run(
        &client,
        &kit,
        "fal-ai/fast-sdxl",
        json!({"prompt": "p", "image_size": {"width": 64, "height": 48}}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["images"][0]["content_type"], "image/jpeg");
    let (ct, bytes) = fetch(&client, out["images"][0]["url"].as_str().expect("url")).await;
    assert_eq!(ct, "image/jpeg");
    let mut decoder = jpeg_decoder::Decoder::new(bytes.as_slice());
    decoder.decode().expect("jpeg decodes");
    let info = decoder.info().expect("info");
    assert_eq!((info.width, info.height), (64, 48));

    // MP4 (kling video).
    let (status, out) = run(
        &client,
        &kit,
        "fal-ai/kling-video/v1.6/standard/image-to-video",
        json!({"prompt": "p", "image_url": "https://x/a.png", "duration": "5"}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let (ct, bytes) = fetch(&client, out["video"]["url"].as_str().expect("url")).await;
    assert_eq!(ct, "video/mp4");
    assert_eq!(&bytes[4..8], b"ftyp");

    // WAV (kokoro speech).
    let (status, out) = run(
        &client,
        &kit,
        "fal-ai/kokoro/american-english",
        json!({"prompt": "hello"}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let (ct, bytes) = fetch(&client, out["audio"]["url"].as_str().expect("url")).await;
    assert_eq!(ct, "audio/wav");
    let wav = hound::WavReader::new(bytes.as_slice()).expect("wav decodes");
    assert!(wav.duration() > 0);

    // Queue: the submit is accepted; the request completes with the 422 as its result.
    let submit: Value = client
        .post(format!("{}/fal-ai/flux/dev", kit.queue_url()))
        .header("authorization", format!("Key {}", kit.key()))
        .json(&json!({"num_images": 0}))
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("json");
    let response_url = submit["response_url"]
        .as_str()
        .expect("response_url")
        .to_owned();
    let mut result = None;
    for _ in 0..100 {
        let r = client
            .get(&response_url)
            .header("authorization", format!("Key {}", kit.key()))
            .send()
            .await
            .expect("result");
        if r.status().as_u16() != 400 {
            result = Some((r.status().as_u16(), r.json::<Value>().await.expect("json")));
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, body) = result.expect("completes");
    assert_eq!(status, 422);
    assert_eq!(
        body,
        json!({"detail":[
            {"loc":["body","prompt"],"msg":"Field required","type":"missing"},
            {"loc":["body","num_images"],"msg":"Input should be greater than or equal to 1","type":"greater_than_equal"}
        ]})
    );

    // An endpoint without a schema keeps the FLUX-like default, in the same wording.
    let (status, body) = run(&client, &kit, "fal-ai/no-schema/here", json!({})).await;
    assert_eq!(status, 422);
    assert_eq!(
        body,
        json!({"detail":[{"loc":["body","prompt"],"msg":"Field required","type":"missing"}]})
    );
}

#[tokio::test]
async fn queue_outputs_without_seed_are_seeded_by_the_request_id() {
    let kit = Testkit::builder()
        .schemas_dir(schemas_dir())
        .queue_delay(Duration::ZERO)
        .run_duration(Duration::ZERO)
        .start()
        .await
        .expect("starts");
    let client = kit.client_builder().build().expect("client");
    let handle = client
        .endpoint("fal-ai/flux/schnell")
        .submit(json!({"prompt": "p"}))
        .await
        .expect("submit");
    let id = handle.request_id().to_owned();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let out: Value = handle.result().await.expect("result");
    let seed = out["seed"].as_u64().expect("seed");
    let again: Value = client
        .endpoint("fal-ai/flux/schnell")
        .subscribe(json!({"prompt": "p", "seed": seed}))
        .await
        .expect("subscribe");
    assert_eq!(
        again["images"], out["images"],
        "same seed, same output ({id})"
    );
}
