//! `fal upload FILE`: uploads one local file to fal storage and prints its URL.

use std::path::PathBuf;

use clap::Args;
use fal_runtime::storage::{UploadOptions, UploadSource};
use fal_runtime::{Expiration, ObjectLifecycle};

use crate::interrupt::{self, Stop};
use crate::output::print_text;
use crate::Failure;

/// `fal upload`.
#[derive(Args, Debug)]
pub struct UploadArgs {
    /// The file to upload.
    pub file: PathBuf,
    /// MIME type to store it with (default: guessed from the file name).
    #[arg(long)]
    pub content_type: Option<String>,
    /// Name to store it under (default: the file's own name).
    #[arg(long)]
    pub file_name: Option<String>,
    /// How long fal keeps it: immediate, 1h, 1d, 7d, 30d, 1y, never, or seconds.
    #[arg(long, value_parser = parse_expiration)]
    pub expires: Option<Expiration>,
    #[command(flatten)]
    pub call: crate::target::CallArgs,
}

fn parse_expiration(text: &str) -> Result<Expiration, String> {
    text.parse()
        .map_err(|err: fal_runtime::storage::InvalidExpiration| err.to_string())
}

/// Checks the file, uploads it, prints the URL.
pub fn upload(args: UploadArgs) -> Result<(), Failure> {
    match std::fs::metadata(&args.file) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => {
            return Err(Failure::Usage(format!(
                "{} is not a regular file",
                args.file.display()
            )))
        }
        Err(err) => {
            return Err(Failure::Usage(format!(
                "cannot read {}: {err}",
                args.file.display()
            )))
        }
    }
    let options = UploadOptions {
        content_type: args.content_type,
        file_name: args.file_name,
        lifecycle: args
            .expires
            .map(|expires| ObjectLifecycle::new().expiration(expires)),
        ..UploadOptions::default()
    };
    crate::call::block_on(async {
        // With --testkit the URL is only good while this command runs (said on stderr).
        let target = args.call.connect(fal_testkit::Testkit::builder()).await?;
        // Ctrl-C or --timeout drop the upload's connections; no file is served then.
        let url = interrupt::guarded(args.call.timeout, Stop::CloseConnection, |_| async {
            target
                .client
                .upload(UploadSource::File(args.file.clone()), &options)
                .await
                // A file that vanished or became unreadable after the check above is
                // an input error, so usage (exit 2).
                .map_err(Failure::from)
        })
        .await?;
        print_text(&url)
    })
}
