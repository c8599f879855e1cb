//! One retry loop per operation: with `max_retries = N`, every operation makes
//! at most N + 1 requests under every retryable fault, and exactly one under a
//! fault its row of the retry table does not retry. The server is a raw TCP
//! listener, so a fault is exactly what the bytes say: a connection accepted
//! and dropped, a status, or a 200 whose body is cut short.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fal_runtime::storage::{UploadOptions, UploadSource};
use fal_runtime::{Client, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RETRIES: u32 = 2;
const ENDPOINT: &str = "fal-ai/flux/dev";
const REQUEST: &str = "req-1";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Read the request, then close without a byte of answer.
    Drop,
    /// Answer with this status (and a JSON detail).
    Status(u16),
    /// Answer 200 announcing 1000 bytes of JSON, send 9, close.
    CutBody,
}

const FAULTS: [Fault; 7] = [
    Fault::Drop,
    Fault::Status(429),
    Fault::Status(500),
    Fault::Status(502),
    Fault::Status(503),
    Fault::Status(504),
    Fault::CutBody,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Submit,
    Status,
    StatusStream,
    Result,
    Cancel,
    Run,
    Stream,
    UploadInitiate,
    UploadPut,
    UploadPart,
    UploadComplete,
    Download,
}

const OPS: [Op; 12] = [
    Op::Submit,
    Op::Status,
    Op::StatusStream,
    Op::Result,
    Op::Cancel,
    Op::Run,
    Op::Stream,
    Op::UploadInitiate,
    Op::UploadPut,
    Op::UploadPart,
    Op::UploadComplete,
    Op::Download,
];

impl Op {
    /// `METHOD path` (no query) of the request the fault hits.
    fn target(self) -> &'static str {
        match self {
            Op::Submit => "POST /queue/fal-ai/flux/dev",
            Op::Status => "GET /queue/fal-ai/flux/requests/req-1/status",
            Op::StatusStream => "GET /queue/fal-ai/flux/requests/req-1/status/stream",
            Op::Result => "GET /queue/fal-ai/flux/requests/req-1",
            Op::Cancel => "PUT /queue/fal-ai/flux/requests/req-1/cancel",
            Op::Run => "POST /run/fal-ai/flux/dev",
            Op::Stream => "POST /run/fal-ai/flux/dev/stream",
            Op::UploadInitiate => "POST /rest/storage/upload/initiate",
            Op::UploadPut => "PUT /signed/single",
            Op::UploadPart => "PUT /signed/multi/1",
            Op::UploadComplete => "POST /signed/multi/complete",
            Op::Download => "GET /files/out.png",
        }
    }

    /// Whether the retry table (on `RetryPolicy`) retries `fault` for this call.
    fn retries(self, fault: Fault) -> bool {
        match fault {
            // The request was sent and the connection then closed.
            Fault::Drop => self != Op::Submit,
            Fault::Status(429 | 503) => true,
            Fault::Status(500) => matches!(self, Op::Status | Op::StatusStream),
            Fault::Status(_) => self != Op::Submit,
            // Only where asking again cannot run or bill anything twice (and
            // where the body is read at all).
            Fault::CutBody => matches!(
                self,
                Op::Status | Op::Result | Op::Download | Op::UploadInitiate | Op::UploadPart
            ),
        }
    }
}

/// A listener that answers every request by its `METHOD path`: the target
/// with the fault, everything else as fal would, so that the flow reaches
/// the target. It counts connections per target.
struct Server {
    addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, u32>>>,
}

impl Server {
    async fn start(target: &'static str, fault: Fault) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    serve(socket, addr, target, fault, counted).await;
                });
            }
        });
        Server { addr, hits }
    }

    fn hits(&self, target: &str) -> u32 {
        self.hits.lock().unwrap().get(target).copied().unwrap_or(0)
    }

    fn client(&self) -> Client {
        let base = format!("http://{}", self.addr);
        Client::builder()
            .ignore_env()
            .key("id:secret")
            .queue_url(format!("{base}/queue"))
            .run_url(format!("{base}/run"))
            .rest_url(format!("{base}/rest"))
            .retry(
                RetryPolicy::default()
                    .max_retries(RETRIES)
                    .base_delay(Duration::from_millis(1))
                    .max_delay(Duration::from_millis(2))
                    .max_retry_after(Duration::from_millis(2))
                    .jitter(false),
            )
            .build()
            .unwrap()
    }
}

/// One connection, one request (every answer says `connection: close`).
async fn serve(
    mut socket: TcpStream,
    addr: SocketAddr,
    target: &str,
    fault: Fault,
    hits: Arc<Mutex<HashMap<String, u32>>>,
) {
    let Some(line) = read_request(&mut socket).await else {
        return;
    };
    *hits.lock().unwrap().entry(line.clone()).or_default() += 1;
    if line == target {
        match fault {
            Fault::Drop => {}
            Fault::Status(code) => {
                let body = r#"{"detail":"injected"}"#;
                let head = format!(
                    "HTTP/1.1 {code} Injected\r\ncontent-type: application/json\r\n\
                     retry-after: 0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all((head + body).as_bytes()).await;
            }
            Fault::CutBody => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            content-length: 1000\r\nconnection: close\r\n\r\n{\"status\"";
                let _ = socket.write_all(head.as_bytes()).await;
            }
        }
        let _ = socket.shutdown().await;
        return;
    }
    let base = format!("http://{addr}");
    let (content_type, body) = match line.as_str() {
        "POST /queue/fal-ai/flux/dev" => (
            "application/json",
            format!(r#"{{"request_id":"{REQUEST}"}}"#),
        ),
        "POST /rest/storage/upload/initiate" => (
            "application/json",
            format!(r#"{{"upload_url":"{base}/signed/single","file_url":"{base}/files/f"}}"#),
        ),
        "POST /rest/storage/upload/initiate-multipart" => (
            "application/json",
            format!(r#"{{"upload_url":"{base}/signed/multi","file_url":"{base}/files/f"}}"#),
        ),
        "PUT /signed/multi/1" => ("application/json", r#"{"etag":"e1"}"#.to_owned()),
        _ => ("application/json", "{}".to_owned()),
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n",
        body.len()
    );
    let _ = socket.write_all((head + &body).as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// Reads one request whole and returns its `METHOD path` (query dropped).
async fn read_request(socket: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let mut words = head.split_whitespace();
    let method = words.next()?;
    let path = words.next()?.split('?').next()?;
    Some(format!("{method} {path}"))
}

/// Runs `op` once against `client`; the outcome does not matter here, only
/// how many requests it made.
async fn perform(op: Op, client: &Client, base: &str) {
    let input = serde_json::json!({"prompt": "x"});
    let endpoint = client.endpoint(ENDPOINT);
    let handle = || endpoint.request(REQUEST).unwrap();
    match op {
        Op::Submit => drop(endpoint.submit(input).await),
        Op::Status => drop(handle().status(false).await),
        Op::StatusStream => drop(handle().status_stream(false).await),
        Op::Result => drop(handle().result().await),
        Op::Cancel => drop(handle().cancel().await),
        Op::Run => drop(endpoint.run(input).await),
        Op::Stream => drop(endpoint.stream(input).await),
        Op::UploadInitiate | Op::UploadPut => {
            let options = UploadOptions::default();
            drop(client.upload(UploadSource::bytes("abc"), &options).await)
        }
        Op::UploadPart | Op::UploadComplete => {
            let options = UploadOptions::default()
                .multipart_threshold(1)
                .part_size(1024);
            drop(client.upload(UploadSource::bytes("abc"), &options).await)
        }
        Op::Download => drop(client.download(&format!("{base}/files/out.png")).await),
    }
}

#[tokio::test]
async fn max_retries_n_means_at_most_n_plus_one_requests_per_operation() {
    let mut wrong = Vec::new();
    for op in OPS {
        for fault in FAULTS {
            let server = Server::start(op.target(), fault).await;
            let client = server.client();
            let base = format!("http://{}", server.addr);
            perform(op, &client, &base).await;
            let made = server.hits(op.target());
            let expected = if op.retries(fault) { RETRIES + 1 } else { 1 };
            if made != expected {
                wrong.push(format!(
                    "{op:?} under {fault:?}: {made} requests, expected {expected}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
