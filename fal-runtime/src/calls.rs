//! Entry points: typed calls on an [`Endpoint`] input, and untyped calls on
//! `serde_json::Value` for endpoints without bindings.

use serde_json::Value;

use crate::error::Result;
use crate::queue::{QueueHandle, Submit};
#[cfg(feature = "run")]
use crate::run::Run;
#[cfg(feature = "subscribe")]
use crate::subscribe::Subscribe;
use crate::{Client, Endpoint};

impl Client {
    /// Direct run of a typed endpoint: `client.run(input).await`.
    #[cfg(feature = "run")]
    pub fn run<E: Endpoint>(&self, input: E) -> Run<'_, E, E::Output> {
        Run::new(self, E::ENDPOINT_ID.to_owned(), input)
    }

    /// Queue submit of a typed endpoint; awaits to a [`QueueHandle`].
    pub fn submit<E: Endpoint>(&self, input: E) -> Submit<'_, E, E::Output> {
        Submit::new(self, E::ENDPOINT_ID.to_owned(), input)
    }

    /// Submit, wait with progress, and fetch the result of a typed endpoint.
    #[cfg(feature = "subscribe")]
    pub fn subscribe<E: Endpoint>(&self, input: E) -> Subscribe<'_, E, E::Output> {
        Subscribe::new(self, E::ENDPOINT_ID.to_owned(), input)
    }

    /// The handle of a typed request submitted earlier, from its request id.
    pub fn request_handle<E: Endpoint>(&self, request_id: &str) -> Result<QueueHandle<E::Output>> {
        QueueHandle::from_id(self, E::ENDPOINT_ID, request_id)
    }

    /// Untyped calls to `endpoint_id` (e.g. `fal-ai/flux/dev`), with JSON in and out.
    /// The id is checked when a call is awaited.
    pub fn endpoint(&self, endpoint_id: impl Into<String>) -> Untyped<'_> {
        Untyped {
            client: self,
            endpoint: endpoint_id.into(),
        }
    }
}

/// Calls to one endpoint with `serde_json::Value` input and output; `.output::<T>()`
/// on a call decodes into your own type instead.
#[derive(Clone, Debug)]
pub struct Untyped<'a> {
    pub(crate) client: &'a Client,
    pub(crate) endpoint: String,
}

impl<'a> Untyped<'a> {
    /// Direct run.
    #[cfg(feature = "run")]
    pub fn run(&self, input: Value) -> Run<'a, Value, Value> {
        Run::new(self.client, self.endpoint.clone(), input)
    }

    /// Queue submit.
    pub fn submit(&self, input: Value) -> Submit<'a, Value, Value> {
        Submit::new(self.client, self.endpoint.clone(), input)
    }

    /// Submit, wait, fetch the result.
    #[cfg(feature = "subscribe")]
    pub fn subscribe(&self, input: Value) -> Subscribe<'a, Value, Value> {
        Subscribe::new(self.client, self.endpoint.clone(), input)
    }

    /// The handle of a request submitted earlier.
    pub fn request(&self, request_id: &str) -> Result<QueueHandle<Value>> {
        QueueHandle::from_id(self.client, &self.endpoint, request_id)
    }
}
