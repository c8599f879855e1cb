//! Turning a call's input into the JSON body fal receives.
//!
//! Every call (submit, subscribe, run, stream) goes through [`prepare`], so there
//! is exactly one place where inputs are serialized (and, with storage support,
//! where local files are uploaded first).

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::Client;

/// Serializes `input` to JSON, naming the field that failed (e.g. a local
/// [`crate::FileInput`] that was not uploaded).
pub async fn prepare(client: &Client, input: &(impl Serialize + ?Sized)) -> Result<Value> {
    let _ = client;
    serde_path_to_error::serialize(input, serde_json::value::Serializer).map_err(|err| {
        Error::Input {
            path: err.path().to_string(),
            message: err.inner().to_string(),
        }
    })
}
