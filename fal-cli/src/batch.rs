//! `fal batch run|resume|status|receive`: the durable bulk runner of
//! `fal_runtime::batch` on the command line, with a progress display.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use fal_runtime::batch::{
    Batch, BatchError, BatchOptions, BatchStatus, Counts, InDoubt, Progress, StateLocation,
    Summary, RESULTS_FILE,
};
use fal_runtime::Client;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::call::block_on;
use crate::failure::with_causes;
use crate::output::print_line;
use crate::Failure;

/// How long the cost guard waits for fal's estimate. Without `--budget` a
/// batch must not hang on an unreachable Platform API host; with it, no
/// answer in this time is "no estimate", which refuses.
const ESTIMATE_WAIT: Duration = Duration::from_secs(30);

/// `fal batch …`.
#[derive(Subcommand, Debug)]
pub enum BatchCommand {
    /// Create a batch from a JSONL file (one input per line) and run it.
    Run(RunArgs),
    /// Continue a batch after a stop, a crash or a kill.
    Resume(ResumeArgs),
    /// Print a batch's counts and the lines that need checking.
    Status(StatusArgs),
    /// Receive fal's webhook deliveries for a batch run with --webhook.
    Receive(ReceiveArgs),
}

/// Settings of a run, shared by `run` and `resume`.
#[derive(Args, Debug)]
pub struct RunFlags {
    /// Most jobs submitted and not finished at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Most HTTP calls at once (bounds the open sockets).
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Longest gap between two status polls of one job, in seconds.
    #[arg(long, default_value_t = 2.0)]
    pub poll_interval: f64,
    /// With --webhook: seconds between the status polls that cover lost deliveries.
    #[arg(long, default_value_t = 60.0)]
    pub webhook_poll_interval: f64,
    /// PostgreSQL state: seconds a dead worker's jobs stay leased before others take them.
    #[arg(long, default_value_t = 60.0)]
    pub lease: f64,
    /// A job whose submit may have been queued already (its answer was lost):
    /// submit it again, or give it an error result.
    #[arg(long, value_enum, default_value_t = InDoubtArg::Resubmit)]
    pub in_doubt: InDoubtArg,
    /// PostgreSQL URL of a shared state: postgres://USER:PASSWORD@HOST:PORT/DB (password and port optional).
    #[arg(long, env = "FAL_BATCH_STATE")]
    pub state: Option<String>,
    /// Refuse to start when fal's estimate for the unfinished jobs is above
    /// this many US dollars, or when no estimate can be had.
    #[arg(long, value_name = "USD")]
    pub budget: Option<f64>,
}

/// `--in-doubt`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum InDoubtArg {
    /// Submit again (fal may run it twice); the line stays listed.
    Resubmit,
    /// Write an error result line instead.
    Fail,
}

/// `fal batch run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Endpoint id, e.g. fal-ai/flux/dev.
    pub endpoint: String,
    /// JSONL file: each non-blank line is one job's input (a JSON object).
    #[arg(long)]
    pub input: PathBuf,
    /// Directory for the state, results.jsonl and the downloaded files.
    #[arg(long)]
    pub out: PathBuf,
    /// A URL fal calls when each request completes (see `fal batch receive`).
    #[arg(long)]
    pub webhook: Option<String>,
    /// PostgreSQL state: the batch's name (default: from the endpoint and input).
    #[arg(long)]
    pub batch: Option<String>,
    #[command(flatten)]
    pub flags: RunFlags,
}

/// `fal batch resume`.
#[derive(Args, Debug)]
pub struct ResumeArgs {
    /// The batch directory.
    pub dir: PathBuf,
    #[command(flatten)]
    pub flags: RunFlags,
}

/// `fal batch status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The batch directory.
    pub dir: PathBuf,
    /// PostgreSQL URL, for a batch whose state is there.
    #[arg(long, env = "FAL_BATCH_STATE")]
    pub state: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `fal batch receive`.
#[derive(Args, Debug)]
pub struct ReceiveArgs {
    /// The batch directory.
    pub dir: PathBuf,
    /// Address to listen on, e.g. 0.0.0.0:8787.
    #[arg(long)]
    pub listen: SocketAddr,
    /// PostgreSQL URL, for a batch whose state is there.
    #[arg(long, env = "FAL_BATCH_STATE")]
    pub state: Option<String>,
    /// Where fal's webhook keys are (default: `.well-known/jwks.json` on the REST host).
    #[arg(long)]
    pub jwks_url: Option<String>,
}

/// Dispatches `fal batch …`.
pub fn batch(command: BatchCommand) -> Result<(), Failure> {
    match command {
        BatchCommand::Run(args) => run(args),
        BatchCommand::Resume(args) => resume(args),
        BatchCommand::Status(args) => status(args),
        BatchCommand::Receive(args) => receive(args),
    }
}

impl From<BatchError> for Failure {
    fn from(err: BatchError) -> Self {
        if err.is_usage() {
            Failure::Usage(err.to_string())
        } else {
            Failure::Api(err.to_string())
        }
    }
}

fn seconds(flag: &str, value: f64) -> Result<Duration, Failure> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Failure::Usage(format!(
                "{flag} must be a positive number of seconds, got {value}"
            ))
        })
}

fn options(flags: &RunFlags) -> Result<BatchOptions, Failure> {
    if let Some(budget) = flags.budget {
        if !budget.is_finite() || budget < 0.0 {
            return Err(Failure::Usage(format!(
                "--budget must be zero or more US dollars, got {budget}"
            )));
        }
    }
    if flags.concurrency == 0 {
        return Err(Failure::Usage("--concurrency must be at least 1".into()));
    }
    if flags.connections == 0 {
        return Err(Failure::Usage("--connections must be at least 1".into()));
    }
    Ok(BatchOptions::new()
        .concurrency(flags.concurrency)
        .connections(flags.connections)
        .poll_interval(seconds("--poll-interval", flags.poll_interval)?)
        .webhook_poll_interval(seconds(
            "--webhook-poll-interval",
            flags.webhook_poll_interval,
        )?)
        .lease(seconds("--lease", flags.lease)?)
        .in_doubt(match flags.in_doubt {
            InDoubtArg::Resubmit => InDoubt::Resubmit,
            InDoubtArg::Fail => InDoubt::Fail,
        }))
}

/// The client: a batch needs a real key (an embedded testkit would vanish with
/// the process, and its request ids with it).
fn client() -> Result<Client, Failure> {
    let client = Client::from_env().map_err(Failure::from)?;
    if !client.has_key() {
        return Err(Failure::Usage(
            "FAL_KEY is not set: a batch calls fal (or a testkit named by FAL_QUEUE_URL) with it"
                .into(),
        ));
    }
    Ok(client)
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let options = options(&args.flags)?;
    if let Some(webhook) = &args.webhook {
        match url::Url::parse(webhook) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => {
                return Err(Failure::Usage(format!(
                    "--webhook: {webhook:?} is not an http(s) URL"
                )))
            }
        }
    }
    let state = state_location(args.flags.state.as_deref(), args.batch.clone())?;
    block_on(async move {
        let client = client()?;
        let batch =
            Batch::create(&args.out, &args.endpoint, &args.input, state, args.webhook).await?;
        let status = batch.status().await?;
        eprintln!(
            "batch {}: {} jobs for {} ({} done already)",
            args.out.display(),
            status.counts.total,
            batch.endpoint(),
            status.counts.done()
        );
        let resume = format!("fal batch resume {}", args.out.display());
        cost_guard(&batch, &client, &status.counts, args.flags.budget, &resume).await?;
        drive(&batch, &client, &options).await
    })
}

fn resume(args: ResumeArgs) -> Result<(), Failure> {
    let options = options(&args.flags)?;
    block_on(async move {
        let client = client()?;
        let batch = Batch::open(&args.dir, args.flags.state.as_deref()).await?;
        let status = batch.status().await?;
        eprintln!(
            "batch {}: resuming {} ({} of {} jobs done)",
            args.dir.display(),
            batch.endpoint(),
            status.counts.done(),
            status.counts.total
        );
        let resume = format!("fal batch resume {}", args.dir.display());
        cost_guard(&batch, &client, &status.counts, args.flags.budget, &resume).await?;
        drive(&batch, &client, &options).await
    })
}

/// The cost guard: prints fal's estimate for the jobs not finished yet (one
/// call each at the endpoint's historical price per call, the Platform API's
/// `historical_api_price`: the number of calls is what a batch knows, while
/// the units a call bills depend on its input) before anything is submitted.
///
/// With a budget, an estimate above it refuses, and so does no estimate at
/// all: a budget is a promise not to overspend, which an unknown cost cannot
/// keep. Without one, a missing estimate is a warning and the batch runs.
/// Jobs already submitted count too, as finishing the batch pays for them.
async fn cost_guard(
    batch: &Batch,
    client: &Client,
    counts: &Counts,
    budget: Option<f64>,
    resume: &str,
) -> Result<(), Failure> {
    let jobs = counts.queued + counts.in_flight;
    if jobs == 0 {
        return Ok(());
    }
    let endpoint = batch.endpoint();
    let platform = client.platform();
    let asked = platform.estimate_calls([(endpoint, jobs)]);
    let estimate = match tokio::time::timeout(ESTIMATE_WAIT, asked).await {
        Ok(Ok(estimate)) => Ok(estimate),
        Ok(Err(err)) => Err(with_causes(&err)),
        Err(_) => Err(format!(
            "the Platform API did not answer within {} s",
            ESTIMATE_WAIT.as_secs()
        )),
    };
    let estimate = match (estimate, budget) {
        (Ok(estimate), _) => estimate,
        (Err(why), None) => {
            eprintln!("no cost estimate ({why}); running without one");
            return Ok(());
        }
        (Err(why), Some(budget)) => {
            return Err(Failure::Api(format!(
                "refusing to start: --budget {budget} USD is set but fal gave no cost estimate \
                 ({why}); nothing was submitted (`{resume}` without --budget runs unguarded)"
            )))
        }
    };
    let cost = money(estimate.total_cost);
    eprintln!(
        "estimated cost: {cost} {} for {jobs} call(s) of {endpoint} (fal's average price per call so far)",
        estimate.currency
    );
    let Some(budget) = budget else {
        return Ok(());
    };
    if estimate.currency != "USD" {
        return Err(Failure::Api(format!(
            "refusing to start: the estimate is in {}, --budget is in USD; nothing was submitted",
            estimate.currency
        )));
    }
    if estimate.total_cost > budget {
        return Err(Failure::Usage(format!(
            "refusing to start: the estimated {cost} USD is above --budget {budget} USD; nothing \
             was submitted (`{resume} --budget USD` starts it with a higher budget)"
        )));
    }
    Ok(())
}

/// An amount readable at any size: cents for sums of a dollar or more, four
/// decimals below (a single call often costs a fraction of a cent).
fn money(amount: f64) -> String {
    if amount >= 1.0 {
        format!("{amount:.2}")
    } else {
        format!("{amount:.4}")
    }
}

fn state_location(state: Option<&str>, name: Option<String>) -> Result<StateLocation, Failure> {
    match state {
        None if name.is_some() => Err(Failure::Usage(
            "--batch names a batch in a PostgreSQL state: give --state postgres://… too".into(),
        )),
        None => Ok(StateLocation::Sqlite),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(StateLocation::Postgres {
                url: url.to_owned(),
                name,
            })
        }
        Some(_) => Err(Failure::Usage(
            "--state must be a postgres:// URL (without it the state is a SQLite file in --out)"
                .into(),
        )),
    }
}

/// Runs the batch with a progress display and Ctrl-C handling; reports the end.
async fn drive(batch: &Batch, client: &Client, options: &BatchOptions) -> Result<(), Failure> {
    let stop = CancellationToken::new();
    let (progress, watcher) = watch::channel(Progress::default());
    let interrupt = stop.clone();
    let signals = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nstopping: no new submits; requests already submitted stay recorded for `fal batch resume` (Ctrl-C again to quit now)");
            interrupt.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("quitting now: `fal batch resume` lists any submit this cut short");
                std::process::exit(130);
            }
        }
    });
    let display = tokio::spawn(show_progress(watcher));
    let outcome = batch.run(client, options, &stop, &progress).await;
    drop(progress);
    let _ = display.await;
    signals.abort();
    let summary = outcome?;
    report(batch, &summary).await
}

async fn report(batch: &Batch, summary: &Summary) -> Result<(), Failure> {
    let dir = batch.dir();
    if summary.completed_lines > 0 {
        eprintln!(
            "wrote {} result line(s) the previous run had recorded but not written",
            summary.completed_lines
        );
    }
    if !summary.found_in_doubt.is_empty() {
        eprintln!(
            "submit in flight when the previous run stopped (fal may have queued these; check them): {}",
            lines_list(&summary.found_in_doubt)
        );
    }
    let status = batch.status().await?;
    let counts = &summary.counts;
    eprintln!(
        "{} ok, {} failed, {} in flight, {} queued of {}; results in {}",
        counts.ok,
        counts.failed,
        counts.in_flight,
        counts.queued + counts.finishing,
        counts.total,
        dir.join(RESULTS_FILE).display()
    );
    if !status.doubtful.is_empty() {
        let lines: Vec<u64> = status.doubtful.iter().map(|(line, _)| *line).collect();
        eprintln!(
            "lines with a doubtful submit (fal may have run them more than once): {}",
            lines_list(&lines)
        );
    }
    if !counts.is_complete() {
        let why = if summary.stopped {
            "stopped"
        } else {
            "other workers hold the remaining jobs, or their result lines belong to other directories"
        };
        return Err(Failure::Api(format!(
            "{why}: `fal batch resume {}` continues",
            dir.display()
        )));
    }
    if counts.failed > 0 {
        return Err(Failure::Api(format!(
            "{} job(s) failed: their lines in {} say why",
            counts.failed,
            dir.join(RESULTS_FILE).display()
        )));
    }
    Ok(())
}

fn lines_list(lines: &[u64]) -> String {
    const SHOWN: usize = 50;
    let mut text = lines
        .iter()
        .take(SHOWN)
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if lines.len() > SHOWN {
        text.push_str(&format!(
            " … ({} in all; `fal batch status` lists them)",
            lines.len()
        ));
    }
    text
}

/// A bar on a terminal; otherwise one plain line every few seconds.
async fn show_progress(mut watcher: watch::Receiver<Progress>) {
    let terminal = std::io::stderr().is_terminal();
    let bar = if terminal {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        Some(bar)
    } else {
        None
    };
    let started = Instant::now();
    let mut first_done: Option<u64> = None;
    let mut last_line = Instant::now() - Duration::from_secs(60);
    let mut shown_in_doubt = 0;
    while watcher.changed().await.is_ok() {
        let p = watcher.borrow_and_update().clone();
        let done = p.counts.done();
        let base = *first_done.get_or_insert(done);
        let elapsed = started.elapsed().as_secs_f64().max(0.001);
        let rate = (done - base.min(done)) as f64 / elapsed;
        let remaining = p.counts.total.saturating_sub(done);
        let eta = if rate > 0.0 {
            format_eta(remaining as f64 / rate)
        } else {
            "?".to_owned()
        };
        if p.found_in_doubt.len() > shown_in_doubt {
            let fresh = &p.found_in_doubt[shown_in_doubt..];
            let text = format!(
                "submit in flight when the previous run stopped (fal may have queued these; check them): {}",
                lines_list(fresh)
            );
            match &bar {
                Some(bar) => bar.println(text),
                None => eprintln!("{text}"),
            }
            shown_in_doubt = p.found_in_doubt.len();
        }
        let message = format!(
            "failed {} · in flight {} · queued {} · {:.1}/s · ETA {}{}{}",
            p.counts.failed,
            p.counts.in_flight,
            p.counts.queued,
            rate,
            eta,
            if p.paused { " · paused (429)" } else { "" },
            if p.stopping { " · stopping" } else { "" },
        );
        match &bar {
            Some(bar) => {
                bar.set_length(p.counts.total);
                bar.set_position(done);
                bar.set_message(message);
            }
            None if last_line.elapsed() >= Duration::from_secs(5) => {
                eprintln!("done {done}/{} · {message}", p.counts.total);
                last_line = Instant::now();
            }
            None => {}
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

fn format_eta(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn status(args: StatusArgs) -> Result<(), Failure> {
    block_on(async move {
        let batch = Batch::open_read(&args.dir, args.state.as_deref()).await?;
        let status = batch.status().await?;
        if args.json {
            return print_line(&status_json(&batch, &status).to_string());
        }
        print_line(&status_text(&batch, &status))
    })
}

fn status_json(batch: &Batch, status: &BatchStatus) -> serde_json::Value {
    let c = &status.counts;
    json!({
        "endpoint": status.endpoint,
        "jobs": c.total,
        "ok": c.ok,
        "failed": c.failed,
        "in_flight": c.in_flight,
        "queued": c.queued,
        "finishing": c.finishing,
        "complete": c.is_complete(),
        "doubtful": status.doubtful.iter().map(|(line, n)| json!({"line": line, "submits": n})).collect::<Vec<_>>(),
        "billable_units": status.billable_units.0,
        "jobs_with_billable_units": status.billable_units.1,
        "results": batch.dir().join(RESULTS_FILE),
    })
}

fn status_text(batch: &Batch, status: &BatchStatus) -> String {
    let c = &status.counts;
    let mut text = format!(
        "{}: {} jobs for {}\n  done {} (ok {}, failed {}), in flight {}, queued {}",
        batch.dir().display(),
        c.total,
        status.endpoint,
        c.done(),
        c.ok,
        c.failed,
        c.in_flight,
        c.queued
    );
    if c.finishing > 0 {
        text.push_str(&format!(
            ", {} recorded but not yet written (the directory that ran them writes them on resume)",
            c.finishing
        ));
    }
    if status.billable_units.1 > 0 {
        text.push_str(&format!(
            "\n  billable units {} over {} jobs",
            status.billable_units.0, status.billable_units.1
        ));
    }
    if !status.doubtful.is_empty() {
        let lines: Vec<u64> = status.doubtful.iter().map(|(line, _)| *line).collect();
        text.push_str(&format!(
            "\n  doubtful submits (fal may have run these more than once; check them): lines {}",
            lines_list(&lines)
        ));
    }
    text.push_str(&format!(
        "\n  results: {}",
        batch.dir().join(RESULTS_FILE).display()
    ));
    text
}

fn receive(args: ReceiveArgs) -> Result<(), Failure> {
    block_on(async move {
        let batch = Arc::new(Batch::open_read(&args.dir, args.state.as_deref()).await?);
        let client = Client::from_env().map_err(Failure::from)?;
        // Without --jwks-url, the key set the client's REST base publishes (fal's
        // own for fal's host, the testkit's for a testkit).
        let verifier = match &args.jwks_url {
            Some(url) => {
                let url = url::Url::parse(url).map_err(|e| {
                    Failure::Usage(format!("--jwks-url: {url:?} is not a URL: {e}"))
                })?;
                fal_runtime::webhook::WebhookVerifier::with_jwks_url(reqwest::Client::new(), url)
            }
            None => client.webhook_verifier(),
        };
        let app = fal_runtime::batch::receive_router(batch.clone(), verifier);
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Failure::Usage(format!("--listen {}: {e}", args.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Failure::Api(format!("cannot read the listening address: {e}")))?;
        eprintln!(
            "receiving webhook deliveries for {} on http://{addr}/ (Ctrl-C stops)",
            args.dir.display()
        );
        print_line(&format!("http://{addr}/"))?;
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| Failure::Api(format!("the webhook receiver failed: {e}")))
    })
}
