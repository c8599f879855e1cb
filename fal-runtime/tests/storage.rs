//! Storage uploads end to end over real sockets against the testkit:
//! single PUT and multipart round trips, retries of cut parts, clean failure,
//! lifecycle headers, and auto-upload of local file inputs.

use std::time::Duration;

use bytes::Bytes;
use fal_runtime::storage::{UploadError, UploadOptions, UploadSource};
use fal_runtime::{Client, ErrorKind, Expiration, FileInput, ObjectLifecycle, RetryPolicy};
use fal_testkit::storage::Storage;
use fal_testkit::{Fault, FaultRule, RouteKind, Testkit};
use serde::Serialize;

/// Retries without waiting, so the tests do not depend on time.
fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
        .jitter(false)
}

struct Kit {
    base: String,
    kit: Testkit,
}

async fn start() -> Kit {
    let kit = Testkit::builder()
        .queue_delay(Duration::ZERO)
        .run_duration(Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    Kit {
        base: kit.base_url(),
        kit,
    }
}

impl Kit {
    fn client(&self) -> Client {
        self.client_with(fast_retry())
    }

    /// Storage calls retry through the client's one retry policy.
    fn client_with(&self, retry: RetryPolicy) -> Client {
        Client::builder()
            .key(self.kit.key())
            .rest_url(self.kit.rest_url())
            .queue_url(self.kit.queue_url())
            .run_url(self.kit.run_url())
            .retry(retry)
            .ignore_env()
            .build()
            .unwrap()
    }

    fn storage(&self) -> &Storage {
        self.kit.storage()
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

async fn fetch(url: &str) -> (Bytes, String) {
    let response = reqwest::get(url).await.unwrap();
    assert!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (response.bytes().await.unwrap(), content_type)
}

fn small_parts() -> UploadOptions {
    UploadOptions::default()
        .multipart_threshold(512 * 1024)
        .part_size(256 * 1024)
        .part_concurrency(3)
}

#[tokio::test]
async fn small_bytes_round_trip_with_their_type() {
    let kit = start().await;
    let data = pattern(100_000, 1);
    let url = kit
        .client()
        .upload_bytes(data.clone(), "image/png")
        .await
        .unwrap();
    assert!(url.starts_with(&kit.base), "{url}");
    let (served, content_type) = fetch(&url).await;
    assert_eq!(served, data);
    assert_eq!(content_type, "image/png");
    assert_eq!(kit.storage().completed_multipart_uploads(), 0);
}

#[tokio::test]
async fn files_stream_single_and_multipart() {
    let kit = start().await;
    let dir = tempfile::tempdir().unwrap();
    let client = kit.client();

    let small = dir.path().join("note.txt");
    std::fs::write(&small, b"hello fal").unwrap();
    let url = client.upload_file(&small).await.unwrap();
    assert!(url.ends_with("/note.txt"), "{url}");
    assert_eq!(
        fetch(&url).await,
        (Bytes::from_static(b"hello fal"), "text/plain".into())
    );

    // 1.3 MiB in 256 KiB parts: six parts, the last one short.
    let large = dir.path().join("video.mp4");
    let data = pattern(1_300_000, 2);
    std::fs::write(&large, &data).unwrap();
    let url = client
        .upload(UploadSource::file(&large), &small_parts())
        .await
        .unwrap();
    let (served, content_type) = fetch(&url).await;
    assert_eq!(served.len(), data.len());
    assert!(served == data, "multipart content differs");
    assert_eq!(content_type, "video/mp4");
    assert_eq!(kit.storage().completed_multipart_uploads(), 1);
}

#[tokio::test]
async fn readers_of_unknown_length_pick_single_or_multipart() {
    let kit = start().await;
    let client = kit.client();
    let short = pattern(1000, 3);
    let url = client
        .upload(
            UploadSource::reader(std::io::Cursor::new(short.clone())),
            &small_parts(),
        )
        .await
        .unwrap();
    assert_eq!(fetch(&url).await.0, short);
    assert_eq!(kit.storage().completed_multipart_uploads(), 0);

    // Exactly two parts: the reader's end is only seen after a full part.
    let long = pattern(512 * 1024, 4);
    let url = client
        .upload(
            UploadSource::reader(std::io::Cursor::new(long.clone())),
            &small_parts(),
        )
        .await
        .unwrap();
    assert!(fetch(&url).await.0 == long);
    assert_eq!(kit.storage().completed_multipart_uploads(), 1);

    // Bytes above the threshold are sliced into parts without copying.
    let bytes = pattern(700_000, 5);
    let url = client
        .upload(UploadSource::bytes(bytes.clone()), &small_parts())
        .await
        .unwrap();
    assert!(fetch(&url).await.0 == bytes);
    assert_eq!(kit.storage().completed_multipart_uploads(), 2);
}

#[tokio::test]
async fn a_part_cut_mid_transfer_is_retried() {
    let kit = start().await;
    let data = pattern(1_000_000, 6);
    kit.storage().cut_next_parts(2);
    let url = kit
        .client()
        .upload(UploadSource::bytes(data.clone()), &small_parts())
        .await
        .unwrap();
    assert!(
        fetch(&url).await.0 == data,
        "content differs after retried parts"
    );

    // File parts are streamed from disk; a retry reads the range again.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let data = pattern(900_000, 12);
    std::fs::write(&path, &data).unwrap();
    kit.storage().cut_next_parts(3);
    let url = kit
        .client()
        .upload(UploadSource::file(&path), &small_parts())
        .await
        .unwrap();
    assert!(
        fetch(&url).await.0 == data,
        "file content differs after retried parts"
    );

    // The testkit's generic fault: the answer to a part PUT is cut after a
    // few bytes (the part arrived, its etag did not).
    kit.kit.inject(
        FaultRule::new(Fault::DropConnection {
            after_bytes: Some(5),
        })
        .on(RouteKind::Cdn)
        .times(2),
    );
    let data = pattern(800_000, 13);
    let url = kit
        .client()
        .upload(UploadSource::bytes(data.clone()), &small_parts())
        .await
        .unwrap();
    assert!(kit.kit.pending_faults().is_empty(), "the fault never fired");
    assert!(
        fetch(&url).await.0 == data,
        "content differs after cut answers"
    );
}

#[tokio::test]
async fn a_part_that_keeps_failing_fails_the_upload_cleanly() {
    let kit = start().await;
    kit.storage().cut_next_parts(1000);
    let err = kit
        .client_with(fast_retry().max_retries(1))
        .upload(UploadSource::bytes(pattern(1_000_000, 7)), &small_parts())
        .await
        .unwrap_err();
    match err.upload() {
        Some(UploadError::Part { attempts: 2, .. }) => {}
        _ => panic!("expected a part failure after 2 attempts, got {err:?}"),
    }
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert!(
        kit.storage().files().is_empty(),
        "a failed upload was completed"
    );
    assert_eq!(kit.storage().completed_multipart_uploads(), 0);
}

#[tokio::test]
async fn lifecycle_settings_reach_storage() {
    let kit = start().await;
    let options = UploadOptions::default()
        .content_type("text/plain")
        .lifecycle(ObjectLifecycle::new().expiration("1h".parse::<Expiration>().unwrap()));
    kit.client()
        .upload(UploadSource::bytes("x"), &options)
        .await
        .unwrap();
    assert_eq!(
        kit.storage().lifecycles(),
        vec![serde_json::json!({"expiration_duration_seconds": 3600})]
    );
}

#[tokio::test]
async fn missing_files_and_refused_initiates_are_typed_errors() {
    let kit = start().await;
    let err = kit
        .client()
        .upload_file("/no/such/file.png")
        .await
        .unwrap_err();
    assert!(
        matches!(err.upload(), Some(UploadError::Read { .. })),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Input, "{err:?}");

    // A wrong key: initiate is refused with 401 and nothing is uploaded.
    let client = Client::builder()
        .key("wrong:key")
        .rest_url(kit.kit.rest_url())
        .ignore_env()
        .build()
        .unwrap();
    let err = client.upload_bytes("x", "text/plain").await.unwrap_err();
    match err.upload() {
        Some(UploadError::Initiate(inner)) => {
            assert_eq!(inner.status().map(|s| s.as_u16()), Some(401), "{err}")
        }
        _ => panic!("expected a refused initiate, got {err:?}"),
    }
    // The family error's detail is reachable from the one error too.
    assert_eq!(err.kind(), ErrorKind::Api, "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401), "{err}");
    assert!(kit.storage().files().is_empty());
}

#[derive(Serialize)]
struct EditInput {
    prompt: String,
    image_url: FileInput,
    mask_url: Option<FileInput>,
    references: Vec<FileInput>,
}

#[tokio::test]
async fn local_file_inputs_are_uploaded_and_replaced_by_urls() {
    let kit = start().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mask.png");
    std::fs::write(&path, pattern(5000, 8)).unwrap();
    let data_uri = "data:text/plain;base64,aGk=";
    let input = EditInput {
        prompt: "fal-upload://not-a-placeholder/0".into(),
        image_url: FileInput::bytes(pattern(3000, 9), "image/jpeg"),
        mask_url: Some(FileInput::path(&path)),
        references: vec![
            FileInput::url(data_uri),
            FileInput::url("https://example.com/a.png"),
        ],
    };
    // The body the run host receives, echoed back: uploads go to the testkit,
    // the run to a server that answers with what it was sent.
    let client = Client::builder()
        .key(kit.kit.key())
        .rest_url(kit.kit.rest_url())
        .run_url(echo_server().await)
        .ignore_env()
        .build()
        .unwrap();
    let body = tokio::time::timeout(Duration::from_secs(5), client.run(EchoEdit(input)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(body["prompt"], "fal-upload://not-a-placeholder/0");
    assert_eq!(body["references"][0], data_uri);
    assert_eq!(body["references"][1], "https://example.com/a.png");
    let image = body["image_url"].as_str().unwrap();
    let mask = body["mask_url"].as_str().unwrap();
    assert_eq!(
        fetch(image).await,
        (Bytes::from(pattern(3000, 9)), "image/jpeg".into())
    );
    assert_eq!(
        fetch(mask).await,
        (Bytes::from(pattern(5000, 8)), "image/png".into())
    );
    assert_eq!(kit.storage().files().len(), 2);
}

/// `EditInput` sent to `acme/echo`, whose answer is the JSON it received.
#[derive(Serialize)]
#[serde(transparent)]
struct EchoEdit(EditInput);

impl fal_runtime::Endpoint for EchoEdit {
    const ENDPOINT_ID: &'static str = "acme/echo";
    type Output = serde_json::Value;
}

/// A run host that answers every POST with its JSON body; returns its base URL.
async fn echo_server() -> String {
    let app = axum::Router::new().fallback(axum::routing::post(
        |axum::Json(body): axum::Json<serde_json::Value>| async move { axum::Json(body) },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[derive(Serialize)]
struct FluxEdit {
    prompt: String,
    image_url: FileInput,
}

#[derive(Debug, serde::Deserialize)]
struct FluxOutput {
    prompt: String,
}

impl fal_runtime::Endpoint for FluxEdit {
    const ENDPOINT_ID: &'static str = "fal-ai/flux/dev";
    type Output = FluxOutput;
}

#[tokio::test]
async fn submit_and_run_upload_local_inputs_first() {
    let kit = start().await;
    let client = kit.client();
    let input = FluxEdit {
        prompt: "a red fox".into(),
        image_url: FileInput::bytes(pattern(2048, 10), "image/png"),
    };
    let output = client.run(input).await.unwrap();
    assert_eq!(output.prompt, "a red fox");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fox.webp");
    std::fs::write(&path, pattern(4096, 11)).unwrap();
    let output = client
        .subscribe(FluxEdit {
            prompt: "another fox".into(),
            image_url: FileInput::path(&path),
        })
        .await
        .unwrap();
    assert_eq!(output.prompt, "another fox");
    let mut files = kit.storage().files();
    files.sort_by_key(|f| f.len);
    let served: Vec<(u64, &str)> = files
        .iter()
        .map(|f| (f.len, f.content_type.as_str()))
        .collect();
    assert_eq!(served, [(2048, "image/png"), (4096, "image/webp")]);
    for file in &files {
        assert!(file.file_url.starts_with(&kit.base), "{}", file.file_url);
    }
}
