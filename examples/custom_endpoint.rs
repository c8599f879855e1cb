//! Declare an endpoint yourself with `#[fal_endpoint]` — for an app of your
//! own, or one whose schema you do not have — and call it with the same typed
//! methods generated bindings get.
//!
//! `cargo run -p fal-examples --example custom_endpoint` (no FAL_KEY: embedded testkit).

use std::time::Duration;

use fal_testkit::Testkit;

use fal_runtime::{fal_endpoint, Image};
use serde::Deserialize;

/// What we send to `fal-ai/flux/schnell`. The attribute checks the id at
/// compile time and derives `Serialize`.
#[fal_endpoint("fal-ai/flux/schnell", output = Sketches)]
struct Sketch {
    prompt: String,
    num_images: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
}

/// The part of the output this program reads; other fields are ignored, so
/// fal adding fields never breaks it.
#[derive(Debug, Deserialize)]
struct Sketches {
    images: Vec<Image>,
    seed: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fal_examples::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let fal = fal_testkit::client_from_env_or_testkit(
        Testkit::builder()
            .queue_delay(Duration::ZERO)
            .run_duration(Duration::ZERO),
    )
    .await?;
    let input = Sketch {
        prompt: "a red kite over a green hill, ink sketch".into(),
        num_images: 2,
        seed: Some(7),
    };

    // Direct run: one HTTP call that returns when the model is done.
    let sketches = fal.client.run(input).await?;
    println!("seed {}: {} images", sketches.seed, sketches.images.len());
    for image in &sketches.images {
        println!("  {}", image.url);
    }
    Ok(())
}
