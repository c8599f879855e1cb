//! The first run: a typed `fal-ai/flux/dev` call with live progress, saving
//! the image it makes.
//!
//! The bindings come from `schemas/fal-ai__flux__dev.json` through this
//! crate's `build.rs`, the same way your own crate would get them. With no
//! `FAL_KEY` the call goes to an embedded testkit (said on stderr); with one,
//! to fal.ai — the code does not change.
//!
//! `cargo run -p fal-examples --example quickstart [-- OUTPUT_FILE]`

use std::time::Duration;

use fal_runtime::QueueStatus;
use fal_testkit::Testkit;
use indicatif::{ProgressBar, ProgressStyle};

/// Typed bindings generated at build time (see `build.rs`). An example uses
/// only part of them, hence the allows; a library would make the module `pub`.
#[allow(dead_code, unused_imports)]
mod fal {
    include!(concat!(env!("OUT_DIR"), "/fal_endpoints.rs"));
}

use fal::fal_ai::flux::dev::{FluxDevInput, ImageSizePreset, OutputFormat};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fal_examples::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let output_path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fal-quickstart.png".to_owned());
    let fal = fal_testkit::client_from_env_or_testkit(
        Testkit::builder()
            .queue_delay(Duration::from_millis(600))
            .run_duration(Duration::from_millis(1200)),
    )
    .await?;

    let input = FluxDevInput::new("a lighthouse on a basalt cliff at dusk, warm windows")
        .with_image_size(ImageSizePreset::Landscape4_3)
        .with_num_inference_steps(28)
        .with_output_format(OutputFormat::Png);

    let progress = ProgressBar::new_spinner();
    progress.set_style(ProgressStyle::with_template(
        "{spinner} {elapsed:>3} {msg}",
    )?);
    progress.enable_steady_tick(Duration::from_millis(100));
    progress.set_message("submitting");

    let output = fal
        .client
        .subscribe(input)
        .logs(true)
        .on_enqueue(|request_id| progress.println(format!("request id: {request_id}")))
        .on_update(|status| match status {
            QueueStatus::InQueue { position } => {
                let ahead = position.map_or_else(|| "?".to_owned(), |p| p.to_string());
                progress.set_message(format!("in queue ({ahead} ahead)"));
            }
            QueueStatus::InProgress { logs } | QueueStatus::Completed { logs, .. } => {
                // subscribe hands each log line to on_update exactly once,
                // whether fal repeated it or not: show every line it carries.
                for log in logs {
                    progress.println(format!("  log: {}", log.message));
                }
                progress.set_message(if status.is_completed() {
                    "completed"
                } else {
                    "running"
                });
            }
        })
        .await;
    progress.finish_and_clear();
    let output = output?;

    let image = output
        .images
        .first()
        .ok_or("the endpoint returned no image")?;
    let bytes = fal.client.download(&image.url).await?;
    std::fs::write(&output_path, &bytes)?;
    println!(
        "saved {}x{} image ({} bytes, seed {}) to {output_path}",
        image.width.unwrap_or_default(),
        image.height.unwrap_or_default(),
        bytes.len(),
        output.seed,
    );
    Ok(())
}
