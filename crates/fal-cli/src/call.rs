//! Verbs that call an endpoint: run, submit, status, result, cancel, stream.
//! Owned by the runtime work (stream by the streaming work).

use clap::Args;

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

pub fn run(_args: RunArgs) -> Result<(), Failure> {
    Err(crate::Failure::Usage(
        "this verb is being built (see the open issues)".into(),
    ))
}
pub fn submit(_args: SubmitArgs) -> Result<(), Failure> {
    Err(crate::Failure::Usage(
        "this verb is being built (see the open issues)".into(),
    ))
}
pub fn status(_args: StatusArgs) -> Result<(), Failure> {
    Err(crate::Failure::Usage(
        "this verb is being built (see the open issues)".into(),
    ))
}
pub fn result(_args: RequestArgs) -> Result<(), Failure> {
    Err(crate::Failure::Usage(
        "this verb is being built (see the open issues)".into(),
    ))
}
pub fn cancel(_args: RequestArgs) -> Result<(), Failure> {
    Err(crate::Failure::Usage(
        "this verb is being built (see the open issues)".into(),
    ))
}
/// Prints one compact JSON line per event, flushing each so a pipe sees progress.
pub fn stream(args: StreamArgs) -> Result<(), Failure> {
    use std::io::Write;

    use futures::StreamExt;

    let timeout = std::time::Duration::try_from_secs_f64(args.inactivity_timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| {
            Failure::Usage(format!(
                "--inactivity-timeout must be a positive number of seconds, got {}",
                args.inactivity_timeout
            ))
        })?;
    let input = stream_input(&args.input)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Api(format!("could not start the async runtime: {e}")))?;
    runtime.block_on(async {
        let client = fal_runtime::Client::from_env().map_err(stream_failure)?;
        let mut events = client
            .endpoint(args.endpoint.as_str())
            .stream(input)
            .inactivity_timeout(timeout)
            .await
            .map_err(stream_failure)?;
        let mut stdout = std::io::stdout().lock();
        while let Some(event) = events.next().await {
            let event = event.map_err(|e| stream_failure(e.into()))?;
            writeln!(stdout, "{event}")
                .and_then(|()| stdout.flush())
                .map_err(|e| Failure::Api(format!("could not write to stdout: {e}")))?;
        }
        Ok(())
    })
}

/// `--input`: inline JSON, or `@FILE` holding it.
fn stream_input(arg: &str) -> Result<serde_json::Value, Failure> {
    let (text, origin) = match arg.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("--input: cannot read {path}: {e}")))?,
            path.to_owned(),
        ),
        None => (arg.to_owned(), "--input".to_owned()),
    };
    serde_json::from_str(&text)
        .map_err(|e| Failure::Usage(format!("{origin} is not valid JSON: {e}")))
}

/// Bad ids, inputs and configuration are usage errors (exit 2); everything the
/// server or the stream reported is an API failure (exit 1).
fn stream_failure(error: fal_runtime::Error) -> Failure {
    use fal_runtime::Error;
    match error {
        Error::EndpointId(_) | Error::Input { .. } | Error::Config(_) => {
            Failure::Usage(error.to_string())
        }
        other => Failure::Api(other.to_string()),
    }
}
