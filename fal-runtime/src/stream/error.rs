//! What can go wrong once a `/stream` response has started.

use std::fmt;
use std::time::Duration;

use super::sse::SseError;

/// A failure of a `/stream` call after the server accepted it (HTTP errors before the
/// first byte are the crate's ordinary [`crate::Error`]). Carries the request id fal
/// assigned, when the response had one, so a failure can be reported to fal.
#[derive(Debug, thiserror::Error)]
#[error("{kind}{}", RequestIdSuffix(.request_id.as_deref()))]
pub struct StreamError {
    /// What went wrong.
    pub kind: StreamErrorKind,
    /// `x-fal-request-id` of the response, if it had one.
    pub request_id: Option<String>,
}

/// The ways a stream fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamErrorKind {
    /// No event arrived within the inactivity timeout, so the call was abandoned
    /// rather than left hanging on a silent server.
    #[error("no event arrived for {} s (inactivity timeout)", .0.as_secs_f64())]
    InactivityTimeout(Duration),
    /// The server answered 2xx but not with `text/event-stream`.
    #[error("expected a text/event-stream response, got content type {}", .content_type.as_deref().unwrap_or("(none)"))]
    NotEventStream {
        /// The `Content-Type` the response carried.
        content_type: Option<String>,
    },
    /// The connection failed while the body was being read.
    #[error("the event stream was interrupted: {0}")]
    Interrupted(#[source] reqwest::Error),
    /// The bytes were not a valid event stream (including a body cut mid-event).
    #[error(transparent)]
    Malformed(SseError),
    /// An event's data was not JSON of the expected type.
    #[error("event data is not the expected JSON ({source}); data starts with {excerpt:?}")]
    InvalidEvent {
        /// The JSON or type mismatch.
        #[source]
        source: serde_json::Error,
        /// The first bytes of the offending data, for the error message.
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
}

impl StreamError {
    pub(crate) fn new(kind: StreamErrorKind, request_id: Option<&str>) -> Self {
        Self {
            kind,
            request_id: request_id.map(str::to_owned),
        }
    }

    /// True when the body stopped early: the connection broke, or it closed in the
    /// middle of an event. The output received so far is then not the final one.
    pub fn is_cut(&self) -> bool {
        matches!(
            self.kind,
            StreamErrorKind::Interrupted(_)
                | StreamErrorKind::Malformed(SseError::Unterminated { .. })
        )
    }

    /// True when the inactivity timeout fired.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, StreamErrorKind::InactivityTimeout(_))
    }
}

impl From<StreamError> for crate::Error {
    fn from(error: StreamError) -> Self {
        crate::Error::EventStream(Box::new(error))
    }
}

struct RequestIdSuffix<'a>(Option<&'a str>);

impl fmt::Display for RequestIdSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, " (request id {id})"),
            None => Ok(()),
        }
    }
}
