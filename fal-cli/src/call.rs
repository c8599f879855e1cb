//! Verbs that call an endpoint: run, submit, status, result, cancel, stream.
//! Owned by the runtime work (stream by the streaming work).

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use clap::Args;
use fal_runtime::{Client, QueueStatus};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

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
}

/// `fal status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Endpoint id.
    pub endpoint: String,
    /// Request id.
    pub request_id: String,
    /// Include log lines.
    #[arg(long)]
    pub logs: bool,
}

/// `fal result` and `fal cancel`.
#[derive(Args, Debug)]
pub struct RequestArgs {
    /// Endpoint id.
    pub endpoint: String,
    /// Request id.
    pub request_id: String,
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

/// A client from the environment (FAL_KEY, FAL_*_URL).
pub(crate) fn client_from_env() -> Result<Client, Failure> {
    Client::from_env().map_err(Failure::from)
}

/// How long the no-key embedded testkit keeps a request queued and running, so
/// the progress display has something to show.
const EMBEDDED_QUEUE_DELAY: Duration = Duration::from_millis(300);
/// See [`EMBEDDED_QUEUE_DELAY`].
const EMBEDDED_RUN_DURATION: Duration = Duration::from_millis(900);

/// Prints a JSON value on stdout.
fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|err| Failure::Api(format!("cannot print the result as JSON: {err}")))?;
    print_line(&text)
}

/// Writes one line on stdout; a closed pipe (`fal … | head`) is not a failure.
pub(crate) fn print_line(text: &str) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(Failure::Api(format!("cannot write to stdout: {err}"))),
    }
}

/// `fal run`: subscribe (or `--sync` direct run) and print the result. Without a
/// key it starts an embedded testkit, so a first try needs no account.
pub fn run(args: RunArgs) -> Result<(), Failure> {
    endpoint_arg(&args.endpoint)?;
    let input = read_input(&args.input)?;
    block_on(async move {
        // `_embedded` keeps the no-key testkit serving until the call finishes.
        let fal_testkit::ClientOrTestkit {
            client,
            testkit: _embedded,
        } = fal_testkit::client_from_env_or_testkit(
            fal_testkit::Testkit::builder()
                .queue_delay(EMBEDDED_QUEUE_DELAY)
                .run_duration(EMBEDDED_RUN_DURATION),
        )
        .await
        .map_err(|err| match err {
            fal_testkit::FallbackError::Client(err) => Failure::from(err),
            other => Failure::Api(format!("cannot start the embedded testkit: {other}")),
        })?;
        let endpoint = client.endpoint(args.endpoint.as_str());
        let output = if args.sync {
            endpoint.run(input).await?
        } else {
            subscribe_with_progress(&client, &args.endpoint, input).await?
        };
        print_json(&output)
    })
}

/// Subscribe with a spinner and the runner's log lines on stderr.
async fn subscribe_with_progress(
    client: &Client,
    endpoint: &str,
    input: Value,
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
        .on_enqueue(move |id| queued.set_message(format!("queued as {id}")))
        .on_update(move |status| show_status(&progress, status, &mut last_state))
        .await;
    bar.finish_and_clear();
    Ok(output?)
}

/// Prints new log lines, and the state when it changed.
fn show_status(bar: &ProgressBar, status: &QueueStatus, last_state: &mut String) {
    for line in status.logs() {
        let text = match &line.level {
            Some(level) => format!("[{level}] {}", line.message),
            None => line.message.clone(),
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
        } => format!("completed with an error: {error}"),
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
    let input = read_input(&args.input)?;
    if let Some(webhook) = &args.webhook {
        url_arg("--webhook", webhook)?;
    }
    block_on(async move {
        let client = client_from_env()?;
        let mut call = client.endpoint(args.endpoint.as_str()).submit(input);
        if let Some(webhook) = args.webhook {
            call = call.webhook(webhook);
        }
        let handle = call.await?;
        print_line(handle.request_id())
    })
}

/// Checks an endpoint id before anything starts (an embedded testkit, say),
/// so a typo is a usage error and nothing else happens.
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
    block_on(async move {
        let client = client_from_env()?;
        let handle = client
            .endpoint(args.endpoint.as_str())
            .request(&args.request_id)?;
        print_json(&handle.status(args.logs).await?)
    })
}

/// `fal result`: the result JSON of a completed request.
pub fn result(args: RequestArgs) -> Result<(), Failure> {
    block_on(async move {
        let client = client_from_env()?;
        let handle = client
            .endpoint(args.endpoint.as_str())
            .request(&args.request_id)?;
        print_json(&handle.result().await?)
    })
}

/// `fal cancel`: ask fal to cancel the request.
pub fn cancel(args: RequestArgs) -> Result<(), Failure> {
    block_on(async move {
        let client = client_from_env()?;
        let handle = client
            .endpoint(args.endpoint.as_str())
            .request(&args.request_id)?;
        handle.cancel().await?;
        Ok(())
    })
}

/// `fal stream`: one compact JSON line per event, flushed as it arrives so a pipe
/// sees progress. Without a key it streams from an embedded testkit, like `fal run`.
pub fn stream(args: StreamArgs) -> Result<(), Failure> {
    use futures::StreamExt;

    let timeout = Duration::try_from_secs_f64(args.inactivity_timeout)
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
        // `_embedded` keeps the no-key testkit serving until the stream ends.
        let fal_testkit::ClientOrTestkit {
            client,
            testkit: _embedded,
        } = fal_testkit::client_from_env_or_testkit(
            fal_testkit::Testkit::builder().run_duration(EMBEDDED_RUN_DURATION),
        )
        .await
        .map_err(|err| match err {
            fal_testkit::FallbackError::Client(err) => Failure::from(err),
            other => Failure::Api(format!("cannot start the embedded testkit: {other}")),
        })?;
        let mut events = client
            .endpoint(args.endpoint.as_str())
            .stream(input)
            .inactivity_timeout(timeout)
            .await?;
        while let Some(event) = events.next().await {
            let event = event?;
            print_line(&event.to_string())?;
        }
        Ok(())
    })
}
