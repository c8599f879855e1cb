//! Direct (synchronous) run (spec 4): one POST to the run host that stays open
//! until the model finishes. fal cancels the run when the connection drops, so
//! dropping the future is a cancel.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;

use crate::error::Result;
use crate::http::{self, Operation};
use crate::options::RequestOptions;
use crate::queue::read_json;
use crate::{Client, EndpointId};

/// A direct run, configured before it is awaited.
#[must_use = "a run does nothing until it is awaited"]
pub struct Run<'a, I, O> {
    client: &'a Client,
    endpoint: String,
    input: I,
    options: RequestOptions,
    _output: PhantomData<fn() -> O>,
}

impl<'a, I, O> Run<'a, I, O> {
    pub(crate) fn new(client: &'a Client, endpoint: String, input: I) -> Self {
        Run {
            client,
            endpoint,
            input,
            options: RequestOptions::default(),
            _output: PhantomData,
        }
    }

    /// Request options (start timeout, runner hint, headers…; priority and webhook
    /// do not apply to direct runs and are not sent).
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }

    /// Decodes the output as `T` instead.
    pub fn output<T>(self) -> Run<'a, I, T> {
        Run {
            client: self.client,
            endpoint: self.endpoint,
            input: self.input,
            options: self.options,
            _output: PhantomData,
        }
    }
}

impl<'a, I, O> IntoFuture for Run<'a, I, O>
where
    I: Serialize + crate::Checkable + Send + Sync + 'a,
    O: DeserializeOwned + 'a,
{
    type Output = Result<O>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        let span = tracing::info_span!("fal", call = "run", endpoint = %self.endpoint, request_id = tracing::field::Empty);
        Box::pin(
            async move {
                let client = self.client;
                crate::validation::before_sending(client, &self.options, &self.input)?;
                let endpoint = EndpointId::parse(&self.endpoint)?;
                let input = crate::input::prepare(client, &self.input).await?;
                let url = http::join(client.run_base(), &endpoint.to_string());
                let response = http::post_input(
                    client,
                    Operation::Run,
                    &self.options,
                    &url,
                    "application/json",
                    &input,
                )
                .await?;
                if let Some(id) = http::request_id(response.headers()) {
                    tracing::Span::current().record("request_id", id);
                }
                read_json(client, Operation::Run, response, "endpoint output", None).await
            }
            .instrument(span),
        )
    }
}
