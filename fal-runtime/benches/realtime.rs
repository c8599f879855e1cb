//! Realtime round trips per second against the testkit on 127.0.0.1, against a
//! same-run baseline.
//!
//! Run: `cargo bench -p fal-runtime --bench realtime`
//!
//! Rows:
//! - `raw tungstenite (baseline)`: a bare tokio-tungstenite client on the same
//!   testkit sending pre-encoded msgpack and waiting for each binary answer
//!   (skipping the timings text frame): the server's and the socket's cost alone;
//! - `fal_runtime::Realtime`: typed send (msgpack encode), the session task,
//!   frame classification and typed decode, with throttling off (`throttle(0)`)
//!   since a throttled session is paced by design.
//!
//! Each row runs sequential round trips (send, wait for the answer, repeat).

use std::time::{Duration, Instant};

use fal_runtime::{Client, Endpoint};
use fal_testkit::Testkit;
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;

const ROUND_TRIPS: usize = 5_000;

#[derive(Serialize)]
struct Input {
    prompt: String,
    strength: f32,
    seed: u64,
}

#[derive(Deserialize)]
#[allow(dead_code)] // decoded to measure decoding
struct Output {
    prompt: String,
    seq: u64,
}

impl Endpoint for Input {
    // The testkit's `echo` alias answers with the input and a sequence number, so
    // the figures measure the client and the socket, not output synthesis.
    const ENDPOINT_ID: &'static str = "testkit/echo";
    type Output = Output;
}

fn input(n: u64) -> Input {
    Input {
        prompt: format!("a lighthouse at dusk, variation {n}"),
        strength: 0.8,
        seed: n,
    }
}

async fn token(kit: &Testkit) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/tokens/", kit.rest_url()))
        .header("authorization", format!("Key {}", kit.key()))
        .json(&serde_json::json!({"allowed_apps": ["echo"], "token_expiration": 600}))
        .send()
        .await
        .expect("token request");
    response.json::<String>().await.expect("token body")
}

async fn raw(kit: &Testkit) -> Duration {
    let url = format!(
        "ws://{}/run/testkit/echo/realtime?fal_jwt_token={}",
        kit.addr(),
        token(kit).await
    );
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(url, None, true)
        .await
        .expect("connects");
    let start = Instant::now();
    for n in 0..ROUND_TRIPS as u64 {
        let frame = rmp_serde::to_vec_named(&input(n)).expect("encodes");
        socket
            .send(Message::Binary(frame.into()))
            .await
            .expect("sends");
        loop {
            match socket.next().await.expect("open").expect("frame") {
                Message::Binary(bytes) => {
                    let output: Output = rmp_serde::from_slice(&bytes).expect("decodes");
                    std::hint::black_box(output);
                    break;
                }
                _ => continue,
            }
        }
    }
    start.elapsed()
}

async fn runtime(client: &Client) -> Duration {
    let mut session = client
        .realtime::<Input>()
        .throttle(Duration::ZERO)
        .connect()
        .await
        .expect("connects");
    let start = Instant::now();
    for n in 0..ROUND_TRIPS as u64 {
        session.send(&input(n)).expect("encodes");
        let output = session.recv().await.expect("open").expect("output");
        std::hint::black_box(output);
    }
    let took = start.elapsed();
    session.close().await;
    took
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let kit = Testkit::builder().start().await.expect("testkit");
        let client = kit.client_builder().build().expect("client");
        // Warm-up, then best of three per row.
        let _ = raw(&kit).await;
        let mut raw_best = Duration::MAX;
        let mut ours_best = Duration::MAX;
        for _ in 0..3 {
            raw_best = raw_best.min(raw(&kit).await);
            ours_best = ours_best.min(runtime(&client).await);
        }
        let per_s = |d: Duration| ROUND_TRIPS as f64 / d.as_secs_f64();
        println!("\nrealtime round trips, {ROUND_TRIPS} sequential per run, best of 3");
        println!(
            "{:<28} {:>12} {:>10} {:>8}",
            "row", "trips/s", "us/trip", "ratio"
        );
        let base = per_s(raw_best);
        for (label, d) in [
            ("raw tungstenite (baseline)", raw_best),
            ("fal_runtime::Realtime", ours_best),
        ] {
            println!(
                "{label:<28} {:>12.0} {:>10.1} {:>7.2}x",
                per_s(d),
                d.as_secs_f64() * 1e6 / ROUND_TRIPS as f64,
                per_s(d) / base
            );
        }
    });
}
