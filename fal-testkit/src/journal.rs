//! The journal: every request the testkit received, so tests can assert on
//! traffic ("submitted exactly once", "status polled with logs=1").
//!
//! Entries are recorded after routing, auth and fault selection, when the
//! response status is known. Credentials never reach the journal: the value of
//! `Authorization` is replaced by `[redacted]`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::HeaderMap;
use serde::{Deserialize, Serialize};

/// What a request asked for, after host routing. Also the `route` of a fault rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteKind {
    /// `POST queue/<id>`.
    Submit,
    /// `GET queue/<app>/requests/<rid>/status`.
    Status,
    /// `GET queue/<app>/requests/<rid>/status/stream`.
    StatusStream,
    /// `GET queue/<app>/requests/<rid>`.
    Result,
    /// `PUT queue/<app>/requests/<rid>/cancel`.
    Cancel,
    /// `POST run/<id>`: direct run.
    Run,
    /// `POST run/<id>/stream`.
    Stream,
    /// `run/<id>/realtime` WebSocket.
    Realtime,
    /// Anything on the REST host (tokens, storage, JWKS).
    Rest,
    /// Anything on the CDN host (served files, uploads).
    Cdn,
    /// `GET web/api/openapi/queue/openapi.json` (spec 11.1).
    OpenApi,
    /// `GET api/v1/models` (spec 11.2).
    Models,
    /// Any other Platform API route (`api/v1/…`: pricing, usage, requests, storage, meta).
    Platform,
    /// A path no fal host serves.
    Unknown,
}

/// One received request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// The route it was dispatched to.
    pub route: RouteKind,
    /// Endpoint id as given in the path (full id for submit/run; for queue
    /// request routes the id the request was submitted under, when known).
    pub endpoint: Option<String>,
    /// The fal request id: the one assigned (submit, run) or addressed (status, result, cancel).
    pub request_id: Option<String>,
    /// The request's own path and query as received.
    pub path: String,
    /// Request headers, names lower-case, `authorization` value redacted.
    pub headers: Vec<(String, String)>,
    /// The HTTP status the testkit answered with.
    pub status: u16,
}

impl JournalEntry {
    /// The value of header `name` (case-insensitive), if it was sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How many entries the journal keeps at most; older ones are dropped first.
const CAPACITY: usize = 100_000;

/// The shared, append-only log, bounded twice so a long-running `fal testkit`
/// does not grow: entries older than the testkit's retention (the one finished
/// requests have) are dropped, and at most [`CAPACITY`] are kept.
pub(crate) struct Journal {
    entries: Mutex<VecDeque<(Instant, JournalEntry)>>,
    retention: Duration,
}

impl Journal {
    pub(crate) fn new(retention: Duration) -> Self {
        Journal {
            entries: Mutex::new(VecDeque::new()),
            retention,
        }
    }

    pub(crate) fn push(&self, entry: JournalEntry) {
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        while entries.front().is_some_and(|(at, _)| {
            entries.len() >= CAPACITY || now.saturating_duration_since(*at) > self.retention
        }) {
            entries.pop_front();
        }
        entries.push_back((now, entry));
    }

    pub(crate) fn snapshot(&self) -> Vec<JournalEntry> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.iter().map(|(_, entry)| entry.clone()).collect()
    }

    pub(crate) fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// Copies headers for the journal with the credential removed.
pub(crate) fn redacted_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let value = if name == http::header::AUTHORIZATION {
                "[redacted]".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect()
}
