//! Verbs that call an endpoint: run, submit, status, result, cancel, stream.
//! Owned by the runtime work (stream by the streaming work).

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use clap::Args;
use fal_runtime::{Client, QueueStatus};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::interrupt::{self, Stop};
use crate::output::{escape, print_json, print_json_line, print_text};
use crate::target::{CallArgs, Target};
use crate::Failure;

/// `fal run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Endpoint id, e.g. fal-ai/flux/dev.
    pub endpoint: String,
    /// Input JSON, or @FILE to read it from a file.
    #[arg(long)]
    pub input: String,
    /// Direct run instead of the queue.
    #[arg(long)]
    pub sync: bool,
    #[command(flatten)]
    pub call: CallArgs,
}

/// `fal submit`.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// Endpoint id.
    pub endpoint: String,
    /// Input JSON, or @FILE.
    #[arg(long)]
    pub input: String,
    /// Webhook URL fal calls when the request completes.
    #[arg(long)]
    pub webhook: Option<String>,
    #[command(flatten)]
    pub call: CallArgs,
}

/// `fal status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub request: RequestArgs,
    /// Include log lines.
    #[arg(long)]
    pub logs: bool,
}

/// An existing request: `fal result`, `fal cancel`, and `fal status` with `--logs`.
#[derive(Args, Debug)]
pub struct RequestArgs {
    /// Endpoint id.
    pub endpoint: String,
    /// Request id.
    pub request_id: String,
    #[command(flatten)]
    pub call: CallArgs,
}

/// `fal stream`.
#[derive(Args, Debug)]
pub struct StreamArgs {
    /// Endpoint id.
    pub endpoint: String,
    /// Input JSON, or @FILE.
    #[arg(long)]
    pub input: String,
    /// Seconds without an event before giving up.
    #[arg(long, default_value_t = 15.0)]
    pub inactivity_timeout: f64,
    #[command(flatten)]
    pub call: CallArgs,
}

/// Reads `--input`: inline JSON, or `@FILE` holding JSON.
pub(crate) fn read_input(input: &str) -> Result<Value, Failure> {
    let (text, source) = match input.strip_prefix('@') {
        Some(path) => {
            let text = std::fs::read_to_string(Path::new(path))
                .map_err(|err| Failure::Usage(format!("--input: cannot read {path}: {err}")))?;
            (text, format!("--input file {path}"))
        }
        None => (input.to_owned(), "--input".to_owned()),
    };
    serde_json::from_str(&text).map_err(|err| {
        Failure::Usage(format!(
            "{source}: not valid JSON (line {}, column {}): {err}",
            err.line(),
            err.column()
        ))
    })
}

/// Runs `work` on a fresh multi-threaded runtime (an embedded testkit serves on it
/// while the call runs).
pub(crate) fn block_on<T>(work: impl Future<Output = Result<T, Failure>>) -> Result<T, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|err| Failure::Api(format!("cannot start the async runtime: {err}")))?
        .block_on(work)
}

/// How long an embedded testkit (`--testkit`) keeps a request queued and running,
/// so the progress display has something to show.
const EMBEDDED_QUEUE_DELAY: Duration = Duration::from_millis(300);
/// See [`EMBEDDED_QUEUE_DELAY`].
const EMBEDDED_RUN_DURATION: Duration = Duration::from_millis(900);

/// The embedded testkit `--testkit` starts for the calling verbs.
fn embedded() -> fal_testkit::TestkitBuilder {
    fal_testkit::Testkit::builder()
        .queue_delay(EMBEDDED_QUEUE_DELAY)
        .run_duration(EMBEDDED_RUN_DURATION)
}

/// `fal run`: subscribe (or `--sync` direct run) and print the result. Ctrl-C
/// and `--timeout` cancel the queued request and print its id ([`interrupt`]).
pub fn run(args: RunArgs) -> Result<(), Failure> {
    endpoint_arg(&args.endpoint)?;
    let input = read_input(&args.input)?;
    block_on(async move {
        // `_embedded` keeps a `--testkit` server alive until the call finishes.
        let Target {
            client,
            embedded: _embedded,
        } = args.call.connect(embedded()).await?;
        let endpoint = args.endpoint.as_str();
        let output = if args.sync {
            // A direct run has no id before it answers; closing its connection stops it.
            interrupt::guarded(args.call.timeout, Stop::CloseConnection, |_| async {
                Ok(client.endpoint(endpoint).run(input).await?)
            })
            .await?
        } else {
            let canceller = client.clone();
            let cancel = Stop::Cancel(Box::new(move |id: String| -> interrupt::CancelFuture<'_> {
                Box::pin(async move { canceller.endpoint(endpoint).request(&id)?.cancel().await })
            }));
            interrupt::guarded(args.call.timeout, cancel, |slot| {
                subscribe_with_progress(&client, endpoint, input, slot)
            })
            .await?
        };
        print_json(&output)
    })
}

/// Subscribe with a spinner and the runner's log lines on stderr; the request
/// id goes to `slot` as soon as it is queued.
async fn subscribe_with_progress(
    client: &Client,
    endpoint: &str,
    input: Value,
    slot: interrupt::RequestIdSlot,
) -> Result<Value, Failure> {
    let bar = ProgressBar::new_spinner();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed} {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message("submitting");
    let progress = bar.clone();
    let queued = bar.clone();
    let mut last_state = String::new();
    let output = client
        .endpoint(endpoint)
        .subscribe(input)
        .logs(true)
        .on_enqueue(move |id| {
            slot.set(id);
            queued.set_message(format!("queued as {}", escape(id)));
        })
        .on_update(move |status| show_status(&progress, status, &mut last_state))
        .await;
    bar.finish_and_clear();
    Ok(output?)
}

/// Prints new log lines, and the state when it changed.
fn show_status(bar: &ProgressBar, status: &QueueStatus, last_state: &mut String) {
    for line in status.logs() {
        // Log text is the model's: shown, never sent to the terminal as controls.
        let text = match &line.level {
            Some(level) => format!("[{}] {}", escape(level), escape(&line.message)),
            None => escape(&line.message).into_owned(),
        };
        if bar.is_hidden() {
            eprintln!("{text}");
        } else {
            bar.println(text);
        }
    }
    let message = match status {
        QueueStatus::InQueue {
            position: Some(position),
        } => format!("in queue (position {position})"),
        QueueStatus::InQueue { position: None } => "in queue".to_owned(),
        QueueStatus::InProgress { .. } => "in progress".to_owned(),
        QueueStatus::Completed {
            error: Some(error), ..
        } => format!("completed with an error: {}", escape(error)),
        QueueStatus::Completed { .. } => "completed; fetching the result".to_owned(),
    };
    if *last_state == message {
        return;
    }
    if bar.is_hidden() {
        eprintln!("{message}");
    }
    last_state.clone_from(&message);
    bar.set_message(message);
}

/// `fal submit`: queue the request and print its id.
pub fn submit(args: SubmitArgs) -> Result<(), Failure> {
    endpoint_arg(&args.endpoint)?;
    let input = read_input(&args.input)?;
    if let Some(webhook) = &args.webhook {
        url_arg("--webhook", webhook)?;
    }
    block_on(async move {
        let target = args.call.connect(embedded()).await?;
        let client = &target.client;
        let handle = within(args.call.timeout, async {
            let mut call = client.endpoint(args.endpoint.as_str()).submit(input);
            if let Some(webhook) = args.webhook {
                call = call.webhook(webhook);
            }
            Ok(call.await?)
        })
        .await?;
        print_text(handle.request_id())
    })
}

/// `work` under `--timeout` and Ctrl-C, for the verbs that make one quick call
/// (nothing to cancel: the call is dropped).
pub(crate) async fn within<T>(
    timeout: Option<Duration>,
    work: impl std::future::Future<Output = Result<T, Failure>> + Send,
) -> Result<T, Failure> {
    interrupt::guarded(timeout, Stop::CloseConnection, |_| work).await
}

/// Checks an endpoint id before anything starts (a missing key's error, an
/// embedded testkit), so a typo is a usage error and nothing else happens.
fn endpoint_arg(id: &str) -> Result<(), Failure> {
    fal_runtime::EndpointId::parse(id)
        .map(drop)
        .map_err(|err| Failure::Usage(err.to_string()))
}

fn url_arg(flag: &str, value: &str) -> Result<(), Failure> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        Ok(_) => Err(Failure::Usage(format!(
            "{flag}: {value:?} is not an http(s) URL"
        ))),
        Err(err) => Err(Failure::Usage(format!(
            "{flag}: {value:?} is not a URL: {err}"
        ))),
    }
}

/// `fal status`: one status, as JSON.
pub fn status(args: StatusArgs) -> Result<(), Failure> {
    let logs = args.logs;
    on_request(args.request, move |handle, timeout| async move {
        let answer = within(timeout, async { Ok(handle.status(logs).await?) }).await?;
        print_json(&answer)
    })
}

/// `fal result`: the result JSON of a completed request.
pub fn result(args: RequestArgs) -> Result<(), Failure> {
    on_request(args, |handle, timeout| async move {
        let answer = within(timeout, async { Ok(handle.result().await?) }).await?;
        print_json(&answer)
    })
}

/// `fal cancel`: ask fal to cancel the request.
pub fn cancel(args: RequestArgs) -> Result<(), Failure> {
    on_request(args, |handle, timeout| async move {
        within(timeout, async { Ok(handle.cancel().await?) }).await
    })
}

/// Runs `verb` on the handle of an existing request (`fal status`, `result`,
/// `cancel`) under `--timeout`; the target (and any embedded testkit) lives
/// until the verb is done.
fn on_request<F, Fut>(args: RequestArgs, verb: F) -> Result<(), Failure>
where
    F: FnOnce(fal_runtime::QueueHandle<Value>, Option<Duration>) -> Fut,
    Fut: Future<Output = Result<(), Failure>>,
{
    endpoint_arg(&args.endpoint)?;
    block_on(async move {
        let target = args.call.connect(embedded()).await?;
        let handle = target
            .client
            .endpoint(args.endpoint.as_str())
            .request(&args.request_id)?;
        verb(handle, args.call.timeout).await
    })
}

/// `fal stream`: one compact JSON line per event, flushed as it arrives so a pipe
/// sees progress. Ctrl-C and `--timeout` close the stream and print its id.
pub fn stream(args: StreamArgs) -> Result<(), Failure> {
    use futures::StreamExt;

    let inactivity = Duration::try_from_secs_f64(args.inactivity_timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| {
            Failure::Usage(format!(
                "--inactivity-timeout must be a positive number of seconds, got {}",
                args.inactivity_timeout
            ))
        })?;
    endpoint_arg(&args.endpoint)?;
    let input = read_input(&args.input)?;
    block_on(async move {
        // `_embedded` keeps a `--testkit` server alive until the stream ends.
        let Target {
            client,
            embedded: _embedded,
        } = args
            .call
            .connect(fal_testkit::Testkit::builder().run_duration(EMBEDDED_RUN_DURATION))
            .await?;
        // Closing a stream's connection is how fal stops it.
        interrupt::guarded(
            args.call.timeout,
            Stop::CloseConnection,
            |slot| async move {
                let mut events = client
                    .endpoint(args.endpoint.as_str())
                    .stream(input)
                    .inactivity_timeout(inactivity)
                    .await?;
                if let Some(id) = events.request_id() {
                    slot.set(id);
                }
                while let Some(event) = events.next().await {
                    let event = event?;
                    print_json_line(&event)?;
                }
                Ok(())
            },
        )
        .await
    })
}
