//! Every way a call to fal can fail, as one typed [`Error`].
//!
//! [`Error`] is opaque, like `std::io::Error` or `reqwest::Error`: callers ask it
//! what happened ([`Error::kind`]), about which request ([`Error::request_id`]),
//! with which HTTP status ([`Error::status`]), and reach the detail of a family
//! (fal's error body, an upload, a stream, a realtime session, a webhook) through
//! one accessor each. Its internals can then grow without breaking anyone.
//!
//! fal reports failures in several shapes (spec 9): a FastAPI `detail` string or a
//! list of `{loc, msg, type}` objects, a top-level `message`, an `errors` list of
//! `{field, message}`, plus headers (`x-fal-request-id`, `x-fal-error-type`,
//! `x-fal-request-timeout-type`, `Retry-After`). [`ApiError`] folds all of them into
//! one value so callers match on meaning, not on wire shapes.
//!
//! Display shows one level and [`std::error::Error::source`] the next, the
//! convention error reporters rely on: print the chain to see every cause once.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

use crate::http::Operation;
#[cfg(feature = "realtime")]
use crate::realtime::RealtimeError;
#[cfg(feature = "storage")]
use crate::storage::UploadError;
use crate::stream::StreamError;
#[cfg(feature = "webhook")]
use crate::webhook::WebhookError;
use crate::InvalidEndpointId;

/// `Result` with this crate's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A cause of any type, for the few errors whose cause comes from a dependency
/// that is not part of this crate's API.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How many bytes of a body an error message shows.
const BODY_PREVIEW: usize = 512;

/// A failed call to fal.
///
/// ```no_run
/// # async fn demo(client: fal_runtime::Client) {
/// use fal_runtime::ErrorKind;
/// match client.endpoint("fal-ai/flux/dev").subscribe(serde_json::json!({})).await {
///     Ok(output) => println!("{output}"),
///     Err(err) if err.kind() == ErrorKind::Api => {
///         eprintln!("fal refused (HTTP {:?}): {err}", err.status());
///         for field in err.field_errors() {
///             eprintln!("  {}: {}", field.path, field.message);
///         }
///     }
///     Err(err) => eprintln!("request {:?} failed: {err}", err.request_id()),
/// }
/// # }
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    repr: Repr,
    /// The request this failure concerns, when the client knows it (it was
    /// following that request, or the failing response named it).
    request_id: Option<String>,
    /// Request ids that earlier attempts of the same call were answered with
    /// before the client retried (oldest first).
    earlier_request_ids: Vec<String>,
}

/// What happened; private so that the public surface is the accessors.
pub(crate) enum Repr {
    Api(ApiError),
    Transport {
        operation: Operation,
        /// The URL meant (never carries a credential), and the proxy it went through.
        url: String,
        source: reqwest::Error,
    },
    Decode {
        what: &'static str,
        /// The serde path of the value that failed (`.` for the root).
        path: String,
        source: serde_json::Error,
        /// A bounded preview of the body.
        body: String,
    },
    // Only `subscribe` has a deadline of its own.
    #[cfg_attr(not(feature = "subscribe"), allow(dead_code))]
    Timeout {
        after: Duration,
        cancelled: bool,
    },
    Input {
        path: String,
        source: serde_json::Error,
    },
    /// The input breaks its schema's rules, found before anything was sent.
    Validation(crate::ValidationError),
    EndpointId(InvalidEndpointId),
    RequestId(String),
    Config {
        message: String,
        source: Option<BoxError>,
    },
    Stream(StreamError),
    #[cfg(feature = "storage")]
    Upload(UploadError),
    #[cfg(feature = "realtime")]
    Realtime(RealtimeError),
    #[cfg(feature = "webhook")]
    Webhook(WebhookError),
    /// A response body over the limit the client reads into memory
    /// ([`crate::body`]).
    TooLarge {
        operation: Operation,
        /// The URL answered (never carries a credential).
        url: String,
        limit: u64,
    },
    /// A wait of one attempt exceeded its bound ([`crate::Timeouts`]): the
    /// response headers of a stream or download, or the next byte of a body.
    Waited {
        operation: Operation,
        /// The URL meant (never carries a credential).
        url: String,
        after: Duration,
        what: Wait,
    },
    /// A call not sent, or a redirect not followed, because its URL lies outside
    /// where the key may go.
    UntrustedUrl {
        operation: Operation,
        /// The URL refused (never carries a credential).
        url: String,
        /// Whether it came from a redirect's `Location`.
        redirected: bool,
    },
}

/// What a call was waiting for when its bound ran out ([`Repr::Waited`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The response headers.
    Headers,
    /// The next bytes of a body.
    Body,
}

/// What kind of failure an [`Error`] is, for deciding what to do about it.
///
/// The kind says what went wrong, whichever part of the client it happened in:
/// an upload part that timed out is [`ErrorKind::Timeout`] (and
/// [`Error::upload`] tells which part).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// fal (or storage) answered with an HTTP error status; [`Error::api`] has
    /// fal's message, field errors and error type.
    Api,
    /// fal reported a failure inside an accepted response: an error event on a
    /// stream, an error frame on a realtime session.
    Reported,
    /// The connection failed or broke before a complete answer arrived.
    Transport,
    /// A wait exceeded its bound: a timeout of the client or of the call.
    Timeout,
    /// An answer arrived but is not what the protocol or the endpoint promised
    /// (wrong JSON shape, not an event stream, a malformed event).
    Decode,
    /// A body, event or line was larger than the limit the client allows
    /// for it; the message names the limit.
    TooLarge,
    /// The input could not be prepared: it does not serialize, or a local file
    /// it names could not be read.
    Input,
    /// The input breaks its schema's rules ([`crate::Endpoint::validate`]),
    /// found before anything was sent: [`Error::field_errors`] lists every
    /// broken rule as a 422 from fal would.
    Validation,
    /// An endpoint id or request id is malformed.
    InvalidId,
    /// The client or a call is misconfigured (a bad URL, header value or option).
    Config,
    /// A webhook delivery failed verification: it is not from fal, or is stale.
    Unverified,
    /// A call was not sent, or a redirect not followed, because its URL lies
    /// outside the configured base URLs and fal's own hosts, the only places the
    /// API key may go (a URL named in a response or a `Location` is never
    /// trusted with it).
    UntrustedUrl,
}

impl Error {
    pub(crate) fn new(repr: Repr) -> Error {
        Error {
            inner: Box::new(Inner {
                repr,
                request_id: None,
                earlier_request_ids: Vec::new(),
            }),
        }
    }

    /// What happened, for the crate's own decisions (the batch runner's).
    #[cfg_attr(not(feature = "batch"), allow(dead_code))]
    pub(crate) fn repr(&self) -> &Repr {
        &self.inner.repr
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match &self.inner.repr {
            Repr::Api(_) => ErrorKind::Api,
            Repr::Transport { source, .. } if source.is_timeout() => ErrorKind::Timeout,
            Repr::Transport { .. } => ErrorKind::Transport,
            Repr::Decode { .. } => ErrorKind::Decode,
            Repr::Timeout { .. } | Repr::Waited { .. } => ErrorKind::Timeout,
            Repr::Input { .. } => ErrorKind::Input,
            Repr::Validation(_) => ErrorKind::Validation,
            Repr::EndpointId(_) | Repr::RequestId(_) => ErrorKind::InvalidId,
            Repr::Config { .. } => ErrorKind::Config,
            Repr::UntrustedUrl { .. } => ErrorKind::UntrustedUrl,
            Repr::TooLarge { .. } => ErrorKind::TooLarge,
            Repr::Stream(err) => err.kind(),
            #[cfg(feature = "storage")]
            Repr::Upload(err) => err.kind(),
            #[cfg(feature = "realtime")]
            Repr::Realtime(err) => err.kind(),
            #[cfg(feature = "webhook")]
            Repr::Webhook(err) => err.kind(),
        }
    }

    /// The HTTP status of the answer that failed, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match &self.inner.repr {
            Repr::Api(api) => Some(api.status),
            #[cfg(feature = "storage")]
            Repr::Upload(err) => err.status(),
            #[cfg(feature = "realtime")]
            Repr::Realtime(err) => err.status(),
            _ => None,
        }
    }

    /// The request id this error concerns: the request the client was following,
    /// else the one the failing answer named.
    pub fn request_id(&self) -> Option<&str> {
        if let Some(id) = &self.inner.request_id {
            return Some(id);
        }
        match &self.inner.repr {
            Repr::Api(api) => api.request_id.as_deref(),
            #[cfg(feature = "storage")]
            Repr::Upload(UploadError::Initiate(inner)) => inner.request_id(),
            _ => None,
        }
    }

    /// The request ids that earlier attempts of this call were answered with
    /// before the client retried it, oldest first: a submit answered 503 names
    /// a request id each time, and none of them is lost when the last attempt
    /// fails too. Empty when the call was not retried or no answer named one.
    pub fn earlier_request_ids(&self) -> &[String] {
        &self.inner.earlier_request_ids
    }

    /// fal's answer, when it answered with an HTTP error status.
    pub fn api(&self) -> Option<&ApiError> {
        match &self.inner.repr {
            Repr::Api(api) => Some(api),
            #[cfg(feature = "storage")]
            Repr::Upload(UploadError::Initiate(inner)) => inner.api(),
            _ => None,
        }
    }

    /// `x-fal-billable-units` of the failing answer, when fal sent it.
    pub fn billable_units(&self) -> Option<f64> {
        self.api().and_then(|api| api.billable_units)
    }

    /// Field-level validation errors: those of a 422 (and friends) from fal, or
    /// the same errors found before sending ([`ErrorKind::Validation`]); empty
    /// when there are none.
    pub fn field_errors(&self) -> &[FieldError] {
        match &self.inner.repr {
            Repr::Validation(err) => err.errors(),
            _ => self.api().map_or(&[], |api| &api.field_errors),
        }
    }

    /// Whether fal gave up because the caller's own start timeout
    /// (`x-fal-request-timeout`) expired; such a 504 is never retried.
    pub fn is_user_timeout(&self) -> bool {
        self.api().is_some_and(|api| api.user_timeout)
    }

    /// Whether the client cancelled the request it gave up on (an overall
    /// timeout fires a cancel, which fal may or may not have accepted).
    pub fn was_cancelled(&self) -> bool {
        matches!(
            self.inner.repr,
            Repr::Timeout {
                cancelled: true,
                ..
            }
        )
    }

    /// The `/stream` or status-stream failure behind this error.
    pub fn stream(&self) -> Option<&StreamError> {
        match &self.inner.repr {
            Repr::Stream(err) => Some(err),
            _ => None,
        }
    }

    /// The storage upload failure behind this error.
    #[cfg(feature = "storage")]
    pub fn upload(&self) -> Option<&UploadError> {
        match &self.inner.repr {
            Repr::Upload(err) => Some(err),
            _ => None,
        }
    }

    /// The realtime session failure behind this error.
    #[cfg(feature = "realtime")]
    pub fn realtime(&self) -> Option<&RealtimeError> {
        match &self.inner.repr {
            Repr::Realtime(err) => Some(err),
            _ => None,
        }
    }

    /// The webhook failure behind this error.
    #[cfg(feature = "webhook")]
    pub fn webhook(&self) -> Option<&WebhookError> {
        match &self.inner.repr {
            Repr::Webhook(err) => Some(err),
            _ => None,
        }
    }

    /// The same error, naming `id` as its request: calls on a queued request use
    /// it so that no failure after submit loses the id.
    pub(crate) fn with_request_id(mut self, id: &str) -> Error {
        if self.inner.request_id.is_none() {
            self.inner.request_id = Some(id.to_owned());
        }
        self
    }

    /// The same error, listing the request ids earlier attempts of its call
    /// were answered with ([`Error::earlier_request_ids`]).
    pub(crate) fn with_earlier_request_ids(mut self, ids: Vec<String>) -> Error {
        self.inner.earlier_request_ids = ids;
        self
    }

    /// A call to `url` refused by the key's scope ([`crate::destination`]).
    pub(crate) fn untrusted_url(operation: Operation, url: &url::Url, redirected: bool) -> Error {
        Error::new(Repr::UntrustedUrl {
            operation,
            url: crate::http::display_url(url),
            redirected,
        })
    }

    /// A misconfiguration, described.
    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::new(Repr::Config {
            message: message.into(),
            source: None,
        })
    }

    /// A misconfiguration and the error that revealed it.
    pub(crate) fn config_because(message: impl Into<String>, source: impl Into<BoxError>) -> Error {
        Error::new(Repr::Config {
            message: message.into(),
            source: Some(source.into()),
        })
    }

    /// A request that never got a (complete) HTTP answer.
    pub(crate) fn transport(operation: Operation, url: String, source: reqwest::Error) -> Error {
        Error::new(Repr::Transport {
            operation,
            url,
            source: source.without_url(),
        })
    }

    /// One attempt waited past its bound ([`crate::Timeouts`]).
    pub(crate) fn waited(operation: Operation, url: String, after: Duration, what: Wait) -> Error {
        Error::new(Repr::Waited {
            operation,
            url,
            after,
            what,
        })
    }

    /// A body over the limit the client reads into memory.
    pub(crate) fn too_large(operation: Operation, url: String, limit: u64) -> Error {
        Error::new(Repr::TooLarge {
            operation,
            url,
            limit,
        })
    }

    /// The client's own deadline for a call expired.
    #[cfg_attr(not(feature = "subscribe"), allow(dead_code))]
    pub(crate) fn timeout(after: Duration, request_id: Option<&str>, cancelled: bool) -> Error {
        let mut err = Error::new(Repr::Timeout { after, cancelled });
        err.inner.request_id = request_id.map(str::to_owned);
        err
    }

    /// An input that does not serialize, at `path`.
    pub(crate) fn validation(err: crate::ValidationError) -> Error {
        Error::new(Repr::Validation(err))
    }

    pub(crate) fn input(path: String, source: serde_json::Error) -> Error {
        Error::new(Repr::Input { path, source })
    }

    /// A request id that cannot name a request.
    pub(crate) fn request_id_invalid(id: &str) -> Error {
        Error::new(Repr::RequestId(id.to_owned()))
    }

    /// Whether the failure happened before any answer: a transport failure
    /// (including a transport timeout), which a caller may retry.
    pub(crate) fn is_transport(&self) -> bool {
        matches!(
            self.inner.repr,
            Repr::Transport { .. } | Repr::Waited { .. }
        )
    }

    /// Reads a non-2xx response into an API error; code that reads responses
    /// itself (streaming, storage) uses this so every failure looks the same.
    pub(crate) async fn from_response(response: reqwest::Response, idle: Duration) -> Error {
        let status = response.status();
        let headers = response.headers().clone();
        let body = crate::body::error_text(response, idle).await;
        Error::new(Repr::Api(ApiError::parse(status, &headers, body)))
    }

    /// A decode error from a `serde_path_to_error` failure.
    pub(crate) fn decode(
        what: &'static str,
        err: serde_path_to_error::Error<serde_json::Error>,
        body: &[u8],
        request_id: Option<&str>,
    ) -> Error {
        let path = err.path().to_string();
        Error::decode_at(what, path, err.into_inner(), body, request_id)
    }

    /// A decode error at `path`.
    pub(crate) fn decode_at(
        what: &'static str,
        path: String,
        source: serde_json::Error,
        body: &[u8],
        request_id: Option<&str>,
    ) -> Error {
        let mut err = Error::new(Repr::Decode {
            what,
            path,
            source,
            body: preview(&String::from_utf8_lossy(body)),
        });
        err.inner.request_id = request_id.map(str::to_owned);
        err
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Error");
        s.field("kind", &self.kind());
        if let Some(id) = self.request_id() {
            s.field("request_id", &id);
        }
        if let Some(status) = self.status() {
            s.field("status", &status);
        }
        s.field("message", &self.to_string());
        if let Some(source) = std::error::Error::source(self) {
            s.field("source", &source);
        }
        s.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_repr(f)?;
        match self.inner.earlier_request_ids.as_slice() {
            [] => Ok(()),
            ids => write!(
                f,
                " (after earlier attempts answered as request {})",
                ids.join(", ")
            ),
        }
    }
}

impl Error {
    /// What happened, without the earlier attempts' ids.
    fn fmt_repr(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.inner.request_id.as_deref();
        match &self.inner.repr {
            Repr::Api(api) => {
                fmt::Display::fmt(api, f)?;
                // The request being followed, when the answer named another one.
                if let Some(id) = id.filter(|id| api.request_id.as_deref() != Some(*id)) {
                    write!(f, " (following request {id})")?;
                }
                Ok(())
            }
            Repr::Transport { operation, url, .. } => {
                write!(f, "{operation} request to {url}{} failed", of_request(id))
            }
            Repr::Decode {
                what, path, body, ..
            } => write!(
                f,
                "could not decode the {what}{} at `{path}`; body: {body}",
                of_request(id)
            ),
            Repr::Timeout { after, cancelled } => write!(
                f,
                "client timed out after {after:?} waiting for request {}{}",
                id.unwrap_or("(not yet submitted)"),
                if *cancelled { " (cancelled)" } else { "" }
            ),
            Repr::Input { path, .. } => write!(f, "could not serialize the input at `{path}`"),
            Repr::Validation(err) => fmt::Display::fmt(err, f),
            Repr::EndpointId(err) => fmt::Display::fmt(err, f),
            Repr::RequestId(bad) => write!(f, "{bad:?} is not a request id"),
            Repr::Config { message, .. } => write!(f, "invalid configuration: {message}"),
            Repr::UntrustedUrl {
                operation,
                url,
                redirected,
            } => write!(
                f,
                "{operation} request {} {url}{}: not sent, as it is outside the configured base URLs and fal's hosts, the only places the API key may go",
                if *redirected { "was redirected to" } else { "to" },
                of_request(id)
            ),
            Repr::Waited {
                operation,
                url,
                after,
                what,
            } => write!(
                f,
                "{operation} request to {url}{}: {} within {after:?} (see fal_runtime::Timeouts)",
                of_request(id),
                match what {
                    Wait::Headers => "no response headers",
                    Wait::Body => "the body stalled: no bytes",
                }
            ),
            Repr::TooLarge {
                operation,
                url,
                limit,
            } => write!(
                f,
                "the {operation} response from {url}{} is larger than {limit} bytes, the most this client reads into memory (see ClientBuilder::max_response_bytes)",
                of_request(id)
            ),
            Repr::Stream(err) => {
                fmt::Display::fmt(err, f)?;
                match id {
                    Some(id) => write!(f, " (request {id})"),
                    None => Ok(()),
                }
            }
            #[cfg(feature = "storage")]
            Repr::Upload(err) => fmt::Display::fmt(err, f),
            #[cfg(feature = "realtime")]
            Repr::Realtime(err) => fmt::Display::fmt(err, f),
            #[cfg(feature = "webhook")]
            Repr::Webhook(err) => fmt::Display::fmt(err, f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.repr {
            Repr::Api(_) | Repr::Timeout { .. } | Repr::RequestId(_) | Repr::Validation(_) => None,
            Repr::UntrustedUrl { .. } | Repr::TooLarge { .. } | Repr::Waited { .. } => None,
            Repr::Transport { source, .. } => Some(source),
            Repr::Decode { source, .. } | Repr::Input { source, .. } => Some(source),
            Repr::EndpointId(_) => None,
            Repr::Config { source, .. } => source
                .as_deref()
                .map(|s| s as &(dyn std::error::Error + 'static)),
            // Family errors are shown transparently: their own message above,
            // their own cause here.
            Repr::Stream(err) => err.source(),
            #[cfg(feature = "storage")]
            Repr::Upload(err) => err.source(),
            #[cfg(feature = "realtime")]
            Repr::Realtime(err) => err.source(),
            #[cfg(feature = "webhook")]
            Repr::Webhook(err) => err.source(),
        }
    }
}

impl From<InvalidEndpointId> for Error {
    fn from(err: InvalidEndpointId) -> Self {
        Error::new(Repr::EndpointId(err))
    }
}

impl From<StreamError> for Error {
    fn from(err: StreamError) -> Self {
        Error::new(Repr::Stream(err))
    }
}

#[cfg(feature = "storage")]
impl From<UploadError> for Error {
    fn from(err: UploadError) -> Self {
        Error::new(Repr::Upload(err))
    }
}

#[cfg(feature = "realtime")]
impl From<RealtimeError> for Error {
    fn from(err: RealtimeError) -> Self {
        Error::new(Repr::Realtime(err))
    }
}

#[cfg(feature = "webhook")]
impl From<WebhookError> for Error {
    fn from(err: WebhookError) -> Self {
        Error::new(Repr::Webhook(err))
    }
}

fn of_request(request_id: Option<&str>) -> String {
    request_id
        .map(|id| format!(" of request {id}"))
        .unwrap_or_default()
}

/// At most [`BODY_PREVIEW`] bytes of `body`, cut on a character boundary,
/// with control characters escaped: text from a host ends up in terminals and
/// logs, where a raw `ESC[2J` or OSC sequence would act instead of showing.
pub(crate) fn preview(body: &str) -> String {
    let mut shown = String::with_capacity(body.len().min(BODY_PREVIEW) + 16);
    for (at, c) in body.char_indices() {
        if shown.len() >= BODY_PREVIEW {
            return format!(
                "{shown}… ({} bytes, {} not shown)",
                body.len(),
                body.len() - at
            );
        }
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// fal's answer to a request it refused or failed.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The human-readable message: `detail` when it is a string, else `message`,
    /// else the field errors joined, else the raw body, else the status text.
    pub message: String,
    /// Field-level errors, from a `detail` list (`loc` turned into a path such as
    /// `body.prompt`) or an `errors` list of `{field, message}`.
    pub field_errors: Vec<FieldError>,
    /// The request id: `x-fal-request-id`, else the body's `request_id` (or
    /// the Platform APIs' `error.request_id`).
    pub request_id: Option<String>,
    /// Machine-readable category: the body's `error_type`, else the Platform
    /// APIs' `error.type` (`validation_error`, `not_found`, …), else `x-fal-error-type`.
    pub error_type: Option<String>,
    /// A 504 caused by the caller's own start timeout (`x-fal-request-timeout-type: user`).
    pub user_timeout: bool,
    /// Whether the response carried `x-fal-request-timeout-type` at all (any value).
    pub timeout_type: Option<String>,
    /// How long fal asked us to wait: `Retry-After`, else the body's `retry_after`.
    pub retry_after: Option<Duration>,
    /// `x-fal-billable-units`: what fal billed for the failed request, when it
    /// said (fal apps send `0` for a refused input).
    pub billable_units: Option<f64>,
    /// The raw body, in full.
    pub body: String,
}

impl ApiError {
    /// Builds the error from the parts of a non-2xx response.
    pub(crate) fn parse(status: StatusCode, headers: &HeaderMap, body: String) -> ApiError {
        let json: Option<Value> = serde_json::from_str(&body).ok();
        let object = json.as_ref().and_then(Value::as_object);
        let field = |name: &str| object.and_then(|o| o.get(name));
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };

        let mut field_errors = Vec::new();
        let mut message = None;
        match field("detail") {
            Some(Value::String(detail)) => message = Some(detail.clone()),
            Some(Value::Array(items)) => {
                field_errors.extend(items.iter().map(FieldError::from_detail))
            }
            Some(other) if !other.is_null() => message = Some(other.to_string()),
            _ => {}
        }
        if let Some(Value::Array(items)) = field("errors") {
            field_errors.extend(items.iter().filter_map(FieldError::from_errors_entry));
        }
        // The Platform APIs' envelope: `{"error": {"type", "message", "docs_url", "request_id"}}`.
        let envelope = field("error").and_then(Value::as_object);
        let enveloped = |name: &str| {
            envelope
                .and_then(|e| e.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if message.is_none() {
            message = field("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| enveloped("message"));
        }
        let message = message
            .or_else(|| {
                (!field_errors.is_empty()).then(|| {
                    field_errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            })
            .or_else(|| {
                let trimmed = body.trim();
                (!trimmed.is_empty()).then(|| preview(trimmed))
            })
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("no reason").to_owned());

        let request_id = header(crate::http::REQUEST_ID)
            .or_else(|| {
                field("request_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .or_else(|| enveloped("request_id"));
        let error_type = field("error_type")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| enveloped("type"))
            .or_else(|| header("x-fal-error-type"));
        let timeout_type = header("x-fal-request-timeout-type");
        let user_timeout = status == StatusCode::GATEWAY_TIMEOUT
            && timeout_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("user"));
        let retry_after = header("retry-after")
            .and_then(|v| parse_retry_after(&v))
            .or_else(|| field("retry_after").and_then(retry_after_from_json));

        ApiError {
            status,
            message,
            field_errors,
            request_id,
            error_type,
            user_timeout,
            timeout_type,
            retry_after,
            billable_units: crate::http::billable_units(headers),
            body,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // fal's text is shown bounded and escaped: it may be huge or hold
        // terminal escapes; `message` and `field_errors` keep it as sent.
        write!(
            f,
            "fal returned HTTP {}: {}",
            self.status,
            preview(&self.message)
        )?;
        if !self.field_errors.is_empty() && !self.message.contains(&self.field_errors[0].message) {
            let fields: Vec<String> = self.field_errors.iter().map(ToString::to_string).collect();
            write!(f, " [{}]", preview(&fields.join("; ")))?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {})", preview(id))?;
        }
        if let Some(kind) = &self.error_type {
            write!(f, " (error type {})", preview(kind))?;
        }
        if self.user_timeout {
            f.write_str(" (the request's own start timeout expired)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// One field-level validation error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldError {
    /// Where the error is, `loc` joined with dots, e.g. `body.prompt` or `body.images.0.url`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// fal's error kind, e.g. `value_error.missing`, when given.
    pub kind: Option<String>,
}

impl FieldError {
    /// A violation found by local validation, in the shape a 422 gives.
    pub(crate) fn from_violation(path: String, message: String, kind: &str) -> FieldError {
        FieldError {
            path,
            message,
            kind: Some(kind.to_owned()),
        }
    }

    fn from_detail(item: &Value) -> FieldError {
        let path = match item.get("loc") {
            Some(Value::Array(parts)) => parts
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("."),
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let message = match item.get("msg") {
            Some(Value::String(msg)) => msg.clone(),
            Some(other) => other.to_string(),
            None if item.is_string() => item.as_str().unwrap_or_default().to_owned(),
            None => item.to_string(),
        };
        let kind = item.get("type").and_then(Value::as_str).map(str::to_owned);
        FieldError {
            path,
            message,
            kind,
        }
    }

    fn from_errors_entry(item: &Value) -> Option<FieldError> {
        let path = item.get("field")?.as_str()?.to_owned();
        let message = item
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Some(FieldError {
            path,
            message,
            kind: None,
        })
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// `Retry-After` is either delay-seconds (we also accept a decimal) or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return duration_from_secs(secs);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn retry_after_from_json(value: &Value) -> Option<Duration> {
    match value {
        Value::Number(n) => n.as_f64().and_then(duration_from_secs),
        Value::String(s) => parse_retry_after(s),
        _ => None,
    }
}

fn duration_from_secs(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0)
        .then(|| Duration::try_from_secs_f64(secs).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn parse(status: u16, headers: &[(&'static str, &str)], body: &str) -> ApiError {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        ApiError::parse(StatusCode::from_u16(status).unwrap(), &map, body.to_owned())
    }

    #[test]
    fn detail_list_becomes_field_paths() {
        let err = parse(
            422,
            &[("x-fal-request-id", "r1")],
            r#"{"detail":[{"loc":["body","prompt"],"msg":"field required","type":"value_error.missing"},{"loc":["body","images",0,"url"],"msg":"bad","type":"x"}]}"#,
        );
        assert_eq!(err.field_errors.len(), 2);
        assert_eq!(err.field_errors[0].path, "body.prompt");
        assert_eq!(err.field_errors[1].path, "body.images.0.url");
        assert_eq!(
            err.field_errors[0].kind.as_deref(),
            Some("value_error.missing")
        );
        assert_eq!(err.request_id.as_deref(), Some("r1"));
        assert!(err.to_string().contains("body.prompt: field required"));
    }

    #[test]
    fn guide_shapes_are_understood() {
        let err = parse(
            400,
            &[],
            r#"{"detail":"Invalid input","errors":[{"field":"prompt","message":"Field is required"}]}"#,
        );
        assert_eq!(err.message, "Invalid input");
        assert_eq!(err.field_errors[0].path, "prompt");

        let err = parse(
            429,
            &[],
            r#"{"detail":"Rate limit exceeded","retry_after":60}"#,
        );
        assert_eq!(err.retry_after, Some(Duration::from_secs(60)));

        let err = parse(
            500,
            &[],
            r#"{"detail":"Internal server error","request_id":"abc123"}"#,
        );
        assert_eq!(err.request_id.as_deref(), Some("abc123"));
    }

    #[test]
    fn headers_fill_the_gaps() {
        let err = parse(
            504,
            &[
                ("x-fal-request-timeout-type", "user"),
                ("x-fal-error-type", "request_timeout"),
                ("retry-after", "2"),
            ],
            "<html>nginx</html>",
        );
        assert!(err.user_timeout);
        assert_eq!(err.error_type.as_deref(), Some("request_timeout"));
        assert_eq!(err.retry_after, Some(Duration::from_secs(2)));
        assert_eq!(err.message, "<html>nginx</html>");

        let err = parse(503, &[], "");
        assert_eq!(err.message, "Service Unavailable");
        let err = parse(500, &[("x-fal-error-type", "h")], r#"{"error_type":"b"}"#);
        assert_eq!(err.error_type.as_deref(), Some("b"));
    }

    #[test]
    fn the_platform_error_envelope_is_read() {
        let err = parse(
            404,
            &[],
            r#"{"error":{"type":"not_found","message":"Model not found","docs_url":"https://docs.fal.ai/x","request_id":"req-9"}}"#,
        );
        assert_eq!(err.message, "Model not found");
        assert_eq!(err.error_type.as_deref(), Some("not_found"));
        assert_eq!(err.request_id.as_deref(), Some("req-9"));
        let err = parse(
            429,
            &[("x-fal-request-id", "from-header")],
            r#"{"error":{"type":"rate_limited","message":"slow down","request_id":"req-1"}}"#,
        );
        assert_eq!(err.request_id.as_deref(), Some("from-header"));
        assert_eq!(err.error_type.as_deref(), Some("rate_limited"));
    }

    proptest::proptest! {
        #[test]
        fn any_body_parses_without_panicking(status in 400u16..600, body in ".{0,200}") {
            let err = parse(status, &[], &body);
            proptest::prop_assert!(!err.message.is_empty());
        }

        #[test]
        fn any_json_detail_parses(detail in proptest::arbitrary::any::<Vec<(String, u8)>>()) {
            let items: Vec<Value> = detail.iter().map(|(m, n)| serde_json::json!({"loc": ["body", m, n], "msg": m})).collect();
            let body = serde_json::json!({"detail": items}).to_string();
            let err = parse(422, &[], &body);
            proptest::prop_assert_eq!(err.field_errors.len(), detail.len());
        }

        #[test]
        fn retry_after_never_panics(value in ".{0,40}") {
            let _ = parse_retry_after(&value);
        }
    }
}
