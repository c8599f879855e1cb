//! Drive the queue by hand: submit, look at the status, fetch the result, and
//! cancel a second request while it waits.
//!
//! `cargo run -p fal-examples --example queue` (no FAL_KEY: embedded testkit).

use std::time::Duration;

use fal_runtime::QueueStatus;
use fal_testkit::Testkit;
use serde_json::json;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    fal_examples::exit_code(run().await)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let fal = fal_testkit::client_from_env_or_testkit(
        Testkit::builder()
            .queue_delay(Duration::from_millis(300))
            .run_duration(Duration::from_millis(300)),
    )
    .await?;
    let flux = fal.client.endpoint("fal-ai/flux/dev");

    let handle = flux
        .submit(json!({ "prompt": "a lighthouse at dusk, oil painting" }))
        .await?;
    println!("submitted {}", handle.request_id());

    // Poll until the request completes; a real application would rather
    // follow `handle.status_stream(true)` or use `subscribe`.
    // Each status carries every log line so far; print only the new ones.
    let mut logs_seen = 0;
    loop {
        match handle.status(true).await? {
            QueueStatus::InQueue { position } => println!("queued, position {position:?}"),
            QueueStatus::InProgress { logs } => {
                for log in logs.iter().skip(logs_seen) {
                    println!("log: {}", log.message);
                }
                logs_seen = logs.len();
            }
            QueueStatus::Completed {
                error: Some(error), ..
            } => return Err(format!("request failed: {error}").into()),
            QueueStatus::Completed { metrics, .. } => {
                let seconds = metrics.and_then(|m| m.inference_time);
                println!("completed (inference time: {seconds:?} s)");
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let output = handle.result().await?;
    println!("result: {}", serde_json::to_string(&output["images"])?);

    // A request cancelled while it is still queued never runs.
    let doomed = flux.submit(json!({ "prompt": "never mind" })).await?;
    doomed.cancel().await?;
    println!("cancelled {}", doomed.request_id());
    Ok(())
}
