//! `fal testkit`: serve the local fal-compatible server until Ctrl-C.
use std::path::PathBuf;

use clap::Args;

use crate::call::block_on;
use crate::Failure;

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

/// Starts the testkit, prints its base URL on stdout (and how to point a client
/// at it on stderr), then serves until Ctrl-C.
pub fn serve(args: TestkitArgs) -> Result<(), Failure> {
    if let Some(dir) = &args.schemas {
        if !dir.is_dir() {
            return Err(Failure::Usage(format!(
                "--schemas: {} is not a directory",
                dir.display()
            )));
        }
    }
    block_on(async move {
        let mut builder = fal_testkit::Testkit::builder().port(args.port);
        if let Some(dir) = args.schemas {
            builder = builder.schemas_dir(dir);
        }
        let testkit = builder
            .start()
            .await
            .map_err(|err| Failure::Api(format!("cannot start the testkit: {err}")))?;
        println!("{}", testkit.base_url());
        eprintln!(
            "fal testkit listening; point a client at it with\n  FAL_QUEUE_URL={} FAL_RUN_URL={} FAL_REST_URL={} FAL_KEY={}\nCtrl-C stops it.",
            testkit.queue_url(),
            testkit.run_url(),
            testkit.rest_url(),
            testkit.key()
        );
        tokio::signal::ctrl_c()
            .await
            .map_err(|err| Failure::Api(format!("cannot wait for Ctrl-C: {err}")))?;
        drop(testkit);
        Ok(())
    })
}
