//! `subscribe`: submit, wait for completion, fetch the result (spec 3.6).
//!
//! Waiting follows the SSE status stream by default and falls back to polling
//! when the stream cannot be opened, breaks, or goes silent, so a flaky proxy
//! costs latency, never the result. Nothing is spawned: dropping the future drops
//! every connection it holds.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::time::Instant;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::options::RequestOptions;
use crate::queue::{self, QueueHandle};
use crate::status::{LogCursor, QueueStatus};
use crate::stream::StreamOptions;
use crate::Client;

/// How `subscribe` waits for completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WaitMode {
    /// Follow the SSE status stream, polling only if it fails (the default).
    #[default]
    Stream,
    /// Poll the status at the configured interval.
    Polling,
}

/// The default pause between status polls (fal's JS client uses the same).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// How long a cancel fired by an expired client timeout may take before it is
/// abandoned (the timeout error is returned either way).
const CANCEL_BUDGET: Duration = Duration::from_secs(10);

type UpdateFn<'a> = Box<dyn FnMut(&QueueStatus) + Send + 'a>;
type EnqueueFn<'a> = Box<dyn FnOnce(&str) + Send + 'a>;

/// A subscribe call, configured before it is awaited.
///
/// ```no_run
/// # async fn demo(client: fal_runtime::Client) -> fal_runtime::Result<()> {
/// use std::time::Duration;
/// let output = client
///     .endpoint("fal-ai/flux/dev")
///     .subscribe(serde_json::json!({"prompt": "a red fox"}))
///     .logs(true)
///     .timeout(Duration::from_secs(120))
///     .on_update(|status| {
///         for line in status.logs() {
///             eprintln!("{}", line.message);
///         }
///     })
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a subscribe does nothing until it is awaited"]
pub struct Subscribe<'a, I, O> {
    client: &'a Client,
    endpoint: String,
    input: I,
    options: RequestOptions,
    logs: bool,
    mode: WaitMode,
    poll_interval: Duration,
    stream: StreamOptions,
    timeout: Option<Duration>,
    on_enqueue: Option<EnqueueFn<'a>>,
    on_update: Option<UpdateFn<'a>>,
    _output: PhantomData<fn() -> O>,
}

impl<'a, I, O> Subscribe<'a, I, O> {
    pub(crate) fn new(client: &'a Client, endpoint: String, input: I) -> Self {
        Subscribe {
            client,
            endpoint,
            input,
            options: RequestOptions::default(),
            logs: false,
            mode: WaitMode::default(),
            poll_interval: DEFAULT_POLL_INTERVAL,
            stream: StreamOptions::default(),
            timeout: None,
            on_enqueue: None,
            on_update: None,
            _output: PhantomData,
        }
    }

    /// Request options (start timeout, priority, headers…). A webhook URL is not
    /// sent: subscribe waits itself, as fal's clients do.
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }

    /// Ask for the runner's log lines in status updates.
    pub fn logs(mut self, logs: bool) -> Self {
        self.logs = logs;
        self
    }

    /// Stream (default) or polling.
    pub fn mode(mut self, mode: WaitMode) -> Self {
        self.mode = mode;
        self
    }

    /// The pause between polls when polling (also after a stream failure).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How long the status stream may go without a complete line (an event or
    /// a keep-alive) before it is given up for polling (default
    /// [`DEFAULT_IDLE_TIMEOUT`](crate::stream::DEFAULT_IDLE_TIMEOUT), as for
    /// every event stream).
    pub fn stream_idle_timeout(mut self, idle: Duration) -> Self {
        self.stream = self.stream.inactivity_timeout(idle);
        self
    }

    /// The status stream's settings (idle timeout, event size limit). A status
    /// stream that fails any of them is given up for polling.
    pub fn stream_options(mut self, options: StreamOptions) -> Self {
        self.stream = options;
        self
    }

    /// Gives up after `timeout` overall: the request is cancelled and
    /// the error ([`ErrorKind::Timeout`](crate::ErrorKind::Timeout)) carries its id,
    /// so its result can still be fetched later.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Called once with the request id, as soon as the request is queued.
    pub fn on_enqueue(mut self, callback: impl FnOnce(&str) + Send + 'a) -> Self {
        self.on_enqueue = Some(Box::new(callback));
        self
    }

    /// Called with every status update. Each update's `logs` holds only the lines
    /// not reported before, whichever way the queue sent them.
    pub fn on_update(mut self, callback: impl FnMut(&QueueStatus) + Send + 'a) -> Self {
        self.on_update = Some(Box::new(callback));
        self
    }

    /// Decodes the output as `T` instead.
    pub fn output<T>(self) -> Subscribe<'a, I, T> {
        Subscribe {
            client: self.client,
            endpoint: self.endpoint,
            input: self.input,
            options: self.options,
            logs: self.logs,
            mode: self.mode,
            poll_interval: self.poll_interval,
            stream: self.stream,
            timeout: self.timeout,
            on_enqueue: self.on_enqueue,
            on_update: self.on_update,
            _output: PhantomData,
        }
    }
}

impl<'a, I, O> IntoFuture for Subscribe<'a, I, O>
where
    I: Serialize + crate::Checkable + Send + Sync + 'a,
    O: DeserializeOwned + Send + 'a,
{
    type Output = Result<O>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'a>>;

    fn into_future(self) -> Self::IntoFuture {
        let span = tracing::info_span!("fal", call = "subscribe", endpoint = %self.endpoint, request_id = tracing::field::Empty);
        Box::pin(self.execute().instrument(span))
    }
}

impl<'a, I, O> Subscribe<'a, I, O>
where
    I: Serialize + crate::Checkable + Send + Sync + 'a,
    O: DeserializeOwned + Send + 'a,
{
    async fn execute(mut self) -> Result<O> {
        crate::validation::before_sending(self.client, &self.options, &self.input)?;
        let deadline = self.timeout.map(|after| (Instant::now() + after, after));
        let options = self.options.clone().without_webhook();
        let submitted = within(
            deadline,
            queue::submit::<O>(self.client, &self.endpoint, &self.input, &options),
        )
        .await;
        let handle = match submitted {
            Some(handle) => handle?,
            None => {
                return Err(timeout_error::<O>(deadline, None, false));
            }
        };
        tracing::Span::current().record("request_id", handle.request_id());
        tracing::debug!("request queued");
        if let Some(on_enqueue) = self.on_enqueue.take() {
            on_enqueue(handle.request_id());
        }

        let waited = within(deadline, self.wait(&handle)).await;
        match waited {
            Some(result) => result?,
            None => {
                let cancelled = matches!(
                    tokio::time::timeout(CANCEL_BUDGET, handle.cancel()).await,
                    Ok(Ok(()))
                );
                tracing::debug!(cancelled, "client timeout: request cancelled");
                return Err(timeout_error(deadline, Some(&handle), cancelled));
            }
        }
        match within(deadline, handle.result()).await {
            Some(output) => output,
            None => Err(timeout_error(deadline, Some(&handle), false)),
        }
    }

    /// Waits until the request is `COMPLETED`, reporting every update.
    async fn wait(&mut self, handle: &QueueHandle<O>) -> Result<()> {
        let mut cursor = LogCursor::default();
        let mut on_update = self.on_update.take();
        let mut report = |mut status: QueueStatus| {
            let done = status.is_completed();
            cursor.only_new(&mut status);
            if let Some(callback) = on_update.as_mut() {
                callback(&status);
            }
            done
        };
        if self.mode == WaitMode::Stream {
            match handle.status_stream_with(self.logs, &self.stream).await {
                Ok(mut stream) => {
                    while let Some(item) = stream.next().await {
                        match item {
                            Ok(status) => {
                                if report(status) {
                                    // Lets the stream read its end, so its
                                    // connection is reused for the result.
                                    let _ = stream.next().await;
                                    return Ok(());
                                }
                            }
                            Err(err) => {
                                tracing::debug!(error = %err, "status stream failed; polling instead");
                                break;
                            }
                        }
                    }
                }
                Err(err) => {
                    tracing::debug!(error = %err, "status stream unavailable; polling instead");
                }
            }
        }
        loop {
            if report(handle.status(self.logs).await?) {
                return Ok(());
            }
            tokio::time::sleep(self.poll_interval).await;
        }
    }
}

/// Runs `work` until the deadline; `None` when the deadline passed first.
async fn within<T>(
    deadline: Option<(Instant, Duration)>,
    work: impl Future<Output = T>,
) -> Option<T> {
    match deadline {
        Some((at, _)) => tokio::time::timeout_at(at, work).await.ok(),
        None => Some(work.await),
    }
}

fn timeout_error<O>(
    deadline: Option<(Instant, Duration)>,
    handle: Option<&QueueHandle<O>>,
    cancelled: bool,
) -> Error
where
    O: DeserializeOwned,
{
    Error::timeout(
        deadline.map(|(_, after)| after).unwrap_or_default(),
        handle.map(QueueHandle::request_id),
        cancelled,
    )
}
