//! Call any endpoint with plain JSON: no bindings, no schema, just
//! `serde_json::Value` in and out.
//!
//! `cargo run -p fal-examples --example untyped` (no FAL_KEY: embedded testkit).

use std::time::Duration;

use fal_testkit::Testkit;

use serde_json::json;

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

    let output = fal
        .client
        .endpoint("fal-ai/flux/schnell")
        .subscribe(json!({ "prompt": "a paper boat on a rainy street", "num_images": 1 }))
        .await?;

    let url = output
        .pointer("/images/0/url")
        .and_then(|url| url.as_str())
        .ok_or("the output has no images[0].url")?;
    println!("first image: {url}");
    Ok(())
}
