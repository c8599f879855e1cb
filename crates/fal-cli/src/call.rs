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
pub fn stream(_args: StreamArgs) -> Result<(), Failure> {
    Err(crate::Failure::Usage(
        "this verb is being built (see the open issues)".into(),
    ))
}
