//! What can go wrong once an event stream (a `/stream` response or a queue
//! status stream) has started.

use std::time::Duration;

use super::sse::SseError;
use crate::ErrorKind;

/// A failure of an event stream after the server accepted the call (HTTP errors
/// before the first byte are ordinary API errors). It reaches callers inside a
/// [`crate::Error`], which also carries the request id; [`crate::Error::stream`]
/// gives it back.
#[derive(Debug)]
#[non_exhaustive]
pub enum StreamError {
    /// Nothing arrived within the idle timeout, so the stream was abandoned
    /// rather than left hanging on a silent server.
    Idle(Duration),
    /// The server answered 2xx but not with `text/event-stream`.
    NotEventStream {
        /// The `Content-Type` the response carried.
        content_type: Option<String>,
    },
    /// The connection failed while the body was being read.
    Interrupted(reqwest::Error),
    /// The bytes were not a valid event stream (including a body cut mid-event
    /// and an event over the size limit).
    Malformed(SseError),
    /// An event's data was not JSON of the expected type.
    InvalidEvent {
        /// The JSON or type mismatch.
        source: serde_json::Error,
        /// The first characters of the offending data, escaped when shown.
        excerpt: String,
    },
    /// The server sent an error event (see [`crate::stream`] for the recognised shape).
    ErrorEvent {
        /// The error's message.
        message: String,
        /// `error_type`, when the event named one.
        error_type: Option<String>,
        /// The whole event data, for details the message does not carry.
        payload: serde_json::Value,
    },
    /// The stream ended without a single event, so there is no final output.
    NoEvents,
    /// A status stream ended (cleanly, between events) before the request
    /// completed.
    EndedEarly,
}

// Written out rather than derived with thiserror: these two error types are
// compiled into every build, and the derive macro was a proc-macro crate of its
// own for the lightest client (`default-features = false`).
impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Idle(after) => {
                write!(
                    f,
                    "nothing arrived for {} s (idle timeout)",
                    after.as_secs_f64()
                )
            }
            Self::NotEventStream { content_type } => write!(
                f,
                "expected a text/event-stream response, got content type {}",
                content_type.as_deref().unwrap_or("(none)")
            ),
            Self::Interrupted(_) => f.write_str("the event stream was interrupted"),
            Self::Malformed(inner) => inner.fmt(f),
            Self::InvalidEvent { excerpt, .. } => write!(
                f,
                "event data is not the expected JSON; data starts with {excerpt:?}"
            ),
            Self::ErrorEvent { message, .. } => {
                write!(f, "the server sent an error event: {message}")
            }
            Self::NoEvents => f.write_str("the stream ended without any event"),
            Self::EndedEarly => f.write_str("the status stream ended before the request completed"),
        }
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Interrupted(source) => Some(source),
            // `Malformed` is transparent: its source is the inner error's.
            Self::Malformed(inner) => inner.source(),
            Self::InvalidEvent { source, .. } => Some(source),
            _ => None,
        }
    }
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
