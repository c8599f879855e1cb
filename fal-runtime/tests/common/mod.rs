//! Shared set-up: a testkit on 127.0.0.1 and a client pointed at it with
//! near-zero retry delays, so fault tests stay fast.
#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fal_runtime::{Client, RetryPolicy};
use fal_testkit::{JournalEntry, RouteKind, Testkit};

/// Retries with 1 ms backoff and no jitter.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
        .jitter(false)
}

/// A testkit with the given queue and run durations.
pub async fn testkit(queue: Duration, run: Duration) -> Testkit {
    Testkit::builder()
        .queue_delay(queue)
        .run_duration(run)
        .start()
        .await
        .expect("testkit starts")
}

/// A client for `tk`, ignoring the developer's environment.
pub fn client(tk: &Testkit) -> Client {
    tk.client_builder()
        .retry(fast_retry())
        .build()
        .expect("client builds")
}

/// Journal entries of one route.
pub fn entries(tk: &Testkit, route: RouteKind) -> Vec<JournalEntry> {
    tk.journal()
        .into_iter()
        .filter(|e| e.route == route)
        .collect()
}

/// The FLUX-like input the testkit accepts.
pub fn prompt() -> serde_json::Value {
    serde_json::json!({"prompt": "a lighthouse at dusk", "seed": 7})
}

/// A `tracing` writer that keeps everything written, for asserting on log
/// output (`tracing_subscriber::fmt().with_writer(capture.clone())`).
#[derive(Clone, Default)]
pub struct Capture(pub Arc<Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
