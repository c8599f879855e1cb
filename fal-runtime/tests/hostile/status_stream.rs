//! The queue status stream reads through the same bounded SSE reader as
//! `/stream`: an event over the limit is a typed "too large" error, and
//! `subscribe` then polls instead. The server is a raw TCP listener, so the
//! oversized event is exactly the bytes written.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use fal_runtime::stream::StreamOptions;
use fal_runtime::{Client, ErrorKind, RetryPolicy};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIMIT: usize = 1024;

/// Answers a queue for request `req-1` whose status stream sends one event of
/// `LIMIT * 4` bytes and never ends it; polls say COMPLETED.
async fn start() -> (SocketAddr, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let polls = Arc::new(AtomicU32::new(0));
    let counted = polls.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket, counted.clone()));
        }
    });
    (addr, polls)
}

async fn serve(mut socket: TcpStream, polls: Arc<AtomicU32>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut words = head.split_whitespace();
    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let json = |body: &str| {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let answer = match (method, path) {
        ("POST", "/queue/fal-ai/flux/dev") => json(r#"{"request_id":"req-1"}"#),
        ("GET", "/queue/fal-ai/flux/requests/req-1/status/stream") => {
            let mut answer = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                              connection: close\r\n\r\ndata: {\"status\":\"IN_PROGRESS\",\"logs\":[\""
                .to_owned();
            answer.push_str(&"a".repeat(LIMIT * 4));
            answer
        }
        ("GET", "/queue/fal-ai/flux/requests/req-1/status") => {
            polls.fetch_add(1, Ordering::SeqCst);
            json(r#"{"status":"COMPLETED"}"#)
        }
        ("GET", "/queue/fal-ai/flux/requests/req-1") => json(r#"{"seed":7}"#),
        _ => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
    };
    let _ = socket.write_all(answer.as_bytes()).await;
    let _ = socket.shutdown().await;
}

fn client(addr: SocketAddr) -> Client {
    Client::builder()
        .ignore_env()
        .key("id:secret")
        .queue_url(format!("http://{addr}/queue"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_oversized_status_event_is_too_large_and_subscribe_polls_instead() {
    let (addr, polls) = start().await;
    let client = client(addr);
    let options = StreamOptions::default().max_event_bytes(LIMIT);

    let handle = client.endpoint("fal-ai/flux/dev").request("req-1").unwrap();
    let mut stream = handle.status_stream_with(true, &options).await.unwrap();
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
    assert_eq!(err.request_id(), Some("req-1"), "{err}");
    assert!(err.to_string().contains(&LIMIT.to_string()), "{err}");
    assert!(
        stream.next().await.is_none(),
        "the stream ends after its error"
    );

    let output = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(serde_json::json!({"prompt": "x"}))
        .stream_options(options)
        .await
        .unwrap();
    assert_eq!(output["seed"], 7);
    assert_eq!(
        polls.load(Ordering::SeqCst),
        1,
        "one poll after the stream failed"
    );
}

/// A status stream that is one line without end, a byte at a time (the
/// testkit's `endless_line`): every chunk is news, no line ever completes.
/// Only a timer reset by complete lines gives it up, and `subscribe` then
/// polls to the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_line_that_never_ends_is_given_up_for_polling() {
    let tk = crate::common::testkit(
        std::time::Duration::from_millis(20),
        std::time::Duration::from_millis(20),
    )
    .await;
    tk.inject(fal_testkit::FaultRule::endless_line(
        std::time::Duration::from_millis(20),
    ));
    let mut timeouts = fal_runtime::Timeouts::default();
    timeouts.stream_idle = std::time::Duration::from_millis(400);
    let client = tk
        .client_builder()
        .retry(RetryPolicy::none())
        .timeouts(timeouts)
        .build()
        .unwrap();
    let subscribed = client
        .endpoint("fal-ai/flux/dev")
        .subscribe(crate::common::prompt())
        .poll_interval(std::time::Duration::from_millis(10));
    let output = tokio::time::timeout(std::time::Duration::from_secs(20), subscribed)
        .await
        .expect("the endless line was given up, not followed forever")
        .unwrap();
    assert_eq!(output["seed"], 7);
    let polled = crate::common::entries(&tk, fal_testkit::RouteKind::Status);
    assert!(!polled.is_empty(), "subscribe polled after the stream");
}
