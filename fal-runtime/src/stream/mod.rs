//! Streaming endpoints: `POST {run}/<id>/stream`, answered with Server-Sent Events.
//!
//! Each event's `data` is one JSON document, a partial output of the model; the last
//! event before the server closes the stream is the final output (fal sends no
//! separate "done" event). [`EventStream`] yields the events typed, and
//! [`EventStream::final_output`] drains it and returns the last one.
//!
//! Failures are typed: each is a [`crate::Error`] carrying the request id, whose
//! [`crate::Error::stream`] is a [`StreamError`]:
//! - an inactivity timeout ([`DEFAULT_IDLE_TIMEOUT`],
//!   [`StreamOptions::inactivity_timeout`]) that fires *during* a silent gap, unlike
//!   fal's JS client which only checks after a chunk arrives; only a complete line
//!   resets it, so bytes that never end a line do not keep a stream alive;
//! - an event over [`DEFAULT_MAX_EVENT_BYTES`] ([`StreamOptions::max_event_bytes`]);
//! - an **error event**: an event named `error`, or whose data is a JSON object with a
//!   non-null `error` member (`{"error": "message"}` or
//!   `{"error": {"message": …, "error_type": …}}`), matching fal's streaming apps whose
//!   partial outputs carry `"error": null`. It ends the stream;
//! - a 2xx body that is not `text/event-stream`, data that is not the expected JSON,
//!   and a body that stops early (connection error, or closed mid-event).

mod error;
mod event;
// The verbs (`client.stream`, `StreamCall`); the types below are always
// compiled, since the queue's status stream shares `StreamError`.
#[cfg(feature = "stream")]
mod request;
pub(crate) mod sse;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

pub use error::StreamError;
#[cfg(feature = "stream")]
pub use request::StreamCall;
pub use sse::SseError;

pub(crate) use sse::SseBody;

/// How long any event stream (a `/stream` call or a queue status stream) may
/// go without a complete line (an event field or a keep-alive comment) before
/// it fails with [`StreamError::Idle`]: fal's servers send one at least every
/// 15 s, and fal's JS client gives up after the same 15 s.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// The largest single event any event stream accepts by default, in bytes:
/// partial outputs may embed previews as data URIs, and a status event may
/// carry many log lines; 32 MiB leaves room for those while bounding what a
/// misbehaving server can make the client buffer. A larger event fails the
/// stream with [`SseError::EventTooLarge`] ([`crate::ErrorKind::TooLarge`]).
pub const DEFAULT_MAX_EVENT_BYTES: usize = 32 << 20;

/// Settings of an event stream: a `/stream` call, or the queue status stream
/// ([`crate::QueueHandle::status_stream_with`]).
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// `None`: the client's [`crate::Timeouts::stream_idle`].
    inactivity_timeout: Option<Duration>,
    max_event_bytes: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            inactivity_timeout: None,
            max_event_bytes: DEFAULT_MAX_EVENT_BYTES,
        }
    }
}

impl StreamOptions {
    /// Longest wait for the next complete line (event field or keep-alive)
    /// before the stream fails with [`StreamError::Idle`]. Default: the
    /// client's [`Timeouts::stream_idle`](crate::Timeouts::stream_idle)
    /// ([`DEFAULT_IDLE_TIMEOUT`] unless the client sets another).
    pub fn inactivity_timeout(mut self, timeout: Duration) -> Self {
        self.inactivity_timeout = Some(timeout);
        self
    }

    /// These options, with `idle` as the inactivity timeout unless one was set.
    pub(crate) fn or_idle(&self, idle: Duration) -> StreamOptions {
        StreamOptions {
            inactivity_timeout: Some(self.inactivity_timeout.unwrap_or(idle)),
            max_event_bytes: self.max_event_bytes,
        }
    }

    /// The inactivity timeout in force.
    pub(crate) fn idle(&self) -> Duration {
        self.inactivity_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT)
    }

    /// Largest event accepted, in bytes. Default [`DEFAULT_MAX_EVENT_BYTES`].
    pub fn max_event_bytes(mut self, limit: usize) -> Self {
        self.max_event_bytes = limit;
        self
    }
}

/// The events of one `/stream` call, each decoded as `T`.
///
/// `T` defaults to the endpoint's output type; choose another (or
/// `serde_json::Value`) with [`StreamCall::output`]. The stream ends after the
/// first error it yields.
pub struct EventStream<T> {
    request_id: Option<String>,
    inner: BoxStream<'static, Result<T>>,
}

impl<T> std::fmt::Debug for EventStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned + Send + 'static> EventStream<T> {
    /// Wraps a response body already known to be an event stream.
    #[cfg_attr(not(feature = "stream"), allow(dead_code))]
    pub(crate) fn from_body<S>(body: S, request_id: Option<String>, options: &StreamOptions) -> Self
    where
        S: Stream<Item = Result<Bytes, reqwest::Error>> + Send + 'static,
    {
        let events = SseBody::new(body, options);
        let id = request_id.clone();
        let inner = futures_util::stream::unfold(Some(events), move |events| {
            let id = id.clone();
            async move {
                let mut events = events?;
                match events.next().await? {
                    Ok(event) => match event::decode::<T>(&event) {
                        Ok(value) => Some((Ok(value), Some(events))),
                        Err(kind) => Some((Err(stream_error(kind, id.as_deref())), None)),
                    },
                    Err(kind) => Some((Err(stream_error(kind, id.as_deref())), None)),
                }
            }
        })
        .boxed();
        Self { request_id, inner }
    }

    /// Reads every remaining event and returns the last one: the final output.
    /// Fails with the first error, or with [`StreamError::NoEvents`] if the
    /// stream had no event at all.
    pub async fn final_output(mut self) -> Result<T> {
        let mut last = None;
        while let Some(item) = self.inner.next().await {
            last = Some(item?);
        }
        last.ok_or_else(|| stream_error(StreamError::NoEvents, self.request_id.as_deref()))
    }
}

impl<T> EventStream<T> {
    /// The `x-fal-request-id` of the response, when fal sent one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
}

impl<T> Stream for EventStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// `kind` as the crate's error, naming the request.
fn stream_error(kind: StreamError, request_id: Option<&str>) -> Error {
    let error = Error::from(kind);
    match request_id {
        Some(id) => error.with_request_id(id),
        None => error,
    }
}

/// Not public API: lets the benchmark drive the parsing layers without a socket.
#[doc(hidden)]
pub mod __bench {
    use std::collections::VecDeque;

    use super::sse::SseParser;
    use super::*;

    /// Frames `body` fed in `chunk`-byte pieces; returns the number of events.
    pub fn frame(body: &[u8], chunk: usize) -> Result<usize, SseError> {
        let mut parser = SseParser::new(usize::MAX);
        let mut ready = VecDeque::new();
        let mut count = 0;
        for piece in body.chunks(chunk.max(1)) {
            parser.push(piece, &mut ready)?;
            count += ready.len();
            ready.clear();
        }
        parser.finish()?;
        Ok(count)
    }

    /// Frames and decodes every event as `T`, as [`EventStream`] does.
    pub fn decode<T: DeserializeOwned>(body: &[u8], chunk: usize) -> Result<usize, StreamError> {
        let mut parser = SseParser::new(usize::MAX);
        let mut ready = VecDeque::new();
        let mut count = 0;
        for piece in body.chunks(chunk.max(1)) {
            parser
                .push(piece, &mut ready)
                .map_err(StreamError::Malformed)?;
            for event in ready.drain(..) {
                std::hint::black_box(event::decode::<T>(&event)?);
                count += 1;
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `chunks` through the whole typed pipeline, as a response body would.
    fn collect(chunks: Vec<Vec<u8>>) -> Vec<Result<serde_json::Value>> {
        let body = futures_util::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c))));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let options = StreamOptions::default().max_event_bytes(4096);
            EventStream::<serde_json::Value>::from_body(body, Some("req-1".into()), &options)
                .collect()
                .await
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_end_in_events_or_one_error(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)
        ) {
            let items = collect(chunks);
            // At most one error, and only as the last item.
            let errors = items.iter().filter(|i| i.is_err()).count();
            prop_assert!(errors <= 1);
            if errors == 1 {
                prop_assert!(items.last().is_some_and(|i| i.is_err()));
            }
        }

        #[test]
        fn a_body_cut_inside_the_final_event_is_reported_as_cut(
            values in proptest::collection::vec(any::<u32>(), 1..5),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut body = Vec::new();
            for v in &values {
                body.extend_from_slice(format!("data: {{\"n\":{v}}}\n\n").as_bytes());
            }
            let last_start = body.len() - format!("data: {{\"n\":{}}}\n\n", values[values.len() - 1]).len();
            // Cut anywhere after the last event started but before its blank line.
            let at = last_start + 1 + cut.index(body.len() - last_start - 2);
            body.truncate(at);
            let items = collect(vec![body]);
            let (last, good) = items.split_last().unwrap();
            prop_assert_eq!(good.len(), values.len() - 1);
            let cut_error = last.as_ref().err().is_some_and(|e| e.stream().is_some_and(StreamError::is_cut) && e.request_id() == Some("req-1"));
            prop_assert!(cut_error);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_timeout_fires_during_a_silent_gap() {
        let body = futures_util::stream::iter([Ok(Bytes::from_static(b"data: 1\n\n"))])
            .chain(futures_util::stream::pending());
        let options = StreamOptions::default().inactivity_timeout(Duration::from_secs(2));
        let mut events = EventStream::<u32>::from_body(body, None, &options);
        assert_eq!(events.next().await.unwrap().unwrap(), 1);
        let error = events.next().await.unwrap().unwrap_err();
        assert!(
            error.stream().is_some_and(StreamError::is_timeout),
            "{error}"
        );
        assert!(
            events.next().await.is_none(),
            "the stream ends after its error"
        );
    }
}
