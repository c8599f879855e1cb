//! A key never shows up in Debug, Display, errors or tracing output.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fast_retry, prompt};
use fal_runtime::{Client, Key};
use fal_testkit::Testkit;

const SECRET: &str = "s3cr3t-value-never-printed";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

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

#[tokio::test]
async fn the_key_is_never_printed() {
    let key_value = format!("kid:{SECRET}");
    let key = Key::from(key_value.as_str());
    assert!(!format!("{key}").contains(SECRET));
    assert!(!format!("{key:?}").contains(SECRET));

    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let tk = Testkit::builder()
        .key(key_value.clone())
        .queue_delay(Duration::from_millis(20))
        .start()
        .await
        .unwrap();
    let client = tk.client_builder().retry(fast_retry()).build().unwrap();
    assert!(!format!("{client:?}").contains(SECRET));
    let output = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(prompt())
        .logs(true)
        .await
        .unwrap();
    assert!(!output.to_string().contains(SECRET));

    // A rejected key: the error must not echo it either.
    let wrong = format!("kid:{SECRET}-wrong");
    let rejected = Client::builder()
        .ignore_env()
        .key(wrong.as_str())
        .queue_url(tk.queue_url())
        .build()
        .unwrap();
    let err = rejected
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap_err();
    assert!(!err.to_string().contains(SECRET), "{err}");
    assert!(!format!("{err:?}").contains(SECRET), "{err:?}");

    drop(_guard);
    let logged = String::from_utf8_lossy(&capture.0.lock().unwrap()).into_owned();
    assert!(
        logged.contains("fal-ai/flux/dev"),
        "spans were recorded: {logged}"
    );
    assert!(
        !logged.contains(SECRET),
        "tracing output leaked the key:\n{logged}"
    );
}
