//! Stream an endpoint's partial outputs as they are produced (`POST
//! <id>/stream`, Server-Sent Events), typed by the same bindings as the
//! quickstart; the last event is the final output.
//!
//! `cargo run -p fal-examples --example stream` (no FAL_KEY: embedded testkit).

use std::time::Duration;

use fal_testkit::Testkit;
use futures::StreamExt;

/// Typed bindings generated at build time (see `build.rs`).
#[allow(dead_code, unused_imports)]
mod fal {
    include!(concat!(env!("OUT_DIR"), "/fal_endpoints.rs"));
}

use fal::fal_ai::flux::dev::FluxDevInput;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fal_examples::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let fal = fal_testkit::client_from_env_or_testkit(
        Testkit::builder().run_duration(Duration::from_millis(400)),
    )
    .await?;

    let mut events = fal
        .client
        .stream(FluxDevInput::new("a koi pond seen from above, watercolour"))
        // Give up if the server goes silent for this long between events.
        .inactivity_timeout(Duration::from_secs(30))
        .await?;
    println!("request id: {}", events.request_id().unwrap_or("(none)"));

    let mut last = None;
    let mut count = 0;
    while let Some(event) = events.next().await {
        let output = event?;
        count += 1;
        println!("event {count}: {} image(s) so far", output.images.len());
        last = Some(output);
    }
    let output = last.ok_or("the stream ended without an event")?;
    for image in &output.images {
        println!("final image: {}", image.url);
    }
    Ok(())
}
