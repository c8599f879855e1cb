//! Scenario files: a production incident, written down as JSON and replayed offline.
//!
//! ```json
//! {
//!   "queue_delay_ms": 200,
//!   "run_duration_ms": 500,
//!   "events": [
//!     { "route": "submit", "fault": { "kind": "status", "status": 429, "retry_after": 1 } },
//!     { "route": "submit", "times": 2, "fault": { "kind": "status", "status": 503 } },
//!     { "route": "status_stream", "fault": { "kind": "truncate_stream", "after_events": 1 } },
//!     { "endpoint": "fal-ai/flux/dev", "fault": { "kind": "complete_with_error",
//!       "status": 500, "detail": "CUDA out of memory", "error_type": "runner_server_error" } }
//!   ]
//! }
//! ```
//!
//! - `queue_delay_ms`, `run_duration_ms` (optional) override the builder's timings.
//! - `events` is an ordered list of [`FaultRule`]s. Each incoming request takes
//!   the first event that matches it and has uses left (see [`crate::faults`]), so
//!   events for the same route play one after the other.
//! - Event fields: `route` (`submit`, `status`, `status_stream`, `result`,
//!   `cancel`, `run`, `stream`, `realtime`, `rest`, `cdn`, `open_api`, `models`),
//!   `endpoint` (full id or base app), `request_id`, `times` (default 1),
//!   `always` (bool), `fault`.
//! - `fault.kind` is one of `status` {`status`, `retry_after`?, `body`?,
//!   `ingress`?}, `user_timeout`, `delay` {`ms`}, `drop_connection`
//!   {`after_bytes`?}, `truncate_stream` {`after_events`}, `complete_with_error`
//!   {`status`? (500), `detail`, `error_type`?}, `runner_cancel`.
//!
//! Unknown fields are errors (a typo must not silently disable an event).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::faults::{Fault, FaultRule};

/// A parsed scenario file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Time each queued request spends `IN_QUEUE`, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_delay_ms: Option<u64>,
    /// Time each request spends `IN_PROGRESS`, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_duration_ms: Option<u64>,
    /// The events, in replay order.
    #[serde(default)]
    pub events: Vec<FaultRule>,
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not a scenario (bad JSON, unknown field or kind, wrong type).
    #[error("invalid scenario{}: {message} at line {line}, column {column}", in_file(.path))]
    Syntax {
        /// The file, when loaded from one.
        path: Option<PathBuf>,
        /// What the parser expected.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// An event is well-formed JSON but describes something impossible.
    #[error("invalid scenario{}: events[{index}]: {message}", in_file(.path))]
    Event {
        /// The file, when loaded from one.
        path: Option<PathBuf>,
        /// Index of the event in `events`.
        index: usize,
        /// What is wrong.
        message: String,
    },
}

fn in_file(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" in {}", p.display()))
        .unwrap_or_default()
}

impl Scenario {
    /// Parses scenario JSON.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        Scenario::parse(text, None)
    }

    /// Reads and parses a scenario file.
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_owned(),
            source,
        })?;
        Scenario::parse(&text, Some(path))
    }

    fn parse(text: &str, path: Option<&Path>) -> Result<Scenario, ScenarioError> {
        let scenario: Scenario = serde_json::from_str(text).map_err(|e| ScenarioError::Syntax {
            path: path.map(Path::to_owned),
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        })?;
        for (index, event) in scenario.events.iter().enumerate() {
            check_event(event).map_err(|message| ScenarioError::Event {
                path: path.map(Path::to_owned),
                index,
                message,
            })?;
        }
        Ok(scenario)
    }
}

fn check_event(event: &FaultRule) -> Result<(), String> {
    if event.times == 0 && !event.always {
        return Err("times must be at least 1 (or set always)".into());
    }
    let status = match &event.fault {
        Fault::Status { status, .. } | Fault::CompleteWithError { status, .. } => Some(*status),
        _ => None,
    };
    if let Some(status) = status {
        if !(100..=599).contains(&status) {
            return Err(format!("status {status} is not an HTTP status (100-599)"));
        }
    }
    if let Some(route) = event.route {
        if !event.fault.applies_to(route) {
            return Err(format!(
                "fault {:?} cannot act on route {route:?}",
                fault_kind(&event.fault)
            ));
        }
    }
    Ok(())
}

fn fault_kind(fault: &Fault) -> &'static str {
    match fault {
        Fault::Status { .. } => "status",
        Fault::UserTimeout => "user_timeout",
        Fault::Delay { .. } => "delay",
        Fault::DropConnection { .. } => "drop_connection",
        Fault::MalformedBody => "malformed_body",
        Fault::Drip { .. } => "drip",
        Fault::EndlessLine { .. } => "endless_line",
        Fault::TruncateStream { .. } => "truncate_stream",
        Fault::StallStream { .. } => "stall_stream",
        Fault::StreamErrorEvent { .. } => "stream_error_event",
        Fault::MalformedEvent { .. } => "malformed_event",
        Fault::RealtimeClose { .. } => "realtime_close",
        Fault::RealtimeError { .. } => "realtime_error",
        Fault::CompleteWithError { .. } => "complete_with_error",
        Fault::RunnerCancel => "runner_cancel",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::RouteKind;

    #[test]
    fn parses_the_documented_example() {
        let text = r#"{
          "queue_delay_ms": 200,
          "events": [
            { "route": "submit", "fault": { "kind": "status", "status": 429, "retry_after": 1 } },
            { "route": "submit", "times": 2, "fault": { "kind": "status", "status": 503 } },
            { "route": "status_stream", "fault": { "kind": "truncate_stream", "after_events": 1 } }
          ]
        }"#;
        let scenario = Scenario::from_json(text).expect("valid scenario");
        assert_eq!(scenario.queue_delay_ms, Some(200));
        assert_eq!(scenario.events.len(), 3);
        assert_eq!(scenario.events[1].times, 2);
        assert_eq!(scenario.events[2].route, Some(RouteKind::StatusStream));
    }

    #[test]
    fn errors_name_the_place() {
        let err = Scenario::from_json("{\"events\": [{\"fault\": {\"kind\": \"nope\"}}]}")
            .expect_err("unknown kind");
        assert!(
            matches!(err, ScenarioError::Syntax { line: 1, .. }),
            "{err}"
        );
        let err =
            Scenario::from_json(r#"{"events": [{"fault": {"kind": "status", "status": 42}}]}"#)
                .expect_err("bad status");
        assert!(err.to_string().contains("events[0]"), "{err}");
        let err = Scenario::from_json(
            r#"{"events": [{"route": "status", "fault": {"kind": "runner_cancel"}}]}"#,
        )
        .expect_err("runner_cancel on status");
        assert!(err.to_string().contains("cannot act"), "{err}");
    }
}
