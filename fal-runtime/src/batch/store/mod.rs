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
    const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Submitting,
        JobState::Running,
        JobState::Finishing,
        JobState::Done,
    ];

    pub(crate) fn parse(text: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The word both backends store.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Submitting => "submitting",
            JobState::Running => "running",
            JobState::Finishing => "finishing",
            JobState::Done => "done",
        }
    }
}

/// A value bound to a statement; each backend converts it to its own type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum SqlValue {
    Int(i64),
    Real(Option<f64>),
    Text(String),
}

/// What differs between the backends' SQL for a [`Change`].
pub(crate) struct Dialect {
    /// The jobs table.
    pub(crate) jobs: &'static str,
    /// The expression `updated_at` is set to.
    pub(crate) now: &'static str,
    /// The placeholder of the `n`th bound value (from 1).
    pub(crate) placeholder: fn(usize) -> String,
}

/// One change of a job's row, made only while its worker still leases it: the
/// one description of each transition of the table above, which each backend
/// renders in its own SQL ([`Change::update`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Change {
    /// The states the job may be found in; any other means the lease was lost.
    from: &'static [JobState],
    to: JobState,
    /// Added to the job's count of doubtful submits.
    doubtful: i64,
    /// Columns set along with the state.
    set: Vec<(&'static str, SqlValue)>,
}

impl Change {
    fn new(from: &'static [JobState], to: JobState) -> Change {
        Change {
            from,
            to,
            doubtful: 0,
            set: Vec::new(),
        }
    }

    /// `queued` → `submitting`, before the submit is sent.
    pub(crate) fn submitting() -> Change {
        Change::new(&[JobState::Queued], JobState::Submitting)
    }

    /// `submitting` → `running`, with the request id fal assigned.
    pub(crate) fn submitted(request_id: &str) -> Change {
        let mut change = Change::new(&[JobState::Submitting], JobState::Running);
        change
            .set
            .push(("request_id", SqlValue::Text(request_id.to_owned())));
        change
    }

    /// Back to `queued`; `doubtful` when the submit's answer was lost.
    pub(crate) fn requeue(doubtful: bool) -> Change {
        let mut change = Change::new(&[JobState::Queued, JobState::Submitting], JobState::Queued);
        change.doubtful = i64::from(doubtful);
        change
    }

    /// A `submitting` job whose worker died: `queued`, one doubtful submit.
    pub(crate) fn found_in_doubt() -> Change {
        let mut change = Change::new(&[JobState::Submitting], JobState::Queued);
        change.doubtful = 1;
        change
    }

    /// → `finishing`, with the result line for `dir_id` to write.
    pub(crate) fn finish(
        dir_id: &str,
        outcome: Outcome,
        result: &str,
        billable_units: Option<f64>,
    ) -> Change {
        let mut change = Change::new(
            &[JobState::Queued, JobState::Submitting, JobState::Running],
            JobState::Finishing,
        );
        change.set = vec![
            ("dir_id", SqlValue::Text(dir_id.to_owned())),
            ("outcome", SqlValue::Text(outcome.as_str().to_owned())),
            ("result", SqlValue::Text(result.to_owned())),
            ("billable_units", SqlValue::Real(billable_units)),
        ];
        change
    }

    /// The `UPDATE` of job `line` leased to `owner` (and, for a table shared
    /// by batches, in batch `scope`), and the values it binds, in order.
    pub(crate) fn update(
        &self,
        dialect: &Dialect,
        scope: Option<&str>,
        line: u64,
        owner: &str,
    ) -> (String, Vec<SqlValue>) {
        let mut values = Vec::new();
        let mut bind = |value: SqlValue| {
            values.push(value);
            (dialect.placeholder)(values.len())
        };
        let mut sql = format!(
            "UPDATE {} SET state = '{}', doubtful = doubtful + {}",
            dialect.jobs,
            self.to.as_str(),
            bind(SqlValue::Int(self.doubtful))
        );
        for (column, value) in &self.set {
            sql.push_str(&format!(", {column} = {}", bind(value.clone())));
        }
        sql.push_str(&format!(", updated_at = {} WHERE ", dialect.now));
        if let Some(batch) = scope {
            sql.push_str(&format!(
                "batch = {} AND ",
                bind(SqlValue::Text(batch.to_owned()))
            ));
        }
        let from: Vec<String> = self
            .from
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        sql.push_str(&format!(
            "line = {} AND lease_owner = {} AND state IN ({})",
            bind(SqlValue::Int(line as i64)),
            bind(SqlValue::Text(owner.to_owned())),
            from.join(", ")
        ));
        (sql, values)
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

/// A claimed row as both backends return it: `line, input, state,
/// request_id, result`.
pub(crate) type ClaimRow = (i64, String, String, Option<String>, Option<String>);

impl ClaimedJob {
    /// The job a claimed row holds; `store` names the state in the error for
    /// a state this version does not know.
    fn from_row(row: ClaimRow, store: &Store) -> Result<ClaimedJob, StoreError> {
        let (line, input, state, request_id, result) = row;
        let line = line as u64;
        let state = JobState::parse(&state).ok_or_else(|| {
            StoreError::new(format!(
                "{}: job {line} has an unknown state {state:?}",
                store.describe()
            ))
        })?;
        Ok(ClaimedJob {
            line,
            input,
            state,
            request_id,
            result,
        })
    }
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
        write!(f, "Store({})", self.describe())
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
    /// The state file, or the PostgreSQL URL without its password.
    fn describe(&self) -> String {
        match self {
            Store::Sqlite(s) => format!("state file {}", s.path().display()),
            #[cfg(feature = "batch-postgres")]
            Store::Postgres(p) => format!("PostgreSQL state {}", p.display()),
        }
    }

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
        let rows = dispatch!(self.claim(owner, dir_id, n, lease))?;
        let mut jobs = rows
            .into_iter()
            .map(|row| ClaimedJob::from_row(row, self))
            .collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|j| (j.state == JobState::Queued, j.line));
        Ok(jobs)
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
        self.change(owner, line, Change::submitting()).await
    }

    /// `submitting` → `running` with the request id fal assigned, committed
    /// before anything waits on it, and kept in the audit of every id ever
    /// recorded for the job (so "was this job queued twice?" has an answer).
    pub(crate) async fn submitted(
        &self,
        owner: &str,
        line: u64,
        request_id: &str,
    ) -> Result<(), StoreError> {
        dispatch!(self.submitted(owner, line, Change::submitted(request_id)))
    }

    /// Back to `queued`: fal refused the submit, or (with `doubtful`) its
    /// answer was lost, which counts one doubtful submit.
    pub(crate) async fn requeue(
        &self,
        owner: &str,
        line: u64,
        doubtful: bool,
    ) -> Result<(), StoreError> {
        self.change(owner, line, Change::requeue(doubtful)).await
    }

    /// Counts one doubtful submit found by a claim (a `submitting` job whose
    /// worker died), leaving it `queued`.
    pub(crate) async fn found_in_doubt(&self, owner: &str, line: u64) -> Result<(), StoreError> {
        self.change(owner, line, Change::found_in_doubt()).await
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
        let change = Change::finish(dir_id, outcome, result, billable_units);
        self.change(owner, line, change).await
    }

    /// Makes `change` to job `line`; a job no longer leased to `owner`, or
    /// not in a state the change starts from, is a lost lease.
    async fn change(&self, owner: &str, line: u64, change: Change) -> Result<(), StoreError> {
        dispatch!(self.change(owner, line, change))
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
