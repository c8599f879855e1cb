//! The realtime side of the run host (spec 6): temporary tokens issued by the REST
//! host, and `/run/<id>/realtime` WebSockets that behave like a fal runner.
//!
//! A session answers every msgpack input with one msgpack output frame: the input
//! map echoed back with `seq` (1, 2, … per connection) added, so a test can tell
//! which input an answer belongs to. After each output it sends the timings meta
//! as a JSON text frame, as fal's runner SDK does. When no input arrives for the
//! idle timeout it sends the `x-fal-error` `TIMEOUT` text frame and closes the
//! socket, which is what makes clients reconnect. A text frame or undecodable
//! input gets an `INTERNAL_ERROR` and a close (the runner only reads binary frames).
//!
//! Faults queued with [`RealtimeFault`] apply to the next inputs any session
//! receives, one fault per input.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::time::Instant;

/// fal's clients ask for 120 s tokens when they do not say.
const DEFAULT_TOKEN_SECONDS: u64 = 120;
/// How many faults may wait at once; injecting more is a test bug, not a queue to grow.
const MAX_PENDING_FAULTS: usize = 64;
/// Tokens kept before the oldest expired ones are swept.
const TOKEN_SWEEP_THRESHOLD: usize = 4096;

/// A misbehaviour the realtime server shows for one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RealtimeFault {
    /// Close the connection without answering, as a crashed or restarted runner would.
    CloseWithoutAnswer,
    /// Answer with `{"type":"x-fal-error","error":…,"reason":…}` and close, as a runner
    /// does when the app raises.
    Error {
        /// The error code, e.g. `INTERNAL_ERROR`.
        error: String,
        /// The reason text.
        reason: String,
    },
}

#[derive(Debug)]
struct Issued {
    apps: Vec<String>,
    expires_at: Instant,
}

/// Tokens, faults and timing shared by the token route and every realtime session.
#[derive(Debug)]
pub struct RealtimeState {
    idle_timeout: Duration,
    tokens: Mutex<HashMap<String, Issued>>,
    faults: Mutex<VecDeque<RealtimeFault>>,
    issued: std::sync::atomic::AtomicU64,
}

impl RealtimeState {
    /// Sessions close after `idle_timeout` without input.
    pub fn new(idle_timeout: Duration) -> Self {
        Self {
            idle_timeout,
            tokens: Mutex::new(HashMap::new()),
            faults: Mutex::new(VecDeque::new()),
            issued: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Queues a fault for the next input; returns false when too many are queued.
    pub fn inject(&self, fault: RealtimeFault) -> bool {
        let mut faults = lock(&self.faults);
        if faults.len() >= MAX_PENDING_FAULTS {
            return false;
        }
        faults.push_back(fault);
        true
    }

    /// How many tokens `/rest/tokens/` has issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.issued.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn take_fault(&self) -> Option<RealtimeFault> {
        lock(&self.faults).pop_front()
    }

    fn issue(&self, apps: Vec<String>, lifetime: Duration) -> String {
        let token = format!("testkit-rt.{}", uuid::Uuid::new_v4().simple());
        let now = Instant::now();
        let mut tokens = lock(&self.tokens);
        if tokens.len() >= TOKEN_SWEEP_THRESHOLD {
            tokens.retain(|_, issued| issued.expires_at > now);
        }
        tokens.insert(
            token.clone(),
            Issued {
                apps,
                expires_at: now + lifetime,
            },
        );
        self.issued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        token
    }

    fn accepts(&self, token: &str, alias: &str) -> bool {
        lock(&self.tokens).get(token).is_some_and(|issued| {
            issued.expires_at > Instant::now() && issued.apps.iter().any(|app| app == alias)
        })
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave them inconsistent (plain inserts
    // and pops), so a poisoned lock is still usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The body of `POST /rest/tokens/`.
#[derive(Deserialize)]
pub struct TokenRequest {
    allowed_apps: Vec<String>,
    #[serde(default)]
    token_expiration: Option<u64>,
}

/// `POST /rest/tokens/`: issues a token for the listed app aliases, answered as a
/// bare JSON string like fal's REST API.
pub fn issue_token(state: &RealtimeState, body: &[u8]) -> Response {
    let request: TokenRequest = match serde_json::from_slice(body) {
        Ok(request) => request,
        Err(e) => {
            return detail(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("invalid token request: {e}"),
            )
        }
    };
    if request.allowed_apps.is_empty() {
        return detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "allowed_apps must name at least one app",
        );
    }
    let seconds = request.token_expiration.unwrap_or(DEFAULT_TOKEN_SECONDS);
    if seconds == 0 || seconds > 86_400 {
        return detail(
            StatusCode::UNPROCESSABLE_ENTITY,
            "token_expiration must be 1..=86400 seconds",
        );
    }
    let token = state.issue(request.allowed_apps, Duration::from_secs(seconds));
    (StatusCode::CREATED, Json(Value::String(token))).into_response()
}

/// `GET /run/<id>/realtime` (WebSocket). `endpoint_id` is the path after `/run/`,
/// with or without the trailing `/realtime`.
pub fn handle(
    state: std::sync::Arc<RealtimeState>,
    endpoint_id: &str,
    query: &HashMap<String, String>,
    upgrade: Option<WebSocketUpgrade>,
) -> Response {
    let Some(upgrade) = upgrade else {
        return detail(
            StatusCode::BAD_REQUEST,
            "the realtime endpoint needs a WebSocket upgrade",
        );
    };
    if let Some(raw) = query.get("max_buffering") {
        match raw.parse::<u32>() {
            Ok(1..=60) => {}
            _ => {
                return detail(
                    StatusCode::BAD_REQUEST,
                    "max_buffering must be an integer 1..=60",
                )
            }
        }
    }
    let Some(token) = query.get("fal_jwt_token").cloned() else {
        return detail(StatusCode::UNAUTHORIZED, "missing fal_jwt_token");
    };
    let alias = alias_of(endpoint_id).to_owned();
    upgrade.on_upgrade(move |socket| async move {
        if state.accepts(&token, &alias) {
            session(socket, &state).await;
        } else {
            refuse(socket).await;
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

/// What fal's gateway answers to a bad token (spec 6.4), then a policy-violation close.
async fn refuse(mut socket: WebSocket) {
    let refusal = json!({"status": "error", "error": "Unauthorized"}).to_string();
    let _ = socket.send(Message::Text(refusal.into())).await;
    let _ = socket.send(close(1008, "Unauthorized")).await;
}

async fn session(mut socket: WebSocket, state: &RealtimeState) {
    let mut seq: u64 = 0;
    loop {
        let message = match tokio::time::timeout(state.idle_timeout, socket.recv()).await {
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
            Message::Binary(bytes) => rmp_serde::from_slice::<Value>(&bytes)
                .map_err(|e| format!("input is not a msgpack document: {e}")),
            Message::Text(_) => Err("expected a binary msgpack frame, got text".to_owned()),
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => return,
        };
        let input = match input {
            Ok(input) => input,
            Err(reason) => return fail(socket, "INTERNAL_ERROR", &reason).await,
        };
        match state.take_fault() {
            // Dropping the socket without a close frame, as a crashed runner would.
            Some(RealtimeFault::CloseWithoutAnswer) => return,
            Some(RealtimeFault::Error { error, reason }) => {
                return fail(socket, &error, &reason).await
            }
            None => {}
        }
        seq += 1;
        let started = std::time::Instant::now();
        let output = echo(input, seq);
        let Ok(frame) = rmp_serde::to_vec_named(&output) else {
            return fail(socket, "INTERNAL_ERROR", "could not encode the output").await;
        };
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

/// The output for one input: the input's fields and the per-connection sequence number.
fn echo(input: Value, seq: u64) -> Value {
    match input {
        Value::Object(mut map) => {
            map.insert("seq".into(), json!(seq));
            Value::Object(map)
        }
        other => json!({"input": other, "seq": seq}),
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

fn detail(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "detail": message }))).into_response()
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
        let state = RealtimeState::new(Duration::from_secs(1));
        let token = state.issue(vec!["fast-sdxl".into()], Duration::from_secs(60));
        assert!(state.accepts(&token, "fast-sdxl"));
        assert!(!state.accepts(&token, "flux"));
        assert!(!state.accepts("forged", "fast-sdxl"));
        let expired = state.issue(vec!["flux".into()], Duration::ZERO);
        assert!(!state.accepts(&expired, "flux"));
    }
}
