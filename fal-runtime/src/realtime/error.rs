//! What can go wrong in a realtime session.

/// A realtime failure. Errors the server reports about one input (`x-fal-error`,
/// undecodable outputs) arrive through [`super::Realtime::recv`] and the session
/// goes on; connection failures arrive the same way after the reconnect attempts
/// are spent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RealtimeError {
    /// `max_buffering` must be 1..=60 (spec 6.2).
    #[error("max_buffering must be between 1 and 60, got {0}")]
    InvalidMaxBuffering(u32),
    /// The endpoint id or run URL cannot form a realtime URL.
    #[error("cannot build the realtime URL: {0}")]
    InvalidUrl(String),
    /// The input could not be encoded as msgpack.
    #[error("could not encode the input as msgpack: {0}")]
    Encode(String),
    /// A server frame was not valid msgpack/JSON of the expected output type.
    #[error("could not decode a {format} frame from the server: {detail}")]
    Decode {
        /// `msgpack` (binary frame) or `JSON` (text frame).
        format: &'static str,
        /// The decoder's message.
        detail: String,
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
    #[error("could not obtain a realtime token: {0}")]
    Token(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The token endpoint answered with something that is not a token.
    #[error("the token endpoint returned an unexpected body: {0}")]
    TokenResponse(String),
    /// The WebSocket handshake or the socket itself failed.
    #[error("realtime connection failed: {0}")]
    Connection(String),
    /// The server kept closing the connection before answering the latest input.
    #[error("the realtime server closed the connection {attempts} times without answering")]
    Closed {
        /// How many connections were tried for the input.
        attempts: u32,
    },
}

impl From<RealtimeError> for crate::Error {
    fn from(error: RealtimeError) -> Self {
        crate::Error::Realtime(Box::new(error))
    }
}
