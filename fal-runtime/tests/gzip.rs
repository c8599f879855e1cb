//! Responses may arrive gzip-compressed, as fal's official clients accept:
//! the client asks for gzip and decodes it. The server is a raw TCP listener
//! writing a gzip member by hand (stored deflate blocks), so the bytes on the
//! wire are exactly what the test says.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// CRC-32 (IEEE), bit by bit: enough for a few bytes.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `data` as one gzip member holding one stored (uncompressed) deflate block.
fn gzip(data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).unwrap();
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.push(1); // final block, stored
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    out
}

#[tokio::test]
async fn a_gzip_result_is_asked_for_and_decoded() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut chunk = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the request ended early");
            request.extend_from_slice(&chunk[..n]);
        }
        let body = gzip(br#"{"seed":7}"#);
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(&body).await.unwrap();
        String::from_utf8_lossy(&request).to_ascii_lowercase()
    });
    let client = fal_runtime::Client::builder()
        .ignore_env()
        .key("id:secret")
        .queue_url(format!("http://{addr}/queue"))
        .build()
        .unwrap();
    let output = client
        .endpoint("fal-ai/flux/dev")
        .request("req-1")
        .unwrap()
        .result()
        .await
        .unwrap();
    assert_eq!(output["seed"], 7);
    let request = server.await.unwrap();
    assert!(
        request
            .lines()
            .any(|l| l.starts_with("accept-encoding:") && l.contains("gzip")),
        "{request}"
    );
}
