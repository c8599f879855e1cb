//! `fal`: the command line for fal.ai.
//!
//! One module per verb group; `main` only parses arguments, dispatches, and
//! turns the outcome into the exit status DESIGN.md promises (0 success,
//! 1 the API or model failed, 2 bad usage or bad input).

mod batch;
mod call;
mod codegen;
mod failure;
mod interrupt;
mod models;
mod output;
mod platform;
mod schemas;
mod target;
mod testkit;
mod upload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub use failure::Failure;

/// Call fal.ai endpoints, generate typed bindings, upload files, and serve a
/// local fal-compatible testkit.
#[derive(Parser, Debug)]
#[command(name = "fal", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Call an endpoint and wait for its result (queue + status stream), or run it directly with --sync.
    Run(call::RunArgs),
    /// Submit a request to the queue and print its request id.
    Submit(call::SubmitArgs),
    /// Print one status of a queued request.
    Status(call::StatusArgs),
    /// Print the result of a completed request.
    Result(call::RequestArgs),
    /// Cancel a queued or running request.
    Cancel(call::RequestArgs),
    /// Stream an endpoint's events, one JSON line per event.
    Stream(call::StreamArgs),
    /// Upload a file to fal storage and print its URL.
    Upload(upload::UploadArgs),
    /// Generate or check typed Rust bindings.
    Codegen {
        #[command(subcommand)]
        command: CodegenCommand,
    },
    /// Work with endpoint schemas.
    Schemas {
        #[command(subcommand)]
        command: SchemasCommand,
    },
    /// Serve the local fal-compatible testkit and print its base URL.
    Testkit(testkit::TestkitArgs),
    /// fal's models: search them, one model's metadata or OpenAPI document, or list
    /// the typed bindings of fal-endpoints (offline).
    Models {
        #[command(subcommand)]
        command: platform::ModelsCommand,
    },
    /// Unit prices of endpoints.
    Pricing(platform::PricingArgs),
    /// What N units (or, with --calls, N calls) of endpoints would cost.
    Estimate(platform::EstimateArgs),
    /// What was spent, per endpoint and unit (needs an admin key).
    Usage(platform::UsageArgs),
    /// Request history of an endpoint, and deleting a request's stored payloads.
    Requests {
        #[command(subcommand)]
        command: platform::RequestsCommand,
    },
    /// Run thousands of inputs through one endpoint, durably (resumable after any stop).
    Batch {
        #[command(subcommand)]
        command: batch::BatchCommand,
    },
}

#[derive(Subcommand, Debug)]
enum CodegenCommand {
    /// Write bindings for every schema in the directories.
    Generate(CodegenArgs),
    /// Exit 1 if the bindings (file or crate) are not what `generate` would write.
    Check(CodegenArgs),
    /// Write (or with --check, verify) a typed client module for a REST
    /// OpenAPI document, such as fal's Platform APIs.
    Rest(codegen::RestArgs),
}

/// Where schemas come from and where bindings go.
#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("target").required(true).args(["out", "crate_dir"]))]
pub struct CodegenArgs {
    /// Directory of endpoint OpenAPI documents (`*.json`); repeat for several.
    #[arg(long, required = true)]
    pub schemas: Vec<PathBuf>,
    /// The bindings file (one file, every endpoint).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A crate of bundled bindings (such as `fal-endpoints`): one file and one
    /// cargo feature per endpoint under its `src/generated/`, and the
    /// `[features]` table at the end of its `Cargo.toml`.
    #[arg(long = "crate", value_name = "DIR")]
    pub crate_dir: Option<PathBuf>,
    /// With --crate: cut the bundle into the parts of the catalogue (the crates
    /// DIR-a-e, DIR-f, … beside DIR, by the first letter of each endpoint's
    /// alias), so that no crate has more features than crates.io accepts; DIR
    /// then re-exports them and lists every endpoint.
    #[arg(long, requires = "crate_dir")]
    pub in_parts: bool,
}

#[derive(Subcommand, Debug)]
enum SchemasCommand {
    /// Download endpoint OpenAPI documents.
    Fetch(schemas::FetchArgs),
    /// Reduce OpenAPI documents to facts (no descriptions, summaries or prose
    /// examples), the form the repository keeps.
    Reduce(schemas::reduce::ReduceArgs),
}

/// Diagnostics go to stderr, off unless `RUST_LOG` asks (stdout carries results).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let outcome = match cli.command {
        Command::Run(args) => call::run(args),
        Command::Submit(args) => call::submit(args),
        Command::Status(args) => call::status(args),
        Command::Result(args) => call::result(args),
        Command::Cancel(args) => call::cancel(args),
        Command::Stream(args) => call::stream(args),
        Command::Upload(args) => upload::upload(args),
        Command::Codegen {
            command: CodegenCommand::Generate(args),
        } => codegen::generate(args),
        Command::Codegen {
            command: CodegenCommand::Check(args),
        } => codegen::check(args),
        Command::Codegen {
            command: CodegenCommand::Rest(args),
        } => codegen::rest(args),
        Command::Schemas {
            command: SchemasCommand::Fetch(args),
        } => schemas::fetch(args),
        Command::Schemas {
            command: SchemasCommand::Reduce(args),
        } => schemas::reduce::run(args),
        Command::Testkit(args) => testkit::serve(args),
        Command::Batch { command } => batch::batch(command),
        Command::Models { command } => platform::models(command),
        Command::Pricing(args) => platform::pricing(args),
        Command::Estimate(args) => platform::estimate(args),
        Command::Usage(args) => platform::usage(args),
        Command::Requests { command } => platform::requests(command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            // Messages quote what servers said: shown, never sent to the terminal.
            eprintln!("error: {}", output::escape(&failure.to_string()));
            failure.exit_code()
        }
    }
}
