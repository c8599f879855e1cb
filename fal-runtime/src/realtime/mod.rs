//! Realtime endpoints over WebSocket (spec 6): typed inputs out as msgpack, typed
//! outputs back, for interactive apps where only the newest input matters.
//!
//! ```no_run
//! # use serde::{Deserialize, Serialize};
//! # #[derive(Serialize)] struct Input { prompt: String }
//! # #[derive(Deserialize)] struct Output { seq: u64 }
//! # impl fal_runtime::Endpoint for Input { const ENDPOINT_ID: &'static str = "fal-ai/fast-lcm-diffusion"; type Output = Output; }
//! # async fn demo(client: fal_runtime::Client) -> fal_runtime::Result<()> {
//! let mut session = client.realtime::<Input>().connect().await?;
//! session.send(&Input { prompt: "a red fox".into() })?;
//! if let Some(output) = session.recv().await {
//!     let output = output?;
//! #   let _ = output;
//! }
//! # Ok(()) }
//! ```
//!
//! What the session does for you:
//! - gets a temporary token from `{rest}/tokens/` for the app's alias and refreshes
//!   it at 90 % of its lifetime (retrying at 5 %); each connection uses a token of
//!   its own;
//! - connects to `{run}/<id>/realtime` (`http`→`ws`, `https`→`wss`, `/realtime` not
//!   doubled, `max_buffering` 1..=60) directly, even with a proxy set: fal's proxy
//!   does not carry WebSockets; the token is fetched through it
//!   ([`ClientBuilder::proxy_url`](crate::ClientBuilder::proxy_url));
//! - throttles sends, latest wins (128 ms by default, like fal's JS client);
//! - ignores `x-fal-message` meta frames, turns `x-fal-error` into
//!   [`RealtimeError::Server`], and treats `TIMEOUT` as the idle notice it is;
//! - reconnects with a fresh token when the server closes the socket, sending the
//!   latest input again if it had not been answered.

mod codec;
mod connection;
mod error;
mod throttle;
mod token;

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use url::Url;

pub use error::RealtimeError;
pub use throttle::DEFAULT_INTERVAL as DEFAULT_THROTTLE;
pub use token::DEFAULT_EXPIRATION as DEFAULT_TOKEN_EXPIRATION;

use crate::calls::Untyped;
use crate::error::Result;
use crate::{Client, Endpoint, EndpointId};

/// How many outputs may wait for [`Realtime::recv`] before the session stops
/// reading the socket.
const DEFAULT_CAPACITY: usize = 16;
/// Reconnects tried in a row for one unanswered input.
const DEFAULT_MAX_RECONNECTS: u32 = 3;

impl Client {
    /// A realtime session for a typed endpoint: `client.realtime::<Input>().connect()`.
    pub fn realtime<E: Endpoint>(&self) -> RealtimeBuilder<E, E::Output> {
        RealtimeBuilder::new(self.clone(), E::ENDPOINT_ID.to_owned())
    }
}

impl Untyped<'_> {
    /// A realtime session with JSON values in and out (sent as msgpack).
    pub fn realtime(&self) -> RealtimeBuilder<Value, Value> {
        RealtimeBuilder::new(self.client.clone(), self.endpoint.clone())
    }
}

/// Settings of a realtime session, before it connects.
#[must_use = "a realtime session does nothing until connect() is awaited"]
#[derive(Debug)]
pub struct RealtimeBuilder<I, O> {
    client: Client,
    endpoint: String,
    throttle: Duration,
    max_buffering: Option<u32>,
    token_expiration: Duration,
    capacity: usize,
    max_reconnects: u32,
    _types: PhantomData<fn(I) -> O>,
}

impl<I, O> RealtimeBuilder<I, O> {
    fn new(client: Client, endpoint: String) -> Self {
        Self {
            client,
            endpoint,
            throttle: throttle::DEFAULT_INTERVAL,
            max_buffering: None,
            token_expiration: token::DEFAULT_EXPIRATION,
            capacity: DEFAULT_CAPACITY,
            max_reconnects: DEFAULT_MAX_RECONNECTS,
            _types: PhantomData,
        }
    }

    /// Minimum time between two inputs sent; inputs within it are replaced by the
    /// newest. Default 128 ms; zero sends every input.
    pub fn throttle(mut self, interval: Duration) -> Self {
        self.throttle = interval;
        self
    }

    /// Asks the runner to buffer up to `n` inputs (the `max_buffering` URL
    /// parameter, 1..=60; checked by [`Self::connect`]).
    pub fn max_buffering(mut self, n: u32) -> Self {
        self.max_buffering = Some(n);
        self
    }

    /// Lifetime requested for each token, whole seconds, at least one. Default 120 s.
    pub fn token_expiration(mut self, expiration: Duration) -> Self {
        self.token_expiration = expiration;
        self
    }

    /// Outputs that may wait unread before the session pauses reading. Default 16.
    pub fn capacity(mut self, outputs: usize) -> Self {
        self.capacity = outputs.max(1);
        self
    }

    /// Reconnects tried in a row while an input is unanswered. Default 3.
    pub fn max_reconnects(mut self, attempts: u32) -> Self {
        self.max_reconnects = attempts;
        self
    }

    /// Decodes outputs as `U` instead.
    pub fn output<U>(self) -> RealtimeBuilder<I, U> {
        RealtimeBuilder {
            client: self.client,
            endpoint: self.endpoint,
            throttle: self.throttle,
            max_buffering: self.max_buffering,
            token_expiration: self.token_expiration,
            capacity: self.capacity,
            max_reconnects: self.max_reconnects,
            _types: PhantomData,
        }
    }

    /// The WebSocket URL, without the token (spec 6.2).
    fn url(&self, endpoint: &EndpointId) -> std::result::Result<Url, RealtimeError> {
        let id = endpoint.to_string();
        let path = if id.ends_with("/realtime") {
            id
        } else {
            format!("{id}/realtime")
        };
        let mut url = crate::http::join(self.client.run_base(), &path);
        let scheme = match url.scheme() {
            "http" | "ws" => "ws",
            "https" | "wss" => "wss",
            _ => {
                return Err(RealtimeError::InvalidUrl(
                    "the run URL's scheme is neither http nor https",
                ));
            }
        };
        url.set_scheme(scheme)
            .map_err(|()| RealtimeError::InvalidUrl("cannot switch to a WebSocket scheme"))?;
        if let Some(n) = self.max_buffering {
            url.query_pairs_mut()
                .append_pair("max_buffering", &n.to_string());
        }
        Ok(url)
    }
}

impl<I, O> RealtimeBuilder<I, O>
where
    I: Serialize,
    O: DeserializeOwned + Send + 'static,
{
    /// Gets a token and opens the socket, so a bad key, URL or endpoint fails here
    /// rather than on the first send.
    pub async fn connect(self) -> Result<Realtime<I, O>> {
        if let Some(n) = self.max_buffering {
            if !(1..=60).contains(&n) {
                return Err(RealtimeError::InvalidMaxBuffering(n).into());
            }
        }
        if self.token_expiration < Duration::from_secs(1) {
            return Err(crate::Error::config(
                "the realtime token expiration must be at least one second",
            ));
        }
        let endpoint = EndpointId::parse(&self.endpoint)?;
        let url = self.url(&endpoint)?;
        let expiration = Duration::from_secs(self.token_expiration.as_secs());
        let tokens =
            token::Tokens::new(self.client.clone(), endpoint.alias().to_owned(), expiration);
        let socket = connection::open(&url, &tokens).await?;
        let (input_tx, input_rx) = watch::channel(None);
        let (output_tx, output_rx) = mpsc::channel(self.capacity);
        let session = connection::Session::new(url, tokens, self.max_reconnects, socket, output_tx);
        let (stop_tx, stop_rx) = oneshot::channel();
        let throttle = throttle::Throttle::new(input_rx, self.throttle);
        let task = tokio::spawn(session.run(throttle, stop_rx));
        Ok(Realtime {
            _stop: stop_tx,
            sender: RealtimeSender {
                slot: Arc::new(input_tx),
                _input: PhantomData,
            },
            outputs: output_rx,
            task,
        })
    }
}

/// An open realtime session. Dropping it closes the socket (senders obtained with
/// [`Realtime::sender`] do not keep it open).
#[derive(Debug)]
pub struct Realtime<I, O> {
    /// Dropped with the session, which tells the task to close the socket.
    _stop: oneshot::Sender<()>,
    sender: RealtimeSender<I>,
    outputs: mpsc::Receiver<std::result::Result<O, RealtimeError>>,
    task: tokio::task::JoinHandle<()>,
}

impl<I: Serialize, O> Realtime<I, O> {
    /// Queues `input` as the latest input; it goes out when the throttle allows,
    /// unless a newer one replaces it first. Fails only if it cannot be encoded.
    pub fn send(&self, input: &I) -> Result<()> {
        self.sender.send(input)
    }

    /// A handle for sending from another task.
    pub fn sender(&self) -> RealtimeSender<I> {
        self.sender.clone()
    }

    /// The next output, or a server or connection error; `None` once the session
    /// has ended.
    pub async fn recv(&mut self) -> Option<std::result::Result<O, RealtimeError>> {
        self.outputs.recv().await
    }

    /// Closes the socket and waits for the session to finish.
    pub async fn close(self) {
        let Realtime {
            _stop,
            sender,
            outputs,
            task,
        } = self;
        drop(_stop);
        drop(sender);
        drop(outputs);
        let _ = task.await;
    }
}

/// The outputs as a stream (the same items as [`Realtime::recv`]), for use with
/// `StreamExt` combinators.
impl<I, O> futures_util::Stream for Realtime<I, O> {
    type Item = std::result::Result<O, RealtimeError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.outputs.poll_recv(cx)
    }
}

/// Sends inputs to a realtime session; cheap to clone.
#[derive(Debug)]
pub struct RealtimeSender<I> {
    slot: Arc<watch::Sender<Option<Bytes>>>,
    _input: PhantomData<fn(I)>,
}

impl<I> Clone for RealtimeSender<I> {
    fn clone(&self) -> Self {
        Self {
            slot: Arc::clone(&self.slot),
            _input: PhantomData,
        }
    }
}

impl<I: Serialize> RealtimeSender<I> {
    /// See [`Realtime::send`].
    pub fn send(&self, input: &I) -> Result<()> {
        let frame = codec::encode(input)?;
        self.slot.send_replace(Some(Bytes::from(frame)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_for(run_url: &str, endpoint: &str, max_buffering: Option<u32>) -> String {
        let client = Client::builder()
            .ignore_env()
            .key("id:secret")
            .run_url(run_url)
            .build()
            .unwrap();
        let mut builder = client.endpoint(endpoint).realtime();
        if let Some(n) = max_buffering {
            builder = builder.max_buffering(n);
        }
        let id = EndpointId::parse(endpoint).unwrap();
        builder.url(&id).unwrap().to_string()
    }

    #[test]
    fn the_websocket_url_follows_the_run_url() {
        assert_eq!(
            url_for("https://fal.run", "fal-ai/fast-sdxl", Some(3)),
            "wss://fal.run/fal-ai/fast-sdxl/realtime?max_buffering=3"
        );
        assert_eq!(
            url_for("http://127.0.0.1:9/run/", "fal-ai/flux/dev/realtime", None),
            "ws://127.0.0.1:9/run/fal-ai/flux/dev/realtime"
        );
        assert_eq!(
            url_for("http://proxy.local/prefix", "workflows/acme/flow", None),
            "ws://proxy.local/prefix/workflows/acme/flow/realtime"
        );
    }
}
