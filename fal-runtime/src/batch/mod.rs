//! A durable batch runner: one endpoint, thousands of inputs, nothing lost.
//!
//! Each line of a JSONL file is one job. [`Batch::create`] records every job in
//! the batch's state (a SQLite file in the batch directory, or PostgreSQL);
//! [`Batch::run`] submits them through fal's queue, keeps at most
//! [`BatchOptions::concurrency`] in flight, and writes one line per finished
//! job to `DIR/results.jsonl`, with the files each output names downloaded
//! into `DIR/files/`.
//!
//! What makes it durable:
//! - a job is marked `submitting` before its submit is sent, and its request id
//!   is committed before anything waits on it, so after a `kill -9`
//!   [`Batch::open`] + [`Batch::run`] follow every recorded request instead of
//!   submitting it again;
//! - a submit whose answer was lost (the process died, or the connection broke
//!   after the body was sent) may or may not have been queued by fal: it is
//!   counted as a *doubtful submit*, submitted again (or failed, with
//!   [`InDoubt::Fail`]) and listed by line ([`BatchStatus::doubtful`]) so the
//!   user can check it; at most `concurrency` jobs can be in that state at a kill;
//! - a job is done only once its result line is synced to `results.jsonl`
//!   (after its files), and a restart first completes the lines a kill cut
//!   short, so every job ends with exactly one result line.
//!
//! How it treats fal: submits go through the queue (queued requests are never
//! refused for concurrency; only running ones count against an account's
//! limit); a 429 pauses every submit for its `Retry-After`; waiting jobs are
//! followed by status polls in rounds over a few pooled connections
//! ([`BatchOptions::connections`]), never one open stream per job; with a
//! webhook (given to [`Batch::create`]), deliveries recorded by
//! `receive_router` (feature `axum`) finish jobs, and polling only covers
//! deliveries that never came.
//!
//! With the `batch-postgres` feature the state can live in PostgreSQL: workers
//! on several machines run the same batch, each job leased to one worker
//! (`FOR UPDATE SKIP LOCKED`); a lease that is not renewed expires and another
//! worker takes the job over, following its recorded request id.

mod files;
mod manifest;
mod results;
mod runner;
mod store;

#[cfg(feature = "axum")]
mod receive;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use files::FILES_DIR;
pub use manifest::{Manifest, MANIFEST_FILE};
pub use results::RESULTS_FILE;
pub use runner::{Progress, Summary};
pub use store::{Counts, StoreError};

#[cfg(feature = "axum")]
pub use receive::{receive_router, ReceiveState};

use store::{Meta, Store};

/// The SQLite state file inside the batch directory.
pub const STATE_FILE: &str = "state.sqlite";

/// The lock file that keeps two runners out of one directory.
pub const LOCK_FILE: &str = "batch.lock";

/// Where a batch keeps its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateLocation {
    /// `DIR/state.sqlite` (the default; one worker).
    Sqlite,
    /// A PostgreSQL database (`postgres://user@host/db`), shared by workers.
    #[cfg(feature = "batch-postgres")]
    Postgres {
        /// The connection URL; may carry a password, which is never stored or printed.
        url: String,
        /// The batch's name in the database; by default derived from the
        /// endpoint and the input file's content, so the same command run on
        /// several machines joins the same batch.
        name: Option<String>,
    },
}

/// What to do with a job whose submit may or may not have been queued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InDoubt {
    /// Submit it again (fal may then run it twice); it stays listed as doubtful.
    #[default]
    Resubmit,
    /// Give it an error result line (`"kind": "submit_in_doubt"`) instead.
    Fail,
}

/// How a run behaves.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BatchOptions {
    /// Most jobs submitted and not finished at once (default 8).
    pub concurrency: usize,
    /// Most HTTP calls at once (submits, polls, results, downloads; default 16):
    /// this bounds the sockets a run opens whatever the concurrency.
    pub connections: usize,
    /// Longest gap between two status polls of one job (default 2 s); the
    /// first poll comes sooner and the gap grows towards this.
    pub poll_interval: Duration,
    /// With a webhook: the gap between status polls that cover deliveries that
    /// never arrive (default 60 s). Recorded deliveries are checked every
    /// `poll_interval`.
    pub webhook_poll_interval: Duration,
    /// PostgreSQL: how long a job stays leased to a worker that stops
    /// renewing (default 60 s). Renewed every third of it.
    pub lease: Duration,
    /// What to do with doubtful submits.
    pub in_doubt: InDoubt,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            concurrency: 8,
            connections: 16,
            poll_interval: Duration::from_secs(2),
            webhook_poll_interval: Duration::from_secs(60),
            lease: Duration::from_secs(60),
            in_doubt: InDoubt::Resubmit,
        }
    }
}

impl BatchOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`Self::concurrency`] (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Sets [`Self::connections`] (at least 1).
    pub fn connections(mut self, n: usize) -> Self {
        self.connections = n.max(1);
        self
    }

    /// Sets [`Self::poll_interval`].
    pub fn poll_interval(mut self, gap: Duration) -> Self {
        self.poll_interval = gap;
        self
    }

    /// Sets [`Self::webhook_poll_interval`].
    pub fn webhook_poll_interval(mut self, gap: Duration) -> Self {
        self.webhook_poll_interval = gap;
        self
    }

    /// Sets [`Self::lease`].
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets [`Self::in_doubt`].
    pub fn in_doubt(mut self, policy: InDoubt) -> Self {
        self.in_doubt = policy;
        self
    }
}

/// Why a batch could not be created, opened or run. Nothing recorded is lost
/// by any of them: fix the cause and resume.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// A line of the input file is not a JSON object.
    #[error("{}:{line}:{column}: {message}", .path.display())]
    Input {
        /// The input file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// A file of the batch could not be read or written.
    #[error("cannot {action} {}: {source}{}", .path.display(), full_hint(.source))]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done ("write", "append to"…).
        action: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The state could not be read or written.
    #[error(transparent)]
    State(#[from] StoreError),
    /// Another process runs this batch directory.
    #[error("{} is in use by another `fal batch` process (lock file {LOCK_FILE})", .0.display())]
    Busy(PathBuf),
    /// The directory holds no batch.
    #[error("{} holds no batch ({MANIFEST_FILE} is missing)", .0.display())]
    NotABatch(PathBuf),
    /// The directory (or the shared state) holds a different batch.
    #[error("{0}")]
    Mismatch(String),
    /// The batch's files are not what this runner wrote.
    #[error("{0}")]
    Corrupt(String),
    /// fal refused every job the same way (bad key, unknown endpoint…); the
    /// jobs stay queued.
    #[error("fal refused the batch: {0}")]
    Refused(#[source] crate::Error),
    /// A setting is unusable (endpoint id, URL, option).
    #[error("{0}")]
    Config(String),
}

fn full_hint(err: &std::io::Error) -> &'static str {
    if err.kind() == std::io::ErrorKind::StorageFull {
        " (free some space, then `fal batch resume`: nothing recorded was lost)"
    } else {
        ""
    }
}

impl BatchError {
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> BatchError {
        BatchError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    }

    /// Whether the user can fix this by changing the command or its input
    /// (as opposed to fal, the network or the disk failing).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            BatchError::Input { .. }
                | BatchError::Busy(_)
                | BatchError::NotABatch(_)
                | BatchError::Mismatch(_)
                | BatchError::Config(_)
        )
    }

    /// Whether the disk (or the database) was full.
    pub fn is_storage_full(&self) -> bool {
        match self {
            BatchError::Io { source, .. } => source.kind() == std::io::ErrorKind::StorageFull,
            BatchError::State(err) => err.is_full(),
            _ => false,
        }
    }
}

/// A batch's counts and the lines that need a person's eye.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BatchStatus {
    /// The endpoint every job calls.
    pub endpoint: String,
    /// Jobs by state.
    pub counts: Counts,
    /// Lines with doubtful submits (line, how many): fal may have queued
    /// the job more than once.
    pub doubtful: Vec<(u64, u64)>,
    /// Sum of the billable units fal reported, and over how many jobs.
    pub billable_units: (f64, u64),
}

/// One batch: its directory, manifest and state.
#[derive(Debug)]
pub struct Batch {
    dir: PathBuf,
    manifest: Manifest,
    store: Store,
    /// Held for the life of the value: one runner per directory.
    _lock: Option<File>,
}

/// Reads and checks the input file: every non-blank line a JSON object.
fn read_jobs(path: &Path) -> Result<(Vec<(u64, String)>, String), BatchError> {
    let bytes = std::fs::read(path).map_err(|e| BatchError::io(path, "read", e))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let text = std::str::from_utf8(&bytes).map_err(|err| {
        let before = &bytes[..err.valid_up_to()];
        let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        BatchError::Input {
            path: path.to_owned(),
            line,
            column: (before.len()
                - before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1)) as u64
                + 1,
            message: "not UTF-8".into(),
        }
    })?;
    let mut jobs = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index as u64 + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_str(raw).map_err(|err| BatchError::Input {
                path: path.to_owned(),
                line,
                column: err.column() as u64,
                message: format!("not valid JSON: {err}"),
            })?;
        if !value.is_object() {
            return Err(BatchError::Input {
                path: path.to_owned(),
                line,
                column: 1,
                message: "a job must be a JSON object (the endpoint's input)".into(),
            });
        }
        jobs.push((line, serde_json::to_string(&value).unwrap_or_default()));
    }
    if jobs.is_empty() {
        return Err(BatchError::Input {
            path: path.to_owned(),
            line: 1,
            column: 1,
            message: "no jobs: the file has no JSON lines".into(),
        });
    }
    Ok((jobs, sha256))
}

/// Takes the directory's lock, or says who holds it.
fn lock_dir(dir: &Path) -> Result<File, BatchError> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| BatchError::io(&path, "open", e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(BatchError::Busy(dir.to_owned())),
        Err(std::fs::TryLockError::Error(err)) => Err(BatchError::io(&path, "lock", err)),
    }
}

fn random_id() -> Result<String, BatchError> {
    let bytes: [u8; 8] = crate::random::bytes().map_err(|e| BatchError::Config(e.to_string()))?;
    Ok(hex::encode(bytes))
}

impl Batch {
    /// Creates a batch in `dir` (created if missing) from the JSONL file
    /// `input`: every job recorded before anything is sent. With a shared
    /// PostgreSQL state that already holds the same batch (same endpoint and
    /// input), this worker joins it.
    pub async fn create(
        dir: &Path,
        endpoint: &str,
        input: &Path,
        state: StateLocation,
        webhook: Option<String>,
    ) -> Result<Batch, BatchError> {
        crate::EndpointId::parse(endpoint).map_err(|e| BatchError::Config(e.to_string()))?;
        if let Some(url) = &webhook {
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                _ => {
                    return Err(BatchError::Config(format!(
                        "webhook {url:?} is not an http(s) URL"
                    )))
                }
            }
        }
        let (jobs, input_sha256) = read_jobs(input)?;
        std::fs::create_dir_all(dir).map_err(|e| BatchError::io(dir, "create", e))?;
        if dir.join(MANIFEST_FILE).exists() {
            return Err(BatchError::Mismatch(format!(
                "{} already holds a batch: `fal batch resume {}` continues it",
                dir.display(),
                dir.display()
            )));
        }
        let lock = lock_dir(dir)?;
        let meta = Meta {
            endpoint: endpoint.to_owned(),
            input_sha256: input_sha256.clone(),
            webhook: webhook.clone(),
            jobs: jobs.len() as u64,
        };
        let (store, state_name) = Self::open_store(dir, &state, &meta, true).await?;
        let created = store.create(meta.clone(), jobs).await?;
        if !created {
            let existing = store.meta().await?;
            if existing.as_ref() != Some(&meta) {
                return Err(BatchError::Mismatch(format!(
                    "the state already holds batch {} with another endpoint, input or webhook",
                    state_name.as_deref().unwrap_or("(sqlite)")
                )));
            }
        }
        let manifest = Manifest {
            version: 1,
            endpoint: endpoint.to_owned(),
            input: input.display().to_string(),
            input_sha256,
            jobs: meta.jobs,
            webhook,
            dir_id: random_id()?,
            state: match &state {
                StateLocation::Sqlite => manifest::StateRecord::Sqlite,
                #[cfg(feature = "batch-postgres")]
                StateLocation::Postgres { url, .. } => manifest::StateRecord::Postgres {
                    display: store::postgres::display_url(url),
                    batch: state_name.clone().unwrap_or_default(),
                },
            },
        };
        manifest.write(dir)?;
        Ok(Batch {
            dir: dir.to_owned(),
            manifest,
            store,
            _lock: Some(lock),
        })
    }

    /// Opens the batch in `dir` to run it (taking the directory's lock). A
    /// PostgreSQL batch needs its URL again (`postgres`), since the password
    /// is never written down.
    pub async fn open(dir: &Path, postgres: Option<&str>) -> Result<Batch, BatchError> {
        Self::open_with(dir, postgres, true).await
    }

    /// Opens the batch in `dir` to read its status, while a run may be going on.
    pub async fn open_read(dir: &Path, postgres: Option<&str>) -> Result<Batch, BatchError> {
        Self::open_with(dir, postgres, false).await
    }

    async fn open_with(
        dir: &Path,
        postgres: Option<&str>,
        lock: bool,
    ) -> Result<Batch, BatchError> {
        // A directory that is not there holds no batch; say that rather than
        // fail on the lock file the next line would create inside it.
        match std::fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(BatchError::NotABatch(dir.to_owned())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(BatchError::NotABatch(dir.to_owned()))
            }
            Err(err) => return Err(BatchError::io(dir, "read", err)),
        }
        let lock = if lock { Some(lock_dir(dir)?) } else { None };
        let manifest = match Manifest::read(dir) {
            Err(BatchError::NotABatch(_)) if lock.is_some() && dir.join(STATE_FILE).exists() => {
                Self::finish_creation(dir).await?
            }
            other => other?,
        };
        let state = match (&manifest.state, postgres) {
            (manifest::StateRecord::Sqlite, None) => StateLocation::Sqlite,
            (manifest::StateRecord::Sqlite, Some(_)) => {
                return Err(BatchError::Config(format!(
                    "{} keeps its state in {STATE_FILE}; --state does not apply",
                    dir.display()
                )))
            }
            #[cfg(feature = "batch-postgres")]
            (manifest::StateRecord::Postgres { batch, .. }, Some(url)) => StateLocation::Postgres {
                url: url.to_owned(),
                name: Some(batch.clone()),
            },
            #[cfg(feature = "batch-postgres")]
            (manifest::StateRecord::Postgres { display, .. }, None) => {
                return Err(BatchError::Config(format!(
                    "{} keeps its state in PostgreSQL ({display}): pass --state postgres://… again",
                    dir.display()
                )))
            }
            #[cfg(not(feature = "batch-postgres"))]
            (manifest::StateRecord::Postgres { display, .. }, _) => {
                return Err(BatchError::Config(format!(
                    "{} keeps its state in PostgreSQL ({display}); this build has no PostgreSQL support (feature batch-postgres)",
                    dir.display()
                )))
            }
        };
        let meta = Meta {
            endpoint: manifest.endpoint.clone(),
            input_sha256: manifest.input_sha256.clone(),
            webhook: manifest.webhook.clone(),
            jobs: manifest.jobs,
        };
        let (store, _) = Self::open_store(dir, &state, &meta, false).await?;
        match store.meta().await? {
            Some(found) if found == meta => {}
            _ => {
                return Err(BatchError::Mismatch(format!(
                    "the state of {} does not hold the batch its {MANIFEST_FILE} describes",
                    dir.display()
                )))
            }
        }
        Ok(Batch {
            dir: dir.to_owned(),
            manifest,
            store,
            _lock: lock,
        })
    }

    /// A `run` killed after the state was committed but before `batch.json`
    /// was written left a complete SQLite state (its jobs are recorded in one
    /// transaction, nothing was sent yet): write the manifest from it.
    async fn finish_creation(dir: &Path) -> Result<Manifest, BatchError> {
        let store = store::sqlite::SqliteStore::open(&dir.join(STATE_FILE), false)?;
        let Some(meta) = store.meta().await? else {
            return Err(BatchError::NotABatch(dir.to_owned()));
        };
        let manifest = Manifest {
            version: 1,
            endpoint: meta.endpoint,
            input: String::new(),
            input_sha256: meta.input_sha256,
            jobs: meta.jobs,
            webhook: meta.webhook,
            dir_id: random_id()?,
            state: manifest::StateRecord::Sqlite,
        };
        manifest.write(dir)?;
        Ok(manifest)
    }

    async fn open_store(
        dir: &Path,
        state: &StateLocation,
        meta: &Meta,
        create: bool,
    ) -> Result<(Store, Option<String>), BatchError> {
        let _ = meta;
        match state {
            StateLocation::Sqlite => {
                let path = dir.join(STATE_FILE);
                if !create && !path.exists() {
                    return Err(BatchError::Corrupt(format!(
                        "{} is missing: the batch's state is gone",
                        path.display()
                    )));
                }
                let store = store::sqlite::SqliteStore::open(&path, create)?;
                Ok((Store::Sqlite(store), None))
            }
            #[cfg(feature = "batch-postgres")]
            StateLocation::Postgres { url, name } => {
                let name = name.clone().unwrap_or_else(|| {
                    let digest = Sha256::digest(
                        format!("{}\n{}", meta.endpoint, meta.input_sha256).as_bytes(),
                    );
                    hex::encode(&digest[..8])
                });
                let store = store::postgres::PgStore::connect(url, &name).await?;
                Ok((Store::Postgres(store), Some(name)))
            }
        }
    }

    /// The batch directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What `batch.json` records.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The endpoint every job calls.
    pub fn endpoint(&self) -> &str {
        &self.manifest.endpoint
    }

    /// Counts, doubtful lines and billable units, from the state.
    pub async fn status(&self) -> Result<BatchStatus, BatchError> {
        Ok(BatchStatus {
            endpoint: self.manifest.endpoint.clone(),
            counts: self.store.counts().await?,
            doubtful: self.store.doubtful().await?,
            billable_units: self.store.billable_units().await?,
        })
    }

    /// Every request id ever recorded, with its job's line: what the batch
    /// asked fal to run.
    pub async fn request_ids(&self) -> Result<Vec<(u64, String)>, BatchError> {
        Ok(self.store.submits().await?)
    }

    /// Records a webhook delivery for a request of this batch (idempotent on
    /// the request id). `Ok(true)` when it was new.
    pub async fn record_delivery(&self, request_id: &str, body: &str) -> Result<bool, BatchError> {
        Ok(self.store.record_delivery(request_id, body).await?)
    }

    /// Runs the batch until every job has its result line, `stop` is
    /// cancelled (submitting stops; recorded requests stay for the next run),
    /// or an error stops it. Progress snapshots go to `progress`.
    pub async fn run(
        &self,
        client: &crate::Client,
        options: &BatchOptions,
        stop: &tokio_util::sync::CancellationToken,
        progress: &tokio::sync::watch::Sender<Progress>,
    ) -> Result<Summary, BatchError> {
        runner::run(self, client, options, stop, progress).await
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }
}

/// The default gap before a first status poll: short, so quick jobs finish
/// quickly, then growing towards [`BatchOptions::poll_interval`].
pub(crate) const FIRST_POLL: Duration = Duration::from_millis(100);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_errors_name_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        std::fs::write(&path, "{\"prompt\":\"a\"}\n\n[1]\n").unwrap();
        match read_jobs(&path) {
            Err(BatchError::Input { line, message, .. }) => {
                assert_eq!(line, 3);
                assert!(message.contains("JSON object"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(&path, "{\"prompt\":\"a\"}\n{\"prompt\": oops}\n").unwrap();
        match read_jobs(&path) {
            Err(BatchError::Input { line, column, .. }) => assert_eq!((line, column), (2, 12)),
            other => panic!("{other:?}"),
        }
        std::fs::write(&path, "\n{\"prompt\":\"a\"}\n\n{\"prompt\":\"b\"}").unwrap();
        let (jobs, _) = read_jobs(&path).unwrap();
        assert_eq!(jobs.iter().map(|j| j.0).collect::<Vec<_>>(), [2, 4]);
    }
}
