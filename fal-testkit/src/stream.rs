//! `POST /run/<id>/stream`: the endpoint's output delivered as Server-Sent Events
//! (spec 5): a few partial events (the output with `"partial": true`, so a typed
//! client decodes them with the same output type) and then the final output,
//! after which the stream closes. Each event is `data: <json>` and a blank line.
//!
//! The output is the FLUX-like one of a direct run (same validation: a bad input
//! is answered 422 before any event), except for endpoints whose alias is `echo`
//! (`my-org/echo`, `testkit/echo`): those stream the input back, so any input
//! shape can be streamed. The run duration is spread over the events.
//!
//! Fault rules make the stream misbehave the ways a real one can:
//! [`crate::Fault::TruncateStream`] (half an event, then the connection is cut),
//! [`crate::Fault::StallStream`], [`crate::Fault::StreamErrorEvent`] and
//! [`crate::Fault::MalformedEvent`]; HTTP-level faults (status, delay, dropped
//! connection) work as on every route. A `fal_jwt_token` query parameter must be
//! a token the REST host issued for the endpoint's alias.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};

use crate::faults::Fault;
use crate::ids;
use crate::lifecycle::Outcome;
use crate::queue::{decide, read_body};
use crate::reply;
use crate::router::Call;

/// Partial events sent before the final output.
const PARTIAL_EVENTS: usize = 3;
/// Shortest pause between events, so they arrive as separate chunks.
const MIN_EVENT_GAP: Duration = Duration::from_millis(2);
/// How long a stalled stream stays silent (the client gives up long before).
const STALL: Duration = Duration::from_secs(3600);

/// A way for a `/stream` response to go wrong, after `after` good events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StreamFault {
    /// Send half of the next event, then drop the connection.
    Truncate,
    /// Stop sending without closing.
    Stall,
    /// Send `{"error": {"message": …, "error_type": "internal_error"}}` and close.
    ErrorEvent,
    /// Send an event whose data is not JSON.
    NotJson,
}

impl StreamFault {
    fn from_rule(fault: Option<&Fault>) -> Option<(Self, usize)> {
        match fault? {
            Fault::TruncateStream { after_events } => Some((Self::Truncate, *after_events)),
            Fault::StallStream { after_events } => Some((Self::Stall, *after_events)),
            Fault::StreamErrorEvent { after_events } => Some((Self::ErrorEvent, *after_events)),
            Fault::MalformedEvent { after_events } => Some((Self::NotJson, *after_events)),
            _ => None,
        }
    }
}

/// `POST /run/<id>/stream`.
pub(crate) async fn handle(call: Call, endpoint: &str, request: Request) -> Response {
    if let Err(reason) = ids::validate(endpoint) {
        return reply::detail(
            StatusCode::NOT_FOUND,
            &format!("Application {endpoint:?} not found: {reason}"),
        );
    }
    if request.method() != http::Method::POST {
        return reply::method_not_allowed();
    }
    if let Some(token) = call.query_param("fal_jwt_token") {
        if !call.shared.tokens.accepts(&token, alias_of(endpoint)) {
            return reply::detail(StatusCode::UNAUTHORIZED, "Invalid or expired fal_jwt_token");
        }
    }
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let output = if alias_of(endpoint) == "echo" {
        match serde_json::from_slice::<Value>(&body) {
            Ok(input) => input,
            Err(e) => {
                return reply::detail(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("the body is not JSON: {e}"),
                )
            }
        }
    } else {
        match decide(&call, endpoint, &body) {
            Outcome::Output(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(output) => output,
                Err(_) => return reply::detail(StatusCode::INTERNAL_SERVER_ERROR, "bad output"),
            },
            Outcome::Failed(failure) => return failure.to_response(),
        }
    };
    let gap = (call.shared.settings.run_duration / (PARTIAL_EVENTS as u32 + 1)).max(MIN_EVENT_GAP);
    let fault = StreamFault::from_rule(call.fault.as_ref());
    respond(&call.request_id, &output, fault, gap)
}

/// The alias of `[ns/]owner/alias[/path]` (spec 1.2).
fn alias_of(endpoint: &str) -> &str {
    let mut segments = endpoint.trim_matches('/').split('/');
    let first = segments.next().unwrap_or_default();
    let alias = if first == "workflows" || first == "comfy" {
        segments.nth(1)
    } else {
        segments.next()
    };
    alias.unwrap_or_default()
}

enum Step {
    Send(Bytes),
    Pause(Duration),
    Abort,
}

fn event(data: &Value) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

/// The steps of one response: partial events, then the final output or the fault.
fn steps(output: &Value, fault: Option<(StreamFault, usize)>, gap: Duration) -> Vec<Step> {
    let partial = match output {
        Value::Object(map) => {
            let mut map = map.clone();
            map.insert("partial".into(), Value::Bool(true));
            Value::Object(map)
        }
        other => other.clone(),
    };
    let mut steps = vec![Step::Send(Bytes::from_static(b": fal-testkit stream\n\n"))];
    let Some((fault, after)) = fault else {
        for _ in 0..PARTIAL_EVENTS {
            steps.push(Step::Pause(gap));
            steps.push(Step::Send(event(&partial)));
        }
        steps.push(Step::Pause(gap));
        steps.push(Step::Send(event(output)));
        return steps;
    };
    for _ in 0..after {
        steps.push(Step::Pause(gap));
        steps.push(Step::Send(event(&partial)));
    }
    steps.push(Step::Pause(gap));
    match fault {
        StreamFault::Truncate => {
            let whole = event(output);
            steps.push(Step::Send(whole.slice(..whole.len() / 2)));
            steps.push(Step::Pause(gap));
            steps.push(Step::Abort);
        }
        StreamFault::Stall => steps.push(Step::Pause(STALL)),
        StreamFault::ErrorEvent => steps.push(Step::Send(event(&json!({
            "error": {"message": "injected by the testkit", "error_type": "internal_error"}
        })))),
        StreamFault::NotJson => steps.push(Step::Send(Bytes::from_static(
            b"data: this is not json\n\n",
        ))),
    }
    steps
}

/// The SSE response for `output`, with `request_id` in `x-fal-request-id`.
fn respond(
    request_id: &str,
    output: &Value,
    fault: Option<(StreamFault, usize)>,
    gap: Duration,
) -> Response {
    let body = futures::stream::unfold(
        steps(output, fault, gap).into_iter(),
        |mut steps| async move {
            loop {
                match steps.next()? {
                    Step::Send(bytes) => return Some((Ok(bytes), steps)),
                    Step::Pause(gap) => tokio::time::sleep(gap).await,
                    Step::Abort => {
                        let cut = std::io::Error::new(
                            std::io::ErrorKind::ConnectionAborted,
                            "injected cut",
                        );
                        return Some((Err(cut), steps));
                    }
                }
            }
        },
    );
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-fal-request-id", id);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(steps: &[Step]) -> String {
        steps
            .iter()
            .filter_map(|s| match s {
                Step::Send(b) => Some(String::from_utf8_lossy(b).into_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn partials_then_final() {
        let body = sent(&steps(&json!({"seed": 1}), None, MIN_EVENT_GAP));
        assert_eq!(body.matches("\"partial\":true").count(), PARTIAL_EVENTS);
        assert!(body.ends_with("data: {\"seed\":1}\n\n"));
    }

    #[test]
    fn truncation_leaves_an_unfinished_event() {
        let steps = steps(
            &json!({"seed": 1}),
            Some((StreamFault::Truncate, 1)),
            MIN_EVENT_GAP,
        );
        assert!(!sent(&steps).ends_with("\n\n"));
        assert!(matches!(steps.last(), Some(Step::Abort)));
    }
}
