//! Files in and out of fal storage: upload bytes and a file, and pass local
//! content straight into a typed input — the client uploads it before the
//! request and sends its URL.
//!
//! `cargo run -p fal-examples --example upload` (no FAL_KEY: embedded testkit,
//! which serves every upload back byte for byte).

use std::time::Duration;

use fal_runtime::{fal_endpoint, FileInput};
use fal_testkit::Testkit;
use serde_json::json;

/// Image-to-image: `image_url` takes a URL, or local bytes/paths that the
/// client uploads first.
#[fal_endpoint("fal-ai/flux/dev/image-to-image", output = serde_json::Value)]
struct Restyle {
    prompt: String,
    image_url: FileInput,
    strength: f64,
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
    let client = &fal.client;

    // Something to upload: a picture made by a first call.
    let made = client
        .endpoint("fal-ai/flux/schnell")
        .run(json!({ "prompt": "a blue teapot, studio photo" }))
        .await?;
    let made_url = made
        .pointer("/images/0/url")
        .and_then(|url| url.as_str())
        .ok_or("no image in the output")?;
    let picture = client.download(made_url).await?;

    // 1. Bytes from memory.
    let url = client.upload_bytes(picture.clone(), "image/png").await?;
    let fetched = client.download(&url).await?;
    println!(
        "uploaded {} bytes to {url} (served back identical: {})",
        picture.len(),
        fetched == picture
    );

    // 2. A file on disk, streamed rather than read into memory.
    let path = std::env::temp_dir().join(format!("fal-upload-example-{}.png", std::process::id()));
    std::fs::write(&path, &picture)?;
    let file_url = client.upload_file(&path).await;
    std::fs::remove_file(&path)?;
    println!("uploaded {} to {}", path.display(), file_url?);

    // 3. Local content as an input field: uploaded automatically before submit.
    let restyled = client
        .subscribe(Restyle {
            prompt: "the same teapot in porcelain white".into(),
            image_url: FileInput::bytes(picture, "image/png"),
            strength: 0.85,
        })
        .await?;
    println!(
        "restyled: {}",
        restyled.pointer("/images/0/url").unwrap_or(&json!(null))
    );
    Ok(())
}
