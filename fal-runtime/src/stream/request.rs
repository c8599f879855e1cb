//! Starting a `/stream` call: the POST, and the checks made before the first event.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::{stream_error, EventStream, StreamError, StreamOptions};
use crate::calls::Untyped;
use crate::error::Result;
use crate::http::{self, Operation};
use crate::options::RequestOptions;
use crate::{Client, Endpoint, EndpointId};

impl Client {
    /// Streams a typed endpoint's partial outputs: `client.stream(input).await?`
    /// gives an [`EventStream`] of `E::Output`; `.output::<T>()` picks another event
    /// type (e.g. `serde_json::Value` when partial events differ from the output).
    pub fn stream<E: Endpoint>(&self, input: E) -> StreamCall<'_, E, E::Output> {
        StreamCall::new(self, E::ENDPOINT_ID.to_owned(), input)
    }
}

impl<'a> Untyped<'a> {
    /// Streams events as JSON values.
    pub fn stream(&self, input: Value) -> StreamCall<'a, Value, Value> {
        StreamCall::new(self.client, self.endpoint.clone(), input)
    }
}

/// A `/stream` call, configured before it is awaited.
#[must_use = "a stream call does nothing until it is awaited"]
pub struct StreamCall<'a, I, T> {
    client: &'a Client,
    endpoint: String,
    input: I,
    options: RequestOptions,
    stream: StreamOptions,
    _event: PhantomData<fn() -> T>,
}

impl<'a, I, T> StreamCall<'a, I, T> {
    fn new(client: &'a Client, endpoint: String, input: I) -> Self {
        StreamCall {
            client,
            endpoint,
            input,
            options: RequestOptions::default(),
            stream: StreamOptions::default(),
            _event: PhantomData,
        }
    }

    /// Request options (start timeout, runner hint, headers…; priority and webhook do
    /// not apply to streaming and are not sent).
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }

    /// Streaming settings (inactivity timeout, event size limit).
    pub fn stream_options(mut self, options: StreamOptions) -> Self {
        self.stream = options;
        self
    }

    /// Shorthand for the inactivity timeout of [`StreamOptions`].
    pub fn inactivity_timeout(mut self, timeout: Duration) -> Self {
        self.stream = self.stream.inactivity_timeout(timeout);
        self
    }

    /// Decodes each event as `U` instead.
    pub fn output<U>(self) -> StreamCall<'a, I, U> {
        StreamCall {
            client: self.client,
            endpoint: self.endpoint,
            input: self.input,
            options: self.options,
            stream: self.stream,
            _event: PhantomData,
        }
    }
}

/// `<id>/stream`, without doubling a `/stream` the id already ends with (spec 5.1).
fn stream_path(endpoint: &EndpointId) -> String {
    let id = endpoint.to_string();
    if id.ends_with("/stream") {
        id
    } else {
        format!("{id}/stream")
    }
}

impl<'a, I, T> IntoFuture for StreamCall<'a, I, T>
where
    I: Serialize + crate::Checkable + Send + Sync + 'a,
    T: DeserializeOwned + Send + 'static,
{
    type Output = Result<EventStream<T>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let client = self.client;
            crate::validation::before_sending(client, &self.options, &self.input)?;
            let endpoint = EndpointId::parse(&self.endpoint)?;
            let input = crate::input::prepare(client, &self.input).await?;
            let url = http::join(client.run_base(), &stream_path(&endpoint));
            let response = http::post_input(
                client,
                Operation::Stream,
                &self.options,
                &url,
                "text/event-stream",
                &input,
            )
            .await?;
            let request_id = http::request_id(response.headers()).map(str::to_owned);
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let is_sse = content_type
                .as_deref()
                .is_some_and(|ct| ct.to_ascii_lowercase().contains("text/event-stream"));
            if !is_sse {
                let kind = StreamError::NotEventStream { content_type };
                return Err(stream_error(kind, request_id.as_deref()));
            }
            Ok(EventStream::from_body(
                crate::body::chunks(response),
                request_id,
                &self.stream.or_idle(client.timeouts().stream_idle),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_suffix_is_added_once() {
        let id = EndpointId::parse("fal-ai/flux/dev").unwrap();
        assert_eq!(stream_path(&id), "fal-ai/flux/dev/stream");
        let id = EndpointId::parse("fal-ai/any-llm/stream").unwrap();
        assert_eq!(stream_path(&id), "fal-ai/any-llm/stream");
    }
}
