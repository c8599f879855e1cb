//! [`Timeouts`]: every wait the client makes, and its bound (the table is on
//! the type).

use std::time::Duration;

use crate::http::Operation;

/// The bound of every wait the client makes.
///
/// A broken or hostile host can leave a connection open and say nothing,
/// send headers and then nothing, or drip a body one byte at a time. None of
/// these may hold a call forever, so every wait below has a finite default,
/// set once per client with [`ClientBuilder::timeouts`](crate::ClientBuilder::timeouts).
/// Each bound is enforced in one place, by one timer:
///
/// | wait | field | default | where it is enforced |
/// |---|---|---|---|
/// | TCP/TLS connect | [`connect`](Timeouts::connect) | 30 s | the HTTP client's connect timeout (not applied to a client given with `http_client`) |
/// | a gap between two chunks of a body read into memory (results, statuses, outputs, errors, upload answers, key sets, downloads) | [`idle_body`](Timeouts::idle_body) | 30 s | the one body reader (`body.rs`) |
/// | submit (and a Platform API write that cannot be repeated): one attempt, headers and body | [`submit`](Timeouts::submit) | 60 s | the request's total timeout, set in the one retry loop |
/// | status: one poll; the response headers of a status stream | [`status`](Timeouts::status) | 60 s | total timeout; headers timer of the retry loop |
/// | result: one attempt; the response headers of a file download | [`result`](Timeouts::result) | 10 min | total timeout; headers timer |
/// | cancel: one attempt | [`cancel`](Timeouts::cancel) | 60 s | total timeout |
/// | direct run: one attempt, headers and body | [`run`](Timeouts::run) | 15 min | total timeout |
/// | `/stream`: the response headers | [`stream_headers`](Timeouts::stream_headers) | 15 min | headers timer |
/// | any event stream (`/stream`, status stream): a gap without a complete line | [`stream_idle`](Timeouts::stream_idle) | 15 s | the one SSE reader (`stream/sse.rs`) |
/// | upload: one PUT of the content or of one part | [`upload_part`](Timeouts::upload_part) | 10 min | total timeout |
/// | upload: `initiate` and `complete`, one attempt each | [`upload_complete`](Timeouts::upload_complete) | 60 s | total timeout |
/// | any other API call (realtime tokens, Platform API reads and repeatable writes), one attempt | [`other_calls`](Timeouts::other_calls) | 60 s | total timeout |
/// | realtime WebSocket handshake | [`realtime_handshake`](Timeouts::realtime_handshake) | 30 s | the session's connect |
/// | webhook key set (JWKS) fetch | [`jwks`](Timeouts::jwks) | 10 s | total timeout of that fetch |
///
/// Bounds are per attempt: a call the [`RetryPolicy`](crate::RetryPolicy)
/// retries waits at most `(max_retries + 1)` times its bound plus the backoff
/// in between, which is finite too. A body still arriving is bounded by the
/// total of its call, so dripping bytes only keeps it alive until then; file
/// downloads, which may be gigabytes, have no total and are bounded by their
/// headers, the idle gap and [`max_response_bytes`](crate::ClientBuilder::max_response_bytes).
/// `subscribe` and a queue request as a whole have no bound by default (a
/// model may run for hours): [`Subscribe::timeout`](crate::Subscribe::timeout)
/// gives one, which cancels the request when it fires.
///
/// A client given its own HTTP client
/// ([`http_client`](crate::ClientBuilder::http_client)) and no `timeouts`
/// keeps that client's timeout settings in place of the totals above.
///
/// Per call, [`RequestOptions::client_timeout`](crate::RequestOptions::client_timeout)
/// replaces the bound of one submit, run or `/stream` call, and
/// [`StreamOptions::inactivity_timeout`](crate::stream::StreamOptions::inactivity_timeout)
/// the idle gap of one event stream.
///
/// A bound that fires is an error of kind
/// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) naming the call and URL
/// (and the request id when known).
///
/// ```
/// use std::time::Duration;
/// let mut timeouts = fal_runtime::Timeouts::default();
/// timeouts.run = Duration::from_secs(120);
/// let client = fal_runtime::Client::builder().timeouts(timeouts).build()?;
/// # Ok::<(), fal_runtime::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Establishing a TCP (and TLS) connection. Default 30 s.
    pub connect: Duration,
    /// The longest gap between two chunks of a body the client reads whole
    /// (a result, status, output, error, upload answer, key set or
    /// download). Default 30 s.
    pub idle_body: Duration,
    /// One submit attempt, from sending to the end of the answer. Default 60 s.
    pub submit: Duration,
    /// One status poll, and the wait for a status stream's response headers.
    /// Default 60 s.
    pub status: Duration,
    /// One result fetch, and the wait for a file download's response headers.
    /// Default 10 min (a result may inline large files as data URIs).
    pub result: Duration,
    /// One cancel attempt. Default 60 s.
    pub cancel: Duration,
    /// One direct run, from sending to the end of the output. The connection
    /// stays open while the model runs, so this is also the longest run
    /// awaited; a longer job belongs on the queue. Default 15 min.
    pub run: Duration,
    /// The wait for a `/stream` call's response headers (fal answers once a
    /// runner starts). Default 15 min.
    pub stream_headers: Duration,
    /// The longest gap without a complete line (an event field or keep-alive)
    /// on an event stream: `/stream` calls and the queue status stream.
    /// Default 15 s (fal sends a keep-alive at least that often).
    pub stream_idle: Duration,
    /// One PUT of upload content: the single PUT, or one multipart part.
    /// Default 10 min.
    pub upload_part: Duration,
    /// One attempt of an upload's small calls: `initiate` and `complete`.
    /// Default 60 s.
    pub upload_complete: Duration,
    /// One attempt of any other API call: realtime tokens, Platform APIs.
    /// Default 60 s.
    pub other_calls: Duration,
    /// A realtime WebSocket handshake. Default 30 s.
    pub realtime_handshake: Duration,
    /// One fetch of the webhook key set (JWKS). Default 10 s.
    pub jwks: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        const MINUTE: u64 = 60;
        Timeouts {
            connect: Duration::from_secs(30),
            idle_body: Duration::from_secs(30),
            submit: Duration::from_secs(MINUTE),
            status: Duration::from_secs(MINUTE),
            result: Duration::from_secs(10 * MINUTE),
            cancel: Duration::from_secs(MINUTE),
            run: Duration::from_secs(15 * MINUTE),
            stream_headers: Duration::from_secs(15 * MINUTE),
            stream_idle: crate::stream::DEFAULT_IDLE_TIMEOUT,
            upload_part: Duration::from_secs(10 * MINUTE),
            upload_complete: Duration::from_secs(MINUTE),
            other_calls: Duration::from_secs(MINUTE),
            realtime_handshake: Duration::from_secs(30),
            jwks: Duration::from_secs(10),
        }
    }
}

/// How one attempt of an operation is bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Bound {
    /// From sending to the end of the body (the request's total timeout).
    Total(Duration),
    /// Until the response headers; the body is a stream (or a file) bounded
    /// by its own idle timer.
    Headers(Duration),
}

impl Timeouts {
    /// The bound of one attempt of `operation` (the table in the module docs).
    pub(crate) fn bound(&self, operation: Operation) -> Bound {
        match operation {
            Operation::Submit => Bound::Total(self.submit),
            Operation::Status => Bound::Total(self.status),
            Operation::StatusStream => Bound::Headers(self.status),
            Operation::Result => Bound::Total(self.result),
            Operation::Cancel => Bound::Total(self.cancel),
            Operation::Run => Bound::Total(self.run),
            Operation::Stream => Bound::Headers(self.stream_headers),
            Operation::Upload => Bound::Total(self.upload_complete),
            Operation::Download => Bound::Headers(self.result),
            Operation::Token | Operation::Platform => Bound::Total(self.other_calls),
        }
    }
}

#[cfg(test)]
mod tests {
    /// docs/timeouts.md shows the same table as the rustdoc above.
    #[test]
    fn the_docs_table_is_this_table() {
        let docs = include_str!("../../docs/timeouts.md");
        let rows: Vec<String> = include_str!("timeouts.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("/// |"))
            .map(|row| unlinked(&format!("|{row}")))
            .collect();
        assert!(rows.len() > 10, "the table is found");
        for row in rows {
            assert!(docs.contains(&row), "docs/timeouts.md lacks: {row}");
        }
    }

    /// ``[`x`](Timeouts::x)`` as `` `x` ``.
    fn unlinked(row: &str) -> String {
        let mut out = String::new();
        let mut rest = row;
        while let Some(start) = rest.find("[`") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            match (after.find("`]("), after.find(')')) {
                (Some(name_end), Some(close)) if name_end < close => {
                    out.push_str(&after[..name_end + 1]);
                    rest = &after[close + 1..];
                }
                _ => {
                    out.push('[');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}
