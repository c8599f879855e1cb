//! The realtime side of the run host (spec 6): temporary tokens issued by the REST
//! host, and `/run/<id>/realtime` WebSockets that behave like a fal runner.
//!
//! A session answers every msgpack input with one msgpack output frame: the input
//! map echoed back with `seq` (1, 2, … per connection) added, so a test can tell
//! which input an answer belongs to. After each output it sends the timings meta
//! as a JSON text frame, as fal's runner SDK does. When no input arrives for the
//! idle timeout ([`crate::TestkitBuilder::realtime_idle_timeout`]) it sends the
//! `x-fal-error` `TIMEOUT` text frame and closes the socket, which is what makes
//! clients reconnect. A text frame or undecodable input gets an `INTERNAL_ERROR`
//! and a close (the runner only reads binary frames).
//!
//! Faults come from the testkit's fault rules ([`crate::Fault::RealtimeClose`],
//! [`crate::Fault::RealtimeError`]): a rule is taken by one WebSocket handshake
//! and acts on that connection's inputs. Tokens are opaque strings remembered
//! with their app aliases and expiry; `?fal_jwt_token=` must name one that is
//! unexpired and issued for the endpoint's alias, else the handshake is refused
//! with 401 (so the journal shows it; how fal's gateway refuses is not
//! documented, spec open question 11). A handshake without
//! a token was already checked for `Authorization: Key …` by the router (fal's
//! Python client can connect that way).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequest, Request};
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::faults::Fault;
use crate::queue::read_body;
use crate::reply;
use crate::router::Call;

/// fal's clients ask for 120 s tokens when they do not say.
const DEFAULT_TOKEN_SECONDS: u64 = 120;
/// Tokens kept before expired ones are swept.
const TOKEN_SWEEP_THRESHOLD: usize = 4096;

#[derive(Debug)]
struct Issued {
    apps: Vec<String>,
    expires_at: Instant,
}

/// The tokens `/rest/tokens/` issued, checked by realtime and stream calls.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    issued: Mutex<HashMap<String, Issued>>,
}

impl Tokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Issued>> {
        // Only single inserts and lookups happen under this lock; a poisoned map is intact.
        self.issued
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn issue(&self, apps: Vec<String>, lifetime: Duration) -> String {
        let token = format!("testkit-rt.{}", uuid::Uuid::new_v4().simple());
        let now = Instant::now();
        let mut issued = self.lock();
        if issued.len() >= TOKEN_SWEEP_THRESHOLD {
            issued.retain(|_, t| t.expires_at > now);
        }
        issued.insert(
            token.clone(),
            Issued {
                apps,
                expires_at: now + lifetime,
            },
        );
        token
    }

    /// Whether `token` is unexpired and was issued for the app `alias`.
    pub(crate) fn accepts(&self, token: &str, alias: &str) -> bool {
        self.lock()
            .get(token)
            .is_some_and(|t| t.expires_at > Instant::now() && t.apps.iter().any(|app| app == alias))
    }
}

/// The body of `POST /rest/tokens/`.
#[derive(Deserialize)]
struct TokenRequest {
    allowed_apps: Vec<String>,
    #[serde(default)]
    token_expiration: Option<u64>,
}

/// `POST /rest/tokens/`: a token for the listed app aliases, answered as a bare
/// JSON string like fal's REST API (spec 6.1).
pub(crate) async fn issue_token(call: Call, request: Request) -> Response {
    if request.method() != http::Method::POST {
        return reply::method_not_allowed();
    }
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let unprocessable = |message: &str| reply::detail(StatusCode::UNPROCESSABLE_ENTITY, message);
    let request: TokenRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return unprocessable(&format!("invalid token request: {e}")),
    };
    if request.allowed_apps.is_empty() {
        return unprocessable("allowed_apps must name at least one app");
    }
    let seconds = request.token_expiration.unwrap_or(DEFAULT_TOKEN_SECONDS);
    if seconds == 0 || seconds > 86_400 {
        return unprocessable("token_expiration must be 1..=86400 seconds");
    }
    let token = call
        .shared
        .tokens
        .issue(request.allowed_apps, Duration::from_secs(seconds));
    reply::json(StatusCode::CREATED, &Value::String(token))
}

/// What the fault rule taken by this handshake does to the connection.
#[derive(Clone, Debug)]
enum SessionFault {
    Close {
        after_inputs: usize,
    },
    Error {
        after_inputs: usize,
        error: String,
        reason: String,
    },
}

/// `GET /run/<id>/realtime` (WebSocket upgrade).
pub(crate) async fn handle(call: Call, endpoint: &str, request: Request) -> Response {
    if let Some(raw) = call.query_param("max_buffering") {
        if !matches!(raw.parse::<u32>(), Ok(1..=60)) {
            return reply::detail(
                StatusCode::BAD_REQUEST,
                "max_buffering must be an integer between 1 and 60",
            );
        }
    }
    let upgrade = match WebSocketUpgrade::from_request(request, &()).await {
        Ok(upgrade) => upgrade,
        Err(_) => {
            return reply::detail(
                StatusCode::BAD_REQUEST,
                "the realtime endpoint needs a WebSocket upgrade",
            )
        }
    };
    if let Some(token) = call.query_param("fal_jwt_token") {
        // No token means the router already checked `Authorization` (or auth is off).
        if !call.shared.tokens.accepts(&token, alias_of(endpoint)) {
            return reply::detail(StatusCode::UNAUTHORIZED, "Invalid or expired fal_jwt_token");
        }
    }
    let fault = match call.fault.clone() {
        Some(Fault::RealtimeClose { after_inputs }) => Some(SessionFault::Close { after_inputs }),
        Some(Fault::RealtimeError {
            after_inputs,
            error,
            reason,
        }) => Some(SessionFault::Error {
            after_inputs,
            error,
            reason,
        }),
        _ => None,
    };
    let idle = call.shared.settings.realtime_idle;
    let shutdown = call.shared.shutdown.clone();
    upgrade.on_upgrade(move |socket| async move {
        tokio::select! {
            () = session(socket, idle, fault) => {}
            () = shutdown.cancelled() => {}
        }
    })
}

/// The alias of `[ns/]owner/alias[/path]` (spec 1.2), which tokens are issued for.
fn alias_of(endpoint_id: &str) -> &str {
    let mut segments = endpoint_id.trim_matches('/').split('/');
    let first = segments.next().unwrap_or_default();
    let owner_skipped = if first == "workflows" || first == "comfy" {
        segments.nth(1)
    } else {
        segments.next()
    };
    owner_skipped.unwrap_or_default()
}

async fn session(mut socket: WebSocket, idle: Duration, fault: Option<SessionFault>) {
    let mut seq: u64 = 0;
    loop {
        let message = match tokio::time::timeout(idle, socket.recv()).await {
            Err(_) => {
                let notice = json!({"type": "x-fal-error", "error": "TIMEOUT",
                                    "reason": "no inputs, reconnect when needed!"});
                let _ = socket.send(Message::Text(notice.to_string().into())).await;
                let _ = socket.send(close(1000, "idle")).await;
                return;
            }
            Ok(None | Some(Err(_))) => return,
            Ok(Some(Ok(message))) => message,
        };
        let input = match message {
            Message::Binary(bytes) => decode_input(&bytes),
            Message::Text(_) => Err("expected a binary msgpack frame, got text".to_owned()),
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => return,
        };
        let input = match input {
            Ok(input) => input,
            Err(reason) => return fail(socket, "INTERNAL_ERROR", &reason).await,
        };
        let answered = usize::try_from(seq).unwrap_or(usize::MAX);
        match &fault {
            // Dropping the socket without a close frame, as a crashed runner would.
            Some(SessionFault::Close { after_inputs }) if answered == *after_inputs => return,
            Some(SessionFault::Error {
                after_inputs,
                error,
                reason,
            }) if answered == *after_inputs => return fail(socket, error, reason).await,
            _ => {}
        }
        seq += 1;
        let started = std::time::Instant::now();
        let mut frame = Vec::new();
        if rmpv::encode::write_value(&mut frame, &echo(input, seq)).is_err() {
            return fail(socket, "INTERNAL_ERROR", "could not encode the output").await;
        }
        if socket.send(Message::Binary(frame.into())).await.is_err() {
            return;
        }
        let timings = json!({"type": "x-fal-message", "action": "timings",
                             "timing": started.elapsed().as_secs_f64()});
        if socket
            .send(Message::Text(timings.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
    }
}

/// One msgpack document, and nothing after it. Decoded as a msgpack value rather
/// than JSON because inputs may carry binary fields (image bytes), which JSON
/// cannot hold.
fn decode_input(bytes: &[u8]) -> Result<rmpv::Value, String> {
    let mut rest = bytes;
    let value = rmpv::decode::read_value(&mut rest)
        .map_err(|e| format!("input is not a msgpack document: {e}"))?;
    if !rest.is_empty() {
        return Err(format!("{} bytes follow the msgpack document", rest.len()));
    }
    Ok(value)
}

/// The output for one input: the input's fields and the per-connection sequence
/// number (a non-map input comes back as `{"input": …, "seq": …}`).
fn echo(input: rmpv::Value, seq: u64) -> rmpv::Value {
    let seq_entry = (rmpv::Value::from("seq"), rmpv::Value::from(seq));
    match input {
        rmpv::Value::Map(mut entries) => {
            entries.retain(|(key, _)| key.as_str() != Some("seq"));
            entries.push(seq_entry);
            rmpv::Value::Map(entries)
        }
        other => rmpv::Value::Map(vec![(rmpv::Value::from("input"), other), seq_entry]),
    }
}

async fn fail(mut socket: WebSocket, error: &str, reason: &str) {
    let message = json!({"type": "x-fal-error", "error": error, "reason": reason});
    let _ = socket.send(Message::Text(message.to_string().into())).await;
    let _ = socket.send(close(1011, error)).await;
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases() {
        assert_eq!(alias_of("fal-ai/fast-sdxl"), "fast-sdxl");
        assert_eq!(alias_of("fal-ai/flux/dev/realtime"), "flux");
        assert_eq!(alias_of("workflows/acme/flow"), "flow");
        assert_eq!(alias_of("lonely"), "");
    }

    #[test]
    fn tokens_are_checked_for_app_and_expiry() {
        let tokens = Tokens::default();
        let token = tokens.issue(vec!["fast-sdxl".into()], Duration::from_secs(60));
        assert!(tokens.accepts(&token, "fast-sdxl"));
        assert!(!tokens.accepts(&token, "flux"));
        assert!(!tokens.accepts("forged", "fast-sdxl"));
        let expired = tokens.issue(vec!["flux".into()], Duration::ZERO);
        assert!(!tokens.accepts(&expired, "flux"));
    }
}
