//! `fal testkit`. Owned by the runtime work.
use crate::Failure;
use clap::Args;
use std::path::PathBuf;
/// `fal testkit`.
#[derive(Args, Debug)]
pub struct TestkitArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Directory of endpoint schemas to validate inputs and synthesize outputs from.
    #[arg(long)]
    pub schemas: Option<PathBuf>,
}
pub fn serve(_args: TestkitArgs) -> Result<(), Failure> {
    Err(crate::Failure::Usage(
        "this verb is being built (see the open issues)".into(),
    ))
}
