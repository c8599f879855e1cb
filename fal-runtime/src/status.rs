//! The queue's view of a request (spec 3.2): where it is in the queue, what its
//! runner has logged, and how it ended.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// One status of a queued request.
///
/// fal reports `COMPLETED` for failures too, with `error` (and `error_type`) set;
/// fetching the result then surfaces the failure as an [`crate::Error`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum QueueStatus {
    /// Waiting for a runner.
    InQueue {
        /// Requests ahead of this one (0 = next), when fal reports it.
        #[serde(rename = "queue_position", default)]
        position: Option<u64>,
    },
    /// Running.
    InProgress {
        /// Log lines (empty unless logs were requested).
        #[serde(default, deserialize_with = "null_as_empty")]
        logs: Vec<Log>,
    },
    /// Finished, successfully or not.
    Completed {
        /// Log lines (empty unless logs were requested).
        #[serde(default, deserialize_with = "null_as_empty")]
        logs: Vec<Log>,
        /// Timing figures, e.g. `inference_time` in seconds (absent for legacy apps).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metrics: Option<Metrics>,
        /// Why the request failed, when it did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Machine-readable failure category, e.g. `request_timeout`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_type: Option<String>,
    },
}

impl QueueStatus {
    /// Whether the request has finished.
    pub fn is_completed(&self) -> bool {
        matches!(self, QueueStatus::Completed { .. })
    }

    /// The log lines this status carries.
    pub fn logs(&self) -> &[Log] {
        match self {
            QueueStatus::InQueue { .. } => &[],
            QueueStatus::InProgress { logs } | QueueStatus::Completed { logs, .. } => logs,
        }
    }

    #[cfg(feature = "subscribe")]
    pub(crate) fn logs_mut(&mut self) -> Option<&mut Vec<Log>> {
        match self {
            QueueStatus::InQueue { .. } => None,
            QueueStatus::InProgress { logs } | QueueStatus::Completed { logs, .. } => Some(logs),
        }
    }
}

/// Timing figures of a completed request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Seconds the model ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inference_time: Option<f64>,
    /// Any other figure fal reports.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// One log line of a runner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Log {
    /// The text.
    #[serde(default)]
    pub message: String,
    /// `STDOUT`, `STDERR`, `INFO`, `WARN`, `ERROR`, `DEBUG`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Who wrote it, e.g. `USER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// ISO-8601 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

fn null_as_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Log>, D::Error> {
    Ok(Option::<Vec<Log>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Tracks which log lines a caller has already seen. Status polls repeat every line
/// so far while a status stream may send only new ones; both reduce to "lines not
/// seen before" here.
///
/// Lines are delivered once and not kept: a chatty job polled for hours must not
/// grow the client's memory. The cursor holds a count and a digest of the lines
/// reported so far, which is enough to recognise a poll that repeats them.
#[cfg(feature = "subscribe")]
#[derive(Debug, Default)]
pub(crate) struct LogCursor {
    /// How many lines have been reported.
    count: usize,
    /// [`LogCursor::chain`] over every reported line, in order.
    digest: u64,
}

#[cfg(feature = "subscribe")]
impl LogCursor {
    /// Replaces the status's logs with the lines not reported before.
    pub(crate) fn only_new(&mut self, status: &mut QueueStatus) {
        let Some(logs) = status.logs_mut() else {
            return;
        };
        let repeats_seen = self.count > 0
            && logs.len() >= self.count
            && logs[..self.count].iter().fold(0, Self::chain) == self.digest;
        if repeats_seen {
            logs.drain(..self.count);
        }
        self.digest = logs.iter().fold(self.digest, Self::chain);
        self.count += logs.len();
    }

    /// The digest of the lines so far, extended by `line`.
    fn chain(digest: u64, line: &Log) -> u64 {
        use std::hash::{Hash, Hasher};
        // `new()` hashers all share fixed keys: digests agree across calls.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        digest.hash(&mut hasher);
        line.message.hash(&mut hasher);
        line.level.hash(&mut hasher);
        line.source.hash(&mut hasher);
        line.timestamp.hash(&mut hasher);
        hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_status() {
        let q: QueueStatus = serde_json::from_str(
            r#"{"status":"IN_QUEUE","queue_position":2,"request_id":"r","response_url":"u"}"#,
        )
        .unwrap();
        assert_eq!(q, QueueStatus::InQueue { position: Some(2) });
        let p: QueueStatus =
            serde_json::from_str(r#"{"status":"IN_PROGRESS","logs":null}"#).unwrap();
        assert_eq!(p, QueueStatus::InProgress { logs: vec![] });
        let c: QueueStatus = serde_json::from_str(
            r#"{"status":"COMPLETED","logs":[{"message":"hi","level":"INFO","source":"USER","timestamp":"t"}],"metrics":{"inference_time":1.5,"x":1},"error":"boom","error_type":"runner_disconnected"}"#,
        )
        .unwrap();
        match c {
            QueueStatus::Completed {
                logs,
                metrics,
                error,
                error_type,
            } => {
                assert_eq!(logs[0].message, "hi");
                assert_eq!(metrics.unwrap().inference_time, Some(1.5));
                assert_eq!(error.as_deref(), Some("boom"));
                assert_eq!(error_type.as_deref(), Some("runner_disconnected"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(serde_json::from_str::<QueueStatus>(r#"{"status":"FAILED"}"#).is_err());
    }

    fn log(m: &str) -> Log {
        Log {
            message: m.into(),
            level: None,
            source: None,
            timestamp: None,
        }
    }

    #[cfg(feature = "subscribe")]
    #[test]
    fn cursor_handles_cumulative_and_incremental_logs() {
        let mut cursor = LogCursor::default();
        let mut s = QueueStatus::InProgress {
            logs: vec![log("a")],
        };
        cursor.only_new(&mut s);
        assert_eq!(s.logs(), &[log("a")]);
        let mut s = QueueStatus::InProgress {
            logs: vec![log("a"), log("b")],
        };
        cursor.only_new(&mut s);
        assert_eq!(s.logs(), &[log("b")]);
        let mut s = QueueStatus::InProgress {
            logs: vec![log("c")],
        };
        cursor.only_new(&mut s);
        assert_eq!(s.logs(), &[log("c")]);
    }

    #[cfg(feature = "subscribe")]
    #[test]
    fn the_cursor_keeps_no_lines() {
        // Its size is fixed: nothing a job logs stays behind in the client.
        assert!(std::mem::size_of::<LogCursor>() <= 2 * std::mem::size_of::<u64>());
        let mut cursor = LogCursor::default();
        let mut all = Vec::new();
        for poll in 0..50 {
            all.push(log(&format!("line {poll}")));
            let mut s = QueueStatus::InProgress { logs: all.clone() };
            cursor.only_new(&mut s);
            assert_eq!(s.logs(), &all[poll..]);
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_status_json_never_panics(body in ".{0,200}") {
            let _ = serde_json::from_str::<QueueStatus>(&body);
        }

        /// Whether the queue repeats every line so far (polls) or sends only new
        /// ones (stream), each distinct line is reported exactly once, in order.
        #[cfg(feature = "subscribe")]
        #[test]
        fn every_line_is_reported_once(
            cuts in proptest::collection::vec(0usize..4, 1..8),
            cumulative in proptest::bool::ANY,
        ) {
            let mut all = Vec::new();
            let mut batches = Vec::new();
            for (batch, size) in cuts.iter().enumerate() {
                let fresh: Vec<Log> = (0..*size).map(|i| log(&format!("{batch}-{i}"))).collect();
                all.extend(fresh.iter().cloned());
                batches.push(if cumulative { all.clone() } else { fresh });
            }
            let mut cursor = LogCursor::default();
            let mut reported = Vec::new();
            for logs in batches {
                let mut status = QueueStatus::InProgress { logs };
                cursor.only_new(&mut status);
                reported.extend(status.logs().iter().cloned());
            }
            proptest::prop_assert_eq!(reported, all);
        }
    }
}
