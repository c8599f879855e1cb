//! `POST /run/<id>/stream`: the endpoint's output delivered as Server-Sent Events
//! (spec 5): a few partial events (the output with `"partial": true`, so a typed
//! client decodes them with the same output type) and then the final output,
//! after which the stream closes. Each event is `data: <json>` and a blank line.
//!
//! A [`StreamFault`] makes the stream misbehave the ways a real one can: cut in the
//! middle of an event, go silent, report an error event, or send data that is not
//! JSON.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use serde_json::{json, Value};

/// Partial events sent before the final output.
const PARTIAL_EVENTS: usize = 3;
/// Pause between events, so they arrive as separate chunks like a model's progress.
const EVENT_GAP: Duration = Duration::from_millis(5);
/// How long a stalled stream stays silent (the client gives up long before).
const STALL: Duration = Duration::from_secs(3600);

/// A way for a `/stream` response to go wrong, after one good partial event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamFault {
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
    /// Parses the names used on the wire and in test inputs: `truncate`, `stall`,
    /// `error_event`, `not_json`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "truncate" => Some(Self::Truncate),
            "stall" => Some(Self::Stall),
            "error_event" => Some(Self::ErrorEvent),
            "not_json" => Some(Self::NotJson),
            _ => None,
        }
    }
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
fn steps(output: &Value, fault: Option<StreamFault>) -> Vec<Step> {
    let partial = match output {
        Value::Object(map) => {
            let mut map = map.clone();
            map.insert("partial".into(), Value::Bool(true));
            Value::Object(map)
        }
        other => other.clone(),
    };
    let mut steps = vec![Step::Send(Bytes::from_static(b": fal-testkit stream\n\n"))];
    let Some(fault) = fault else {
        for _ in 0..PARTIAL_EVENTS {
            steps.push(Step::Send(event(&partial)));
            steps.push(Step::Pause(EVENT_GAP));
        }
        steps.push(Step::Send(event(output)));
        return steps;
    };
    steps.push(Step::Send(event(&partial)));
    steps.push(Step::Pause(EVENT_GAP));
    match fault {
        StreamFault::Truncate => {
            let whole = event(output);
            steps.push(Step::Send(whole.slice(..whole.len() / 2)));
            steps.push(Step::Pause(EVENT_GAP));
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
pub fn respond(request_id: &str, output: &Value, fault: Option<StreamFault>) -> Response {
    let body = futures::stream::unfold(steps(output, fault).into_iter(), |mut steps| async move {
        loop {
            match steps.next()? {
                Step::Send(bytes) => return Some((Ok(bytes), steps)),
                Step::Pause(gap) => tokio::time::sleep(gap).await,
                Step::Abort => {
                    let cut =
                        std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "injected cut");
                    return Some((Err(cut), steps));
                }
            }
        }
    });
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
        let body = sent(&steps(&json!({"seed": 1}), None));
        assert_eq!(body.matches("\"partial\":true").count(), PARTIAL_EVENTS);
        assert!(body.ends_with("data: {\"seed\":1}\n\n"));
    }

    #[test]
    fn truncation_leaves_an_unfinished_event() {
        let steps = steps(&json!({"seed": 1}), Some(StreamFault::Truncate));
        assert!(!sent(&steps).ends_with("\n\n"));
        assert!(matches!(steps.last(), Some(Step::Abort)));
    }
}
