//! The SQLite backend: one file in the batch directory, written by one thread.
//!
//! Every operation is sent to that thread, which runs all the operations
//! waiting at that moment in one transaction (each in its own savepoint) and
//! answers them only after the commit. So a caller told "recorded" can rely on
//! it surviving a `kill -9` (and, with `synchronous=FULL`, a power cut), while
//! thousands of jobs share a few fsyncs per second instead of one each.
//!
//! Another process may open the same file (the webhook receiver records
//! deliveries this way); SQLite's own locking serialises the two.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use tokio::sync::oneshot;

use super::{Change, ClaimRow, Counts, Dialect, Meta, SqlValue, StoreError};

/// How many waiting operations one transaction takes at most.
const GROUP_LIMIT: usize = 1024;

/// How long a writer waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    line INTEGER PRIMARY KEY,
    input TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    request_id TEXT,
    doubtful INTEGER NOT NULL DEFAULT 0,
    result TEXT,
    outcome TEXT,
    billable_units REAL,
    dir_id TEXT,
    lease_owner TEXT,
    updated_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_open ON jobs (state, line) WHERE state <> 'done';
CREATE TABLE IF NOT EXISTS submits (
    request_id TEXT PRIMARY KEY,
    line INTEGER NOT NULL,
    at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    request_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
";

type Reply = Box<dyn FnOnce(Option<&StoreError>) + Send>;
/// An operation: run on the connection, or (when the transaction could not
/// begin) told why it was not run.
type Op = Box<dyn FnOnce(Result<&Connection, &StoreError>) -> Reply + Send>;

/// The jobs table here: the file holds one batch.
const DIALECT: Dialect = Dialect {
    jobs: "jobs",
    now: "unixepoch()",
    placeholder: |n| format!("?{n}"),
};

/// A bound value as rusqlite takes it.
fn value(value: SqlValue) -> rusqlite::types::Value {
    match value {
        SqlValue::Int(n) => n.into(),
        SqlValue::Real(x) => x.map_or(rusqlite::types::Value::Null, Into::into),
        SqlValue::Text(text) => text.into(),
    }
}

/// Runs `change` of job `line`; the number of rows it changed (0 or 1).
fn run_change(
    conn: &Connection,
    owner: &str,
    line: u64,
    change: &Change,
) -> rusqlite::Result<usize> {
    let (sql, values) = change.update(&DIALECT, None, line, owner);
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(values.into_iter().map(value)))
}

/// A handle on the writer thread; cheap to share behind the `Store`.
pub(crate) struct SqliteStore {
    path: PathBuf,
    ops: mpsc::Sender<Op>,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A rusqlite error as a [`StoreError`] naming the file.
fn store_error(path: &Path, err: &rusqlite::Error) -> StoreError {
    let full = matches!(err.sqlite_error_code(), Some(ErrorCode::DiskFull));
    let mut message = format!("state file {}: {err}", path.display());
    if full {
        message.push_str(" (no space left: free some and run `fal batch resume`)");
    }
    StoreError {
        message,
        full,
        lease_lost: false,
    }
}

/// Opens (creating if asked) the state file with the settings durability needs.
pub(crate) fn open_connection(path: &Path, create: bool) -> Result<Connection, StoreError> {
    use rusqlite::OpenFlags;
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags).map_err(|e| store_error(path, &e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| store_error(path, &e))?;
    // WAL lets the webhook receiver write while a runner reads; FULL makes a
    // commit survive a power cut, not only a killed process.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| store_error(path, &e))?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| store_error(path, &e))?;
    // Keep the WAL small (checkpoint every 1 MiB, trim it back to 4 MiB): a
    // batch directory may sit on a small disk.
    conn.pragma_update(None, "wal_autocheckpoint", 256)
        .map_err(|e| store_error(path, &e))?;
    conn.pragma_update(None, "journal_size_limit", 4 * 1024 * 1024)
        .map_err(|e| store_error(path, &e))?;
    conn.execute_batch(SCHEMA)
        .map_err(|e| store_error(path, &e))?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens the state file and starts its writer thread.
    pub(crate) fn open(path: &Path, create: bool) -> Result<SqliteStore, StoreError> {
        let conn = open_connection(path, create)?;
        let (ops, queue) = mpsc::channel::<Op>();
        let thread_path = path.to_owned();
        std::thread::Builder::new()
            .name("fal-batch-sqlite".into())
            .spawn(move || writer(conn, queue, thread_path))
            .map_err(|err| StoreError::new(format!("cannot start the state writer: {err}")))?;
        Ok(SqliteStore {
            path: path.to_owned(),
            ops,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in the writer's next transaction; answers after the commit.
    async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel::<Result<T, StoreError>>();
        let path = self.path.clone();
        let op: Op = Box::new(move |conn: Result<&Connection, &StoreError>| {
            let outcome = match conn {
                Ok(conn) => run_in_savepoint(conn, f).map_err(|e| store_error(&path, &e)),
                Err(err) => Err(err.clone()),
            };
            Box::new(move |commit: Option<&StoreError>| {
                let answer = match (outcome, commit) {
                    (Err(err), _) => Err(err),
                    (Ok(_), Some(err)) => Err(err.clone()),
                    (Ok(value), None) => Ok(value),
                };
                let _ = tx.send(answer);
            })
        });
        self.ops
            .send(op)
            .map_err(|_| StoreError::new("the state writer stopped"))?;
        rx.await
            .map_err(|_| StoreError::new("the state writer stopped"))?
    }

    pub(crate) async fn meta(&self) -> Result<Option<Meta>, StoreError> {
        self.call(|conn| {
            let get = |key: &str| -> rusqlite::Result<Option<String>> {
                conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                    .optional()
            };
            let Some(endpoint) = get("endpoint")? else {
                return Ok(None);
            };
            Ok(Some(Meta {
                endpoint,
                input_sha256: get("input_sha256")?.unwrap_or_default(),
                webhook: get("webhook")?,
                jobs: get("jobs")?.and_then(|j| j.parse().ok()).unwrap_or(0),
            }))
        })
        .await
    }

    pub(crate) async fn create(
        &self,
        meta: Meta,
        jobs: Vec<(u64, String)>,
    ) -> Result<bool, StoreError> {
        self.call(move |conn| {
            let exists: Option<String> = conn
                .query_row("SELECT value FROM meta WHERE key = 'endpoint'", [], |r| {
                    r.get(0)
                })
                .optional()?;
            if exists.is_some() {
                return Ok(false);
            }
            let mut put = conn.prepare("INSERT INTO meta (key, value) VALUES (?1, ?2)")?;
            put.execute(["endpoint", &meta.endpoint])?;
            put.execute(["input_sha256", &meta.input_sha256])?;
            put.execute(["jobs", &meta.jobs.to_string()])?;
            if let Some(webhook) = &meta.webhook {
                put.execute(["webhook", webhook])?;
            }
            let mut insert = conn.prepare("INSERT INTO jobs (line, input) VALUES (?1, ?2)")?;
            for (line, input) in &jobs {
                insert.execute(params![*line as i64, input])?;
            }
            Ok(true)
        })
        .await
    }

    /// One runner per directory (the directory lock), so the leases a dead
    /// runner left are simply cleared when the next one opens the file.
    pub(crate) async fn clear_leases(&self) -> Result<(), StoreError> {
        self.call(|conn| {
            conn.execute(
                "UPDATE jobs SET lease_owner = NULL WHERE lease_owner IS NOT NULL",
                [],
            )
            .map(drop)
        })
        .await
    }

    pub(crate) async fn claim(
        &self,
        owner: &str,
        dir_id: &str,
        n: usize,
        _lease: Duration,
    ) -> Result<Vec<ClaimRow>, StoreError> {
        let owner = owner.to_owned();
        let dir_id = dir_id.to_owned();
        self.call(move |conn| {
            let mut claim = conn.prepare_cached(
                "UPDATE jobs SET lease_owner = ?1 WHERE line IN (
                    SELECT line FROM jobs
                    WHERE state <> 'done' AND lease_owner IS NULL
                      AND (state <> 'finishing' OR dir_id = ?2)
                    ORDER BY state = 'queued', line LIMIT ?3)
                 RETURNING line, input, state, request_id, result",
            )?;
            let rows = claim.query_map(params![owner, dir_id, n as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            rows.collect()
        })
        .await
    }

    pub(crate) async fn renew(&self, _owner: &str, _lease: Duration) -> Result<(), StoreError> {
        // The directory lock is the lease: it lasts as long as the process.
        Ok(())
    }

    pub(crate) async fn release(&self, owner: &str, lines: Vec<u64>) -> Result<(), StoreError> {
        let owner = owner.to_owned();
        self.call(move |conn| {
            let mut release = conn.prepare_cached(
                "UPDATE jobs SET lease_owner = NULL WHERE line = ?1 AND lease_owner = ?2",
            )?;
            for line in lines {
                release.execute(params![line as i64, owner])?;
            }
            Ok(())
        })
        .await
    }

    pub(crate) async fn change(
        &self,
        owner: &str,
        line: u64,
        change: Change,
    ) -> Result<(), StoreError> {
        let owner = owner.to_owned();
        let changed = self
            .call(move |conn| run_change(conn, &owner, line, &change))
            .await?;
        if changed == 0 {
            return Err(StoreError::lease_lost(line));
        }
        Ok(())
    }

    /// `change` (to `running`) and the id in the audit of every id ever
    /// recorded, in one transaction.
    pub(crate) async fn submitted(
        &self,
        owner: &str,
        line: u64,
        change: Change,
    ) -> Result<(), StoreError> {
        let owner = owner.to_owned();
        let changed = self
            .call(move |conn| {
                let changed = run_change(conn, &owner, line, &change)?;
                if changed == 1 {
                    conn.prepare_cached(
                        "INSERT OR IGNORE INTO submits (request_id, line, at)
                         SELECT request_id, line, ?2 FROM jobs WHERE line = ?1",
                    )?
                    .execute(params![line as i64, now_secs()])?;
                }
                Ok(changed)
            })
            .await?;
        if changed == 0 {
            return Err(StoreError::lease_lost(line));
        }
        Ok(())
    }

    pub(crate) async fn written(&self, lines: Vec<u64>, dir_id: &str) -> Result<(), StoreError> {
        let dir_id = dir_id.to_owned();
        self.call(move |conn| {
            // The line is in results.jsonl now; the copy here is not needed.
            let mut done = conn.prepare_cached(
                "UPDATE jobs SET state = 'done', result = NULL, lease_owner = NULL, updated_at = ?3
                 WHERE line = ?1 AND dir_id = ?2 AND state = 'finishing'",
            )?;
            for line in lines {
                done.execute(params![line as i64, dir_id, now_secs()])?;
            }
            Ok(())
        })
        .await
    }

    pub(crate) async fn unwritten(&self, dir_id: &str) -> Result<Vec<(u64, String)>, StoreError> {
        let dir_id = dir_id.to_owned();
        self.call(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT line, result FROM jobs WHERE state = 'finishing' AND dir_id = ?1 ORDER BY line",
            )?;
            let rows = stmt.query_map([dir_id], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
            })?;
            rows.collect()
        })
        .await
    }

    pub(crate) async fn delivery(&self, request_id: &str) -> Result<Option<String>, StoreError> {
        let id = request_id.to_owned();
        self.call(move |conn| {
            conn.prepare_cached("SELECT body FROM deliveries WHERE request_id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()
        })
        .await
    }

    pub(crate) async fn record_delivery(
        &self,
        request_id: &str,
        body: &str,
    ) -> Result<bool, StoreError> {
        let id = request_id.to_owned();
        let body = body.to_owned();
        self.call(move |conn| {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO deliveries (request_id, body, received_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![id, body, now_secs()])
            .map(|n| n == 1)
        })
        .await
    }

    pub(crate) async fn counts(&self) -> Result<Counts, StoreError> {
        self.call(|conn| {
            let mut counts = Counts::default();
            let mut stmt = conn.prepare_cached(
                "SELECT state, outcome, COUNT(*) FROM jobs GROUP BY state, outcome",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)? as u64,
                ))
            })?;
            for row in rows {
                let (state, outcome, n) = row?;
                counts.add(&state, outcome.as_deref(), n);
            }
            Ok(counts)
        })
        .await
    }

    pub(crate) async fn doubtful(&self) -> Result<Vec<(u64, u64)>, StoreError> {
        self.call(|conn| {
            let mut stmt =
                conn.prepare("SELECT line, doubtful FROM jobs WHERE doubtful > 0 ORDER BY line")?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })?;
            rows.collect()
        })
        .await
    }

    pub(crate) async fn submits(&self) -> Result<Vec<(u64, String)>, StoreError> {
        self.call(|conn| {
            let mut stmt = conn.prepare("SELECT line, request_id FROM submits ORDER BY line")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?;
            rows.collect()
        })
        .await
    }

    pub(crate) async fn billable_units(&self) -> Result<(f64, u64), StoreError> {
        self.call(|conn| {
            conn.query_row(
                "SELECT COALESCE(SUM(billable_units), 0), COUNT(billable_units) FROM jobs",
                [],
                |r| Ok((r.get::<_, f64>(0)?, r.get::<_, i64>(1)? as u64)),
            )
        })
        .await
    }
}

/// Runs `f` so that its failure undoes only its own writes.
fn run_in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.execute_batch("SAVEPOINT op")?;
    match f(conn) {
        Ok(value) => {
            conn.execute_batch("RELEASE op")?;
            Ok(value)
        }
        Err(err) => {
            let _ = conn.execute_batch("ROLLBACK TO op; RELEASE op");
            Err(err)
        }
    }
}

/// The writer thread: group commit of whatever operations are waiting.
fn writer(conn: Connection, queue: mpsc::Receiver<Op>, path: PathBuf) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < GROUP_LIMIT {
            match queue.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => {
                let replies: Vec<Reply> = batch.into_iter().map(|op| op(Ok(&conn))).collect();
                let commit = match conn.execute_batch("COMMIT") {
                    Ok(()) => None,
                    Err(err) => {
                        let _ = conn.execute_batch("ROLLBACK");
                        Some(store_error(&path, &err))
                    }
                };
                for reply in replies {
                    reply(commit.as_ref());
                }
            }
            Err(err) => {
                let err = store_error(&path, &err);
                for op in batch {
                    op(Err(&err))(Some(&err));
                }
            }
        }
    }
}
