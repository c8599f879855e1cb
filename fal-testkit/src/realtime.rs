//! The realtime side of the run host (spec 6): temporary tokens issued by the REST
//! host, and `/run/<id>/realtime` WebSockets that behave like a fal runner.
//!
//! A session answers every msgpack input with one msgpack output frame: the
//! endpoint's output for that input, as a direct run would synthesize it
//! (schema-driven when the testkit has the endpoint's document, FLUX-like
//! otherwise), which is what fal's realtime apps send and what fal's clients
//! look for (`images[].url`). An input the app would refuse (fal's 422 for a
//! run) ends the session the way a runner's input model does: an
//! `x-fal-error` `INTERNAL_ERROR` naming the invalid fields, then a close.
//! Endpoints whose alias is `echo` (`testkit/echo`) answer with the input map
//! and `seq` (1, 2, … per connection), so a test can tell which input an answer
//! belongs to. After each output the session sends the timings meta as a JSON
//! text frame, as fal's runner SDK does. When no input arrives for the
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
use std::sync::{Arc, Mutex};
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
use crate::reply::{self, Failure};
use crate::router::Call;
use crate::state::Shared;
use crate::synth::{self, SynthCtx};

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
    let app = if alias_of(endpoint) == "echo" {
        App::Echo
    } else {
        App::Model {
            shared: call.shared.clone(),
            endpoint: endpoint.to_owned(),
            cdn_base: call.urls.cdn.clone(),
        }
    };
    upgrade.on_upgrade(move |socket| async move {
        tokio::select! {
            () = session(socket, idle, fault, app) => {}
            () = shutdown.cancelled() => {}
        }
    })
}

/// What answers the inputs of one connection.
enum App {
    /// The `echo` alias: the input and its sequence number.
    Echo,
    /// Any other endpoint: its synthesized output.
    Model {
        shared: Arc<Shared>,
        endpoint: String,
        /// Where output file URLs point (the testkit itself).
        cdn_base: String,
    },
}

impl App {
    /// The output frame's value for input number `seq`, or the reason the app
    /// refuses the input.
    fn answer(&self, input: rmpv::Value, seq: u64) -> Result<rmpv::Value, String> {
        let App::Model {
            shared,
            endpoint,
            cdn_base,
        } = self
        else {
            return Ok(echo(input, seq));
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        let ctx = SynthCtx {
            endpoint,
            schema: shared.endpoints.get(endpoint).map(|s| &**s),
            request_id: &request_id,
            cdn_base,
            run_duration: shared.settings.run_duration,
        };
        synth::output(&ctx, &to_json(input))
            .map(|output| from_json(&output))
            .map_err(|failure| refusal(&failure))
    }
}

/// The `reason` of the `INTERNAL_ERROR` a runner sends when its input model
/// refuses an input: each invalid field with pydantic's message and type.
fn refusal(failure: &Failure) -> String {
    let body: Value = serde_json::from_slice(&failure.body).unwrap_or(Value::Null);
    let Some(errors) = body.get("detail").and_then(Value::as_array) else {
        return failure.message.clone();
    };
    let fields: Vec<String> = errors
        .iter()
        .map(|error| {
            let loc: Vec<String> = error
                .get("loc")
                .and_then(Value::as_array)
                .map(|parts| {
                    parts
                        .iter()
                        .skip(1) // "body": the input itself
                        .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{}: {} [type={}]",
                if loc.is_empty() {
                    "input".to_owned()
                } else {
                    loc.join(".")
                },
                error
                    .get("msg")
                    .and_then(Value::as_str)
                    .unwrap_or("invalid"),
                error
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("value_error"),
            )
        })
        .collect();
    format!(
        "{} validation error{} for the input: {}",
        fields.len(),
        if fields.len() == 1 { "" } else { "s" },
        fields.join("; ")
    )
}

/// A msgpack input as JSON, the form validation and synthesis read. Binary
/// fields become base64 data URIs (how a file travels inside JSON input).
fn to_json(value: rmpv::Value) -> Value {
    use base64::Engine;
    match value {
        rmpv::Value::Nil => Value::Null,
        rmpv::Value::Boolean(b) => Value::Bool(b),
        rmpv::Value::Integer(n) => n
            .as_u64()
            .map(Value::from)
            .or_else(|| n.as_i64().map(Value::from))
            .unwrap_or(Value::Null),
        rmpv::Value::F32(f) => {
            serde_json::Number::from_f64(f64::from(f)).map_or(Value::Null, Value::Number)
        }
        rmpv::Value::F64(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        rmpv::Value::String(s) => Value::String(s.into_str().unwrap_or_default()),
        rmpv::Value::Binary(bytes) | rmpv::Value::Ext(_, bytes) => Value::String(format!(
            "data:application/octet-stream;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )),
        rmpv::Value::Array(items) => Value::Array(items.into_iter().map(to_json).collect()),
        rmpv::Value::Map(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(key, value)| {
                    let key = match key {
                        rmpv::Value::String(s) => s.into_str().unwrap_or_default(),
                        other => other.to_string(),
                    };
                    (key, to_json(value))
                })
                .collect(),
        ),
    }
}

/// A JSON output as the msgpack value of an output frame.
fn from_json(value: &Value) -> rmpv::Value {
    match value {
        Value::Null => rmpv::Value::Nil,
        Value::Bool(b) => rmpv::Value::Boolean(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => rmpv::Value::from(u),
            (None, Some(i), _) => rmpv::Value::from(i),
            (None, None, Some(f)) => rmpv::Value::F64(f),
            (None, None, None) => rmpv::Value::Nil,
        },
        Value::String(s) => rmpv::Value::from(s.as_str()),
        Value::Array(items) => rmpv::Value::Array(items.iter().map(from_json).collect()),
        Value::Object(map) => rmpv::Value::Map(
            map.iter()
                .map(|(k, v)| (rmpv::Value::from(k.as_str()), from_json(v)))
                .collect(),
        ),
    }
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

async fn session(mut socket: WebSocket, idle: Duration, fault: Option<SessionFault>, app: App) {
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
        let output = match app.answer(input, seq) {
            Ok(output) => output,
            Err(reason) => return fail(socket, "INTERNAL_ERROR", &reason).await,
        };
        let mut frame = Vec::new();
        if rmpv::encode::write_value(&mut frame, &output).is_err() {
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

/// The `echo` alias's output for one input: the input's fields and the
/// per-connection sequence number (a non-map input comes back as
/// `{"input": …, "seq": …}`).
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
