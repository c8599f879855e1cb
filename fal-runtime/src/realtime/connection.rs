//! The task that owns a realtime WebSocket: it sends the throttled latest input,
//! routes server frames, and reconnects with a fresh token when the server closes.
//!
//! Reconnect rule: fal's runner closes a socket that has been idle too long
//! (`x-fal-error` `TIMEOUT`), and a runner can also go away mid-session. When the
//! socket closes while the caller's latest input is still unanswered, the task
//! reconnects at once with a fresh token and sends that input again, so it is never
//! lost; when nothing is outstanding it stays disconnected until the next input
//! (as fal's JS client does), so an idle session costs nothing.
//!
//! Every buffer is bounded: the input slot holds one value, outputs go through a
//! bounded channel (a caller that stops reading pauses the socket reads, and TCP
//! pushes back on the server), and tungstenite's message size limits apply.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::Url;

use super::codec::{self, Incoming};
use super::error::RealtimeError;
use super::throttle::Throttle;
use super::token::Tokens;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens one connection with a token the session has not used before.
pub(crate) async fn open(url: &Url, tokens: &Tokens) -> Result<Socket, RealtimeError> {
    let token = tokens.for_connection().await?;
    let mut url = url.clone();
    url.query_pairs_mut().append_pair("fal_jwt_token", &token);
    // Nagle off: realtime frames are small and latency is the point.
    let handshake = tokio_tungstenite::connect_async_with_config(url.as_str(), None, true);
    // How long a handshake may take: [`crate::Timeouts::realtime_handshake`].
    let bound = tokens.client().timeouts().realtime_handshake;
    match tokio::time::timeout(bound, handshake).await {
        Err(_) => Err(RealtimeError::HandshakeTimeout(bound)),
        Ok(Err(error)) => Err(handshake_error(error)),
        Ok(Ok((socket, _response))) => Ok(socket),
    }
}

/// Describes a failed handshake without the URL, which carries the token.
fn handshake_error(error: tungstenite::Error) -> RealtimeError {
    match error {
        tungstenite::Error::Http(response) => {
            let body = response
                .body()
                .as_deref()
                .map(|b| {
                    String::from_utf8_lossy(b)
                        .chars()
                        .take(200)
                        .collect::<String>()
                })
                .unwrap_or_default();
            RealtimeError::Refused {
                status: response.status().as_u16(),
                body,
            }
        }
        tungstenite::Error::Url(_) => {
            RealtimeError::InvalidUrl("the realtime URL is not a valid WebSocket URL")
        }
        other => RealtimeError::Connection(Box::new(other)),
    }
}

/// Everything the session task owns.
pub(crate) struct Session<O> {
    pub(crate) url: Url,
    pub(crate) tokens: Arc<Tokens>,
    pub(crate) max_reconnects: u32,
    pub(crate) socket: Option<Socket>,
    pub(crate) out: mpsc::Sender<Result<O, RealtimeError>>,
    /// The newest input, kept so it can be sent again after a reconnect.
    latest: Option<Bytes>,
    /// The latest input was sent and nothing has answered it yet.
    awaiting: bool,
    /// Connections that closed in a row while an input was unanswered.
    unanswered_closes: u32,
}

enum Event {
    Frame(Option<Result<Message, tungstenite::Error>>),
    Input(Option<Bytes>),
}

impl<O: DeserializeOwned + Send + 'static> Session<O> {
    pub(crate) fn new(
        url: Url,
        tokens: Arc<Tokens>,
        max_reconnects: u32,
        socket: Socket,
        out: mpsc::Sender<Result<O, RealtimeError>>,
    ) -> Self {
        Self {
            url,
            tokens,
            max_reconnects,
            socket: Some(socket),
            out,
            latest: None,
            awaiting: false,
            unanswered_closes: 0,
        }
    }

    /// Runs until the caller drops the session (`stop` resolves) or every sender.
    pub(crate) async fn run(mut self, mut throttle: Throttle, mut stop: oneshot::Receiver<()>) {
        let refresher = tokio::spawn(Arc::clone(&self.tokens).refresh_forever());
        loop {
            let event = tokio::select! {
                _ = &mut stop => Event::Input(None),
                frame = next_frame(&mut self.socket) => Event::Frame(frame),
                input = throttle.next() => Event::Input(input),
            };
            let keep_going = match event {
                Event::Input(None) => false,
                Event::Input(Some(input)) => {
                    self.latest = Some(input);
                    self.unanswered_closes = 0;
                    self.deliver().await
                }
                Event::Frame(frame) => self.on_frame(frame).await,
            };
            if !keep_going {
                break;
            }
        }
        refresher.abort();
        if let Some(mut socket) = self.socket.take() {
            let _ = socket.close(None).await;
        }
    }

    async fn on_frame(&mut self, frame: Option<Result<Message, tungstenite::Error>>) -> bool {
        let incoming = match frame {
            Some(Ok(Message::Binary(bytes))) => codec::decode_binary::<O>(&bytes),
            Some(Ok(Message::Text(text))) => codec::decode_text::<O>(text.as_str()),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => return true,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return self.on_closed().await,
        };
        match incoming {
            Incoming::Output(output) => {
                self.awaiting = false;
                self.unanswered_closes = 0;
                self.emit(Ok(output)).await
            }
            Incoming::Meta | Incoming::IdleTimeout => true,
            Incoming::Unauthorized => {
                tracing::debug!("realtime token refused; reconnecting with a new one");
                if let Some(mut socket) = self.socket.take() {
                    let _ = socket.close(None).await;
                }
                self.on_closed().await
            }
            Incoming::Error(error) => {
                // A server error answers the input (the runner closes afterwards); an
                // undecodable output is an answer too. Neither is sent again.
                self.awaiting = false;
                self.emit(Err(error)).await
            }
        }
    }

    /// The socket is gone. Reconnect only if the latest input is still unanswered.
    async fn on_closed(&mut self) -> bool {
        self.socket = None;
        if !self.awaiting {
            return true;
        }
        self.unanswered_closes += 1;
        if self.unanswered_closes > self.max_reconnects {
            self.awaiting = false;
            let attempts = self.unanswered_closes;
            self.unanswered_closes = 0;
            return self.emit(Err(RealtimeError::Closed { attempts })).await;
        }
        tracing::debug!(
            attempt = self.unanswered_closes,
            "realtime socket closed with an unanswered input; reconnecting"
        );
        self.deliver().await
    }

    /// Sends the latest input, connecting first when needed.
    async fn deliver(&mut self) -> bool {
        let Some(input) = self.latest.clone() else {
            return true;
        };
        let mut failures = 0u32;
        loop {
            let socket = match self.socket.as_mut() {
                Some(socket) => socket,
                None => match open(&self.url, &self.tokens).await {
                    Ok(socket) => self.socket.insert(socket),
                    Err(error) => {
                        failures += 1;
                        if failures > self.max_reconnects {
                            self.awaiting = false;
                            return self.emit(Err(error)).await;
                        }
                        tokio::time::sleep(backoff(failures)).await;
                        continue;
                    }
                },
            };
            match socket.send(Message::Binary(input.clone())).await {
                Ok(()) => {
                    self.awaiting = true;
                    return true;
                }
                Err(error) => {
                    tracing::debug!(%error, "realtime send failed; reconnecting");
                    self.socket = None;
                    failures += 1;
                    if failures > self.max_reconnects {
                        self.awaiting = false;
                        let error = RealtimeError::Connection(Box::new(error));
                        return self.emit(Err(error)).await;
                    }
                }
            }
        }
    }

    /// Hands an item to the caller; false once the caller stopped listening.
    async fn emit(&mut self, item: Result<O, RealtimeError>) -> bool {
        self.out.send(item).await.is_ok()
    }
}

/// 100 ms, 200 ms, 400 ms … capped at 2 s.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << failures.min(5))).min(Duration::from_secs(2))
}

/// The next frame of the socket, or never when there is none (so `select!` waits on
/// the input side only).
async fn next_frame(socket: &mut Option<Socket>) -> Option<Result<Message, tungstenite::Error>> {
    match socket {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}
