//! Reading a whole response body into memory, never more than a limit.
//!
//! Every body the client keeps in memory comes through here, so a broken or
//! hostile host cannot make it allocate without bound: a 2 GB "result", a
//! 200 MB error `detail` or a huge key set ends with a typed
//! [`crate::ErrorKind::TooLarge`] naming the limit, read no further than the
//! limit (a `Content-Length` over it is refused before any byte is read).
//! Streams (SSE, downloads to disk, WebSocket frames) have their own bounds.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::Stream;

/// Answers that carry a handful of fields: error bodies, realtime tokens,
/// upload initiations and part answers, webhook key sets. fal's largest such
/// answer is a few KiB; a megabyte leaves room for verbose proxies.
pub(crate) const SMALL_BODY_LIMIT: u64 = 1024 * 1024;

/// The default cap on result, status, output and Platform API bodies
/// ([`crate::ClientBuilder::max_response_bytes`]): fal returns files by URL,
/// so even a video's result is small; the high default leaves room for
/// `sync_mode` answers that inline the file as a data URI.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 512 * 1024 * 1024;

/// The body of `response` as its chunks arrive, for the event streams (which
/// bound each event themselves). What reqwest's `bytes_stream` gives, without
/// reqwest's `stream` feature: that feature also builds tokio-util and tokio's
/// file system module, which only the uploads (`storage`) need. The stream ends
/// after the first error.
pub(crate) fn chunks(
    response: reqwest::Response,
) -> impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static {
    futures_util::stream::unfold(Some(response), |response| async move {
        let mut response = response?;
        match response.chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), Some(response))),
            Ok(None) => None,
            Err(e) => Some((Err(e), None)),
        }
    })
}

/// Why a body could not be read whole.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The connection failed or the body was cut.
    Transport(reqwest::Error),
    /// The body (or its announced length) is over `limit` bytes.
    TooLarge { limit: u64 },
    /// No byte arrived for `after` ([`crate::Timeouts::idle_body`]).
    Idle { after: Duration },
}

/// Why the next chunk of a body did not come.
#[derive(Debug)]
pub(crate) enum ChunkError {
    /// The connection failed or the body was cut.
    Transport(reqwest::Error),
    /// No byte arrived for this long.
    Idle(Duration),
}

impl From<ChunkError> for BodyError {
    fn from(err: ChunkError) -> Self {
        match err {
            ChunkError::Transport(err) => BodyError::Transport(err),
            ChunkError::Idle(after) => BodyError::Idle { after },
        }
    }
}

/// The next chunk of `response`'s body, waiting at most `idle` for it: the
/// one idle timer of every body the client reads (whole, or to a file).
pub(crate) async fn next_chunk(
    response: &mut reqwest::Response,
    idle: Duration,
) -> Result<Option<Bytes>, ChunkError> {
    match tokio::time::timeout(idle, response.chunk()).await {
        Ok(chunk) => chunk.map_err(ChunkError::Transport),
        Err(_) => Err(ChunkError::Idle(idle)),
    }
}

/// The whole body of `response`, or [`BodyError::TooLarge`] as soon as it
/// is known to exceed `limit` bytes (decoded size, so a small gzip body that
/// inflates past the limit is refused too), or [`BodyError::Idle`] when no
/// byte came for `idle`.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    limit: u64,
    idle: Duration,
) -> Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut total: u64 = 0;
    while let Some(chunk) = next_chunk(&mut response, idle).await? {
        total = total.saturating_add(chunk.len() as u64);
        if total > limit {
            return Err(BodyError::TooLarge { limit });
        }
        // Most bodies arrive as one chunk: keep it without copying.
        match first.take() {
            None if rest.is_empty() => first = Some(chunk),
            held => {
                if let Some(held) = held {
                    rest.extend_from_slice(&held);
                }
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| rest.freeze()))
}

/// The text of a failed answer's body (at most [`SMALL_BODY_LIMIT`] bytes,
/// lossy UTF-8), or a note saying why it could not be read: what an API
/// error and an upload failure show, read the same way for both.
pub(crate) async fn error_text(response: reqwest::Response, idle: Duration) -> String {
    match read_capped(response, SMALL_BODY_LIMIT, idle).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(BodyError::Transport(err)) => format!("(body could not be read: {err})"),
        Err(BodyError::TooLarge { limit }) => format!("(body over {limit} bytes, not read)"),
        Err(BodyError::Idle { after }) => {
            format!("(body not read: nothing arrived for {after:?})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves `chunks` once, as a chunked body (no length), or with the
    /// `Content-Length` given.
    async fn serve(chunks: Vec<Vec<u8>>, length: Option<u64>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = match length {
                Some(len) => format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\n\r\n"),
                None => "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_owned(),
            };
            let _ = socket.write_all(head.as_bytes()).await;
            for chunk in chunks {
                let framed = match length {
                    Some(_) => chunk,
                    None => [
                        format!("{:x}\r\n", chunk.len()).into_bytes(),
                        chunk,
                        b"\r\n".to_vec(),
                    ]
                    .concat(),
                };
                if socket.write_all(&framed).await.is_err() {
                    return;
                }
                let _ = socket.flush().await;
            }
            if length.is_none() {
                let _ = socket.write_all(b"0\r\n\r\n").await;
            }
        });
        format!("http://{addr}/")
    }

    async fn read(
        chunks: Vec<Vec<u8>>,
        length: Option<u64>,
        limit: u64,
    ) -> Result<Bytes, BodyError> {
        let url = serve(chunks, length).await;
        let response = reqwest::get(url).await.unwrap();
        read_capped(response, limit, Duration::from_secs(60)).await
    }

    #[tokio::test]
    async fn bodies_up_to_the_limit_arrive_whole() {
        let parts = vec![b"abc".to_vec(), b"defg".to_vec(), b"h".to_vec()];
        let body = read(parts, None, 8).await.unwrap();
        assert_eq!(&body[..], b"abcdefgh");
        let body = read(vec![b"abcdefgh".to_vec()], Some(8), 8).await.unwrap();
        assert_eq!(&body[..], b"abcdefgh");
        let body = read(vec![], Some(0), 8).await.unwrap();
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn an_announced_length_over_the_limit_is_refused_unread() {
        // The server announces 1 GB and sends nothing: refused at once.
        let err = read(vec![], Some(1 << 30), 1024).await.unwrap_err();
        assert!(
            matches!(err, BodyError::TooLarge { limit: 1024 }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_chunked_body_is_cut_off_at_the_limit() {
        let parts = vec![vec![b'x'; 600], vec![b'y'; 600], vec![b'z'; 600]];
        let err = read(parts, None, 1000).await.unwrap_err();
        assert!(
            matches!(err, BodyError::TooLarge { limit: 1000 }),
            "{err:?}"
        );
    }
}
