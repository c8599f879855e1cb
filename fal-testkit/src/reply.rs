//! fal's response shapes (spec 9): every error the testkit sends goes through here,
//! so bodies and headers stay the ones fal's clients parse.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderName, HeaderValue, StatusCode};
use serde_json::{json, Value};

/// The request id header fal puts on every queue and run response (spec 3.7).
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-fal-request-id");
/// Machine-readable error category (spec 3.7, request errors).
pub(crate) const ERROR_TYPE: HeaderName = HeaderName::from_static("x-fal-error-type");
/// Marks a 504 caused by the caller's own start timeout; clients must not retry it.
pub(crate) const TIMEOUT_TYPE: HeaderName = HeaderName::from_static("x-fal-request-timeout-type");

/// What fal bills for a request (spec 9): fal apps set it to `0` on a refused
/// input; the testkit bills one unit for every completed output.
pub(crate) const BILLABLE_UNITS: HeaderName = HeaderName::from_static("x-fal-billable-units");

/// `response` with `x-fal-billable-units: units`.
pub(crate) fn billed(mut response: Response, units: &'static str) -> Response {
    response
        .headers_mut()
        .insert(BILLABLE_UNITS, HeaderValue::from_static(units));
    response
}

/// A JSON response with `status`.
pub(crate) fn json(status: StatusCode, body: &Value) -> Response {
    json_bytes(status, Bytes::from(body.to_string()))
}

/// A JSON response from already serialized bytes.
pub(crate) fn json_bytes(status: StatusCode, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `{"detail": message}`, fal's generic error body.
pub(crate) fn detail(status: StatusCode, message: &str) -> Response {
    json(status, &json!({ "detail": message }))
}

/// 404 for a path no fal host serves, worded as fal apps word it.
pub(crate) fn path_not_found(path: &str) -> Response {
    detail(StatusCode::NOT_FOUND, &format!("Path {path} not found"))
}

/// 405 for a known path called with the wrong method.
pub(crate) fn method_not_allowed() -> Response {
    detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

/// 422 with FastAPI's validation list (spec 9.1).
pub(crate) fn validation(errors: Vec<Value>) -> Response {
    let response = json(
        StatusCode::UNPROCESSABLE_ENTITY,
        &json!({ "detail": errors }),
    );
    billed(response, "0")
}

/// One FastAPI validation entry.
pub(crate) fn field_error(loc: &[&str], msg: &str, kind: &str) -> Value {
    json!({ "loc": loc, "msg": msg, "type": kind })
}

/// How a request failed, kept so the result route can replay it (spec 3.4) and
/// the status route can report `error` / `error_type` (spec 3.2).
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    /// HTTP status the result route answers with.
    pub status: StatusCode,
    /// JSON body the result route answers with.
    pub body: Bytes,
    /// `error_type` in the status and the `x-fal-error-type` header, for request errors.
    pub error_type: Option<String>,
    /// The `error` string of the COMPLETED status.
    pub message: String,
    /// Whether this is a start-timeout expiry (adds `x-fal-request-timeout-type: user`).
    pub user_timeout: bool,
}

impl Failure {
    /// A platform ("request") error: flat `detail` + `error_type` body and header.
    pub(crate) fn request_error(status: StatusCode, detail: &str, error_type: &str) -> Self {
        Failure {
            status,
            body: Bytes::from(json!({ "detail": detail, "error_type": error_type }).to_string()),
            error_type: Some(error_type.to_owned()),
            message: detail.to_owned(),
            user_timeout: false,
        }
    }

    /// An error the app itself returned (validation and the like): body as given,
    /// status text in the form fal's webhook examples show.
    pub(crate) fn app_error(status: StatusCode, body: &Value) -> Self {
        Failure {
            status,
            body: Bytes::from(body.to_string()),
            error_type: None,
            message: format!("Invalid status code: {}", status.as_u16()),
            user_timeout: false,
        }
    }

    /// The start timeout of spec 3.7 expired while the request was still queued.
    pub(crate) fn start_timeout() -> Self {
        let mut failure = Failure::request_error(
            StatusCode::GATEWAY_TIMEOUT,
            "Request timed out before it started",
            "request_timeout",
        );
        failure.user_timeout = true;
        failure
    }

    /// The response the result route (or a direct run) gives for this failure.
    pub(crate) fn to_response(&self) -> Response {
        let mut response = json_bytes(self.status, self.body.clone());
        if let Some(kind) = &self.error_type {
            if let Ok(value) = HeaderValue::from_str(kind) {
                response.headers_mut().insert(ERROR_TYPE, value);
            }
        }
        if self.user_timeout {
            response
                .headers_mut()
                .insert(TIMEOUT_TYPE, HeaderValue::from_static("user"));
        }
        // A refused input bills nothing, as fal apps say.
        if self.status == StatusCode::UNPROCESSABLE_ENTITY {
            response = billed(response, "0");
        }
        response
    }
}

/// Adds `Retry-After: secs`.
pub(crate) fn with_retry_after(mut response: Response, secs: u64) -> Response {
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// A plain-text ingress-style error page (what PY's ingress heuristic looks for).
pub(crate) fn ingress_page(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = status.as_u16();
    let html = format!(
        "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    let mut response = (status, html).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
    response
}
