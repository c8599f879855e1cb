//! `fal schemas fetch`. Owned by the codegen work.
use crate::Failure;
use clap::Args;
use std::path::PathBuf;
/// `fal schemas fetch`.
#[derive(Args, Debug)]
pub struct FetchArgs {
    /// Endpoint ids to fetch.
    #[arg(required = true)]
    pub endpoints: Vec<String>,
    /// Directory to write the documents into.
    #[arg(long)]
    pub out: PathBuf,
}
pub fn fetch(_args: FetchArgs) -> Result<(), Failure> {
    Err(crate::Failure::Usage(
        "this verb is being built (see the open issues)".into(),
    ))
}
