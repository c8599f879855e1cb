//! The engine of [`Batch::run`](super::Batch::run): claim jobs, submit, follow,
//! fetch, save, record.
//!
//! All jobs of a run are futures polled by the run itself (no task per job),
//! so a stopped or failed run leaves nothing behind. Each job goes
//! `queued → submitting → running → finishing` in the state, each step
//! committed before the next is taken; a separate writer appends the result
//! lines of finishing jobs to `results.jsonl` in groups (one sync each) and
//! then marks them done.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_util::sync::CancellationToken;

use super::files::{self, FileError};
use super::results::ResultsFile;
use super::store::{ClaimedJob, Counts, JobState, Outcome, Store, StoreError};
use super::{Batch, BatchError, BatchOptions, InDoubt, FIRST_POLL};
use crate::error::Repr;
use crate::{Client, Error, QueueHandle, QueueStatus};

/// A snapshot of a run, for a progress display.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Progress {
    /// Jobs by state, across every worker of the batch.
    pub counts: Counts,
    /// Jobs this run holds (being submitted, or waited on).
    pub held: u64,
    /// Whether submits are paused after a 429.
    pub paused: bool,
    /// Whether the run is stopping: no new submits.
    pub stopping: bool,
    /// Lines this run found with a submit in flight when an earlier run (or
    /// worker) stopped: fal may have queued them already.
    pub found_in_doubt: Vec<u64>,
}

/// How a run ended.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Summary {
    /// Jobs by state at the end.
    pub counts: Counts,
    /// Whether the run was stopped before every job finished.
    pub stopped: bool,
    /// See [`Progress::found_in_doubt`].
    pub found_in_doubt: Vec<u64>,
    /// Result lines a previous run had recorded but not yet written, written
    /// by this one before anything else.
    pub completed_lines: usize,
}

/// How a job left the run.
enum JobEnd {
    /// Its result line is recorded.
    Finished,
    /// Stopped early; its lease is given back, its state kept.
    Released,
    /// Another worker holds it now.
    LeaseLost,
}

/// Why a job stopped before it finished.
enum Halt {
    Stopped,
    LeaseLost,
    Fatal(BatchError),
}

impl From<StoreError> for Halt {
    fn from(err: StoreError) -> Self {
        if err.lease_lost {
            Halt::LeaseLost
        } else {
            Halt::Fatal(BatchError::State(err))
        }
    }
}

/// What the run shares with every job.
struct Ctx<'a> {
    batch: &'a Batch,
    store: &'a Store,
    client: &'a Client,
    options: &'a BatchOptions,
    owner: String,
    dir_id: String,
    /// Bounds the HTTP calls in flight, and so the sockets.
    net: Semaphore,
    /// Submits wait until then (a 429's `Retry-After`).
    paused_until: Mutex<Option<Instant>>,
    rate_limited: AtomicU32,
    stop: &'a CancellationToken,
    /// Cancelled when an error stops the run.
    abort: CancellationToken,
    fatal: Mutex<Option<BatchError>>,
    /// To the result writer; taken (closing the writer's queue) when the
    /// engine ends.
    lines: Mutex<Option<mpsc::UnboundedSender<(u64, String)>>>,
}

impl Ctx<'_> {
    /// Hands a recorded line to the writer. Once the run is over there is
    /// none; the line is recorded as finishing, so the next run writes it.
    fn send_line(&self, line: u64, text: String) {
        if let Some(lines) = self
            .lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            let _ = lines.send((line, text));
        }
    }

    fn halted(&self) -> bool {
        self.stop.is_cancelled() || self.abort.is_cancelled()
    }

    fn fail(&self, err: BatchError) {
        let mut slot = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            tracing::error!(error = %err, "batch stopping");
            *slot = Some(err);
        }
        self.abort.cancel();
    }

    /// Sleeps `gap`, or less if the run stops; false when it stopped.
    async fn sleep(&self, gap: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(gap) => !self.halted(),
            _ = self.stop.cancelled() => false,
            _ = self.abort.cancelled() => false,
        }
    }

    /// Waits out a 429 pause; false when the run stopped meanwhile.
    async fn wait_for_submit_slot(&self) -> bool {
        loop {
            let until = *self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
            match until {
                Some(at) if at > Instant::now() => {
                    if !self.sleep(at - Instant::now()).await {
                        return false;
                    }
                }
                _ => return !self.halted(),
            }
        }
    }

    fn pause_submits(&self, retry_after: Option<Duration>) {
        let streak = self.rate_limited.fetch_add(1, Ordering::Relaxed);
        let wait = retry_after.unwrap_or_else(|| self.client.retry_policy().backoff(streak.min(8)));
        let until = Instant::now() + wait;
        let mut slot = self.paused_until.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none_or(|current| current < until) {
            *slot = Some(until);
        }
        tracing::info!(?wait, "rate limited: pausing submits");
    }

    fn is_paused(&self) -> bool {
        self.paused_until
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| at > Instant::now())
    }

    /// Records the job's result line, for the writer to append.
    async fn finish(
        &self,
        line: u64,
        request_id: Option<&str>,
        outcome: Result<(Value, Vec<files::SavedFile>), Value>,
        billable_units: Option<f64>,
    ) -> Result<JobEnd, Halt> {
        let mut record = Map::new();
        record.insert("line".into(), json!(line));
        record.insert("request_id".into(), json!(request_id));
        let kind = match outcome {
            Ok((output, saved)) => {
                record.insert("status".into(), json!("ok"));
                record.insert("output".into(), output);
                record.insert("files".into(), json!(saved));
                Outcome::Ok
            }
            Err(error) => {
                record.insert("status".into(), json!("error"));
                record.insert("error".into(), error);
                Outcome::Error
            }
        };
        if let Some(units) = billable_units {
            record.insert("billable_units".into(), json!(units));
        }
        let text = Value::Object(record).to_string();
        self.store
            .finish(&self.owner, line, &self.dir_id, kind, &text, billable_units)
            .await?;
        self.send_line(line, text);
        Ok(JobEnd::Finished)
    }
}

/// A job failure as the result line's `error` object.
fn error_json(err: &Error) -> Value {
    match err.api() {
        Some(api) => {
            let body = serde_json::from_str::<Value>(&api.body)
                .unwrap_or_else(|_| Value::String(api.body.clone()));
            json!({
                "kind": "api",
                "status": api.status.as_u16(),
                "message": api.message,
                "error_type": api.error_type,
                "request_id": api.request_id,
                "body": body,
            })
        }
        None => json!({"kind": "client", "message": err.to_string()}),
    }
}

/// What a failed submit means for the job.
enum SubmitVerdict {
    /// fal did not take it (429, 503, nothing sent): try again later.
    Refused {
        retry_after: Option<Duration>,
        rate_limited: bool,
    },
    /// fal may have taken it: the answer was lost.
    Doubtful,
    /// This job's input is refused: its result is this error.
    JobError,
    /// Every job would be refused the same way (key, endpoint).
    Fatal,
}

fn classify_submit(err: &Error) -> SubmitVerdict {
    match err.repr() {
        Repr::Api(api) => match api.status.as_u16() {
            429 => SubmitVerdict::Refused {
                retry_after: api.retry_after,
                rate_limited: true,
            },
            503 => SubmitVerdict::Refused {
                retry_after: api.retry_after,
                rate_limited: false,
            },
            401 | 403 | 404 | 405 => SubmitVerdict::Fatal,
            code if code >= 500 => SubmitVerdict::Doubtful,
            _ => SubmitVerdict::JobError,
        },
        Repr::Transport { source, .. } if source.is_connect() => SubmitVerdict::Refused {
            retry_after: None,
            rate_limited: false,
        },
        Repr::Transport { .. } | Repr::Waited { .. } | Repr::Decode { .. } => {
            SubmitVerdict::Doubtful
        }
        Repr::Config { .. } | Repr::EndpointId(_) => SubmitVerdict::Fatal,
        _ => SubmitVerdict::JobError,
    }
}

/// Whether a failed poll or result fetch is worth trying again.
fn transient(err: &Error) -> bool {
    match err.repr() {
        Repr::Api(api) => matches!(api.status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504),
        Repr::Transport { .. } | Repr::Waited { .. } | Repr::Stream(_) => true,
        _ => false,
    }
}

fn refused_everywhere(err: &Error) -> bool {
    matches!(err.status().map(|s| s.as_u16()), Some(401 | 403))
}

/// Submits until fal takes the job; `Ok(None)` when the job finished instead
/// (its input refused, or a doubtful submit under [`InDoubt::Fail`]).
async fn submit(ctx: &Ctx<'_>, line: u64, input: &Value) -> Result<Option<String>, Halt> {
    let mut doubtful_retries = 0u32;
    loop {
        if !ctx.wait_for_submit_slot().await {
            return Err(Halt::Stopped);
        }
        ctx.store.submitting(&ctx.owner, line).await?;
        let answer = {
            let _permit = ctx.net.acquire().await;
            let call = ctx
                .client
                .endpoint(ctx.batch.endpoint())
                .submit(input.clone());
            match &ctx.batch.manifest.webhook {
                Some(url) => call.webhook(url.clone()).await,
                None => call.await,
            }
        };
        let err = match answer {
            Ok(handle) => {
                let id = handle.request_id().to_owned();
                ctx.rate_limited.store(0, Ordering::Relaxed);
                return match ctx.store.submitted(&ctx.owner, line, &id).await {
                    Ok(()) => Ok(Some(id)),
                    Err(err) => {
                        // Not recorded: nobody will follow it, so stop fal from
                        // running it (best effort) and say which it was.
                        let _ = handle.cancel().await;
                        tracing::warn!(line, request_id = %id, "request id not recorded; cancelled");
                        if err.lease_lost {
                            Err(Halt::LeaseLost)
                        } else {
                            let mut err = err;
                            err.message = format!(
                                "{} (request {id} of line {line} could not be recorded, so it was cancelled)",
                                err.message
                            );
                            Err(Halt::Fatal(BatchError::State(err)))
                        }
                    }
                };
            }
            Err(err) => err,
        };
        match classify_submit(&err) {
            SubmitVerdict::Refused {
                retry_after,
                rate_limited,
            } => {
                ctx.store.requeue(&ctx.owner, line, false).await?;
                if rate_limited {
                    ctx.pause_submits(retry_after);
                } else if !ctx
                    .sleep(retry_after.unwrap_or_else(|| ctx.client.retry_policy().backoff(2)))
                    .await
                {
                    return Err(Halt::Stopped);
                }
            }
            SubmitVerdict::Doubtful => {
                tracing::warn!(line, error = %err, "submit answer lost: fal may have queued it");
                ctx.store.requeue(&ctx.owner, line, true).await?;
                if ctx.options.in_doubt == InDoubt::Fail {
                    let error = json!({
                        "kind": "submit_in_doubt",
                        "message": format!("the submit's answer was lost ({err}); fal may have queued it"),
                    });
                    ctx.finish(line, None, Err(error), None).await?;
                    return Ok(None);
                }
                if !ctx
                    .sleep(ctx.client.retry_policy().backoff(doubtful_retries))
                    .await
                {
                    return Err(Halt::Stopped);
                }
                doubtful_retries += 1;
            }
            SubmitVerdict::JobError => {
                ctx.store.requeue(&ctx.owner, line, false).await?;
                ctx.finish(line, err.request_id(), Err(error_json(&err)), None)
                    .await?;
                return Ok(None);
            }
            SubmitVerdict::Fatal => {
                ctx.store.requeue(&ctx.owner, line, false).await?;
                return Err(Halt::Fatal(BatchError::Refused(err)));
            }
        }
    }
}

/// Waits for a submitted request to complete, then records its result.
async fn follow(ctx: &Ctx<'_>, line: u64, request_id: &str) -> Result<JobEnd, Halt> {
    let handle = match QueueHandle::<Value>::from_id(ctx.client, ctx.batch.endpoint(), request_id) {
        Ok(handle) => handle,
        Err(err) => {
            return ctx
                .finish(line, Some(request_id), Err(error_json(&err)), None)
                .await
        }
    };
    let webhook = ctx.batch.manifest.webhook.is_some();
    let started = Instant::now();
    let mut last_poll: Option<Instant> = None;
    let mut gap = FIRST_POLL.min(ctx.options.poll_interval);
    let completed_with_error = loop {
        if !ctx.sleep(gap).await {
            return Err(Halt::Stopped);
        }
        gap = (gap * 2).min(ctx.options.poll_interval.max(FIRST_POLL));
        if webhook {
            if let Some(body) = ctx.store.delivery(request_id).await? {
                return finish_delivery(ctx, line, request_id, &body).await;
            }
            let since = last_poll.unwrap_or(started);
            if since.elapsed() < ctx.options.webhook_poll_interval {
                continue;
            }
        }
        last_poll = Some(Instant::now());
        let status = {
            let _permit = ctx.net.acquire().await;
            handle.status(false).await
        };
        match status {
            Ok(QueueStatus::Completed { error, .. }) => break error.is_some(),
            Ok(_) => {}
            Err(err) if refused_everywhere(&err) => {
                return Err(Halt::Fatal(BatchError::Refused(err)));
            }
            Err(err) if transient(&err) => {
                tracing::debug!(line, error = %err, "status poll failed; polling on");
            }
            Err(err) => {
                return ctx
                    .finish(line, Some(request_id), Err(error_json(&err)), None)
                    .await
            }
        }
    };
    let mut retry = 0u32;
    loop {
        let result = {
            let _permit = ctx.net.acquire().await;
            handle.completed().await
        };
        match result {
            Ok(completed) => {
                let units = completed.billable_units;
                return finish_output(ctx, line, request_id, completed.output, units).await;
            }
            Err(err) if refused_everywhere(&err) => {
                return Err(Halt::Fatal(BatchError::Refused(err)));
            }
            Err(err) if !completed_with_error && transient(&err) => {
                tracing::debug!(line, error = %err, "result fetch failed; trying again");
                let wait = ctx.client.retry_policy().backoff(retry.min(5));
                if !ctx.sleep(wait).await {
                    return Err(Halt::Stopped);
                }
                retry += 1;
            }
            Err(err) => {
                return ctx
                    .finish(line, Some(request_id), Err(error_json(&err)), None)
                    .await
            }
        }
    }
}

/// Saves an output's files, then records its result line with the billable
/// units fal reported for it (a result fetch's `x-fal-billable-units`; a
/// webhook delivery does not carry them).
async fn finish_output(
    ctx: &Ctx<'_>,
    line: u64,
    request_id: &str,
    output: Value,
    billable_units: Option<f64>,
) -> Result<JobEnd, Halt> {
    let saved = {
        let _permit = ctx.net.acquire().await;
        files::save_all(ctx.client, ctx.batch.dir(), line, &output).await
    };
    match saved {
        Ok(saved) => {
            ctx.finish(line, Some(request_id), Ok((output, saved)), billable_units)
                .await
        }
        Err(FileError::Local(err)) => Err(Halt::Fatal(err)),
        Err(FileError::Remote { url, message }) => {
            let error = json!({
                "kind": "download",
                "url": url,
                "message": message,
                "output": output,
            });
            ctx.finish(line, Some(request_id), Err(error), billable_units)
                .await
        }
    }
}

/// Finishes a job from a recorded (already verified) webhook delivery.
async fn finish_delivery(
    ctx: &Ctx<'_>,
    line: u64,
    request_id: &str,
    body: &str,
) -> Result<JobEnd, Halt> {
    use crate::webhook::{WebhookDelivery, WebhookOutcome};
    match WebhookDelivery::<Value>::parse(body.as_bytes()) {
        Ok(delivery) => match delivery.outcome {
            WebhookOutcome::Ok(output) => finish_output(ctx, line, request_id, output, None).await,
            WebhookOutcome::OutputNotJson { payload_error } => {
                let error = json!({"kind": "webhook", "message": payload_error});
                ctx.finish(line, Some(request_id), Err(error), None).await
            }
            WebhookOutcome::Error { error, payload } => {
                let error = json!({"kind": "api", "message": error, "body": payload});
                ctx.finish(line, Some(request_id), Err(error), None).await
            }
        },
        Err(err) => {
            let error = json!({"kind": "webhook", "message": err.to_string()});
            ctx.finish(line, Some(request_id), Err(error), None).await
        }
    }
}

/// One job, from its claimed state to its result line.
async fn drive(ctx: &Ctx<'_>, job: ClaimedJob) -> Result<JobEnd, Halt> {
    let line = job.line;
    let request_id = match job.state {
        JobState::Done => return Ok(JobEnd::Finished),
        JobState::Finishing => {
            if let Some(text) = job.result {
                ctx.send_line(line, text);
            }
            return Ok(JobEnd::Finished);
        }
        JobState::Running => match job.request_id {
            Some(id) => id,
            None => {
                return Err(Halt::Fatal(BatchError::Corrupt(format!(
                    "job {line} is running without a request id"
                ))))
            }
        },
        JobState::Queued | JobState::Submitting => {
            let input: Value = serde_json::from_str(&job.input).map_err(|err| {
                Halt::Fatal(BatchError::Corrupt(format!(
                    "the recorded input of job {line} is not JSON: {err}"
                )))
            })?;
            match submit(ctx, line, &input).await? {
                Some(id) => id,
                None => return Ok(JobEnd::Finished),
            }
        }
    };
    follow(ctx, line, &request_id).await
}

async fn job(ctx: &Ctx<'_>, job: ClaimedJob) -> (u64, JobEnd) {
    let line = job.line;
    let end = match drive(ctx, job).await {
        Ok(end) => end,
        Err(Halt::Stopped) => JobEnd::Released,
        Err(Halt::LeaseLost) => JobEnd::LeaseLost,
        Err(Halt::Fatal(err)) => {
            ctx.fail(err);
            JobEnd::Released
        }
    };
    (line, end)
}

/// Appends recorded result lines to `results.jsonl` in groups, then marks
/// them done.
async fn write_lines(
    ctx: &Ctx<'_>,
    mut queue: mpsc::UnboundedReceiver<(u64, String)>,
    results: ResultsFile,
) {
    let results = Arc::new(Mutex::new(results));
    while let Some(first) = queue.recv().await {
        let mut group = vec![first];
        while let Ok(more) = queue.try_recv() {
            group.push(more);
        }
        if ctx.abort.is_cancelled() {
            // Recorded as finishing: the next run writes them.
            continue;
        }
        let lines: Vec<u64> = group.iter().map(|(line, _)| *line).collect();
        let file = results.clone();
        let appended = tokio::task::spawn_blocking(move || {
            let texts: Vec<&str> = group.iter().map(|(_, text)| text.as_str()).collect();
            file.lock()
                .unwrap_or_else(|p| p.into_inner())
                .append(&texts)
        })
        .await
        .unwrap_or_else(|err| Err(BatchError::Corrupt(format!("result writer failed: {err}"))));
        match appended {
            Ok(()) => {
                if let Err(err) = ctx.store.written(lines, &ctx.dir_id).await {
                    ctx.fail(BatchError::State(err));
                }
            }
            Err(err) => ctx.fail(err),
        }
    }
}

/// Writes the lines a previous run recorded but did not write (or wrote but
/// did not mark done), so each job has exactly one.
async fn complete_lines(batch: &Batch, results: &mut ResultsFile) -> Result<usize, BatchError> {
    let dir_id = &batch.manifest.dir_id;
    let unwritten = batch.store().unwritten(dir_id).await?;
    if unwritten.is_empty() {
        return Ok(0);
    }
    let present = results.written_lines()?;
    let missing: Vec<&str> = unwritten
        .iter()
        .filter(|(line, _)| !present.contains(line))
        .map(|(_, text)| text.as_str())
        .collect();
    let count = missing.len();
    results.append(&missing)?;
    batch
        .store()
        .written(unwritten.iter().map(|(line, _)| *line).collect(), dir_id)
        .await?;
    Ok(count)
}

pub(crate) async fn run(
    batch: &Batch,
    client: &Client,
    options: &BatchOptions,
    stop: &CancellationToken,
    progress: &watch::Sender<Progress>,
) -> Result<Summary, BatchError> {
    let store = batch.store();
    let mut results = ResultsFile::open(batch.dir())?;
    let completed_lines = complete_lines(batch, &mut results).await?;
    store.starting().await?;
    let (lines, queue) = mpsc::unbounded_channel();
    let ctx = Ctx {
        batch,
        store,
        client,
        options,
        owner: format!("{}-{}", batch.manifest.dir_id, super::random_id()?),
        dir_id: batch.manifest.dir_id.clone(),
        net: Semaphore::new(options.connections.max(1)),
        paused_until: Mutex::new(None),
        rate_limited: AtomicU32::new(0),
        stop,
        abort: CancellationToken::new(),
        fatal: Mutex::new(None),
        lines: Mutex::new(Some(lines)),
    };
    let (engine, ()) = tokio::join!(engine(&ctx, progress), write_lines(&ctx, queue, results));
    let (found_in_doubt, released) = engine;
    if !released.is_empty() {
        let _ = store.release(&ctx.owner, released).await;
    }
    if let Some(err) = ctx.fatal.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(err);
    }
    let counts = store.counts().await?;
    let summary = Summary {
        stopped: !counts.is_complete() && stop.is_cancelled(),
        counts: counts.clone(),
        found_in_doubt: found_in_doubt.clone(),
        completed_lines,
    };
    progress.send_replace(Progress {
        counts,
        held: 0,
        paused: false,
        stopping: stop.is_cancelled(),
        found_in_doubt,
    });
    Ok(summary)
}

type JobFuture<'a> = Pin<Box<dyn Future<Output = (u64, JobEnd)> + Send + 'a>>;

/// Claims and drives jobs until none is left for this worker, the run is
/// stopped, or it failed. Returns the lines found in doubt and the lines
/// whose leases to give back. Closing `ctx.lines` at the end lets the writer
/// finish.
async fn engine(ctx: &Ctx<'_>, progress: &watch::Sender<Progress>) -> (Vec<u64>, Vec<u64>) {
    let mut running: FuturesUnordered<JobFuture<'_>> = FuturesUnordered::new();
    let mut held: HashSet<u64> = HashSet::new();
    let mut released = Vec::new();
    let mut found_in_doubt = Vec::new();
    let mut claim_due = true;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut renew = tokio::time::interval((ctx.options.lease / 3).max(Duration::from_millis(100)));
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let concurrency = ctx.options.concurrency.max(1);
    loop {
        let stopping = ctx.halted();
        if !stopping && claim_due && held.len() < concurrency {
            claim_due = false;
            match ctx
                .store
                .claim(
                    &ctx.owner,
                    &ctx.dir_id,
                    concurrency - held.len(),
                    ctx.options.lease,
                )
                .await
            {
                Ok(claimed) => {
                    let got = !claimed.is_empty();
                    for mut job in claimed {
                        if job.state == JobState::Submitting {
                            if let Err(err) = ctx.store.found_in_doubt(&ctx.owner, job.line).await {
                                ctx.fail(BatchError::State(err));
                                break;
                            }
                            tracing::warn!(
                                line = job.line,
                                "submit was in flight when its worker stopped"
                            );
                            found_in_doubt.push(job.line);
                            job.state = JobState::Queued;
                        }
                        held.insert(job.line);
                        running.push(Box::pin(self::job(ctx, job)));
                    }
                    // More may be claimable right away (a full page came back).
                    claim_due = got && held.len() < concurrency;
                }
                Err(err) => ctx.fail(BatchError::State(err)),
            }
        }
        if running.is_empty() {
            if ctx.halted() {
                break;
            }
            if !claim_due {
                match ctx.store.counts().await {
                    // Nothing this worker can take: done, unless other workers
                    // hold jobs whose leases may yet expire.
                    Ok(counts) if counts.queued + counts.in_flight == 0 => break,
                    Ok(_) if matches!(ctx.store, Store::Sqlite(_)) => break,
                    Ok(_) => {}
                    Err(err) => {
                        ctx.fail(BatchError::State(err));
                        break;
                    }
                }
            }
        }
        tokio::select! {
            Some((line, end)) = running.next(), if !running.is_empty() => {
                held.remove(&line);
                if let JobEnd::Released = end {
                    released.push(line);
                }
                claim_due = true;
            }
            _ = tick.tick() => {
                claim_due = true;
                if let Ok(counts) = ctx.store.counts().await {
                    progress.send_replace(Progress {
                        counts,
                        held: running.len() as u64,
                        paused: ctx.is_paused(),
                        stopping: ctx.halted(),
                        found_in_doubt: found_in_doubt.clone(),
                    });
                }
            }
            _ = renew.tick() => {
                if let Err(err) = ctx.store.renew(&ctx.owner, ctx.options.lease).await {
                    ctx.fail(BatchError::State(err));
                }
            }
            _ = ctx.stop.cancelled(), if !stopping => {}
            _ = ctx.abort.cancelled(), if !stopping => {}
        }
    }
    ctx.lines.lock().unwrap_or_else(|p| p.into_inner()).take();
    (found_in_doubt, released)
}
