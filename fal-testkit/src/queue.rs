//! The queue host (spec 3): submit, status, status stream, result, cancel.
//!
//! Status, result and cancel are served under both path forms: the base app
//! (`fal-ai/flux/requests/<id>`, what the clients use) and the full id
//! (`fal-ai/flux/dev/requests/<id>`, what the published OpenAPI lists).
//!
//! Choices where fal's documents are silent (spec "Open questions"):
//! - result before completion: 400 `{"detail": "Request is still in progress"}`;
//! - cancel: 202 `{"status": "CANCELLATION_REQUESTED"}`, 400 `ALREADY_COMPLETED`,
//!   404 `NOT_FOUND`; the cancelled request then reads `COMPLETED` with
//!   `error_type: "client_cancelled"` (fal's documented request-error type for a
//!   client cancellation) and its result answers 499 with that error body;
//! - a start timeout (`x-fal-request-timeout`) that expires while queued ends
//!   the request `COMPLETED` with `error_type: "request_timeout"`; its result is
//!   504 with `x-fal-request-timeout-type: user`;
//! - input validation happens "in the app": submit always accepts, and an
//!   invalid input completes with the app's 422 as its result.

use std::time::{Duration, SystemTime};

use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::faults::Fault;
use crate::ids;
use crate::lifecycle::{CancelOutcome, LogLine, NewRequest, Outcome, Phase, Snapshot};
use crate::reply::{self, Failure, REQUEST_ID};
use crate::router::{header_str, Call, RequestOp};
use crate::status_stream;
use crate::synth::{self, SynthCtx};

/// Largest accepted request body (inputs may carry data URIs).
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;

/// Parses a JSON body the way the app would; an empty body is `{}` (what
/// fal's JS client sends for no input).
pub(crate) fn parse_input(body: &[u8]) -> Result<Value, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_slice(body).map_err(|e| {
        // FastAPI's v2 shape for a body that is not JSON.
        let entry = json!({
            "loc": ["body", e.column()],
            "msg": "JSON decode error",
            "type": "json_invalid",
            "ctx": {"error": format!("Expecting value: line {} column {}", e.line(), e.column())},
        });
        Failure::app_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!({ "detail": [entry] }),
        )
    })
}

/// Reads the body, answering 413 when it is too large.
pub(crate) async fn read_body(request: Request) -> Result<Bytes, Response> {
    axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|_| {
            reply::detail(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("Request body larger than {MAX_BODY} bytes"),
            )
        })
}

/// `x-fal-request-timeout`: seconds, decimal, > 0 (spec 3.1 / 3.7).
fn start_timeout(request: &Request) -> Result<Option<Duration>, Response> {
    let Some(text) = header_str(request.headers(), "x-fal-request-timeout") else {
        return Ok(None);
    };
    match text.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs < 1e9 => {
            Ok(Some(Duration::from_secs_f64(secs)))
        }
        _ => Err(Failure::request_error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid x-fal-request-timeout header {text:?}: expected seconds > 0"),
            "bad_request",
        )
        .to_response()),
    }
}

/// What the request will end as, before it is queued.
pub(crate) fn decide(call: &Call, endpoint: &str, body: &[u8]) -> Outcome {
    decide_for(call, endpoint, body, &call.request_id)
}

/// [`decide`] for a request whose id is already chosen (a queue submit).
pub(crate) fn decide_for(call: &Call, endpoint: &str, body: &[u8], request_id: &str) -> Outcome {
    if let Some(Fault::CompleteWithError {
        status,
        detail,
        error_type,
    }) = &call.fault
    {
        let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let kind = error_type.as_deref().unwrap_or("runner_server_error");
        return Outcome::Failed(Failure::request_error(code, detail, kind).into());
    }
    let ctx = SynthCtx {
        endpoint,
        schema: call.shared.endpoints.get(endpoint).map(|s| &**s),
        request_id,
        cdn_base: &call.urls.cdn,
        run_duration: call.shared.settings.run_duration,
    };
    match parse_input(body).and_then(|input| synth::output(&ctx, &input)) {
        Ok(output) => Outcome::Output(Bytes::from(output.to_string())),
        Err(failure) => Outcome::Failed(failure.into()),
    }
}

/// `POST <full id>[?fal_webhook=...]`.
pub(crate) async fn submit(call: Call, endpoint: &str, request: Request) -> Response {
    if let Err(reason) = ids::validate(endpoint) {
        return reply::detail(
            StatusCode::NOT_FOUND,
            &format!("Application {endpoint:?} not found: {reason}"),
        );
    }
    let start_timeout = match start_timeout(&request) {
        Ok(t) => t,
        Err(response) => return response,
    };
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let id = Uuid::new_v4();
    let outcome = decide_for(&call, endpoint, &body, &id.to_string());
    crate::platform::record_queued(&call, id, endpoint, &body, &outcome);
    let webhook = call.query_param("fal_webhook");
    let (id, position) = call.shared.store.submit(NewRequest {
        id,
        endpoint,
        queue_base: &call.urls.queue,
        outcome,
        start_timeout,
        webhook: webhook.clone(),
        runner_cancel: matches!(call.fault, Some(Fault::RunnerCancel)),
    });
    if let Some(url) = webhook {
        crate::webhook::watch(call.shared.clone(), id, url);
    }
    let urls = RequestUrls::new(&call.urls.queue, &ids::base_app(endpoint), id);
    let mut body = urls.fields(id);
    body.insert("status".into(), json!("IN_QUEUE"));
    body.insert("queue_position".into(), json!(position));
    with_id(reply::json(StatusCode::OK, &Value::Object(body)), id)
}

/// Status, status stream, result and cancel of request `raw_id` under `prefix`.
pub(crate) fn request_op(call: Call, prefix: &str, raw_id: &str, op: RequestOp) -> Response {
    let Ok(id) = Uuid::parse_str(raw_id) else {
        return not_found(op);
    };
    let store = &call.shared.store;
    let response = match op {
        RequestOp::Cancel => {
            let (status, word) = match store.cancel(id, prefix) {
                CancelOutcome::Requested => (StatusCode::ACCEPTED, "CANCELLATION_REQUESTED"),
                CancelOutcome::AlreadyCompleted => (StatusCode::BAD_REQUEST, "ALREADY_COMPLETED"),
                CancelOutcome::NotFound => (StatusCode::NOT_FOUND, "NOT_FOUND"),
            };
            reply::json(status, &json!({ "status": word }))
        }
        RequestOp::Status => {
            let Some(snapshot) = store.snapshot(id, Some(prefix)) else {
                return not_found(op);
            };
            let logs = match logs_param(&call) {
                Ok(true) => LogsMode::All,
                Ok(false) => LogsMode::Off,
                Err(response) => return response,
            };
            let code = match snapshot.phase {
                Phase::Completed { .. } => StatusCode::OK,
                _ => StatusCode::ACCEPTED,
            };
            reply::json(code, &status_json(&snapshot, id, logs))
        }
        RequestOp::StatusStream => {
            if store.snapshot(id, Some(prefix)).is_none() {
                return not_found(op);
            }
            let logs = match logs_param(&call) {
                Ok(logs) => logs,
                Err(response) => return response,
            };
            status_stream::respond(&call, id, logs)
        }
        RequestOp::Result => {
            let Some(snapshot) = store.snapshot(id, Some(prefix)) else {
                return not_found(op);
            };
            match snapshot.phase {
                Phase::Completed {
                    outcome: Outcome::Output(bytes),
                    ..
                } => reply::billed(reply::json_bytes(StatusCode::OK, bytes), "1"),
                Phase::Completed {
                    outcome: Outcome::Failed(failure),
                    ..
                } => failure.to_response(),
                _ => reply::detail(StatusCode::BAD_REQUEST, "Request is still in progress"),
            }
        }
    };
    with_id(response, id)
}

fn not_found(op: RequestOp) -> Response {
    match op {
        RequestOp::Cancel => reply::json(StatusCode::NOT_FOUND, &json!({ "status": "NOT_FOUND" })),
        _ => reply::detail(StatusCode::NOT_FOUND, "Request not found"),
    }
}

fn with_id(mut response: Response, id: Uuid) -> Response {
    if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// `logs=1|0|true|false` (spec 1.4); absent means no logs.
fn logs_param(call: &Call) -> Result<bool, Response> {
    match call.query_param("logs").as_deref() {
        None | Some("0") | Some("false") | Some("False") => Ok(false),
        Some("1") | Some("true") | Some("True") => Ok(true),
        Some(_) => Err(reply::validation(vec![reply::field_error(
            &["query", "logs"],
            "Input should be a valid boolean, unable to interpret input",
            "bool_parsing",
        )])),
    }
}

/// Which log lines a status carries.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LogsMode {
    /// `logs: null` (logs=0).
    Off,
    /// Every line so far.
    All,
    /// Only lines after the first `n` (status stream: only new lines per event).
    After(usize),
}

/// The handed-out URLs of one request.
struct RequestUrls {
    response_url: String,
}

impl RequestUrls {
    fn new(queue_base: &str, app: &str, id: Uuid) -> Self {
        RequestUrls {
            response_url: format!("{queue_base}/{app}/requests/{id}"),
        }
    }

    fn fields(&self, id: Uuid) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("request_id".into(), json!(id.to_string()));
        map.insert("response_url".into(), json!(self.response_url));
        map.insert(
            "status_url".into(),
            json!(format!("{}/status", self.response_url)),
        );
        map.insert(
            "cancel_url".into(),
            json!(format!("{}/cancel", self.response_url)),
        );
        map
    }
}

fn log_json(line: &LogLine) -> Value {
    json!({
        "message": line.message,
        "level": "INFO",
        "source": "USER",
        "timestamp": timestamp(line.timestamp),
    })
}

fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// The status object of spec 3.2.
pub(crate) fn status_json(snapshot: &Snapshot, id: Uuid, logs: LogsMode) -> Value {
    let urls = RequestUrls::new(&snapshot.queue_base, &snapshot.app, id);
    let mut body = urls.fields(id);
    let logs_value = || match logs {
        LogsMode::Off => Value::Null,
        LogsMode::All => Value::Array(snapshot.logs.iter().map(log_json).collect()),
        LogsMode::After(n) => Value::Array(snapshot.logs.iter().skip(n).map(log_json).collect()),
    };
    match &snapshot.phase {
        Phase::Queued { position } => {
            body.insert("status".into(), json!("IN_QUEUE"));
            body.insert("queue_position".into(), json!(position));
        }
        Phase::Running => {
            body.insert("status".into(), json!("IN_PROGRESS"));
            body.insert("logs".into(), logs_value());
        }
        Phase::Completed {
            outcome,
            inference_time,
        } => {
            body.insert("status".into(), json!("COMPLETED"));
            body.insert("logs".into(), logs_value());
            let metrics = match inference_time {
                Some(t) => json!({ "inference_time": t }),
                None => json!({}),
            };
            body.insert("metrics".into(), metrics);
            if let Outcome::Failed(failure) = outcome {
                body.insert("error".into(), json!(failure.message));
                if let Some(kind) = &failure.error_type {
                    body.insert("error_type".into(), json!(kind));
                }
            }
        }
    }
    Value::Object(body)
}
