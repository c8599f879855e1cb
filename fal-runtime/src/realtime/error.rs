//! What can go wrong in a realtime session.

use std::time::Duration;

use crate::error::BoxError;
use crate::ErrorKind;

/// A realtime failure. Errors the server reports about one input (`x-fal-error`,
/// undecodable outputs) arrive through [`super::Realtime::recv`] and the session
/// goes on; connection failures arrive the same way after the reconnect attempts
/// are spent. Converts into [`crate::Error`] (whose [`crate::Error::realtime`]
/// gives it back) with `?`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RealtimeError {
    /// `max_buffering` must be 1..=60 (spec 6.2).
    #[error("max_buffering must be between 1 and 60, got {0}")]
    InvalidMaxBuffering(u32),
    /// The run URL cannot form a realtime URL.
    #[error("cannot build the realtime URL: {0}")]
    InvalidUrl(&'static str),
    /// The input could not be encoded as msgpack.
    #[error("could not encode the input as msgpack")]
    Encode(#[source] BoxError),
    /// A server frame was not valid msgpack/JSON of the expected output type.
    #[error("could not decode a {format} frame from the server")]
    Decode {
        /// `msgpack` (binary frame) or `JSON` (text frame).
        format: &'static str,
        /// The decoder's error.
        #[source]
        source: BoxError,
    },
    /// The server reported an error (`x-fal-error` other than the idle `TIMEOUT`, or
    /// a `{"status":"error"}` message).
    #[error("the realtime server reported {error}{}", .reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Server {
        /// The error code, e.g. `INTERNAL_ERROR`.
        error: String,
        /// The explanation, when the server gave one.
        reason: Option<String>,
    },
    /// Getting a temporary token from the REST host failed.
    #[error("could not obtain a realtime token")]
    Token(#[source] Box<crate::Error>),
    /// The token endpoint answered with something that is not a token.
    #[error("the token endpoint returned an unexpected body: {0}")]
    TokenResponse(String),
    /// The server refused the WebSocket upgrade with an HTTP status.
    #[error("the server refused the WebSocket upgrade with HTTP {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The WebSocket handshake did not finish within its bound.
    #[error("the realtime handshake took longer than {0:?}")]
    HandshakeTimeout(Duration),
    /// The WebSocket connection failed or broke.
    #[error("realtime connection failed")]
    Connection(#[source] BoxError),
    /// The server kept closing the connection before answering the latest input.
    #[error("the realtime server closed the connection {attempts} times without answering")]
    Closed {
        /// How many connections were tried for the input.
        attempts: u32,
    },
}

impl RealtimeError {
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidMaxBuffering(_) | Self::InvalidUrl(_) => ErrorKind::Config,
            Self::Encode(_) => ErrorKind::Input,
            Self::Decode { .. } | Self::TokenResponse(_) => ErrorKind::Decode,
            Self::Server { .. } => ErrorKind::Reported,
            Self::Token(inner) => inner.kind(),
            Self::Refused { .. } => ErrorKind::Api,
            Self::HandshakeTimeout(_) => ErrorKind::Timeout,
            Self::Connection(_) | Self::Closed { .. } => ErrorKind::Transport,
        }
    }

    pub(crate) fn status(&self) -> Option<http::StatusCode> {
        match self {
            Self::Token(inner) => inner.status(),
            Self::Refused { status, .. } => http::StatusCode::from_u16(*status).ok(),
            _ => None,
        }
    }
}
