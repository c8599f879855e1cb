//! The queue's memory: one compact record per request, with its whole life
//! (queued → in progress → completed) fixed by timestamps at submit.
//!
//! No task runs per request. Status is computed from the clock when asked:
//! that keeps 10,000 queued requests cheap and makes zero durations exact
//! (a request with both durations zero is COMPLETED the moment it is asked about).
//!
//! Queue positions: each base app has a FIFO of requests not yet started. A
//! request's position is the number of entries ahead of it. Entries leave the
//! FIFO lazily, from the front, once their start (or start-timeout) instant has
//! passed; with one queue delay for all requests those instants are in submit
//! order, so the count is exact. (Mixed start timeouts can leave an expired
//! entry counted until the ones before it leave.)
//!
//! Memory stays bounded: a request is forgotten once the retention has passed
//! since the latest instant its run could have ended (submit + queue delay +
//! run duration). With one delay and one duration for all requests those
//! instants are in submit order, so eviction is a FIFO swept on each submit:
//! no timer, and a request is never forgotten before it finished. A request
//! that ended early (rejected input, cancelled, start timeout) is kept up to
//! that much longer than the retention.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::StatusCode;
use uuid::Uuid;

use crate::ids;
use crate::reply::Failure;

/// How many log lines a run emits, spread evenly over its duration.
const LOG_STEPS: u32 = 4;

/// What a finished request hands back.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    /// Serialized output JSON.
    Output(Bytes),
    /// The stored error response.
    Failed(Arc<Failure>),
}

/// Everything decided at submit time.
pub(crate) struct NewRequest<'a> {
    /// The request id, chosen by the caller (outputs may be seeded by it).
    pub id: Uuid,
    pub endpoint: &'a str,
    /// Absolute queue base URL the handed-out URLs start with.
    pub queue_base: &'a str,
    pub outcome: Outcome,
    pub start_timeout: Option<Duration>,
    pub webhook: Option<String>,
    /// The runner gives up half-way (fault injection).
    pub runner_cancel: bool,
}

struct Record {
    seq: u64,
    endpoint: Arc<str>,
    app: Arc<str>,
    queue_base: Arc<str>,
    submitted: Instant,
    submitted_wall: SystemTime,
    start_at: Instant,
    end_at: Instant,
    /// Set only when the start timeout expires before the start.
    timeout_at: Option<Instant>,
    cancelled_at: Option<Instant>,
    outcome: Outcome,
    webhook: Option<Box<str>>,
    /// The app refused the input (422): it fails at its start and logs no progress.
    rejected: bool,
}

struct Slot {
    seq: u64,
    leave_at: Instant,
}

#[derive(Default)]
struct Inner {
    requests: HashMap<Uuid, Record>,
    queues: HashMap<Arc<str>, VecDeque<Slot>>,
    names: HashSet<Arc<str>>,
    next_seq: u64,
    /// When each request may be forgotten, in submit order (so in time order).
    evictions: VecDeque<(Instant, Uuid)>,
}

impl Inner {
    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(found) = self.names.get(name) {
            return found.clone();
        }
        let arc: Arc<str> = Arc::from(name);
        self.names.insert(arc.clone());
        arc
    }

    /// Drops entries that have left the queue, then counts those ahead of `seq`.
    fn position(&mut self, app: &str, seq: u64, now: Instant) -> (usize, Option<Instant>) {
        let Some(queue) = self.queues.get_mut(app) else {
            return (0, None);
        };
        while queue.front().is_some_and(|slot| slot.leave_at <= now) {
            queue.pop_front();
        }
        let index = match queue.binary_search_by_key(&seq, |slot| slot.seq) {
            Ok(i) | Err(i) => i,
        };
        let next = if index > 0 {
            queue.front().map(|slot| slot.leave_at)
        } else {
            None
        };
        (index, next)
    }

    /// Forgets every request whose retention has passed.
    fn evict(&mut self, now: Instant) {
        while let Some(&(due, id)) = self.evictions.front() {
            if due > now {
                break;
            }
            self.evictions.pop_front();
            self.requests.remove(&id);
        }
    }

    fn leave_queue(&mut self, app: &str, seq: u64) {
        if let Some(queue) = self.queues.get_mut(app) {
            if let Ok(i) = queue.binary_search_by_key(&seq, |slot| slot.seq) {
                queue.remove(i);
            }
        }
    }
}

/// The phase a request is in at one instant.
#[derive(Clone, Debug)]
pub(crate) enum Phase {
    /// `IN_QUEUE` with this many requests ahead.
    Queued { position: usize },
    /// `IN_PROGRESS`.
    Running,
    /// `COMPLETED`, with what it ended as.
    Completed {
        outcome: Outcome,
        /// Seconds the run took, when it ran to its end.
        inference_time: Option<f64>,
    },
}

/// One log line of a run.
#[derive(Clone, Debug)]
pub(crate) struct LogLine {
    pub message: String,
    pub timestamp: SystemTime,
}

/// A request as seen at one instant: what the status routes render.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    pub app: Arc<str>,
    pub queue_base: Arc<str>,
    pub phase: Phase,
    /// Log lines emitted so far (all of them, oldest first).
    pub logs: Vec<LogLine>,
    /// When something observable changes next (none once completed).
    pub next_change: Option<Instant>,
}

/// Answer to a cancel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CancelOutcome {
    /// Unknown id (or known under another app).
    NotFound,
    /// Already completed; nothing to cancel.
    AlreadyCompleted,
    /// Accepted: a queued request never runs, a running one stops now.
    Requested,
}

/// The queue shared by all connections.
pub(crate) struct Store {
    inner: Mutex<Inner>,
    queue_delay: Duration,
    run_duration: Duration,
    /// How long a finished request is kept (see the module docs).
    retention: Duration,
}

impl Store {
    pub(crate) fn new(queue_delay: Duration, run_duration: Duration, retention: Duration) -> Self {
        Store {
            inner: Mutex::new(Inner::default()),
            queue_delay,
            run_duration,
            retention,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Enqueues a request; returns its id and position.
    pub(crate) fn submit(&self, new: NewRequest<'_>) -> (Uuid, usize) {
        let now = Instant::now();
        let id = new.id;
        let start_at = now + self.queue_delay;
        // The app validates its input before running: a 422 ends the run at once.
        let rejected = matches!(&new.outcome, Outcome::Failed(f) if f.status == StatusCode::UNPROCESSABLE_ENTITY);
        let end_at = if new.runner_cancel {
            start_at + self.run_duration / 2
        } else if rejected {
            start_at
        } else {
            start_at + self.run_duration
        };
        let timeout_at = new
            .start_timeout
            .map(|t| now + t)
            .filter(|deadline| *deadline < start_at);
        let leave_at = timeout_at.unwrap_or(start_at);
        let outcome = if new.runner_cancel {
            Outcome::Failed(Arc::new(Failure::request_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The runner cancelled the request",
                "runner_disconnected",
            )))
        } else {
            new.outcome
        };
        let mut inner = self.lock();
        inner.evict(now);
        // The latest its run can end is `start_at + run_duration`; keep it the
        // retention past that (saturating: a year-long delay keeps it forever).
        let forget_at = (start_at + self.run_duration).checked_add(self.retention);
        if let Some(due) = forget_at {
            inner.evictions.push_back((due, id));
        }
        let seq = inner.next_seq;
        inner.next_seq += 1;
        let endpoint = inner.intern(new.endpoint);
        let app = inner.intern(&ids::base_app(new.endpoint));
        let queue_base = inner.intern(new.queue_base);
        let (ahead, _) = inner.position(&app, seq, now);
        if leave_at > now {
            inner
                .queues
                .entry(app.clone())
                .or_default()
                .push_back(Slot { seq, leave_at });
        }
        inner.requests.insert(
            id,
            Record {
                seq,
                endpoint,
                app,
                queue_base,
                submitted: now,
                submitted_wall: SystemTime::now(),
                start_at,
                end_at,
                timeout_at,
                cancelled_at: None,
                outcome,
                webhook: new.webhook.map(String::into_boxed_str),
                rejected,
            },
        );
        (id, ahead)
    }

    /// The request as of now, if `id` exists and `prefix` is its base app or full id.
    pub(crate) fn snapshot(&self, id: Uuid, prefix: Option<&str>) -> Option<Snapshot> {
        let now = Instant::now();
        let mut inner = self.lock();
        let record = inner.requests.get(&id)?;
        if let Some(prefix) = prefix {
            if prefix != &*record.app && prefix != &*record.endpoint {
                return None;
            }
        }
        let (app, seq) = (record.app.clone(), record.seq);
        let queued = record.is_queued(now);
        let (position, front_leaves) = if queued {
            inner.position(&app, seq, now)
        } else {
            (0, None)
        };
        let record = inner.requests.get(&id)?;
        Some(record.snapshot(now, position, front_leaves))
    }

    /// The full endpoint id a request was submitted under.
    pub(crate) fn endpoint_of(&self, id: Uuid) -> Option<Arc<str>> {
        self.lock().requests.get(&id).map(|r| r.endpoint.clone())
    }

    /// The webhook URL given at submit (`?fal_webhook=`), for the webhook module.
    pub(crate) fn webhook_of(&self, id: Uuid) -> Option<String> {
        self.lock()
            .requests
            .get(&id)
            .and_then(|r| r.webhook.as_deref().map(str::to_owned))
    }

    /// Cancels per spec 3.5.
    pub(crate) fn cancel(&self, id: Uuid, prefix: &str) -> CancelOutcome {
        let now = Instant::now();
        let mut inner = self.lock();
        let Some(record) = inner.requests.get_mut(&id) else {
            return CancelOutcome::NotFound;
        };
        if prefix != &*record.app && prefix != &*record.endpoint {
            return CancelOutcome::NotFound;
        }
        if matches!(record.phase(now), Phase::Completed { .. }) {
            return CancelOutcome::AlreadyCompleted;
        }
        let was_queued = record.is_queued(now);
        record.cancelled_at = Some(now);
        let (app, seq) = (record.app.clone(), record.seq);
        if was_queued {
            inner.leave_queue(&app, seq);
        }
        CancelOutcome::Requested
    }

    /// Number of requests held (for the load bench and tests), after
    /// forgetting those past their retention.
    pub(crate) fn len(&self) -> usize {
        let mut inner = self.lock();
        inner.evict(Instant::now());
        inner.requests.len()
    }

    /// A request's life in wall-clock time as of now, for the Platform APIs'
    /// request history, usage and analytics.
    pub(crate) fn timeline(&self, id: Uuid) -> Option<Timeline> {
        let now = Instant::now();
        let inner = self.lock();
        let record = inner.requests.get(&id)?;
        let wall = |at: Instant| record.submitted_wall + (at - record.submitted);
        let stopped = record.cancelled_at.or(record.timeout_at);
        let started = (now >= record.start_at
            && record.timeout_at.is_none()
            && stopped.is_none_or(|s| s >= record.start_at))
        .then(|| wall(record.start_at));
        let (ended, outcome) = match record.phase(now) {
            Phase::Completed { outcome, .. } => {
                let end = stopped.map_or(record.end_at, |s| s.min(record.end_at));
                (Some(wall(end)), Some(outcome))
            }
            Phase::Queued { .. } | Phase::Running => (None, None),
        };
        Some(Timeline {
            submitted: record.submitted_wall,
            started,
            ended,
            outcome,
        })
    }

    /// Replaces a request's stored output with `failure` (its payloads were
    /// deleted); false when the id is unknown.
    pub(crate) fn forget_output(&self, id: Uuid, failure: Failure) -> bool {
        let mut inner = self.lock();
        match inner.requests.get_mut(&id) {
            Some(record) => {
                record.outcome = Outcome::Failed(Arc::new(failure));
                true
            }
            None => false,
        }
    }
}

/// A request's life in wall-clock time ([`Store::timeline`]).
#[derive(Clone, Debug)]
pub(crate) struct Timeline {
    pub submitted: SystemTime,
    /// When it started running; `None` if it has not (or never will).
    pub started: Option<SystemTime>,
    /// When it completed; `None` while queued or running.
    pub ended: Option<SystemTime>,
    /// What it ended as, once completed.
    pub outcome: Option<Outcome>,
}

impl Record {
    fn is_queued(&self, now: Instant) -> bool {
        matches!(self.phase(now), Phase::Queued { .. })
    }

    /// The phase at `now`, without the queue position (filled in by the caller).
    fn phase(&self, now: Instant) -> Phase {
        if self.cancelled_at.is_some() {
            return Phase::Completed {
                outcome: Outcome::Failed(Arc::new(Failure::request_error(
                    StatusCode::from_u16(499).unwrap_or(StatusCode::BAD_REQUEST),
                    "The request was cancelled by the client",
                    "client_cancelled",
                ))),
                inference_time: None,
            };
        }
        if self.timeout_at.is_some_and(|t| now >= t) {
            return Phase::Completed {
                outcome: Outcome::Failed(Arc::new(Failure::start_timeout())),
                inference_time: None,
            };
        }
        if now < self.start_at {
            Phase::Queued { position: 0 }
        } else if now < self.end_at {
            Phase::Running
        } else {
            Phase::Completed {
                outcome: self.outcome.clone(),
                inference_time: Some((self.end_at - self.start_at).as_secs_f64()),
            }
        }
    }

    /// Instant of log line `k`.
    fn log_at(&self, k: u32) -> Instant {
        self.start_at + (self.end_at - self.start_at) * k / LOG_STEPS
    }

    fn snapshot(&self, now: Instant, position: usize, front_leaves: Option<Instant>) -> Snapshot {
        let mut phase = self.phase(now);
        if let Phase::Queued { position: p } = &mut phase {
            *p = position;
        }
        // Validation precedes the model: a refused input logs no progress.
        let ran = now >= self.start_at && self.timeout_at.is_none() && !self.rejected;
        let horizon = match self.cancelled_at {
            Some(c) => c.min(now),
            None => now,
        };
        let mut logs = Vec::new();
        if ran {
            for k in 0..LOG_STEPS {
                let at = self.log_at(k);
                if at > horizon || at > self.end_at {
                    break;
                }
                let message = if k == 0 {
                    format!("Starting {}", self.endpoint)
                } else {
                    format!("Step {k}/{}", LOG_STEPS - 1)
                };
                logs.push(LogLine {
                    message,
                    timestamp: self.submitted_wall + (at - self.submitted),
                });
            }
        }
        let next_change = match &phase {
            Phase::Queued { .. } => {
                let own = self.timeout_at.unwrap_or(self.start_at);
                Some(front_leaves.map_or(own, |f| f.min(own)))
            }
            Phase::Running => {
                let next_log = (0..LOG_STEPS).map(|k| self.log_at(k)).find(|at| *at > now);
                Some(next_log.map_or(self.end_at, |at| at.min(self.end_at)))
            }
            Phase::Completed { .. } => None,
        };
        Snapshot {
            app: self.app.clone(),
            queue_base: self.queue_base.clone(),
            phase,
            logs,
            next_change,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn new<'a>(endpoint: &'a str) -> NewRequest<'a> {
        NewRequest {
            id: Uuid::new_v4(),
            endpoint,
            queue_base: "http://x/queue",
            outcome: Outcome::Output(Bytes::from_static(b"{}")),
            start_timeout: None,
            webhook: None,
            runner_cancel: false,
        }
    }

    #[test]
    fn zero_durations_complete_at_once_with_all_logs() {
        let store = Store::new(Duration::ZERO, Duration::ZERO, HOUR);
        let (id, ahead) = store.submit(new("a/b/c"));
        assert_eq!(ahead, 0);
        let snap = store.snapshot(id, Some("a/b")).expect("known");
        assert!(matches!(snap.phase, Phase::Completed { .. }));
        assert_eq!(snap.logs.len(), LOG_STEPS as usize);
        assert!(store.snapshot(id, Some("a/x")).is_none());
        assert!(store.snapshot(id, Some("a/b/c")).is_some());
    }

    #[test]
    fn positions_count_requests_ahead_and_cancel_removes() {
        let store = Store::new(Duration::from_secs(60), Duration::ZERO, HOUR);
        let (a, pa) = store.submit(new("a/b"));
        let (b, pb) = store.submit(new("a/b"));
        let (_c, pc) = store.submit(new("a/b"));
        let (_other, po) = store.submit(new("x/y"));
        assert_eq!((pa, pb, pc, po), (0, 1, 2, 0));
        assert_eq!(store.cancel(a, "a/b"), CancelOutcome::Requested);
        assert_eq!(store.cancel(a, "a/b"), CancelOutcome::AlreadyCompleted);
        let snap = store.snapshot(b, None).expect("known");
        assert!(matches!(snap.phase, Phase::Queued { position: 0 }));
        assert_eq!(store.cancel(Uuid::new_v4(), "a/b"), CancelOutcome::NotFound);
    }

    #[test]
    fn finished_requests_are_forgotten_after_the_retention_and_not_before() {
        let store = Store::new(Duration::ZERO, Duration::ZERO, Duration::ZERO);
        let (first, _) = store.submit(new("a/b"));
        let (second, _) = store.submit(new("a/b"));
        assert!(
            store.snapshot(first, None).is_none(),
            "evicted by the next submit"
        );
        assert!(store.snapshot(second, None).is_some());
        assert_eq!(store.len(), 0, "len sweeps too");

        let running = Store::new(Duration::ZERO, Duration::from_secs(60), Duration::ZERO);
        let (first, _) = running.submit(new("a/b"));
        running.submit(new("a/b"));
        assert!(
            matches!(
                running.snapshot(first, None).map(|s| s.phase),
                Some(Phase::Running)
            ),
            "still running, so still held"
        );

        let kept = Store::new(Duration::ZERO, Duration::ZERO, HOUR);
        let (first, _) = kept.submit(new("a/b"));
        kept.submit(new("a/b"));
        assert!(kept.snapshot(first, None).is_some());
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn a_refused_input_logs_no_progress() {
        let store = Store::new(Duration::ZERO, Duration::ZERO, HOUR);
        let mut request = new("a/b");
        request.outcome = Outcome::Failed(Arc::new(Failure::app_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &serde_json::json!({"detail": []}),
        )));
        let (id, _) = store.submit(request);
        let snap = store.snapshot(id, None).expect("known");
        assert!(matches!(snap.phase, Phase::Completed { .. }));
        assert!(snap.logs.is_empty(), "{:?}", snap.logs);
    }
}
