//! A realtime session over WebSocket: inputs go out as msgpack as fast as the
//! user produces them (throttled, latest wins), outputs come back as they are
//! ready. The session fetches and refreshes its temporary token itself and
//! reconnects if the server closes an idle socket.
//!
//! `cargo run -p fal-examples --example realtime` (no FAL_KEY: embedded testkit,
//! whose realtime endpoints answer each input with a synthesized FLUX-like output
//! that repeats the prompt).

use std::time::Duration;

use fal_testkit::Testkit;

use fal_runtime::fal_endpoint;

/// One frame of an interactive drawing app: the prompt as typed so far.
#[fal_endpoint("fal-ai/fast-lcm-diffusion", output = serde_json::Value)]
struct Frame {
    prompt: String,
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
    let mut session = fal
        .client
        .realtime::<Frame>()
        .throttle(Duration::from_millis(64))
        .connect()
        .await?;

    // Keystrokes arrive faster than the throttle: only the newest prompt of
    // each window is sent, so the app never renders stale input.
    let typed = [
        "a",
        "a ca",
        "a cat",
        "a cat in",
        "a cat in the",
        "a cat in the rain",
    ];
    for prompt in typed {
        session.send(&Frame {
            prompt: prompt.to_owned(),
            seed: 1,
        })?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Read outputs until the one for the final prompt arrives.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, session.recv()).await;
        let Ok(Some(output)) = next else {
            return Err("no output for the final prompt within 10 s".into());
        };
        let output = output?;
        println!("output: {output}");
        if output.get("prompt").and_then(|p| p.as_str()) == Some("a cat in the rain") {
            break;
        }
        if fal.testkit.is_none() {
            // A real model's output does not echo the prompt; one is enough.
            break;
        }
    }
    session.close().await;
    Ok(())
}
