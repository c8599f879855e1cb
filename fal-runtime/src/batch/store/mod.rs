//! Where a batch's state lives: a SQLite file in the batch directory (one
//! worker), or PostgreSQL (several workers sharing one batch through leases).
//!
//! Both keep the same facts, one row per job:
//!
//! | state | meaning | next |
//! |---|---|---|
//! | `queued` | not submitted (or given back: a submit fal refused, a 429) | `submitting` |
//! | `submitting` | a submit was sent and its answer not yet recorded | `running`, or *in doubt* if found so by a later worker |
//! | `running` | the request id is recorded; the job waits for fal | `finishing` |
//! | `finishing` | the result line is recorded, for the directory that will write it | `done` |
//! | `done` | the result line (and the files it names) are on disk | — |
//!
//! A job found in `submitting` by a claim was being submitted when its worker
//! died: fal may or may not have queued it. It counts one *doubtful submit* and
//! is listed by line, so the user can check it.

pub(crate) mod sqlite;

#[cfg(feature = "batch-postgres")]
pub(crate) mod postgres;

use std::fmt;
use std::time::Duration;

/// A job's state, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobState {
    Queued,
    Submitting,
    Running,
    Finishing,
    Done,
}

impl JobState {
    pub(crate) fn parse(text: &str) -> Option<JobState> {
        Some(match text {
            "queued" => JobState::Queued,
            "submitting" => JobState::Submitting,
            "running" => JobState::Running,
            "finishing" => JobState::Finishing,
            "done" => JobState::Done,
            _ => return None,
        })
    }
}

/// A job handed to a worker by a claim.
#[derive(Clone, Debug)]
pub(crate) struct ClaimedJob {
    pub(crate) line: u64,
    pub(crate) input: String,
    pub(crate) state: JobState,
    pub(crate) request_id: Option<String>,
    /// The result line, for a job claimed in `finishing`.
    pub(crate) result: Option<String>,
}

/// How a finished job ended, for the counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Error,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
        }
    }
}

/// What the batch is, as recorded when it was created.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Meta {
    pub(crate) endpoint: String,
    pub(crate) input_sha256: String,
    pub(crate) webhook: Option<String>,
    pub(crate) jobs: u64,
}

/// Jobs by state, as a user wants to see them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Jobs in the batch.
    pub total: u64,
    /// Finished with an output.
    pub ok: u64,
    /// Finished with an error.
    pub failed: u64,
    /// Result recorded, line not yet written by its directory.
    pub finishing: u64,
    /// Submitted (request id recorded) and not finished, or being submitted.
    pub in_flight: u64,
    /// Not submitted yet.
    pub queued: u64,
}

impl Counts {
    /// Jobs with a result line on disk.
    pub fn done(&self) -> u64 {
        self.ok + self.failed
    }

    /// Whether every job has its result line.
    pub fn is_complete(&self) -> bool {
        self.done() == self.total
    }

    /// Adds `n` jobs in stored `state` with `outcome` (both backends count
    /// with `GROUP BY state, outcome`).
    pub(crate) fn add(&mut self, state: &str, outcome: Option<&str>, n: u64) {
        self.total += n;
        match (state, outcome) {
            ("done", Some("ok")) => self.ok += n,
            ("done", _) => self.failed += n,
            ("finishing", _) => self.finishing += n,
            ("queued", _) => self.queued += n,
            _ => self.in_flight += n,
        }
    }
}

/// A state operation failed.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct StoreError {
    pub(crate) message: String,
    /// The storage is full (SQLite's `SQLITE_FULL`, an `ENOSPC`, PostgreSQL's
    /// `disk_full`): nothing was recorded, and freeing space lets the batch resume.
    pub(crate) full: bool,
    /// This worker no longer holds the job's lease (PostgreSQL): another
    /// worker may have taken it over.
    pub(crate) lease_lost: bool,
}

impl StoreError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
            full: false,
            lease_lost: false,
        }
    }

    pub(crate) fn lease_lost(line: u64) -> Self {
        StoreError {
            message: format!("job {line} is no longer leased to this worker"),
            full: false,
            lease_lost: true,
        }
    }

    /// Whether the storage was full.
    pub fn is_full(&self) -> bool {
        self.full
    }
}

/// One batch's state, whichever backend holds it.
pub(crate) enum Store {
    Sqlite(sqlite::SqliteStore),
    #[cfg(feature = "batch-postgres")]
    Postgres(postgres::PgStore),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Store::Sqlite(s) => write!(f, "Store::Sqlite({})", s.path().display()),
            #[cfg(feature = "batch-postgres")]
            Store::Postgres(p) => write!(f, "Store::Postgres({})", p.display()),
        }
    }
}

/// Dispatches a call to the backend in use.
macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match $self {
            Store::Sqlite(s) => s.$method($($arg),*).await,
            #[cfg(feature = "batch-postgres")]
            Store::Postgres(p) => p.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// Before a run: SQLite clears the leases a dead runner left (the
    /// directory lock makes this process the only runner); PostgreSQL leases
    /// expire by themselves.
    pub(crate) async fn starting(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.clear_leases().await,
            #[cfg(feature = "batch-postgres")]
            Store::Postgres(_) => Ok(()),
        }
    }

    pub(crate) async fn meta(&self) -> Result<Option<Meta>, StoreError> {
        dispatch!(self.meta())
    }

    /// Records the batch and its jobs, all or nothing. `Ok(false)` when the
    /// batch existed already (PostgreSQL: another worker created it).
    pub(crate) async fn create(
        &self,
        meta: Meta,
        jobs: Vec<(u64, String)>,
    ) -> Result<bool, StoreError> {
        dispatch!(self.create(meta, jobs))
    }

    /// Up to `n` jobs that are not done and not leased (or whose lease
    /// expired), leased to `owner`; in-flight jobs first, then by line.
    pub(crate) async fn claim(
        &self,
        owner: &str,
        dir_id: &str,
        n: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        dispatch!(self.claim(owner, dir_id, n, lease))
    }

    /// Extends every lease `owner` holds.
    pub(crate) async fn renew(&self, owner: &str, lease: Duration) -> Result<(), StoreError> {
        dispatch!(self.renew(owner, lease))
    }

    /// Gives back the leases on these jobs (they stay in their state).
    pub(crate) async fn release(&self, owner: &str, lines: Vec<u64>) -> Result<(), StoreError> {
        dispatch!(self.release(owner, lines))
    }

    /// `queued` → `submitting`, committed before the submit is sent.
    pub(crate) async fn submitting(&self, owner: &str, line: u64) -> Result<(), StoreError> {
        dispatch!(self.submitting(owner, line))
    }

    /// `submitting` → `running` with the request id fal assigned, committed
    /// before anything waits on it.
    pub(crate) async fn submitted(
        &self,
        owner: &str,
        line: u64,
        request_id: &str,
    ) -> Result<(), StoreError> {
        dispatch!(self.submitted(owner, line, request_id))
    }

    /// Back to `queued`: fal refused the submit, or (with `doubtful`) its
    /// answer was lost, which counts one doubtful submit.
    pub(crate) async fn requeue(
        &self,
        owner: &str,
        line: u64,
        doubtful: bool,
    ) -> Result<(), StoreError> {
        dispatch!(self.requeue(owner, line, doubtful))
    }

    /// Counts one doubtful submit found by a claim (a `submitting` job whose
    /// worker died), leaving it `queued`.
    pub(crate) async fn found_in_doubt(&self, owner: &str, line: u64) -> Result<(), StoreError> {
        dispatch!(self.found_in_doubt(owner, line))
    }

    /// → `finishing`: the result line, for `dir_id` to write.
    pub(crate) async fn finish(
        &self,
        owner: &str,
        line: u64,
        dir_id: &str,
        outcome: Outcome,
        result: &str,
        billable_units: Option<f64>,
    ) -> Result<(), StoreError> {
        dispatch!(self.finish(owner, line, dir_id, outcome, result, billable_units))
    }

    /// `finishing` → `done`: the line is on disk in `dir_id`.
    pub(crate) async fn written(&self, lines: Vec<u64>, dir_id: &str) -> Result<(), StoreError> {
        dispatch!(self.written(lines, dir_id))
    }

    /// Jobs in `finishing` for `dir_id`, with their result lines.
    pub(crate) async fn unwritten(&self, dir_id: &str) -> Result<Vec<(u64, String)>, StoreError> {
        dispatch!(self.unwritten(dir_id))
    }

    /// The body of the webhook delivery recorded for `request_id`, if any.
    pub(crate) async fn delivery(&self, request_id: &str) -> Result<Option<String>, StoreError> {
        dispatch!(self.delivery(request_id))
    }

    /// Records a webhook delivery; a repeat of a recorded one changes nothing.
    /// `Ok(true)` when it was new.
    pub(crate) async fn record_delivery(
        &self,
        request_id: &str,
        body: &str,
    ) -> Result<bool, StoreError> {
        dispatch!(self.record_delivery(request_id, body))
    }

    pub(crate) async fn counts(&self) -> Result<Counts, StoreError> {
        dispatch!(self.counts())
    }

    /// Lines with at least one doubtful submit, and how many each.
    pub(crate) async fn doubtful(&self) -> Result<Vec<(u64, u64)>, StoreError> {
        dispatch!(self.doubtful())
    }

    /// Every request id ever recorded for a job, with its line.
    pub(crate) async fn submits(&self) -> Result<Vec<(u64, String)>, StoreError> {
        dispatch!(self.submits())
    }

    /// Sum of the billable units recorded, and how many jobs reported some.
    pub(crate) async fn billable_units(&self) -> Result<(f64, u64), StoreError> {
        dispatch!(self.billable_units())
    }
}
