//! A key never shows up in Debug, Display, errors or tracing output.

mod common;

use std::time::Duration;

use common::{fast_retry, prompt, Capture};
use fal_runtime::{Client, Key};
use fal_testkit::Testkit;

const SECRET: &str = "s3cr3t-value-never-printed";

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
    let logged = capture.text();
    assert!(
        logged.contains("fal-ai/flux/dev"),
        "spans were recorded: {logged}"
    );
    assert!(
        !logged.contains(SECRET),
        "tracing output leaked the key:\n{logged}"
    );
}
