//! The contract between typed bindings and the client.
//!
//! Generated bindings, `#[fal_endpoint]` and hand-written code all describe an
//! endpoint the same way: the *input type* implements [`Endpoint`], naming the
//! endpoint id and the output type. Every way of calling fal (queue, subscribe,
//! direct run, stream) is then generic over `E: Endpoint`, so `client.subscribe(input)`
//! needs no turbofish and cannot be pointed at the wrong endpoint.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// An input type bound to one fal endpoint.
///
/// Implemented by generated bindings and by `#[fal_endpoint]`; implement it by
/// hand for an endpoint you describe yourself:
///
/// ```
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize)]
/// struct EchoInput { text: String }
///
/// #[derive(Deserialize)]
/// struct EchoOutput { text: String }
///
/// impl fal_runtime::Endpoint for EchoInput {
///     const ENDPOINT_ID: &'static str = "my-org/echo";
///     type Output = EchoOutput;
/// }
/// ```
pub trait Endpoint: Serialize + Send + Sync {
    /// The endpoint id, `[namespace/]owner/alias[/path]` (spec 1.2), e.g. `fal-ai/flux/dev`.
    const ENDPOINT_ID: &'static str;
    /// The JSON the endpoint returns when a request completes.
    type Output: DeserializeOwned + Send + 'static;

    /// Every rule of the endpoint's schema this input breaks, found without
    /// sending anything. Generated inputs check their schema's rules (bounds,
    /// lengths, patterns, item counts, listed values); the default knows no
    /// rules and accepts everything.
    fn validate(&self) -> Result<(), crate::ValidationError> {
        Ok(())
    }
}

// One grammar for the runtime, the generator and the macro (the `fal-id` crate):
// an id the macro accepts at compile time is one the client sends.
pub use fal_id::{EndpointId, IdProblem, InvalidEndpointId};
