//! What can go wrong once an event stream (a `/stream` response or a queue
//! status stream) has started.

use std::time::Duration;

use super::sse::SseError;
use crate::ErrorKind;

/// A failure of an event stream after the server accepted the call (HTTP errors
/// before the first byte are ordinary API errors). It reaches callers inside a
/// [`crate::Error`], which also carries the request id; [`crate::Error::stream`]
/// gives it back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// Nothing arrived within the idle timeout, so the stream was abandoned
    /// rather than left hanging on a silent server.
    #[error("nothing arrived for {} s (idle timeout)", .0.as_secs_f64())]
    Idle(Duration),
    /// The server answered 2xx but not with `text/event-stream`.
    #[error("expected a text/event-stream response, got content type {}", .content_type.as_deref().unwrap_or("(none)"))]
    NotEventStream {
        /// The `Content-Type` the response carried.
        content_type: Option<String>,
    },
    /// The connection failed while the body was being read.
    #[error("the event stream was interrupted")]
    Interrupted(#[source] reqwest::Error),
    /// The bytes were not a valid event stream (including a body cut mid-event
    /// and an event over the size limit).
    #[error(transparent)]
    Malformed(SseError),
    /// An event's data was not JSON of the expected type.
    #[error("event data is not the expected JSON; data starts with {excerpt:?}")]
    InvalidEvent {
        /// The JSON or type mismatch.
        #[source]
        source: serde_json::Error,
        /// The first characters of the offending data, escaped when shown.
        excerpt: String,
    },
    /// The server sent an error event (see [`crate::stream`] for the recognised shape).
    #[error("the server sent an error event: {message}")]
    ErrorEvent {
        /// The error's message.
        message: String,
        /// `error_type`, when the event named one.
        error_type: Option<String>,
        /// The whole event data, for details the message does not carry.
        payload: serde_json::Value,
    },
    /// The stream ended without a single event, so there is no final output.
    #[error("the stream ended without any event")]
    NoEvents,
    /// A status stream ended (cleanly, between events) before the request
    /// completed.
    #[error("the status stream ended before the request completed")]
    EndedEarly,
}

impl StreamError {
    /// True when the body stopped early: the connection broke, or it closed in the
    /// middle of an event, or a status stream closed before completion. What was
    /// received so far is then not the whole story.
    pub fn is_cut(&self) -> bool {
        matches!(
            self,
            Self::Interrupted(_)
                | Self::Malformed(SseError::Unterminated { .. })
                | Self::EndedEarly
        )
    }

    /// True when the idle timeout fired.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Idle(_))
    }

    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            Self::Idle(_) => ErrorKind::Timeout,
            Self::Interrupted(err) if err.is_timeout() => ErrorKind::Timeout,
            Self::Interrupted(_) | Self::EndedEarly => ErrorKind::Transport,
            Self::Malformed(SseError::Unterminated { .. }) => ErrorKind::Transport,
            Self::Malformed(SseError::EventTooLarge { .. }) => ErrorKind::TooLarge,
            Self::Malformed(_) | Self::NotEventStream { .. } => ErrorKind::Decode,
            Self::InvalidEvent { .. } | Self::NoEvents => ErrorKind::Decode,
            Self::ErrorEvent { .. } => ErrorKind::Reported,
        }
    }
}
