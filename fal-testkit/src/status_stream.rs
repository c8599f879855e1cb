//! `GET .../requests/<id>/status/stream` (spec 3.3): Server-Sent Events whose
//! `data:` is the status JSON, one event per observable change, ending after
//! the `COMPLETED` event.
//!
//! Framing choices (spec Open question 4): events carry no `event:` name; with
//! `logs=1` each event carries only the log lines that are new since the
//! previous event (fal's JS client accumulates them); keep-alive comments
//! (`: keep-alive`) go out at the configured interval (default 5 s, well under
//! the clients' 15 s idle timeout).
//!
//! No task per stream: each stream sleeps until the next instant its request
//! can change (computed from timestamps), capped so a cancel shows up quickly.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::faults::Fault;
use crate::lifecycle::Phase;
use crate::queue::{status_json, LogsMode};
use crate::router::Call;
use crate::state::Shared;

/// Longest sleep between looks at the request (bounds how late a cancel is seen).
const MAX_WAIT: Duration = Duration::from_millis(200);

struct Watch {
    shared: Arc<Shared>,
    id: Uuid,
    logs: bool,
    sent_logs: usize,
    last: Option<(u8, usize, usize)>,
    events: usize,
    cut_after: Option<usize>,
    done: bool,
}

/// The SSE response for request `id` (already known to exist).
pub(crate) fn respond(call: &Call, id: Uuid, logs: bool) -> Response {
    let cut_after = match &call.fault {
        Some(Fault::TruncateStream { after_events }) => Some(*after_events),
        _ => None,
    };
    let watch = Watch {
        shared: call.shared.clone(),
        id,
        logs,
        sent_logs: 0,
        last: None,
        events: 0,
        cut_after,
        done: false,
    };
    let keep_alive = KeepAlive::new()
        .interval(call.shared.settings.keep_alive)
        .text("keep-alive");
    Sse::new(futures::stream::unfold(watch, next_event))
        .keep_alive(keep_alive)
        .into_response()
}

async fn next_event(mut watch: Watch) -> Option<(Result<Event, io::Error>, Watch)> {
    loop {
        if watch.done {
            return None;
        }
        if watch.cut_after == Some(watch.events) {
            watch.done = true;
            // Let the server flush what was sent, so the cut lands after the events.
            tokio::time::sleep(crate::router::FLUSH_PAUSE).await;
            let error = io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "status stream cut by fault injection",
            );
            return Some((Err(error), watch));
        }
        let snapshot = watch.shared.store.snapshot(watch.id, None)?;
        let (tag, position) = match snapshot.phase {
            Phase::Queued { position } => (0u8, position),
            Phase::Running => (1, 0),
            Phase::Completed { .. } => (2, 0),
        };
        let key = (
            tag,
            position,
            if watch.logs { snapshot.logs.len() } else { 0 },
        );
        if watch.last != Some(key) {
            let mode = if watch.logs {
                LogsMode::After(watch.sent_logs)
            } else {
                LogsMode::Off
            };
            let data = status_json(&snapshot, watch.id, mode).to_string();
            watch.last = Some(key);
            watch.sent_logs = snapshot.logs.len();
            watch.events += 1;
            watch.done = tag == 2;
            return Some((Ok(Event::default().data(data)), watch));
        }
        let now = Instant::now();
        let wait = snapshot
            .next_change
            .map_or(MAX_WAIT, |at| at.saturating_duration_since(now))
            .clamp(Duration::from_millis(1), MAX_WAIT);
        let shutdown = watch.shared.shutdown.clone();
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown.cancelled() => return None,
        }
    }
}
