//! Every way a call to fal can fail, as one typed [`Error`].
//!
//! fal reports failures in several shapes (spec 9): a FastAPI `detail` string or a
//! list of `{loc, msg, type}` objects, a top-level `message`, an `errors` list of
//! `{field, message}`, plus headers (`x-fal-request-id`, `x-fal-error-type`,
//! `x-fal-request-timeout-type`, `Retry-After`). [`ApiError`] folds all of them into
//! one value so callers match on meaning, not on wire shapes.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;

use crate::http::Operation;
use crate::InvalidEndpointId;

/// `Result` with this crate's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many bytes of a body an error message shows; the full body stays in the error.
const BODY_PREVIEW: usize = 512;

/// A failed call to fal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// fal answered with a non-2xx HTTP status.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The request never got an HTTP answer (connect, reset, timeout…).
    #[error("{operation} request to {url}{} failed: {}", request_suffix(.request_id.as_deref()), causes(.source))]
    Transport {
        /// Which call failed.
        operation: Operation,
        /// The URL (never carries a credential).
        url: String,
        /// What the HTTP stack reported.
        #[source]
        source: reqwest::Error,
        /// The request id, when known: a call on a queued request, or a
        /// response whose body broke after its headers named the request.
        request_id: Option<String>,
    },
    /// fal answered 2xx but the body is not what the endpoint promised.
    #[error("could not decode the {what}{} at `{path}`: {message}; body: {}", request_suffix(.request_id.as_deref()), preview(.body))]
    Decode {
        /// What was being decoded, e.g. "endpoint output" or "queue status".
        what: &'static str,
        /// The serde path of the value that failed (`.` for the root).
        path: String,
        /// Why it failed.
        message: String,
        /// The raw body, in full.
        body: String,
        /// The request id, when known.
        request_id: Option<String>,
    },
    /// `subscribe` gave up waiting. The request was cancelled (best effort); with the
    /// request id the caller can still check its status or fetch its result later.
    #[error("client timed out after {after:?} waiting for request {}{}", .request_id.as_deref().unwrap_or("(not yet submitted)"), if *.cancelled { " (cancelled)" } else { "" })]
    Timeout {
        /// The request id, when submit had returned before the deadline.
        request_id: Option<String>,
        /// The configured overall timeout.
        after: Duration,
        /// Whether the cancel call fal received succeeded.
        cancelled: bool,
    },
    /// The status stream ended or broke before the request completed.
    #[error("status stream for request {request_id} {reason}")]
    Stream {
        /// The request being followed.
        request_id: String,
        /// What went wrong.
        reason: String,
    },
    /// The input could not be turned into JSON.
    #[error("could not serialize the input at `{path}`: {message}")]
    Input {
        /// The serde path of the field that failed.
        path: String,
        /// Why it failed.
        message: String,
    },
    /// The input breaks its schema's rules; found before anything was sent
    /// ([`crate::Endpoint::validate`]). [`Error::field_errors`] lists them as
    /// a 422 from fal would.
    #[error(transparent)]
    Validation(crate::ValidationError),
    /// The endpoint id is malformed.
    #[error(transparent)]
    EndpointId(#[from] InvalidEndpointId),
    /// A storage upload (explicit, or of a local file found in an input) failed.
    #[error(transparent)]
    Upload(#[from] crate::storage::UploadError),
    /// The client or a request option is misconfigured (bad URL, bad header value…).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A `/stream` response failed after it was accepted (timeout, error event, bad or cut body).
    #[error(transparent)]
    EventStream(Box<crate::stream::StreamError>),
    /// A realtime session failed.
    #[error(transparent)]
    Realtime(Box<crate::realtime::RealtimeError>),
}

/// An error and its causes, joined: reqwest's own message alone ("error sending
/// request") hides the useful part ("connection refused").
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}

fn request_suffix(request_id: Option<&str>) -> String {
    request_id
        .map(|id| format!(" of request {id}"))
        .unwrap_or_default()
}

fn preview(body: &str) -> String {
    if body.len() <= BODY_PREVIEW {
        return body.to_owned();
    }
    let mut end = BODY_PREVIEW;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &body[..end], body.len())
}

impl Error {
    /// The HTTP status fal answered with, for [`Error::Api`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Api(api) => Some(api.status),
            _ => None,
        }
    }

    /// The request id this error concerns, when fal or the client knows it.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Api(api) => api.request_id.as_deref(),
            Self::Decode { request_id, .. }
            | Self::Timeout { request_id, .. }
            | Self::Transport { request_id, .. } => request_id.as_deref(),
            Self::Stream { request_id, .. } => Some(request_id),
            Self::EventStream(err) => err.request_id.as_deref(),
            _ => None,
        }
    }

    /// The same error, naming `id` as its request when it names none: calls on
    /// a queued request use it so that no failure after submit loses the id.
    pub(crate) fn with_request_id(mut self, id: &str) -> Error {
        let slot = match &mut self {
            Self::Api(api) => &mut api.request_id,
            Self::Decode { request_id, .. } | Self::Transport { request_id, .. } => request_id,
            _ => return self,
        };
        if slot.is_none() {
            *slot = Some(id.to_owned());
        }
        self
    }

    /// The [`ApiError`] behind an HTTP failure.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(api) => Some(api),
            _ => None,
        }
    }

    /// Field-level validation errors: those of a 422 (and friends) from fal, or
    /// the same errors found before sending ([`Error::Validation`]); empty when
    /// there are none.
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Api(api) => &api.field_errors,
            Self::Validation(err) => err.errors(),
            _ => &[],
        }
    }

    /// Whether fal gave up because the caller's own start timeout
    /// (`x-fal-request-timeout`) expired; such a 504 is never retried.
    pub fn is_user_timeout(&self) -> bool {
        self.api().is_some_and(|api| api.user_timeout)
    }

    /// Reads a non-2xx response into an [`Error::Api`]; code that reads responses
    /// itself (streaming, storage) uses this so every failure looks the same.
    pub async fn from_response(response: reqwest::Response) -> Error {
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.bytes().await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(err) => format!("(body could not be read: {err})"),
        };
        Error::Api(Box::new(ApiError::parse(status, &headers, body)))
    }

    /// An [`Error::Decode`] from a `serde_path_to_error` failure.
    pub(crate) fn decode(
        what: &'static str,
        err: serde_path_to_error::Error<serde_json::Error>,
        body: &[u8],
        request_id: Option<&str>,
    ) -> Error {
        Error::Decode {
            what,
            path: err.path().to_string(),
            message: err.inner().to_string(),
            body: String::from_utf8_lossy(body).into_owned(),
            request_id: request_id.map(str::to_owned),
        }
    }
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
    /// The request id: `x-fal-request-id`, else the body's `request_id`.
    pub request_id: Option<String>,
    /// Machine-readable category: the body's `error_type`, else `x-fal-error-type`.
    pub error_type: Option<String>,
    /// A 504 caused by the caller's own start timeout (`x-fal-request-timeout-type: user`).
    pub user_timeout: bool,
    /// Whether the response carried `x-fal-request-timeout-type` at all (any value).
    pub timeout_type: Option<String>,
    /// How long fal asked us to wait: `Retry-After`, else the body's `retry_after`.
    pub retry_after: Option<Duration>,
    /// The raw body, in full.
    pub body: String,
}

impl ApiError {
    /// Builds the error from the parts of a non-2xx response.
    pub fn parse(status: StatusCode, headers: &HeaderMap, body: String) -> ApiError {
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
        if message.is_none() {
            message = field("message").and_then(Value::as_str).map(str::to_owned);
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

        let request_id = header("x-fal-request-id").or_else(|| {
            field("request_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
        let error_type = field("error_type")
            .and_then(Value::as_str)
            .map(str::to_owned)
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
            body,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fal returned HTTP {}: {}", self.status, self.message)?;
        if !self.field_errors.is_empty() && !self.message.contains(&self.field_errors[0].message) {
            let fields: Vec<String> = self.field_errors.iter().map(ToString::to_string).collect();
            write!(f, " [{}]", fields.join("; "))?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        if let Some(kind) = &self.error_type {
            write!(f, " (error type {kind})")?;
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
