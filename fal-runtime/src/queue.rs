//! The queue API (spec 3): submit a request, then follow it by its
//! [`QueueHandle`]: status (one poll or an SSE stream), result, cancel.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use reqwest::header::{HeaderValue, ACCEPT};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;
use url::Url;

use crate::error::{Error, Result};
use crate::http::{self, Operation};
use crate::options::RequestOptions;
use crate::status::QueueStatus;
use crate::stream::{SseBody, StreamError, StreamOptions};
use crate::{Client, EndpointId};

/// How long a finished status stream may take to close before its connection is
/// dropped rather than reused.
const DRAIN_BUDGET: Duration = Duration::from_millis(50);

/// What a submit returns (spec 3.1).
#[derive(Clone, Debug, Deserialize)]
struct SubmitResponse {
    request_id: String,
    #[serde(default)]
    response_url: Option<String>,
    #[serde(default)]
    status_url: Option<String>,
    #[serde(default)]
    cancel_url: Option<String>,
    #[serde(default)]
    queue_position: Option<u64>,
}

/// A request in fal's queue, typed by what its result decodes to.
///
/// It holds the URLs submit returned (fal's own form for this request) and a
/// client clone, so it can be kept, sent to another task, and asked about later.
pub struct QueueHandle<O = Value> {
    client: Client,
    endpoint: EndpointId,
    request_id: String,
    response_url: Url,
    status_url: Url,
    cancel_url: Url,
    queue_position: Option<u64>,
    _output: PhantomData<fn() -> O>,
}

impl<O> Clone for QueueHandle<O> {
    fn clone(&self) -> Self {
        QueueHandle {
            client: self.client.clone(),
            endpoint: self.endpoint.clone(),
            request_id: self.request_id.clone(),
            response_url: self.response_url.clone(),
            status_url: self.status_url.clone(),
            cancel_url: self.cancel_url.clone(),
            queue_position: self.queue_position,
            _output: PhantomData,
        }
    }
}

impl<O> fmt::Debug for QueueHandle<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueHandle")
            .field("endpoint", &self.endpoint.to_string())
            .field("request_id", &self.request_id)
            .field("status_url", &self.status_url.as_str())
            .finish_non_exhaustive()
    }
}

impl<O: DeserializeOwned> QueueHandle<O> {
    /// A handle for a request submitted earlier, from its endpoint and request id.
    /// The URLs follow spec 1.3: `[namespace/]owner/alias/requests/<id>` under the
    /// queue base, with the endpoint's sub-path dropped.
    pub(crate) fn from_id(client: &Client, endpoint: &str, request_id: &str) -> Result<Self> {
        let endpoint = EndpointId::parse(endpoint)?;
        Self::build(client, endpoint, request_id, None)
    }

    fn build(
        client: &Client,
        endpoint: EndpointId,
        request_id: &str,
        submitted: Option<&SubmitResponse>,
    ) -> Result<Self> {
        if request_id.trim().is_empty() || matches!(request_id, "." | "..") {
            return Err(Error::request_id_invalid(request_id));
        }
        let response_url = http::join_segments(
            client.queue_base(),
            endpoint.base_segments().chain(["requests", request_id]),
        );
        let built_status = http::join_segments(&response_url, ["status"]);
        let built_cancel = http::join_segments(&response_url, ["cancel"]);
        // A URL fal returned is used only under the configured queue base (its
        // host and its path prefix): one elsewhere is not followed, with the key
        // or without it, and the URL built from the id is used instead.
        let returned = |url: Option<&String>| {
            url.and_then(|u| Url::parse(u).ok())
                .filter(|u| crate::destination::is_under(u, client.queue_base()))
        };
        let (response_url, status_url, cancel_url) = match submitted {
            Some(s) => (
                returned(s.response_url.as_ref()).unwrap_or(response_url),
                returned(s.status_url.as_ref()).unwrap_or(built_status),
                returned(s.cancel_url.as_ref()).unwrap_or(built_cancel),
            ),
            None => (response_url, built_status, built_cancel),
        };
        Ok(QueueHandle {
            client: client.clone(),
            endpoint,
            request_id: request_id.to_owned(),
            response_url,
            status_url,
            cancel_url,
            queue_position: submitted.and_then(|s| s.queue_position),
            _output: PhantomData,
        })
    }

    /// The request id fal assigned.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The endpoint the request was submitted to.
    pub fn endpoint(&self) -> &EndpointId {
        &self.endpoint
    }

    /// The queue position submit reported, if any.
    pub fn queue_position(&self) -> Option<u64> {
        self.queue_position
    }

    /// The URL the result is fetched from.
    pub fn response_url(&self) -> &Url {
        &self.response_url
    }

    /// The same request, decoding its result as `T`.
    pub fn with_output<T: DeserializeOwned>(self) -> QueueHandle<T> {
        QueueHandle {
            client: self.client,
            endpoint: self.endpoint,
            request_id: self.request_id,
            response_url: self.response_url,
            status_url: self.status_url,
            cancel_url: self.cancel_url,
            queue_position: self.queue_position,
            _output: PhantomData,
        }
    }

    fn span(&self, name: &'static str) -> tracing::Span {
        tracing::info_span!("fal", call = name, endpoint = %self.endpoint, request_id = %self.request_id)
    }

    /// A GET of this request's JSON (status or result), with the answer's
    /// `x-fal-billable-units`. Both are idempotent, so a body cut after the
    /// headers is retried inside the same retry loop as the request
    /// ([`http::exchange`]); every error names the request.
    async fn get_json<T: DeserializeOwned>(
        &self,
        operation: Operation,
        what: &'static str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<(T, Option<f64>)> {
        http::exchange(&self.client, operation, make, |response| async move {
            let units = http::billable_units(response.headers());
            let value = read_json(
                &self.client,
                operation,
                response,
                what,
                Some(&self.request_id),
            )
            .await?;
            Ok((value, units))
        })
        .await
        .map_err(|err| err.with_request_id(&self.request_id))
    }

    /// One status poll; `logs` asks for the runner's log lines.
    pub async fn status(&self, logs: bool) -> Result<QueueStatus> {
        let mut url = self.status_url.clone();
        url.query_pairs_mut()
            .append_pair("logs", if logs { "1" } else { "0" });
        self.get_json(Operation::Status, "queue status", || {
            self.client
                .http()
                .get(url.clone())
                .header(ACCEPT, HeaderValue::from_static("application/json"))
        })
        .instrument(self.span("status"))
        .await
        .map(|(status, _)| status)
    }

    /// The status as a stream of updates (SSE), ending after `COMPLETED`, with
    /// the default [`StreamOptions`]. A stream that breaks, ends early, goes
    /// silent or sends an event over the limit yields an error
    /// ([`Error::stream`] says how) as its last item.
    pub async fn status_stream(&self, logs: bool) -> Result<StatusStream> {
        self.status_stream_with(logs, &StreamOptions::default())
            .await
    }

    /// [`Self::status_stream`] with its idle timeout and event size limit
    /// chosen: the same SSE reader, limits and defaults as a `/stream` call.
    pub async fn status_stream_with(
        &self,
        logs: bool,
        options: &StreamOptions,
    ) -> Result<StatusStream> {
        let mut url = http::join_segments(&self.status_url, ["stream"]);
        url.query_pairs_mut()
            .append_pair("logs", if logs { "1" } else { "0" });
        let response = http::send(&self.client, Operation::StatusStream, || {
            self.client
                .http()
                .get(url.clone())
                .header(ACCEPT, HeaderValue::from_static("text/event-stream"))
        })
        .instrument(self.span("status_stream"))
        .await
        .map_err(|err| err.with_request_id(&self.request_id))?;
        let options = options.or_idle(self.client.timeouts().stream_idle);
        Ok(StatusStream::new(
            response,
            self.request_id.clone(),
            &options,
        ))
    }

    /// The result of a completed request. A request that failed surfaces as the
    /// API error fal stored for it ([`Error::api`]).
    pub async fn result(&self) -> Result<O> {
        self.completed().await.map(|completed| completed.output)
    }

    /// [`Self::result`] with what fal said about it: the request id and the
    /// billable units (`x-fal-billable-units`), when fal sent them.
    pub async fn completed(&self) -> Result<Completed<O>> {
        let (output, billable_units) = self
            .get_json(Operation::Result, "endpoint output", || {
                self.client
                    .http()
                    .get(self.response_url.clone())
                    .header(ACCEPT, HeaderValue::from_static("application/json"))
            })
            .instrument(self.span("result"))
            .await?;
        Ok(Completed {
            output,
            request_id: self.request_id.clone(),
            billable_units,
        })
    }

    /// Asks fal to cancel the request: a queued request never runs; a running one
    /// is told to stop (its app decides). Any 2xx is success.
    pub async fn cancel(&self) -> Result<()> {
        http::send(&self.client, Operation::Cancel, || {
            self.client
                .http()
                .put(self.cancel_url.clone())
                .header(ACCEPT, HeaderValue::from_static("application/json"))
        })
        .instrument(self.span("cancel"))
        .await
        .map_err(|err| err.with_request_id(&self.request_id))
        .map(drop)
    }
}

/// Reads a 2xx body as JSON `T`, naming the path that failed and keeping the raw body.
pub(crate) async fn read_json<T: DeserializeOwned>(
    client: &Client,
    operation: Operation,
    response: reqwest::Response,
    what: &'static str,
    request_id: Option<&str>,
) -> Result<T> {
    let header_id = http::request_id(response.headers()).map(str::to_owned);
    let request_id = request_id.or(header_id.as_deref());
    let body = http::read_body(client, response, operation, client.max_response_bytes())
        .await
        .map_err(|err| match request_id {
            Some(id) => err.with_request_id(id),
            None => err,
        })?;
    decode(what, &body, request_id)
}

pub(crate) fn decode<T: DeserializeOwned>(
    what: &'static str,
    body: &[u8],
    request_id: Option<&str>,
) -> Result<T> {
    // Fast path: plain serde. Only a failure pays for path tracking, to say where.
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|err| Error::decode(what, err, body, request_id))?;
    deserializer
        .end()
        .map_err(|err| Error::decode_at(what, ".".into(), err, body, request_id))?;
    Ok(value)
}

/// A request's output with what fal said about it alongside
/// ([`QueueHandle::completed`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Completed<O> {
    /// The decoded output.
    pub output: O,
    /// The request it belongs to.
    pub request_id: String,
    /// `x-fal-billable-units`: what fal billed for the request, when it said.
    pub billable_units: Option<f64>,
}

/// Status updates of one request, read from fal's SSE status stream.
pub struct StatusStream {
    inner: BoxStream<'static, Result<QueueStatus>>,
}

impl fmt::Debug for StatusStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusStream").finish_non_exhaustive()
    }
}

impl StatusStream {
    fn new(response: reqwest::Response, request_id: String, options: &StreamOptions) -> Self {
        let events = SseBody::new(crate::body::chunks(response), options);
        let inner = stream::unfold(
            (events, request_id, false),
            |(mut events, request_id, done)| async move {
                if done {
                    // Read the rest of the body (fal closes it right after
                    // COMPLETED) so the connection goes back to the pool instead
                    // of being torn down; a server that keeps it open gets
                    // `DRAIN_BUDGET`, then the connection is dropped.
                    let drain = async { while let Some(Ok(_)) = events.next().await {} };
                    let _ = tokio::time::timeout(DRAIN_BUDGET, drain).await;
                    return None;
                }
                loop {
                    let item = match events.next().await {
                        None => {
                            Err(Error::from(StreamError::EndedEarly).with_request_id(&request_id))
                        }
                        Some(Err(err)) => Err(Error::from(err).with_request_id(&request_id)),
                        Some(Ok(event)) if event.data.trim().is_empty() => continue,
                        Some(Ok(event)) => decode::<QueueStatus>(
                            "queue status event",
                            event.data.as_bytes(),
                            Some(&request_id),
                        ),
                    };
                    let finished = !matches!(item, Ok(ref status) if !status.is_completed());
                    return Some((item, (events, request_id, finished)));
                }
            },
        );
        StatusStream {
            inner: inner.boxed(),
        }
    }
}

impl Stream for StatusStream {
    type Item = Result<QueueStatus>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// A queue submit, configured before it is awaited.
#[must_use = "a submit does nothing until it is awaited"]
pub struct Submit<'a, I, O> {
    client: &'a Client,
    endpoint: String,
    input: I,
    options: RequestOptions,
    _output: PhantomData<fn() -> O>,
}

impl<'a, I, O> Submit<'a, I, O> {
    pub(crate) fn new(client: &'a Client, endpoint: String, input: I) -> Self {
        Submit {
            client,
            endpoint,
            input,
            options: RequestOptions::default(),
            _output: PhantomData,
        }
    }

    /// Request options (start timeout, priority, headers…).
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }

    /// A URL fal calls when the request completes.
    pub fn webhook(mut self, url: impl Into<String>) -> Self {
        self.options = self.options.webhook_url(url);
        self
    }
}

impl<'a, I, O> IntoFuture for Submit<'a, I, O>
where
    I: Serialize + crate::Checkable + Send + Sync + 'a,
    O: DeserializeOwned + 'a,
{
    type Output = Result<QueueHandle<O>>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        let span = tracing::info_span!("fal", call = "submit", endpoint = %self.endpoint, request_id = tracing::field::Empty);
        Box::pin(
            async move {
                crate::validation::before_sending(self.client, &self.options, &self.input)?;
                submit(self.client, &self.endpoint, &self.input, &self.options).await
            }
            .instrument(span),
        )
    }
}

/// Submits `input` to `endpoint` and returns its handle; records the request id on
/// the current span.
pub(crate) async fn submit<O: DeserializeOwned>(
    client: &Client,
    endpoint: &str,
    input: &(impl Serialize + Sync + ?Sized),
    options: &RequestOptions,
) -> Result<QueueHandle<O>> {
    let endpoint = EndpointId::parse(endpoint)?;
    let input = crate::input::prepare(client, input).await?;
    let mut url = http::join(client.queue_base(), &endpoint.to_string());
    if let Some(webhook) = options.webhook() {
        url.query_pairs_mut().append_pair("fal_webhook", webhook);
    }
    let response = http::post_input(
        client,
        Operation::Submit,
        options,
        &url,
        "application/json",
        &input,
    )
    .await?;
    let header_id = http::request_id(response.headers()).map(str::to_owned);
    let submitted: SubmitResponse = match read_json(
        client,
        Operation::Submit,
        response,
        "submit response",
        None,
    )
    .await
    {
        Ok(submitted) => submitted,
        // fal answered 2xx and named the request in its headers, so it is
        // queued; only the body broke (cut short, or not the JSON promised).
        // Follow it by that id: submitting again would run the input twice.
        Err(err) => {
            let followed = header_id
                .as_deref()
                .and_then(|id| QueueHandle::build(client, endpoint, id, None).ok());
            let Some(handle) = followed else {
                return Err(err);
            };
            tracing::warn!(request_id = %handle.request_id, error = %err, "submit answer unreadable; following the request by the id its headers named");
            tracing::Span::current().record("request_id", handle.request_id.as_str());
            return Ok(handle);
        }
    };
    tracing::Span::current().record("request_id", submitted.request_id.as_str());
    QueueHandle::build(client, endpoint, &submitted.request_id, Some(&submitted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::builder()
            .ignore_env()
            .queue_url("http://127.0.0.1:9/queue/")
            .build()
            .unwrap()
    }

    #[test]
    fn urls_drop_the_sub_path_and_keep_the_namespace() {
        let client = client();
        let handle: QueueHandle =
            QueueHandle::from_id(&client, "comfy/acme/wf/extra", "r-1").unwrap();
        assert_eq!(
            handle.response_url().as_str(),
            "http://127.0.0.1:9/queue/comfy/acme/wf/requests/r-1"
        );
        assert_eq!(
            handle.status_url.as_str(),
            "http://127.0.0.1:9/queue/comfy/acme/wf/requests/r-1/status"
        );
        assert_eq!(
            handle.cancel_url.as_str(),
            "http://127.0.0.1:9/queue/comfy/acme/wf/requests/r-1/cancel"
        );
        assert!(QueueHandle::<Value>::from_id(&client, "fal-ai/flux", " ").is_err());
        for id in [".", "..", "a/../..", "%2e%2e"] {
            match QueueHandle::<Value>::from_id(&client, "fal-ai/flux", id) {
                Ok(handle) => {
                    let path = handle.status_url.path().to_owned();
                    assert!(
                        path.starts_with("/queue/fal-ai/flux/requests/"),
                        "{id}: {path}"
                    );
                    assert!(path.ends_with("/status"), "{id}: {path}");
                    assert_eq!(
                        handle.status_url.path_segments().unwrap().count(),
                        6,
                        "{id}: {path}"
                    );
                }
                Err(err) => assert_eq!(err.kind(), crate::ErrorKind::InvalidId, "{id}: {err}"),
            }
        }
        assert!(QueueHandle::<Value>::from_id(&client, "flux", "r").is_err());
    }

    proptest::proptest! {
        /// Whatever a request id contains, it stays one path segment under the
        /// base app: it can neither add levels nor climb out of the queue prefix.
        #[test]
        fn a_request_id_is_always_one_segment(id in "\\PC{1,40}") {
            let client = client();
            match QueueHandle::<Value>::from_id(&client, "fal-ai/flux/dev", &id) {
                Ok(handle) => {
                    let url = handle.status_url.clone();
                    let segments: Vec<&str> = url.path_segments().unwrap().collect();
                    proptest::prop_assert_eq!(segments.len(), 6, "{}", url);
                    proptest::prop_assert_eq!(&segments[..4], &["queue", "fal-ai", "flux", "requests"]);
                    proptest::prop_assert_eq!(segments[5], "status");
                }
                Err(_) => proptest::prop_assert!(id.trim().is_empty() || id == "." || id == ".."),
            }
        }
    }

    #[test]
    fn returned_urls_are_preferred_on_the_same_origin_only() {
        let client = client();
        let endpoint = EndpointId::parse("fal-ai/flux/dev").unwrap();
        let submitted = SubmitResponse {
            request_id: "r-2".into(),
            response_url: Some("http://127.0.0.1:9/queue/fal-ai/flux/dev/requests/r-2".into()),
            status_url: Some("https://elsewhere.example/fal-ai/flux/requests/r-2/status".into()),
            cancel_url: Some("not a url".into()),
            queue_position: Some(3),
        };
        let handle: QueueHandle =
            QueueHandle::build(&client, endpoint, "r-2", Some(&submitted)).unwrap();
        assert_eq!(
            handle.response_url().as_str(),
            "http://127.0.0.1:9/queue/fal-ai/flux/dev/requests/r-2"
        );
        assert_eq!(
            handle.status_url.as_str(),
            "http://127.0.0.1:9/queue/fal-ai/flux/requests/r-2/status"
        );
        assert_eq!(
            handle.cancel_url.as_str(),
            "http://127.0.0.1:9/queue/fal-ai/flux/requests/r-2/cancel"
        );
        assert_eq!(handle.queue_position(), Some(3));
    }
}
