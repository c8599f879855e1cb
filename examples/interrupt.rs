//! Stop waiting on Ctrl-C without losing the paid request, the way `fal run`
//! does: the id is printed as soon as the request is queued, and on Ctrl-C the
//! request is cancelled (briefly awaited) before exiting with status 130.
//!
//! The queue handle is only a client and an id, so it outlives an abandoned
//! wait: the same request can be cancelled here, or its result fetched later
//! from anywhere (`QueueHandle::from_id`, or `fal result ENDPOINT ID`).
//! Dropping a `subscribe` future does not cancel anything on fal's side; this
//! is how to get that behaviour when you want it.
//!
//! `cargo run -p fal-examples --example interrupt` (no FAL_KEY: embedded
//! testkit, which answers before there is time to press Ctrl-C).

use std::time::Duration;

use fal_runtime::QueueStatus;
use fal_testkit::Testkit;
use futures::StreamExt;
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fal_examples::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let fal = fal_testkit::client_from_env_or_testkit(
        Testkit::builder()
            .queue_delay(Duration::from_millis(200))
            .run_duration(Duration::from_millis(200)),
    )
    .await?;
    let handle = fal
        .client
        .endpoint("fal-ai/flux/dev")
        .submit(json!({ "prompt": "a lighthouse at dusk" }))
        .await?;
    // Printed at once, so the id survives whatever happens next.
    eprintln!("request id: {}", handle.request_id());

    let wait = async {
        let mut updates = handle.status_stream(false).await?;
        while let Some(status) = updates.next().await {
            if let QueueStatus::Completed { .. } = status? {
                break;
            }
        }
        handle.result().await
    };
    tokio::select! {
        output = wait => {
            println!("{}", serde_json::to_string_pretty(&output?)?);
            Ok(())
        }
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted; cancelling {}", handle.request_id());
            match tokio::time::timeout(Duration::from_secs(5), handle.cancel()).await {
                Ok(Ok(())) => eprintln!("cancelled"),
                Ok(Err(err)) => eprintln!("the cancel failed: {err}"),
                Err(_) => eprintln!("the cancel got no answer in 5 s"),
            }
            std::process::exit(130);
        }
    }
}
