//! Proxy mode (spec 2.4) end to end over real sockets: the client keeps fal's
//! real host URLs (never contacted) and sends everything to the testkit's bare
//! base URL, which routes by `x-fal-target-url` and hands out real fal URL forms
//! for the queue, so every follow-up queue URL (status, result, cancel) must go
//! through the proxy too for the flow to work. Signed upload and file URLs name
//! the testkit itself, as fal's clients fetch those without a proxy.
//!
//! [`ReferenceProxy`] stands in front of the testkit the way fal's reference
//! proxy stands in front of fal: it forwards only the targets that proxy
//! allows, so a request the client wrongly sends through it is refused here.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fast_retry, prompt, testkit};
use fal_runtime::storage::{UploadOptions, UploadSource};
#[cfg(feature = "webhook")]
use fal_runtime::webhook::{WebhookError, DEFAULT_JWKS_URL};
use fal_runtime::{Client, QueueStatus};

/// fal's proxy convention: the header holding the real target URL.
const TARGET_URL_HEADER: &str = "x-fal-target-url";
use fal_testkit::{JournalEntry, RouteKind, Testkit};
use futures::StreamExt;
use reqwest::StatusCode;

const ZERO: Duration = Duration::ZERO;

/// An HTTP client that resolves fal's real hosts to a closed loopback port, so
/// a request that wrongly bypassed the proxy fails here instead of leaving the
/// machine.
fn loopback_only() -> reqwest::Client {
    let closed = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
    [
        "queue.fal.run",
        "fal.run",
        "rest.fal.ai",
        "rest.alpha.fal.ai",
        "v3.fal.media",
    ]
    .into_iter()
    .fold(reqwest::Client::builder(), |builder, host| {
        builder.resolve(host, closed)
    })
    .build()
    .expect("http client builds")
}

/// A client with fal's default hosts and the testkit as its proxy.
fn proxied(kit: &Testkit, key: &str) -> Client {
    through(&kit.base_url(), key, false)
}

/// A client with fal's default hosts and `proxy` as its proxy; `all` sends
/// signed and public traffic through it too.
fn through(proxy: &str, key: &str, all: bool) -> Client {
    let client = Client::builder()
        .ignore_env()
        .http_client(loopback_only())
        .key(key)
        .proxy_url(proxy)
        .proxy_all_traffic(all)
        .retry(fast_retry())
        .build()
        .expect("client builds");
    assert_eq!(client.queue_base().as_str(), "https://queue.fal.run/");
    client
}

/// A proxy in front of the testkit that forwards what fal's reference proxy
/// (`@fal-ai/server-proxy`) forwards and nothing else: targets on `fal.run`,
/// `queue.fal.run` and the `rest.fal.ai` storage initiate URLs, with
/// `content-type: application/json`; any other target is answered 400.
struct ReferenceProxy {
    url: String,
    log: Arc<Mutex<ProxyLog>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct ProxyLog {
    forwarded: Vec<String>,
    refused: Vec<String>,
}

impl Drop for ReferenceProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReferenceProxy {
    async fn start(upstream: String) -> ReferenceProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/fal/proxy", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(ProxyLog::default()));
        let state = (upstream, log.clone(), reqwest::Client::new());
        let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
            let (upstream, log, http) = state.clone();
            async move { forward(&upstream, &log, &http, request).await }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ReferenceProxy { url, log, task }
    }

    fn forwarded(&self) -> Vec<String> {
        self.log.lock().unwrap().forwarded.clone()
    }

    fn refused(&self) -> Vec<String> {
        self.log.lock().unwrap().refused.clone()
    }
}

/// Whether fal's reference proxy forwards `target`.
fn reference_allows(target: &str) -> bool {
    let Ok(url) = url::Url::parse(target) else {
        return false;
    };
    url.scheme() == "https"
        && match url.host_str() {
            Some("fal.run" | "queue.fal.run") => true,
            Some("rest.fal.ai") => url.path().starts_with("/storage/upload/initiate"),
            _ => false,
        }
}

async fn forward(
    upstream: &str,
    log: &Mutex<ProxyLog>,
    http: &reqwest::Client,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let target = request
        .headers()
        .get(TARGET_URL_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("(no target)")
        .to_owned();
    if !reference_allows(&target) {
        log.lock().unwrap().refused.push(target);
        return (StatusCode::BAD_REQUEST, "target not allowed").into_response();
    }
    log.lock().unwrap().forwarded.push(target);
    let method = request.method().clone();
    let mut headers = request.headers().clone();
    headers.remove(http::header::HOST);
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    let body = axum::body::to_bytes(request.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    let Ok(answer) = http
        .request(method, upstream)
        .headers(headers)
        .body(body)
        .send()
        .await
    else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let mut response = axum::response::Response::builder().status(answer.status());
    for name in [
        http::header::CONTENT_TYPE,
        "x-fal-request-id".parse().unwrap(),
    ] {
        if let Some(value) = answer.headers().get(&name) {
            response = response.header(name, value);
        }
    }
    response
        .body(axum::body::Body::from_stream(answer.bytes_stream()))
        .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
}

/// The journal, after checking every request came by the proxy convention: to
/// the proxy's own path, with the real target in the header and the key kept.
fn proxied_journal(kit: &Testkit) -> Vec<JournalEntry> {
    let journal = kit.journal();
    assert!(!journal.is_empty());
    for entry in &journal {
        assert_eq!(entry.path, "/", "{entry:?}");
        let target = entry.header(TARGET_URL_HEADER).unwrap_or_default();
        // fal's hosts, or a signed upload URL, which names the testkit itself.
        assert!(
            target.starts_with("https://") || target.starts_with(&kit.cdn_url()),
            "{entry:?}"
        );
    }
    journal
}

fn targets(journal: &[JournalEntry], route: RouteKind) -> Vec<String> {
    journal
        .iter()
        .filter(|e| e.route == route)
        .filter_map(|e| e.header(TARGET_URL_HEADER).map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn subscribe_goes_through_the_proxy() {
    let kit = testkit(ZERO, Duration::from_millis(20)).await;
    let output = proxied(&kit, kit.key())
        .endpoint("fal-ai/flux/dev")
        .subscribe(prompt())
        .await
        .unwrap();
    assert_eq!(output["seed"], 7);
    let journal = proxied_journal(&kit);
    assert_eq!(
        targets(&journal, RouteKind::Submit),
        ["https://queue.fal.run/fal-ai/flux/dev"]
    );
    assert_eq!(targets(&journal, RouteKind::Result).len(), 1);
    assert!(journal.iter().all(|e| e.header("authorization").is_some()));
}

#[tokio::test]
async fn submit_status_result_and_cancel_follow_the_real_urls() {
    let kit = testkit(ZERO, ZERO).await;
    let client = proxied(&kit, kit.key());
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    let id = handle.request_id().to_owned();
    assert!(handle.status(true).await.unwrap().is_completed());
    assert_eq!(handle.result().await.unwrap()["seed"], 7);

    let journal = proxied_journal(&kit);
    assert_eq!(
        targets(&journal, RouteKind::Status),
        [format!(
            "https://queue.fal.run/fal-ai/flux/requests/{id}/status?logs=1"
        )]
    );
    assert_eq!(
        targets(&journal, RouteKind::Result),
        [format!("https://queue.fal.run/fal-ai/flux/requests/{id}")]
    );

    let slow = testkit(Duration::from_secs(5), ZERO).await;
    let client = proxied(&slow, slow.key());
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap();
    assert!(matches!(
        handle.status(false).await.unwrap(),
        QueueStatus::InQueue { .. }
    ));
    handle.cancel().await.unwrap();
    let cancels = targets(&proxied_journal(&slow), RouteKind::Cancel);
    assert_eq!(
        cancels,
        [format!(
            "https://queue.fal.run/fal-ai/flux/requests/{}/cancel",
            handle.request_id()
        )]
    );
}

#[tokio::test]
async fn run_and_stream_go_to_the_run_host_by_header() {
    let kit = testkit(ZERO, Duration::from_millis(20)).await;
    let client = proxied(&kit, kit.key());
    let output = client
        .endpoint("fal-ai/flux/dev")
        .run(prompt())
        .await
        .unwrap();
    assert_eq!(output["seed"], 7);

    let mut events = client
        .endpoint("fal-ai/flux/dev")
        .stream(prompt())
        .await
        .expect("stream starts");
    let mut count = 0;
    while let Some(event) = events.next().await {
        event.expect("a good event");
        count += 1;
    }
    assert!(count >= 1);

    let journal = proxied_journal(&kit);
    assert_eq!(
        targets(&journal, RouteKind::Run),
        ["https://fal.run/fal-ai/flux/dev"]
    );
    assert_eq!(
        targets(&journal, RouteKind::Stream),
        ["https://fal.run/fal-ai/flux/dev/stream"]
    );
}

/// GETs a file URL the way a proxied client would.
async fn fetch_through(kit: &Testkit, url: &str) -> Vec<u8> {
    let response = reqwest::Client::new()
        .get(kit.base_url())
        .header(TARGET_URL_HEADER, url)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "GET {url}");
    response.bytes().await.unwrap().to_vec()
}

/// The default: API calls through the proxy, signed upload, part and
/// `complete` URLs and downloads straight to the storage host, without the
/// key, so uploads work past a proxy that refuses those targets.
#[tokio::test]
async fn uploads_and_downloads_go_straight_to_storage_past_a_reference_proxy() {
    let kit = testkit(ZERO, ZERO).await;
    let proxy = ReferenceProxy::start(kit.base_url()).await;
    let client = through(&proxy.url, kit.key(), false);

    let small = b"straight to storage".to_vec();
    let url = client
        .upload_bytes(small.clone(), "text/plain")
        .await
        .unwrap();
    assert_eq!(client.download(&url).await.unwrap(), small);
    let large: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let options = UploadOptions::default()
        .content_type("application/octet-stream")
        .multipart_threshold(256 * 1024)
        .part_size(256 * 1024);
    let url = client
        .upload(UploadSource::Bytes(large.clone().into()), &options)
        .await
        .unwrap();
    assert!(client.download(&url).await.unwrap() == large);
    assert_eq!(kit.storage().completed_multipart_uploads(), 1);
    // The queue still goes through the proxy.
    let output = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(prompt())
        .await
        .unwrap();
    assert_eq!(output["seed"], 7);

    assert_eq!(proxy.refused(), Vec::<String>::new());
    let forwarded = proxy.forwarded();
    let initiates: Vec<&String> = forwarded
        .iter()
        .filter(|t| t.starts_with("https://rest.fal.ai/"))
        .collect();
    assert_eq!(initiates.len(), 2, "{forwarded:?}");
    assert!(initiates[0].starts_with("https://rest.fal.ai/storage/upload/initiate?"));
    assert!(initiates[1].starts_with("https://rest.fal.ai/storage/upload/initiate-multipart?"));
    assert!(forwarded
        .iter()
        .any(|t| t == "https://queue.fal.run/fal-ai/flux/dev"));

    let direct: Vec<JournalEntry> = kit
        .journal()
        .into_iter()
        .filter(|e| e.route == RouteKind::Cdn)
        .collect();
    let puts = direct.iter().filter(|e| e.method == "PUT").count();
    assert_eq!(puts, 1 + 3, "one single PUT and three parts: {direct:?}");
    assert!(
        direct.iter().any(|e| e.method == "POST"),
        "complete: {direct:?}"
    );
    assert!(
        direct.iter().any(|e| e.method == "GET"),
        "downloads: {direct:?}"
    );
    for entry in &direct {
        assert!(entry.path.starts_with("/cdn/"), "{entry:?}");
        assert_eq!(entry.header(TARGET_URL_HEADER), None, "{entry:?}");
        assert_eq!(entry.header("authorization"), None, "no key: {entry:?}");
    }
}

/// `proxy_all_traffic` sends the signed URLs through the proxy too (without
/// the key), which a reference proxy refuses: the upload fails with the
/// proxy's 400, named as the upload's PUT.
#[tokio::test]
async fn with_all_traffic_a_reference_proxy_refuses_the_upload() {
    let kit = testkit(ZERO, ZERO).await;
    let proxy = ReferenceProxy::start(kit.base_url()).await;
    let err = through(&proxy.url, kit.key(), true)
        .upload_bytes(b"refused".to_vec(), "text/plain")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST), "{err}");
    assert!(err.upload().is_some(), "{err}");
    let refused = proxy.refused();
    assert!(!refused.is_empty());
    assert!(
        refused.iter().all(|t| t.starts_with(&kit.cdn_url())),
        "{refused:?}"
    );
    assert!(
        kit.journal().iter().all(|e| e.route != RouteKind::Cdn),
        "no PUT went around the proxy"
    );
}

/// With `proxy_all_traffic`, a proxy that allows storage carries every byte.
#[tokio::test]
async fn uploads_single_and_multipart_go_through_the_proxy_when_asked() {
    let kit = testkit(ZERO, ZERO).await;
    let client = through(&kit.base_url(), kit.key(), true);

    let small = b"hello through the proxy".to_vec();
    let url = client
        .upload_bytes(small.clone(), "text/plain")
        .await
        .unwrap();
    // Signed upload and file URLs name the testkit itself (fal's clients fetch
    // them without a proxy); through the proxy they still route.
    assert!(url.starts_with(&kit.cdn_url()), "{url}");
    assert_eq!(fetch_through(&kit, &url).await, small);

    let large: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let options = UploadOptions::default()
        .content_type("application/octet-stream")
        .multipart_threshold(256 * 1024)
        .part_size(256 * 1024);
    let url = client
        .upload(UploadSource::Bytes(large.clone().into()), &options)
        .await
        .unwrap();
    assert!(fetch_through(&kit, &url).await == large);
    assert_eq!(kit.storage().completed_multipart_uploads(), 1);

    let journal = proxied_journal(&kit);
    let rest = targets(&journal, RouteKind::Rest);
    assert!(rest
        .iter()
        .any(|t| t.starts_with("https://rest.fal.ai/storage/upload/initiate?")));
    let cdn = journal
        .iter()
        .filter(|e| e.route == RouteKind::Cdn && e.method == "PUT")
        .collect::<Vec<_>>();
    assert_eq!(cdn.len(), 1 + 3, "one single PUT and three parts");
    for put in cdn {
        let target = put.header(TARGET_URL_HEADER).unwrap_or_default();
        assert!(target.starts_with(&kit.cdn_url()), "{target}");
        assert!(
            put.header("authorization").is_none(),
            "signed URLs get no key"
        );
    }
}

#[tokio::test]
async fn a_bad_key_through_the_proxy_is_still_a_typed_401() {
    let kit = testkit(ZERO, ZERO).await;
    let err = proxied(&kit, "wrong:key")
        .endpoint("fal-ai/flux/dev")
        .submit(prompt())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED), "{err}");
    assert_eq!(proxied_journal(&kit).len(), 1, "401 is not retried");
}

/// The key set is public: fetched straight from the REST host by default,
/// through the proxy with `proxy_all_traffic`; never with the key.
#[cfg(feature = "webhook")]
#[tokio::test]
async fn the_webhook_key_set_is_fetched_directly_or_through_the_proxy_when_asked() {
    let kit = testkit(ZERO, ZERO).await;
    let direct = Client::builder()
        .ignore_env()
        .http_client(loopback_only())
        .key(kit.key())
        .proxy_url(kit.base_url())
        .rest_url(kit.rest_url())
        .build()
        .unwrap();
    // Unsigned: the keys are fetched first, then the signature is refused.
    let err = direct
        .webhook_verifier()
        .verify(&http::HeaderMap::new(), b"{}")
        .await
        .unwrap_err();
    assert!(matches!(err, WebhookError::Signature(_)), "{err}");
    let journal = kit.journal();
    assert_eq!(journal.len(), 1, "{journal:?}");
    assert_eq!(journal[0].path, "/rest/.well-known/jwks.json");
    assert_eq!(journal[0].header(TARGET_URL_HEADER), None);
    assert_eq!(journal[0].header("authorization"), None);

    let kit = testkit(ZERO, ZERO).await;
    let verifier = through(&kit.base_url(), kit.key(), true).webhook_verifier();
    let err = verifier
        .verify(&http::HeaderMap::new(), b"{}")
        .await
        .unwrap_err();
    assert!(matches!(err, WebhookError::Signature(_)), "{err}");
    let journal = proxied_journal(&kit);
    assert_eq!(targets(&journal, RouteKind::Rest), [DEFAULT_JWKS_URL]);
    assert!(journal.iter().all(|e| e.header("authorization").is_none()));
}

#[cfg(feature = "realtime")]
#[tokio::test]
async fn realtime_fetches_its_token_through_the_proxy_but_connects_directly() {
    let kit = testkit(ZERO, ZERO).await;
    // The socket goes to the run host itself, so point that at the testkit; the
    // REST host stays fal's, reached only by way of the proxy.
    let client = Client::builder()
        .ignore_env()
        .http_client(loopback_only())
        .key(kit.key())
        .proxy_url(kit.base_url())
        .run_url(kit.run_url())
        .build()
        .unwrap();
    let session = tokio::time::timeout(Duration::from_secs(8), async {
        let mut session = client
            .endpoint("fal-ai/fast-lcm-diffusion")
            .realtime()
            .connect()
            .await
            .expect("connects");
        session
            .send(&serde_json::json!({"prompt": "a red fox"}))
            .unwrap();
        let output = session.recv().await.expect("an item").expect("an output");
        assert_eq!(output["prompt"], "a red fox");
        session
    })
    .await
    .expect("finished in time");
    session.close().await;

    let journal = kit.journal();
    let token = journal
        .iter()
        .find(|e| e.route == RouteKind::Rest)
        .expect("token request");
    assert_eq!(token.path, "/");
    assert_eq!(
        token.header(TARGET_URL_HEADER),
        Some("https://rest.fal.ai/tokens/")
    );
    let socket = journal
        .iter()
        .find(|e| e.route == RouteKind::Realtime)
        .expect("handshake");
    assert!(socket
        .path
        .starts_with("/run/fal-ai/fast-lcm-diffusion/realtime?"));
    assert_eq!(socket.header(TARGET_URL_HEADER), None);
}

#[tokio::test]
async fn an_unreachable_proxy_is_named_in_the_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .ignore_env()
        .http_client(loopback_only())
        .key("id:secret")
        .proxy_url(format!("http://127.0.0.1:{port}"))
        .retry(fal_runtime::RetryPolicy::none())
        .build()
        .unwrap();
    let err = client
        .endpoint("fal-ai/flux/dev")
        .run(prompt())
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("https://fal.run/fal-ai/flux/dev via proxy http://127.0.0.1:"),
        "{shown}"
    );
}
