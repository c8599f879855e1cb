//! The PostgreSQL backend: several workers (on several machines) share one
//! batch.
//!
//! A worker claims jobs by leasing them (`FOR UPDATE SKIP LOCKED`, so two
//! workers never claim the same row), renews its leases while it lives, and
//! makes every state change conditional on still holding the lease. A worker
//! that dies stops renewing; once its leases expire, other workers claim its
//! jobs and follow their recorded request ids (a job it left `submitting` is
//! in doubt, as after any kill).
//!
//! Each statement is atomic on its own, so the one connection is shared by
//! every job of the worker (tokio-postgres pipelines them). The connection is
//! made without TLS: run it on a private network or through a tunnel.

use std::time::Duration;

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

use tokio_postgres::types::ToSql;

use super::{Change, ClaimRow, Counts, Dialect, Meta, SqlValue, StoreError};

const SCHEMA: &str = "
BEGIN;
SELECT pg_advisory_xact_lock(7367201541);
CREATE TABLE IF NOT EXISTS fal_batches (
    batch TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    webhook TEXT,
    jobs BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS fal_batch_jobs (
    batch TEXT NOT NULL,
    line BIGINT NOT NULL,
    input TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    request_id TEXT,
    doubtful BIGINT NOT NULL DEFAULT 0,
    result TEXT,
    outcome TEXT,
    billable_units DOUBLE PRECISION,
    dir_id TEXT,
    lease_owner TEXT,
    lease_until TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (batch, line)
);
CREATE INDEX IF NOT EXISTS fal_batch_jobs_open ON fal_batch_jobs (batch, state, line)
    WHERE state <> 'done';
CREATE TABLE IF NOT EXISTS fal_batch_submits (
    batch TEXT NOT NULL,
    request_id TEXT NOT NULL,
    line BIGINT NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (batch, request_id)
);
CREATE TABLE IF NOT EXISTS fal_batch_deliveries (
    batch TEXT NOT NULL,
    request_id TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (batch, request_id)
);
COMMIT;
";

/// The jobs table here: shared by every batch, each row scoped by `batch`.
const DIALECT: Dialect = Dialect {
    jobs: "fal_batch_jobs",
    now: "now()",
    placeholder: |n| format!("${n}"),
};

/// A bound value as tokio-postgres takes it.
fn value(value: SqlValue) -> Box<dyn ToSql + Sync + Send> {
    match value {
        SqlValue::Int(n) => Box::new(n),
        SqlValue::Real(x) => Box::new(x),
        SqlValue::Text(text) => Box::new(text),
    }
}

/// A connection to the shared state, for one batch.
pub(crate) struct PgStore {
    client: Client,
    batch: String,
    display: String,
}

/// The URL without its password, for messages and the manifest.
pub(crate) fn display_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.to_string()
        }
        Err(_) => "(a PostgreSQL connection string)".to_owned(),
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

impl PgStore {
    /// Connects and makes sure the tables exist.
    pub(crate) async fn connect(url: &str, batch: &str) -> Result<PgStore, StoreError> {
        let display = display_url(url);
        let (client, connection) = tokio_postgres::connect(url, NoTls)
            .await
            .map_err(|err| pg_error(&display, &err))?;
        let shown = display.clone();
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::error!(state = %shown, error = %err, "PostgreSQL connection ended");
            }
        });
        client
            .batch_execute(SCHEMA)
            .await
            .map_err(|err| pg_error(&display, &err))?;
        Ok(PgStore {
            client,
            batch: batch.to_owned(),
            display,
        })
    }

    pub(crate) fn display(&self) -> &str {
        &self.display
    }

    fn err(&self, err: tokio_postgres::Error) -> StoreError {
        pg_error(&self.display, &err)
    }

    pub(crate) async fn meta(&self) -> Result<Option<Meta>, StoreError> {
        let row = self
            .client
            .query_opt(
                "SELECT endpoint, input_sha256, webhook, jobs FROM fal_batches WHERE batch = $1",
                &[&self.batch],
            )
            .await
            .map_err(|e| self.err(e))?;
        Ok(row.map(|row| Meta {
            endpoint: row.get(0),
            input_sha256: row.get(1),
            webhook: row.get(2),
            jobs: row.get::<_, i64>(3) as u64,
        }))
    }

    pub(crate) async fn create(
        &self,
        meta: Meta,
        jobs: Vec<(u64, String)>,
    ) -> Result<bool, StoreError> {
        let lines: Vec<i64> = jobs.iter().map(|(line, _)| *line as i64).collect();
        let inputs: Vec<String> = jobs.into_iter().map(|(_, input)| input).collect();
        // One statement, so all or nothing: the batch row and every job.
        let inserted = self
            .client
            .execute(
                "WITH created AS (
                    INSERT INTO fal_batches (batch, endpoint, input_sha256, webhook, jobs)
                    VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING batch)
                 INSERT INTO fal_batch_jobs (batch, line, input)
                 SELECT created.batch, t.line, t.input
                 FROM created, unnest($6::BIGINT[], $7::TEXT[]) AS t(line, input)",
                &[
                    &self.batch,
                    &meta.endpoint,
                    &meta.input_sha256,
                    &meta.webhook,
                    &(meta.jobs as i64),
                    &lines,
                    &inputs,
                ],
            )
            .await
            .map_err(|e| self.err(e))?;
        Ok(inserted > 0)
    }

    pub(crate) async fn claim(
        &self,
        owner: &str,
        dir_id: &str,
        n: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimRow>, StoreError> {
        let rows = self
            .client
            .query(
                // MATERIALIZED: the locked page is chosen once. As a join or an
                // inlined subquery PostgreSQL may evaluate it again per row and
                // claim far more than `n`.
                "WITH c AS MATERIALIZED (
                    SELECT line FROM fal_batch_jobs
                    WHERE batch = $1 AND state <> 'done'
                      AND (lease_until IS NULL OR lease_until < now())
                      AND (state <> 'finishing' OR dir_id = $5)
                    ORDER BY state = 'queued', line
                    LIMIT $3
                    FOR UPDATE SKIP LOCKED)
                 UPDATE fal_batch_jobs j
                 SET lease_owner = $2, lease_until = now() + make_interval(secs => $4)
                 FROM c
                 WHERE j.batch = $1 AND j.line = c.line
                 RETURNING j.line, j.input, j.state, j.request_id, j.result",
                &[&self.batch, &owner, &(n as i64), &secs(lease), &dir_id],
            )
            .await
            .map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
            .collect())
    }

    pub(crate) async fn renew(&self, owner: &str, lease: Duration) -> Result<(), StoreError> {
        self.client
            .execute(
                "UPDATE fal_batch_jobs SET lease_until = now() + make_interval(secs => $3)
                 WHERE batch = $1 AND lease_owner = $2 AND state <> 'done'",
                &[&self.batch, &owner, &secs(lease)],
            )
            .await
            .map(drop)
            .map_err(|e| self.err(e))
    }

    pub(crate) async fn release(&self, owner: &str, lines: Vec<u64>) -> Result<(), StoreError> {
        let lines: Vec<i64> = lines.into_iter().map(|l| l as i64).collect();
        self.client
            .execute(
                "UPDATE fal_batch_jobs SET lease_owner = NULL, lease_until = NULL
                 WHERE batch = $1 AND lease_owner = $2 AND line = ANY($3)",
                &[&self.batch, &owner, &lines],
            )
            .await
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Runs `sql` (a change rendered by [`Change::update`], perhaps inside a
    /// larger statement); a job it did not change was no longer leased to
    /// this worker.
    async fn run_change(
        &self,
        line: u64,
        sql: &str,
        values: Vec<SqlValue>,
    ) -> Result<(), StoreError> {
        let values: Vec<_> = values.into_iter().map(value).collect();
        let params: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let changed = self
            .client
            .execute(sql, &params)
            .await
            .map_err(|e| self.err(e))?;
        if changed == 0 {
            return Err(StoreError::lease_lost(line));
        }
        Ok(())
    }

    pub(crate) async fn change(
        &self,
        owner: &str,
        line: u64,
        change: Change,
    ) -> Result<(), StoreError> {
        let (sql, values) = change.update(&DIALECT, Some(&self.batch), line, owner);
        self.run_change(line, &sql, values).await
    }

    /// `change` (to `running`) and the id in the audit of every id ever
    /// recorded, in one statement: both rows or neither.
    pub(crate) async fn submitted(
        &self,
        owner: &str,
        line: u64,
        change: Change,
    ) -> Result<(), StoreError> {
        let (update, values) = change.update(&DIALECT, Some(&self.batch), line, owner);
        let sql = format!(
            "WITH job AS ({update} RETURNING batch, request_id, line)
             INSERT INTO fal_batch_submits (batch, request_id, line)
             SELECT batch, request_id, line FROM job ON CONFLICT DO NOTHING"
        );
        self.run_change(line, &sql, values).await
    }

    pub(crate) async fn written(&self, lines: Vec<u64>, dir_id: &str) -> Result<(), StoreError> {
        let lines: Vec<i64> = lines.into_iter().map(|l| l as i64).collect();
        self.client
            .execute(
                "UPDATE fal_batch_jobs SET state = 'done', result = NULL, lease_owner = NULL,
                     lease_until = NULL, updated_at = now()
                 WHERE batch = $1 AND line = ANY($2) AND dir_id = $3 AND state = 'finishing'",
                &[&self.batch, &lines, &dir_id],
            )
            .await
            .map(drop)
            .map_err(|e| self.err(e))
    }

    pub(crate) async fn unwritten(&self, dir_id: &str) -> Result<Vec<(u64, String)>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT line, result FROM fal_batch_jobs
                 WHERE batch = $1 AND state = 'finishing' AND dir_id = $2 ORDER BY line",
                &[&self.batch, &dir_id],
            )
            .await
            .map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .map(|row| (row.get::<_, i64>(0) as u64, row.get(1)))
            .collect())
    }

    pub(crate) async fn delivery(&self, request_id: &str) -> Result<Option<String>, StoreError> {
        let row = self
            .client
            .query_opt(
                "SELECT body FROM fal_batch_deliveries WHERE batch = $1 AND request_id = $2",
                &[&self.batch, &request_id],
            )
            .await
            .map_err(|e| self.err(e))?;
        Ok(row.map(|row| row.get(0)))
    }

    pub(crate) async fn record_delivery(
        &self,
        request_id: &str,
        body: &str,
    ) -> Result<bool, StoreError> {
        let inserted = self
            .client
            .execute(
                "INSERT INTO fal_batch_deliveries (batch, request_id, body) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                &[&self.batch, &request_id, &body],
            )
            .await
            .map_err(|e| self.err(e))?;
        Ok(inserted == 1)
    }

    pub(crate) async fn counts(&self) -> Result<Counts, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT state, outcome, COUNT(*) FROM fal_batch_jobs WHERE batch = $1
                 GROUP BY state, outcome",
                &[&self.batch],
            )
            .await
            .map_err(|e| self.err(e))?;
        let mut counts = Counts::default();
        for row in rows {
            let state: String = row.get(0);
            let outcome: Option<String> = row.get(1);
            let n = row.get::<_, i64>(2) as u64;
            counts.add(&state, outcome.as_deref(), n);
        }
        Ok(counts)
    }

    pub(crate) async fn doubtful(&self) -> Result<Vec<(u64, u64)>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT line, doubtful FROM fal_batch_jobs WHERE batch = $1 AND doubtful > 0
                 ORDER BY line",
                &[&self.batch],
            )
            .await
            .map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .map(|row| (row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
            .collect())
    }

    pub(crate) async fn submits(&self) -> Result<Vec<(u64, String)>, StoreError> {
        let rows = self
            .client
            .query(
                "SELECT line, request_id FROM fal_batch_submits WHERE batch = $1 ORDER BY line",
                &[&self.batch],
            )
            .await
            .map_err(|e| self.err(e))?;
        Ok(rows
            .into_iter()
            .map(|row| (row.get::<_, i64>(0) as u64, row.get(1)))
            .collect())
    }

    pub(crate) async fn billable_units(&self) -> Result<(f64, u64), StoreError> {
        let row = self
            .client
            .query_one(
                "SELECT COALESCE(SUM(billable_units), 0)::DOUBLE PRECISION, COUNT(billable_units)
                 FROM fal_batch_jobs WHERE batch = $1",
                &[&self.batch],
            )
            .await
            .map_err(|e| self.err(e))?;
        Ok((row.get(0), row.get::<_, i64>(1) as u64))
    }
}

fn pg_error(display: &str, err: &tokio_postgres::Error) -> StoreError {
    let full = err.code() == Some(&SqlState::DISK_FULL);
    let detail = match err.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => {
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    };
    StoreError {
        message: format!("PostgreSQL state {display}: {detail}"),
        full,
        lease_lost: false,
    }
}
