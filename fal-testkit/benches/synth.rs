//! Cost of schema-driven endpoints per request, against the FLUX-like default
//! in the same run.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target cargo bench -p fal-testkit --bench synth
//! ```
//!
//! Two measurements:
//! - in-process: `validate_input` + `synthesize_output` for fal-ai/flux/dev
//!   and a video endpoint, from the repository's `schemas/`;
//! - over HTTP: direct runs (`run_duration` 0) of fal-ai/flux/dev against a
//!   testkit with the schemas and one without (FLUX-like), interleaved in
//!   rounds so machine load hits both alike.

use std::path::Path;
use std::time::{Duration, Instant};

use fal_testkit::schema::{EndpointSchema, SynthParams};
use fal_testkit::Testkit;
use serde_json::{json, Value};

const IN_PROCESS: u32 = 20_000;
const ROUNDS: u32 = 10;
const PER_ROUND: u32 = 200;

fn load(file: &str) -> Result<EndpointSchema, Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../schemas")
        .join(file);
    let text = std::fs::read_to_string(&path)?;
    Ok(EndpointSchema::parse(&path, &text)?)
}

fn in_process(name: &str, schema: &EndpointSchema, input: &Value) -> Duration {
    let started = Instant::now();
    for i in 0..IN_PROCESS {
        let params = SynthParams {
            seed: u64::from(i),
            cdn_base: "http://127.0.0.1:1/cdn",
            inference_secs: 0.0,
        };
        let errors = schema.validate_input(input);
        assert!(errors.is_empty(), "{errors:?}");
        std::hint::black_box(schema.synthesize_output(input, &params));
    }
    let per = started.elapsed() / IN_PROCESS;
    println!("in-process validate + synthesize, {name}: {per:?} per request");
    per
}

async fn runs(client: &reqwest::Client, kit: &Testkit, n: u32) -> Result<Duration, reqwest::Error> {
    let url = format!("{}/fal-ai/flux/dev", kit.run_url());
    let auth = format!("Key {}", kit.key());
    let started = Instant::now();
    for i in 0..n {
        let response = client
            .post(&url)
            .header("authorization", &auth)
            .json(&json!({"prompt": "a lighthouse", "seed": i, "num_images": 2}))
            .send()
            .await?
            .error_for_status()?;
        std::hint::black_box(response.bytes().await?);
    }
    Ok(started.elapsed())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flux = load("fal-ai__flux__dev.json")?;
    let kling = load("fal-ai__kling-video__v1.6__standard__image-to-video.json")?;
    let flux_input = json!({"prompt": "a lighthouse", "num_images": 2, "image_size": "square_hd"});
    let kling_input = json!({"prompt": "a wave", "image_url": "https://x/a.png", "duration": "5"});
    in_process("fal-ai/flux/dev", &flux, &flux_input);
    in_process("kling-video image-to-video", &kling, &kling_input);

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas");
    let with = Testkit::builder()
        .schemas_dir(dir)
        .queue_delay(Duration::ZERO)
        .run_duration(Duration::ZERO)
        .start()
        .await?;
    let without = Testkit::builder()
        .queue_delay(Duration::ZERO)
        .run_duration(Duration::ZERO)
        .start()
        .await?;
    let client = reqwest::Client::new();
    runs(&client, &with, 50).await?;
    runs(&client, &without, 50).await?;
    let (mut schema_total, mut flux_total) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        schema_total += runs(&client, &with, PER_ROUND).await?;
        flux_total += runs(&client, &without, PER_ROUND).await?;
    }
    let n = ROUNDS * PER_ROUND;
    let (schema_per, flux_per) = (schema_total / n, flux_total / n);
    println!("direct run over HTTP, FLUX-like default (baseline): {flux_per:?} per request");
    println!("direct run over HTTP, schema-driven: {schema_per:?} per request");
    println!(
        "ratio schema-driven / FLUX-like: {:.2}",
        schema_per.as_secs_f64() / flux_per.as_secs_f64()
    );
    Ok(())
}
