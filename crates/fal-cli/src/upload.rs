//! `fal upload`. Owned by the storage work.
use crate::Failure;
use clap::Args;
use std::path::PathBuf;
/// `fal upload`.
#[derive(Args, Debug)]
pub struct UploadArgs {
    /// The file to upload.
    pub file: PathBuf,
}
pub fn upload(_args: UploadArgs) -> Result<(), Failure> {
    Err(crate::Failure::Usage(
        "this verb is being built (see the open issues)".into(),
    ))
}
