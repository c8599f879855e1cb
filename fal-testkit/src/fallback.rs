//! The examples' no-key default: with no fal credentials in the environment,
//! start an embedded testkit instead of failing, and say so.
//!
//! Only credentials decide (`FAL_KEY`, or `FAL_KEY_ID` with `FAL_KEY_SECRET`):
//! a user who set a key expects the real service, and a user who did not
//! cannot reach it anyway, so the first run of a demo still shows a typed call
//! complete. Tools meant for scripts should not use this: a script that lost
//! its key would silently get synthesized results (the `fal` command line
//! starts a testkit only when asked with `--testkit`).

use crate::{Testkit, TestkitBuilder, TestkitError};

/// A client for fal, or for an embedded testkit that lives as long as this value.
#[derive(Debug)]
pub struct ClientOrTestkit {
    /// The client to call through.
    pub client: fal_runtime::Client,
    /// The embedded testkit the client points at, when no credentials were set.
    /// Keep it alive while the client is in use; dropping it stops the server.
    pub testkit: Option<Testkit>,
}

/// Why neither a real client nor an embedded testkit could be had.
#[derive(Debug, thiserror::Error)]
pub enum FallbackError {
    /// The environment named fal credentials or URLs the client rejected.
    #[error(transparent)]
    Client(#[from] fal_runtime::Error),
    /// The embedded testkit did not start.
    #[error(transparent)]
    Testkit(#[from] TestkitError),
}

/// Whether the environment holds fal credentials (either form of DESIGN.md).
pub fn credentials_in_env() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    set("FAL_KEY") || (set("FAL_KEY_ID") && set("FAL_KEY_SECRET"))
}

/// A client from the environment when it holds credentials; otherwise one
/// pointed at a testkit started from `embedded`, announced on stderr.
///
/// `embedded` is only started when needed, so callers can configure it freely
/// (delays long enough for a progress display to show something, a schema
/// directory for typed outputs):
///
/// ```no_run
/// # async fn demo() -> Result<(), fal_testkit::FallbackError> {
/// use std::time::Duration;
/// let fal = fal_testkit::client_from_env_or_testkit(
///     fal_testkit::Testkit::builder().queue_delay(Duration::from_millis(500)),
/// )
/// .await?;
/// let output = fal.client.endpoint("fal-ai/flux/dev")
///     .subscribe(serde_json::json!({"prompt": "a red kite"}))
///     .await;
/// # let _ = output;
/// # Ok(()) }
/// ```
pub async fn client_from_env_or_testkit(
    embedded: TestkitBuilder,
) -> Result<ClientOrTestkit, FallbackError> {
    if credentials_in_env() {
        return Ok(ClientOrTestkit {
            client: fal_runtime::Client::from_env()?,
            testkit: None,
        });
    }
    let testkit = embedded.start().await?;
    eprintln!(
        "note: FAL_KEY is not set, so this runs against an embedded fal testkit at {} \
         (set FAL_KEY to call fal.ai)",
        testkit.base_url()
    );
    let client = testkit.client_builder().build()?;
    Ok(ClientOrTestkit {
        client,
        testkit: Some(testkit),
    })
}
