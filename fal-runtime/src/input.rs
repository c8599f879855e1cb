//! Turning a call's input into the JSON body fal receives.
//!
//! Every call (submit, subscribe, run, stream) goes through [`prepare`], so there
//! is exactly one place where inputs are serialized (and, with storage support,
//! where local files are uploaded first).

use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::Client;

/// Serializes `input` to JSON, naming the field that failed, after uploading
/// every local [`crate::FileInput`] (bytes or path) in it to fal storage and
/// putting the returned URL in its place. URLs and `data:` URIs are sent as is.
pub(crate) async fn prepare(client: &Client, input: &(impl Serialize + ?Sized)) -> Result<Value> {
    // Fast path: outside the storage collector a local `FileInput` refuses to
    // serialize, so plain success means there is nothing to upload. Any failure
    // (a local file, or a real serialization error) takes the full path, which
    // uploads files and names the field that failed.
    if let Ok(value) = serde_json::to_value(input) {
        return Ok(value);
    }
    #[cfg(feature = "storage")]
    return crate::storage::auto::prepare(client, input).await;
    #[cfg(not(feature = "storage"))]
    {
        let _ = client;
        serde_path_to_error::serialize(input, serde_json::value::Serializer).map_err(|err| {
            let path = err.path().to_string();
            crate::Error::input(path, err.into_inner())
        })
    }
}
