//! Sending one HTTP call to fal: retries per spec 10 (the table is on
//! [`RetryPolicy`]), and non-2xx answers turned into API errors.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use reqwest::StatusCode;
use url::Url;

use crate::destination::Traffic;
use crate::error::{Error, Result, Wait};
use crate::timeouts::Bound;
use crate::Client;

/// Which kind of call is being made; it selects what may be retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Operation {
    /// Queue submit.
    Submit,
    /// Queue status poll.
    Status,
    /// Queue status stream (SSE): retried like a poll, bounded by its headers.
    StatusStream,
    /// Queue result.
    Result,
    /// Queue cancel.
    Cancel,
    /// Direct run.
    #[cfg_attr(not(feature = "run"), allow(dead_code))]
    Run,
    /// `/stream` call.
    #[cfg_attr(not(feature = "stream"), allow(dead_code))]
    Stream,
    /// Temporary token (realtime, streaming).
    #[cfg_attr(not(feature = "realtime"), allow(dead_code))]
    Token,
    /// Storage upload calls.
    #[cfg_attr(not(feature = "storage"), allow(dead_code))]
    Upload,
    /// Download of a file URL.
    Download,
    /// A Platform API call that may be sent twice: a read, an idempotent
    /// write (`PUT`, `DELETE`) or one carrying an `Idempotency-Key`.
    #[cfg_attr(not(feature = "platform"), allow(dead_code))]
    Platform,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Submit => "submit",
            Operation::Status => "status",
            Operation::StatusStream => "status stream",
            Operation::Result => "result",
            Operation::Cancel => "cancel",
            Operation::Run => "run",
            Operation::Stream => "stream",
            Operation::Token => "token",
            Operation::Upload => "upload",
            Operation::Download => "download",
            Operation::Platform => "platform",
        })
    }
}

impl Operation {
    pub(crate) fn retries_status(self, status: StatusCode) -> bool {
        match (self, status.as_u16()) {
            (Operation::Submit, code) => matches!(code, 429 | 503),
            (Operation::Status | Operation::StatusStream, code) => {
                matches!(code, 429 | 500 | 502 | 503 | 504)
            }
            (_, code) => matches!(code, 429 | 502 | 503 | 504),
        }
    }

    /// Whether a 2xx body cut short is worth asking for again: only for calls
    /// whose repetition cannot run or bill anything twice. A submit whose body
    /// broke is followed by the id its headers named instead, and a run's
    /// output is not asked for twice.
    fn retries_body(self) -> bool {
        matches!(
            self,
            Operation::Status
                | Operation::Result
                | Operation::Token
                | Operation::Upload
                | Operation::Download
                | Operation::Platform
        )
    }

    pub(crate) fn retries_transport(self, err: &reqwest::Error) -> bool {
        // A connect timeout sent nothing: it is retried like any connect failure.
        if err.is_timeout() && !err.is_connect() {
            return self.retries_timeout();
        }
        match self {
            Operation::Submit => err.is_connect(),
            _ => err.is_connect() || err.is_request(),
        }
    }

    /// Whether an attempt that exceeded its bound ([`crate::Timeouts`]) is
    /// tried again: not when the server may still be working on it (a submit,
    /// a run, a stream, an upload), as in fal's JS client.
    pub(crate) fn retries_timeout(self) -> bool {
        !matches!(
            self,
            Operation::Submit | Operation::Run | Operation::Stream | Operation::Upload
        )
    }
}

/// When and how often failed calls are retried: exponential backoff from
/// `base_delay`, doubled per retry, capped at `max_delay`, with ±25 % jitter;
/// a server's `Retry-After` (header or body) replaces the backoff, capped at
/// `max_retry_after`.
///
/// Which failures are retried depends on the call:
///
/// | call | statuses retried | transport errors retried | 2xx body cut short |
/// |---|---|---|---|
/// | status (poll, stream open) | 429, 500, 502, 503, 504 | any | retried (poll) |
/// | submit | 429, 503 | connect errors only | followed by the id its headers named |
/// | direct run, `/stream` | 429, 502, 503, 504 | any but a timeout | not retried |
/// | uploads (initiate, PUT, parts, complete) | 429, 502, 503, 504 | any but a timeout | retried |
/// | result, token, file download | 429, 502, 503, 504 | any | retried |
/// | cancel | 429, 502, 503, 504 | any | (not read) |
/// | Platform API reads and idempotent writes | 429, 502, 503, 504 | any | retried |
/// | other Platform API writes | as submit | as submit | not retried |
///
/// Every call retries in one loop, with the body read inside the attempt, so
/// `max_retries = N` means at most N + 1 requests for any one operation
/// (`tests/retries.rs` counts them under each fault). A submit answered 2xx
/// whose body is cut short or is not the JSON promised is followed by the id
/// its headers named, never sent again. The request ids that retried answers
/// named are kept: in the final error ([`crate::Error::earlier_request_ids`]),
/// or in a `tracing` warning when a later attempt succeeds.
///
/// A run whose connection broke was cancelled by fal (it cancels a run when the
/// client goes away), so sending it again is safe; a run that merely *timed out*
/// on our side may still be running, so, as in fal's JS client, timeouts are not
/// retried there.
///
/// A submit is retried only when the failure proves the queue did not take the
/// request: a connect error means nothing was sent; 429 is the rate limiter turning
/// the call away before it is queued; 503 is the service refusing work (fal's own
/// platform treats 503 as "not processed" and retries it). A 502 or 504 is a
/// gateway losing the upstream's answer, and a reset or timeout after the body was
/// sent can hide an accepted request, so those are returned to the caller rather than
/// risking a second, billed request. A 504 carrying `x-fal-request-timeout-type` is
/// the caller's own start timeout and is never retried, for any call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    /// fal's JS client defaults: 3 retries, 1 s base, 30 s cap, jitter on;
    /// `Retry-After` honoured up to 60 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// How many retries after the first attempt.
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The delay before the first retry.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest backoff delay.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// The longest wait a server's `Retry-After` may impose.
    pub fn max_retry_after(mut self, delay: Duration) -> Self {
        self.max_retry_after = delay;
        self
    }

    /// Turns the ±25 % jitter on or off.
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The retry count.
    pub fn retries(&self) -> u32 {
        self.max_retries
    }

    /// The backoff before retry number `retry` (0 for the first retry).
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(31));
        let delay = self.base_delay.saturating_mul(factor).min(self.max_delay);
        if !self.jitter || delay.is_zero() {
            return delay;
        }
        let Some(unit) = crate::random::unit_spread() else {
            return delay;
        };
        let spread = 0.25 * unit;
        // `try_from` rather than `mul_f64`, which panics when a huge configured
        // delay overflows.
        Duration::try_from_secs_f64(delay.as_secs_f64() * (1.0 + spread)).unwrap_or(delay)
    }

    fn delay_for(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(wait) => wait.min(self.max_retry_after),
            None => self.backoff(retry),
        }
    }
}

/// One failed attempt, and whether the retry loop may try again.
pub(crate) struct Failed<E> {
    pub(crate) err: E,
    /// The failure is one this call retries (per [`RetryPolicy`]'s table).
    pub(crate) retryable: bool,
    /// A server's `Retry-After`, which replaces the backoff (capped).
    pub(crate) retry_after: Option<Duration>,
}

impl<E> Failed<E> {
    /// A failure that ends the call at once.
    pub(crate) fn fatal(err: E) -> Self {
        Failed {
            err,
            retryable: false,
            retry_after: None,
        }
    }

    /// A failure worth another attempt, when the policy allows one.
    // Used by storage uploads and the batch runner's downloads.
    #[cfg_attr(not(any(feature = "storage", feature = "batch")), allow(dead_code))]
    pub(crate) fn retry(err: E) -> Self {
        Failed {
            err,
            retryable: true,
            retry_after: None,
        }
    }

    /// The same verdict about another error type.
    #[cfg_attr(not(any(feature = "storage", feature = "batch")), allow(dead_code))]
    pub(crate) fn map<F>(self, f: impl FnOnce(E) -> F) -> Failed<F> {
        Failed {
            err: f(self.err),
            retryable: self.retryable,
            retry_after: self.retry_after,
        }
    }
}

impl<E> From<E> for Failed<E> {
    fn from(err: E) -> Self {
        Failed::fatal(err)
    }
}

/// The client's one retry loop: runs `attempt` (given its 1-based number) until
/// it succeeds, fails for good, or `policy` allows no more retries, sleeping the
/// backoff (or the server's capped `Retry-After`) in between. Every call the
/// client makes, API or signed storage URL, retries through here and nowhere
/// else, so `max_retries = N` means at most N + 1 requests per operation.
pub(crate) async fn retrying<T, E, Fut>(
    policy: &RetryPolicy,
    operation: Operation,
    mut attempt: impl FnMut(u32) -> Fut,
) -> std::result::Result<T, E>
where
    Fut: Future<Output = std::result::Result<T, Failed<E>>>,
{
    let mut retry = 0;
    loop {
        match attempt(retry + 1).await {
            Ok(value) => return Ok(value),
            Err(failed) if failed.retryable && retry < policy.max_retries => {
                let delay = policy.delay_for(retry, failed.retry_after);
                tracing::debug!(%operation, retry, ?delay, "retrying");
                tokio::time::sleep(delay).await;
                retry += 1;
            }
            Err(failed) => return Err(failed.err),
        }
    }
}

/// Sends a request built by `make` (called once per attempt), retrying per
/// `operation` and the client's [`RetryPolicy`]; a non-2xx final answer becomes
/// an API error, a redirect that was not followed an
/// [`crate::ErrorKind::UntrustedUrl`] one. Each attempt is an API call: the
/// client attaches the key (only where it may go) and sends it through its
/// proxy when one is set ([`crate::proxy`]). The body is the caller's to read;
/// [`exchange`] reads it inside the attempt.
pub(crate) async fn send(
    client: &Client,
    operation: Operation,
    make: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response> {
    exchange(
        client,
        operation,
        make,
        |response| async move { Ok(response) },
    )
    .await
}

/// The header in which fal names the request a response belongs to.
pub(crate) const REQUEST_ID: &str = "x-fal-request-id";

/// The request id a response's headers name, if any (and readable).
pub(crate) fn request_id(headers: &reqwest::header::HeaderMap) -> Option<&str> {
    headers.get(REQUEST_ID).and_then(|v| v.to_str().ok())
}

/// Sends an endpoint input: the one POST that submit, run and stream share.
/// The input is serialised once and cloned per attempt (cheap: [`Bytes`]);
/// the call's own headers, and its client timeout, go on every attempt.
/// `priority` is only sent on queue submits (fal's direct run has no queue).
pub(crate) async fn post_input(
    client: &Client,
    operation: Operation,
    options: &crate::options::RequestOptions,
    url: &Url,
    accept: &'static str,
    input: &serde_json::Value,
) -> Result<reqwest::Response> {
    use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
    let body = serde_json::to_vec(input)
        .map(bytes::Bytes::from)
        .map_err(|err| Error::input(".".into(), err))?;
    let headers = options.headers(operation == Operation::Submit)?;
    send(client, operation, || {
        options.bound(
            client
                .http()
                .post(url.clone())
                .headers(headers.clone())
                .header(ACCEPT, HeaderValue::from_static(accept))
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .body(body.clone()),
        )
    })
    .await
}

/// [`send`], with the 2xx body read by `read` inside the same attempt: a body
/// cut after the headers is retried like any transport failure when
/// `operation` may be repeated (status, result, token, download, upload
/// initiate), so one retry loop covers headers and body alike.
pub(crate) async fn exchange<T, Fut>(
    client: &Client,
    operation: Operation,
    make: impl Fn() -> reqwest::RequestBuilder,
    read: impl Fn(reqwest::Response) -> Fut,
) -> Result<T>
where
    Fut: Future<Output = Result<T>>,
{
    exchange_as(client, Traffic::Api(operation), operation, make, read).await
}

/// [`exchange`] for any kind of traffic: a public download (a file an output
/// names) is retried like an API call of `operation` but carries no key and may
/// go to any host.
///
/// No request id an answer named is lost to a retry: the ids of failed
/// attempts that were retried go into the final error
/// ([`Error::earlier_request_ids`]), or, when a later attempt succeeds, into
/// one `tracing` warning.
pub(crate) async fn exchange_as<T, Fut>(
    client: &Client,
    traffic: Traffic,
    operation: Operation,
    make: impl Fn() -> reqwest::RequestBuilder,
    read: impl Fn(reqwest::Response) -> Fut,
) -> Result<T>
where
    Fut: Future<Output = Result<T>>,
{
    let (make, read) = (&make, &read);
    // (attempt number, request id) of every failed attempt whose answer named one.
    let answered = std::sync::Mutex::new(Vec::<(u32, String)>::new());
    let answered = &answered;
    let last_attempt = std::sync::atomic::AtomicU32::new(0);
    let last_attempt = &last_attempt;
    let outcome = retrying(client.retry_policy(), operation, |number| async move {
        last_attempt.store(number, std::sync::atomic::Ordering::Relaxed);
        let outcome = match attempt_as(client, traffic, operation, make).await {
            Ok(response) => read(response).await.map_err(|err| Failed {
                retryable: err.is_transport() && operation.retries_body(),
                err,
                retry_after: None,
            }),
            Err(failed) => Err(failed),
        };
        if let Err(Failed { err, .. }) = &outcome {
            if let Some(id) = err.request_id() {
                let mut ids = answered.lock().unwrap_or_else(|e| e.into_inner());
                ids.push((number, id.to_owned()));
            }
        }
        outcome
    })
    .await;
    let last = last_attempt.load(std::sync::atomic::Ordering::Relaxed);
    let mut earlier: Vec<String> = Vec::new();
    for (number, id) in answered.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        // The last attempt's id is the error's own; a poll's answers all name
        // the request it follows, said once.
        if number != last && !earlier.contains(&id) {
            earlier.push(id);
        }
    }
    match outcome {
        Err(err) => {
            earlier.retain(|id| err.request_id() != Some(id.as_str()));
            if earlier.is_empty() {
                Err(err)
            } else {
                Err(err.with_earlier_request_ids(earlier))
            }
        }
        Ok(value) if !earlier.is_empty() => {
            tracing::warn!(
                %operation,
                earlier_request_ids = ?earlier,
                "succeeded after retrying answers that named these request ids"
            );
            Ok(value)
        }
        Ok(value) => Ok(value),
    }
}

/// One request of any kind of traffic ([`Traffic`] decides the key and the
/// proxy, in [`Client::prepare`]): a 2xx response, or the failure and whether
/// `operation` retries it.
pub(crate) async fn attempt_as(
    client: &Client,
    traffic: Traffic,
    operation: Operation,
    make: impl Fn() -> reqwest::RequestBuilder,
) -> std::result::Result<reqwest::Response, Failed<Error>> {
    let request = make().build().map_err(|err| {
        Error::config_because(format!("could not build the {operation} request"), err)
    })?;
    // Errors name the fal URL meant, not the proxy it went through.
    let url = request.url().clone();
    let mut request = client.prepare(request, traffic)?;
    // Every attempt is bounded ([`crate::Timeouts`]): a call read whole by
    // its total timeout (one the call set itself, per call, wins), a stream
    // or a download by the wait for its headers (its body has an idle timer).
    let sent = match client.timeouts().bound(operation) {
        Bound::Total(total) => {
            if client.sets_totals() {
                request.timeout_mut().get_or_insert(total);
            }
            client.http().execute(request).await
        }
        Bound::Headers(default) => {
            let bound = request.timeout_mut().take().unwrap_or(default);
            match tokio::time::timeout(bound, client.http().execute(request)).await {
                Ok(sent) => sent,
                Err(_) => {
                    return Err(Failed {
                        err: Error::waited(
                            operation,
                            shown_url(client, &url),
                            bound,
                            Wait::Headers,
                        ),
                        retryable: operation.retries_timeout(),
                        retry_after: None,
                    })
                }
            }
        }
    };
    match sent {
        Ok(response) if response.status().is_success() => Ok(response),
        Ok(response) => {
            if let Some(err) = crate::destination::unfollowed_redirect(client, &response, operation)
            {
                return Err(Failed::fatal(err));
            }
            let status = response.status();
            let err = Error::from_response(response, client.timeouts().idle_body).await;
            let api = err.api();
            let timed_out_by_caller = status == StatusCode::GATEWAY_TIMEOUT
                && api.is_some_and(|a| a.timeout_type.is_some());
            let retry_after = api.and_then(|a| a.retry_after);
            Err(Failed {
                retryable: !timed_out_by_caller && operation.retries_status(status),
                err,
                retry_after,
            })
        }
        Err(source) => {
            let retryable = operation.retries_transport(&source);
            Err(Failed {
                err: Error::transport(operation, shown_url(client, &url), source),
                retryable,
                retry_after: None,
            })
        }
    }
}

/// The URL meant, for an error, with the proxy it went through: a dead proxy
/// must not look like a dead fal host.
fn shown_url(client: &Client, url: &Url) -> String {
    match client.proxy_url() {
        Some(proxy) => format!("{} via proxy {}", display_url(url), display_url(proxy)),
        None => display_url(url),
    }
}

/// The whole body of a 2xx `response` to `operation`, at most `limit` bytes
/// ([`crate::body`]); a cut body is a transport error (retried inside
/// [`exchange`] when the operation allows), an oversized one is
/// [`crate::ErrorKind::TooLarge`] (never retried: it would only come again).
pub(crate) async fn read_body(
    client: &Client,
    response: reqwest::Response,
    operation: Operation,
    limit: u64,
) -> Result<bytes::Bytes> {
    let url = display_url(response.url());
    crate::body::read_capped(response, limit, client.timeouts().idle_body)
        .await
        .map_err(|err| match err {
            crate::body::BodyError::Transport(source) => Error::transport(operation, url, source),
            crate::body::BodyError::TooLarge { limit } => Error::too_large(operation, url, limit),
            crate::body::BodyError::Idle { after } => {
                Error::waited(operation, url, after, Wait::Body)
            }
        })
}

/// `x-fal-billable-units`, when present and a finite, non-negative number.
pub(crate) fn billable_units(headers: &reqwest::header::HeaderMap) -> Option<f64> {
    headers
        .get("x-fal-billable-units")?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|units| units.is_finite() && *units >= 0.0)
}

/// A URL for messages: any `user:password@` part is dropped, so a credential put
/// in a base URL never reaches an error or a log.
pub(crate) fn display_url(url: &Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

/// `base` + `path`, keeping any path prefix the base carries (`http://host/queue` +
/// `fal-ai/flux/dev` = `http://host/queue/fal-ai/flux/dev`). A `?query` in `path`
/// becomes the URL's query.
pub(crate) fn join(base: &Url, path: &str) -> Url {
    let (path, query) = match path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path, None),
    };
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    let rest = path.trim_start_matches('/');
    url.set_path(&format!("{prefix}/{rest}"));
    url.set_query(query);
    url.set_fragment(None);
    url
}

/// `base` + each segment, percent-encoding every segment, so an id from outside
/// (a request id typed on a command line) can never add or escape a path level.
pub(crate) fn join_segments<'a>(base: &Url, segments: impl IntoIterator<Item = &'a str>) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keeps_prefixes_and_queries() {
        let base = Url::parse("http://127.0.0.1:9/queue/").unwrap();
        assert_eq!(
            join(&base, "/fal-ai/flux/dev?fal_webhook=x").as_str(),
            "http://127.0.0.1:9/queue/fal-ai/flux/dev?fal_webhook=x"
        );
        let bare = Url::parse("https://queue.fal.run").unwrap();
        assert_eq!(join(&bare, "a/b").as_str(), "https://queue.fal.run/a/b");
        assert_eq!(
            join_segments(&base, ["fal-ai", "flux", "requests", "a/../b"]).as_str(),
            "http://127.0.0.1:9/queue/fal-ai/flux/requests/a%2F..%2Fb"
        );
    }

    #[test]
    fn urls_in_messages_lose_their_credentials() {
        let url = Url::parse("http://user:hunter2@127.0.0.1:9/queue").unwrap();
        assert_eq!(display_url(&url), "http://127.0.0.1:9/queue");
    }

    #[test]
    fn backoff_grows_and_caps() {
        let policy = RetryPolicy::default().jitter(false);
        assert_eq!(policy.backoff(0), Duration::from_secs(1));
        assert_eq!(policy.backoff(3), Duration::from_secs(8));
        assert_eq!(policy.backoff(40), Duration::from_secs(30));
        assert_eq!(
            policy.delay_for(0, Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
        let huge = RetryPolicy::default()
            .base_delay(Duration::MAX)
            .max_delay(Duration::MAX);
        assert!(huge.backoff(5) >= Duration::from_secs(1));
        let jittered = RetryPolicy::default().backoff(1);
        assert!(jittered >= Duration::from_millis(1500) && jittered <= Duration::from_millis(2500));
    }

    #[test]
    fn submit_is_retried_only_when_not_accepted() {
        for code in [429, 503] {
            assert!(Operation::Submit.retries_status(StatusCode::from_u16(code).unwrap()));
        }
        for code in [500, 502, 504, 400, 422] {
            assert!(!Operation::Submit.retries_status(StatusCode::from_u16(code).unwrap()));
        }
        assert!(Operation::Status.retries_status(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(!Operation::Result.retries_status(StatusCode::INTERNAL_SERVER_ERROR));
    }
}
