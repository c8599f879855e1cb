//! Fault injection: make the next N matching requests fail the way fal fails.
//!
//! Rules are kept in the order they were added. Each incoming request takes the
//! **first** rule that matches it (route, endpoint, request id) and still has
//! uses left, and uses it up by one. A list of rules therefore replays as a
//! sequence: `[429 ×1, 503 ×2]` on submit gives 429, 503, 503, then normal
//! behaviour. That is also how scenario files ([`crate::scenario`]) are played.
//!
//! Where each fault acts:
//! - [`Fault::Status`], [`Fault::UserTimeout`], [`Fault::Delay`],
//!   [`Fault::DropConnection`], [`Fault::MalformedBody`] and [`Fault::Drip`]
//!   act on the HTTP exchange of any route.
//! - [`Fault::EndlessLine`] answers an SSE route (status stream, `/stream`)
//!   with one line that never ends.
//! - [`Fault::TruncateStream`] acts on SSE routes (status stream, and `/stream`
//!   once that module reads [`crate::router::Call::fault`]).
//! - [`Fault::CompleteWithError`] and [`Fault::RunnerCancel`] change the fate of
//!   the request itself, so they act on submit and direct run only.

use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::journal::RouteKind;

/// One way a request can go wrong.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// Answer with this HTTP status instead of handling the request.
    Status {
        /// HTTP status code (100-599).
        status: u16,
        /// `Retry-After` header value in seconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
        /// JSON body; default `{"detail": "<reason phrase>"}`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
        /// Answer like an ingress proxy instead of fal: HTML body mentioning
        /// nginx and no `x-fal-request-id` (the case PY retries, spec 10.2).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ingress: bool,
        /// The `x-fal-request-id` to answer with instead of the request's own:
        /// an answer about another request.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
    },
    /// 504 with `x-fal-request-timeout-type: user`: the caller's start timeout expired.
    UserTimeout,
    /// Wait this long, then handle the request normally.
    Delay {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// Handle the request normally (its effects happen, e.g. a submit is
    /// accepted), send the status and headers, then cut the connection after
    /// `after_bytes` bytes of body (default: half the body).
    DropConnection {
        /// Body bytes sent before the connection is cut.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_bytes: Option<usize>,
    },
    /// Handle the request normally (its effects happen: a submit is queued)
    /// and answer with its status and headers, `x-fal-request-id` included,
    /// but with a body that is not JSON.
    MalformedBody,
    /// Handle the request normally, send the status and headers at once, then
    /// the body one byte at a time, `interval_ms` before each byte: a slow or
    /// hostile host. A huge interval is a body that never comes.
    Drip {
        /// Milliseconds before each byte of the body.
        interval_ms: u64,
    },
    /// Cut an SSE stream (no terminating chunk) after this many events. On
    /// `/stream` half of the next event is sent before the cut.
    TruncateStream {
        /// Events sent before the cut.
        after_events: usize,
    },
    /// An event stream (status stream or `/stream`) answered `200
    /// text/event-stream` whose body is one line that never ends: `data: `,
    /// then one `x` every `interval_ms`, never a newline, until the testkit
    /// stops. Each chunk is news to a reader that resets its idle timer on
    /// bytes rather than on lines.
    EndlessLine {
        /// Milliseconds between two bytes.
        interval_ms: u64,
    },
    /// `/stream` goes silent (connection open, nothing sent) after this many events.
    StallStream {
        /// Events sent before the silence.
        after_events: usize,
    },
    /// `/stream` sends `{"error": {"message": …, "error_type": "internal_error"}}`
    /// after this many events, then ends.
    StreamErrorEvent {
        /// Events sent before the error event.
        after_events: usize,
    },
    /// `/stream` sends an event whose data is not JSON after this many events.
    MalformedEvent {
        /// Events sent before the bad one.
        after_events: usize,
    },
    /// The realtime connection this handshake opens closes, without a close frame
    /// or an answer, when input number `after_inputs + 1` arrives.
    RealtimeClose {
        /// Inputs answered normally first.
        after_inputs: usize,
    },
    /// The realtime connection answers input number `after_inputs + 1` with
    /// `{"type":"x-fal-error","error":…,"reason":…}` and closes.
    RealtimeError {
        /// Inputs answered normally first.
        after_inputs: usize,
        /// The error code, e.g. `INTERNAL_ERROR`.
        error: String,
        /// The reason text.
        reason: String,
    },
    /// The request runs, then ends `COMPLETED` with an error; its result (or the
    /// direct run) answers with `status` and `{"detail": detail, "error_type": ...}`.
    CompleteWithError {
        /// HTTP status of the result (default 500).
        #[serde(default = "default_error_status")]
        status: u16,
        /// Human-readable message.
        detail: String,
        /// Machine-readable category (default `runner_server_error`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_type: Option<String>,
    },
    /// The runner gives up half-way through the run: the request ends
    /// `COMPLETED` with error type `runner_disconnected` (503).
    RunnerCancel,
}

fn default_error_status() -> u16 {
    500
}

impl Fault {
    /// Whether this fault can act on a request routed to `route`.
    pub(crate) fn applies_to(&self, route: RouteKind) -> bool {
        match self {
            Fault::Status { .. }
            | Fault::UserTimeout
            | Fault::Delay { .. }
            | Fault::DropConnection { .. }
            | Fault::MalformedBody
            | Fault::Drip { .. } => true,
            Fault::TruncateStream { .. } | Fault::EndlessLine { .. } => {
                matches!(route, RouteKind::StatusStream | RouteKind::Stream)
            }
            Fault::StallStream { .. }
            | Fault::StreamErrorEvent { .. }
            | Fault::MalformedEvent { .. } => route == RouteKind::Stream,
            Fault::RealtimeClose { .. } | Fault::RealtimeError { .. } => {
                route == RouteKind::Realtime
            }
            Fault::CompleteWithError { .. } | Fault::RunnerCancel => {
                matches!(route, RouteKind::Submit | RouteKind::Run)
            }
        }
    }
}

/// A fault plus which requests it hits and how many times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Only requests on this route (any route when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RouteKind>,
    /// Only requests for this endpoint: a full id (`fal-ai/flux/dev`) or a base
    /// app (`fal-ai/flux`, which also matches its sub-paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Only requests addressing this request id (status, result, cancel, stream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// How many matching requests it hits (default 1).
    #[serde(default = "default_times")]
    pub times: u32,
    /// Hit every matching request, ignoring `times`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub always: bool,
    /// What happens.
    pub fault: Fault,
}

fn default_times() -> u32 {
    1
}

impl FaultRule {
    /// A rule that hits the next matching request once.
    pub fn new(fault: Fault) -> Self {
        FaultRule {
            route: None,
            endpoint: None,
            request_id: None,
            times: 1,
            always: false,
            fault,
        }
    }

    /// Answer with HTTP `status` (body `{"detail": <reason>}`).
    pub fn status(status: u16) -> Self {
        FaultRule::new(Fault::Status {
            status,
            retry_after: None,
            body: None,
            ingress: false,
            request_id: None,
        })
    }

    /// 504 with `x-fal-request-timeout-type: user`.
    pub fn user_timeout() -> Self {
        FaultRule::new(Fault::UserTimeout)
    }

    /// Delay the response by `delay`, then behave normally.
    pub fn delay(delay: Duration) -> Self {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        FaultRule::new(Fault::Delay { ms })
    }

    /// Cut the connection half-way through the response body.
    pub fn drop_connection() -> Self {
        FaultRule::new(Fault::DropConnection { after_bytes: None })
    }

    /// Handle the request, then answer with a body that is not JSON.
    pub fn malformed_body() -> Self {
        FaultRule::new(Fault::MalformedBody)
    }

    /// Handle the request, send the headers, then the body one byte per
    /// `interval` (a huge interval: headers, then silence).
    pub fn drip(interval: Duration) -> Self {
        let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        FaultRule::new(Fault::Drip { interval_ms })
    }

    /// Cut the status stream after `after_events` events.
    pub fn truncate_stream(after_events: usize) -> Self {
        FaultRule::new(Fault::TruncateStream { after_events }).on(RouteKind::StatusStream)
    }

    /// The next status stream is one endless line, a byte every `interval`
    /// (`.on(RouteKind::Stream)` for `/stream`).
    pub fn endless_line(interval: Duration) -> Self {
        let interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        FaultRule::new(Fault::EndlessLine { interval_ms }).on(RouteKind::StatusStream)
    }

    /// `/stream` goes silent after `after_events` events.
    pub fn stall_stream(after_events: usize) -> Self {
        FaultRule::new(Fault::StallStream { after_events }).on(RouteKind::Stream)
    }

    /// `/stream` sends an error event after `after_events` events.
    pub fn stream_error_event(after_events: usize) -> Self {
        FaultRule::new(Fault::StreamErrorEvent { after_events }).on(RouteKind::Stream)
    }

    /// `/stream` sends non-JSON data after `after_events` events.
    pub fn malformed_event(after_events: usize) -> Self {
        FaultRule::new(Fault::MalformedEvent { after_events }).on(RouteKind::Stream)
    }

    /// The next realtime connection drops after answering `after_inputs` inputs.
    pub fn realtime_close(after_inputs: usize) -> Self {
        FaultRule::new(Fault::RealtimeClose { after_inputs }).on(RouteKind::Realtime)
    }

    /// The next realtime connection answers input `after_inputs + 1` with an
    /// `x-fal-error` and closes.
    pub fn realtime_error(
        after_inputs: usize,
        error: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        FaultRule::new(Fault::RealtimeError {
            after_inputs,
            error: error.into(),
            reason: reason.into(),
        })
        .on(RouteKind::Realtime)
    }

    /// End the request `COMPLETED` with an error answered as `status` + `detail`.
    pub fn complete_with_error(status: u16, detail: impl Into<String>) -> Self {
        FaultRule::new(Fault::CompleteWithError {
            status,
            detail: detail.into(),
            error_type: None,
        })
    }

    /// The runner cancels the request half-way through the run.
    pub fn runner_cancel() -> Self {
        FaultRule::new(Fault::RunnerCancel)
    }

    /// Restrict to one route.
    pub fn on(mut self, route: RouteKind) -> Self {
        self.route = Some(route);
        self
    }

    /// Restrict to one endpoint (full id or base app).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Restrict to requests addressing one request id.
    pub fn request(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Hit the next `n` matching requests (default 1).
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self.always = false;
        self
    }

    /// Hit every matching request.
    pub fn always(mut self) -> Self {
        self.always = true;
        self
    }

    /// Add `Retry-After: secs` (only meaningful for [`Fault::Status`]).
    pub fn retry_after(mut self, secs: u64) -> Self {
        if let Fault::Status { retry_after, .. } = &mut self.fault {
            *retry_after = Some(secs);
        }
        self
    }

    /// Replace the JSON body (only meaningful for [`Fault::Status`]).
    pub fn body(mut self, value: Value) -> Self {
        if let Fault::Status { body, .. } = &mut self.fault {
            *body = Some(value);
        }
        self
    }

    /// Answer as an ingress proxy would (only meaningful for [`Fault::Status`]).
    pub fn ingress(mut self) -> Self {
        if let Fault::Status { ingress, .. } = &mut self.fault {
            *ingress = true;
        }
        self
    }

    /// Answer with this `x-fal-request-id` instead of the request's own, as
    /// an answer about another request (only meaningful for [`Fault::Status`]).
    pub fn answer_as_request(mut self, id: impl Into<String>) -> Self {
        if let Fault::Status { request_id, .. } = &mut self.fault {
            *request_id = Some(id.into());
        }
        self
    }

    /// Set the error type (only meaningful for [`Fault::CompleteWithError`]).
    pub fn error_type(mut self, kind: impl Into<String>) -> Self {
        if let Fault::CompleteWithError { error_type, .. } = &mut self.fault {
            *error_type = Some(kind.into());
        }
        self
    }

    fn matches(&self, route: RouteKind, endpoint: Option<&str>, request_id: Option<&str>) -> bool {
        if self.route.is_some_and(|r| r != route) || !self.fault.applies_to(route) {
            return false;
        }
        if let Some(want) = &self.endpoint {
            let Some(have) = endpoint else { return false };
            let same_app = have
                .strip_prefix(want.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
            if !same_app {
                return false;
            }
        }
        if let Some(want) = &self.request_id {
            if request_id != Some(want.as_str()) {
                return false;
            }
        }
        true
    }
}

/// The ordered rule list shared by all connections.
#[derive(Default)]
pub(crate) struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    pub(crate) fn add(&self, rule: FaultRule) {
        if rule.always || rule.times > 0 {
            self.rules
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(rule);
        }
    }

    pub(crate) fn clear(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Takes one use of the first rule matching this request.
    pub(crate) fn take(
        &self,
        route: RouteKind,
        endpoint: Option<&str>,
        request_id: Option<&str>,
    ) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let index = rules
            .iter()
            .position(|rule| rule.matches(route, endpoint, request_id))?;
        let rule = &mut rules[index];
        let fault = rule.fault.clone();
        if !rule.always {
            rule.times = rule.times.saturating_sub(1);
            if rule.times == 0 {
                rules.remove(index);
            }
        }
        Some(fault)
    }

    pub(crate) fn pending(&self) -> Vec<FaultRule> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_replay_in_order_and_wear_out() {
        let faults = Faults::default();
        faults.add(FaultRule::status(429).on(RouteKind::Submit));
        faults.add(FaultRule::status(503).on(RouteKind::Submit).times(2));
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(match faults.take(RouteKind::Submit, Some("a/b"), None) {
                Some(Fault::Status { status, .. }) => status,
                _ => 0,
            });
        }
        assert_eq!(seen, [429, 503, 503, 0]);
    }

    #[test]
    fn endpoint_matches_base_app_and_sub_paths_only() {
        let rule = FaultRule::status(500).endpoint("fal-ai/flux");
        assert!(rule.matches(RouteKind::Submit, Some("fal-ai/flux/dev"), None));
        assert!(rule.matches(RouteKind::Status, Some("fal-ai/flux"), None));
        assert!(!rule.matches(RouteKind::Submit, Some("fal-ai/flux-pro"), None));
        assert!(!rule.matches(RouteKind::Submit, None, None));
    }

    #[test]
    fn lifecycle_faults_only_hit_submit_and_run() {
        let rule = FaultRule::runner_cancel();
        assert!(rule.matches(RouteKind::Submit, None, None));
        assert!(!rule.matches(RouteKind::Status, None, None));
    }
}
