//! fal's Platform APIs (`api.fal.ai/v1`, the `/api` prefix here), answered
//! from what this testkit knows and did:
//!
//! | route | answer |
//! |---|---|
//! | `GET v1/models` | the schema directory ([`models`]), `expand=openapi-3.0` adds each document |
//! | `GET v1/models/pricing` | the [`PricingTable`]: per endpoint, else per category, else the default |
//! | `POST v1/models/pricing/estimate` | computed from the same table (`unit_price`), or from the units the jobs it ran actually billed (`historical_api_price`) |
//! | `GET v1/models/usage`, `…/analytics`, `…/billing-events`, `…/requests/by-endpoint` | computed from the jobs it ran ([`ledger`]): queue requests and direct runs |
//! | `DELETE v1/models/requests/{id}/payloads` | forgets the input and output, makes the output's files 404 and the result 410 |
//! | `GET`/`PUT v1/storage/settings`, `GET`/`PUT v1/storage/files/acl`, `POST v1/storage/files/sign` | kept in memory ([`storage`]) |
//! | `GET v1/meta` | the webhook source ranges (loopback, where deliveries come from) |
//!
//! Errors use the platform's envelope, `{"error": {"type", "message",
//! "request_id"}}`, with its types (`authorization_error`, `validation_error`,
//! `not_found`, `rate_limited`, `server_error`, `not_implemented`) and an
//! `x-fal-request-id` header. Auth follows the document: `models` and `meta`
//! are open; the others need the testkit's key; usage, billing events and
//! payload deletion need an admin key: the testkit's key unless
//! [`crate::TestkitBuilder::admin_key`] names another (then the ordinary key
//! gets 403). An `Idempotency-Key` replays the first answer for 10 minutes.

mod ledger;
mod models;
mod pricing;
mod storage;
mod time;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use crate::router::Call;
use crate::{auth, reply};

pub(crate) use ledger::{record_queued, record_run, Ledger};
pub use pricing::{Price, PricingTable};

/// How long an `Idempotency-Key` answer is replayed (the document's 10 minutes).
const IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(600);

/// The platform's error categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Authorization,
    Validation,
    NotFound,
    Server,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Authorization => "authorization_error",
            Kind::Validation => "validation_error",
            Kind::NotFound => "not_found",
            Kind::Server => "server_error",
        }
    }
}

/// A platform error answer.
pub(crate) fn error(status: StatusCode, kind: Kind, message: &str, request_id: &str) -> Response {
    reply::json(
        status,
        &json!({"error": {"type": kind.as_str(), "message": message, "request_id": request_id}}),
    )
}

/// A 400 `validation_error`.
pub(crate) fn invalid(call: &Call, message: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        Kind::Validation,
        message,
        &call.request_id,
    )
}

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    Open,
    Key,
    Admin,
}

/// Answers kept for replay, by (method and path, `Idempotency-Key`): when
/// each was made, its status and body.
type Replays = HashMap<(String, String), (Instant, StatusCode, Bytes)>;

/// State of the platform routes that is not computed from elsewhere.
pub(crate) struct PlatformState {
    pub pricing: PricingTable,
    pub admin_key: Option<String>,
    pub ledger: Ledger,
    pub storage: storage::StorageSettings,
    replays: Mutex<Replays>,
}

impl PlatformState {
    pub(crate) fn new(
        pricing: PricingTable,
        admin_key: Option<String>,
        retention: Duration,
    ) -> Self {
        PlatformState {
            pricing,
            admin_key,
            ledger: Ledger::new(retention),
            storage: storage::StorageSettings::default(),
            replays: Mutex::new(HashMap::new()),
        }
    }
}

/// Everything on the API host: `v1/...` routes, anything else 404.
pub(crate) async fn handle(call: Call, request: Request) -> Response {
    let method = request.method().clone();
    let path = call.path.trim_end_matches('/').to_owned();
    let segments: Vec<&str> = path.split('/').collect();
    let access = match (&method, segments.as_slice()) {
        (&Method::GET, ["v1", "models"] | ["v1", "meta"]) => Access::Open,
        (&Method::GET, ["v1", "models", "usage" | "billing-events"])
        | (&Method::DELETE, ["v1", "models", "requests", _, "payloads"]) => Access::Admin,
        (_, ["v1", ..]) => Access::Key,
        _ => return reply::path_not_found(&format!("/{path}")),
    };
    if let Err(response) = authorize(&call, request.headers(), access) {
        return response;
    }
    let idempotency = request
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|key| (format!("{method} {path}"), key.to_owned()));
    if let Some(key) = &idempotency {
        if let Some(replay) = replayed(&call, key) {
            return replay;
        }
    }
    let response = route(&call, &method, &segments, request).await;
    match idempotency {
        Some(key) => remember(&call, key, response).await,
        None => response,
    }
}

async fn route(call: &Call, method: &Method, segments: &[&str], request: Request) -> Response {
    let platform = &call.shared.platform;
    match (method, segments) {
        (&Method::GET, ["v1", "models"]) => models::list(call),
        (&Method::GET, ["v1", "models", "pricing"]) => pricing::prices(call, &platform.pricing),
        (&Method::POST, ["v1", "models", "pricing", "estimate"]) => {
            match read_json(call, request).await {
                Ok(body) => pricing::estimate(call, &platform.pricing, &body),
                Err(response) => response,
            }
        }
        (&Method::GET, ["v1", "models", "usage"]) => ledger::usage(call),
        (&Method::GET, ["v1", "models", "analytics"]) => ledger::analytics(call),
        (&Method::GET, ["v1", "models", "billing-events"]) => ledger::billing_events(call),
        (&Method::GET, ["v1", "models", "requests", "by-endpoint"]) => ledger::by_endpoint(call),
        (&Method::DELETE, ["v1", "models", "requests", id, "payloads"]) => {
            ledger::delete_payloads(call, id)
        }
        (&Method::GET, ["v1", "storage", "settings"]) => storage::settings(call),
        (&Method::PUT, ["v1", "storage", "settings"]) => match read_json(call, request).await {
            Ok(body) => storage::update_settings(call, &body),
            Err(response) => response,
        },
        (&Method::GET, ["v1", "storage", "files", "acl"]) => storage::acl(call),
        (&Method::PUT, ["v1", "storage", "files", "acl"]) => match read_json(call, request).await {
            Ok(body) => storage::set_acl(call, &body),
            Err(response) => response,
        },
        (&Method::POST, ["v1", "storage", "files", "sign"]) => match read_json(call, request).await
        {
            Ok(body) => storage::sign(call, &body),
            Err(response) => response,
        },
        (&Method::GET, ["v1", "meta"]) => reply::json(
            StatusCode::OK,
            &json!({"webhook_ip_ranges": ["127.0.0.1/32", "::1/128"]}),
        ),
        (_, path) => error(
            StatusCode::NOT_FOUND,
            Kind::NotFound,
            &format!("{method} /{} is not served by this testkit", path.join("/")),
            &call.request_id,
        ),
    }
}

fn authorize(call: &Call, headers: &HeaderMap, access: Access) -> Result<(), Response> {
    let settings = &call.shared.settings;
    if access == Access::Open || !settings.require_auth {
        return Ok(());
    }
    let admin = call.shared.platform.admin_key.as_deref();
    let with = |key: &str| auth::check(headers, key).is_ok();
    let refused = |status: StatusCode, message: &str| {
        Err(error(
            status,
            Kind::Authorization,
            message,
            &call.request_id,
        ))
    };
    match access {
        Access::Open => Ok(()),
        Access::Key if with(&settings.key) || admin.is_some_and(with) => Ok(()),
        Access::Admin if admin.map_or(with(&settings.key), with) => Ok(()),
        Access::Admin if with(&settings.key) => refused(
            StatusCode::FORBIDDEN,
            "This operation needs an admin API key",
        ),
        Access::Key | Access::Admin if headers.contains_key(http::header::AUTHORIZATION) => {
            refused(StatusCode::UNAUTHORIZED, "Invalid API key")
        }
        Access::Key | Access::Admin => refused(
            StatusCode::UNAUTHORIZED,
            "No API key provided: send Authorization: Key <key>",
        ),
    }
}

fn replayed(call: &Call, key: &(String, String)) -> Option<Response> {
    let mut replays = call
        .shared
        .platform
        .replays
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let now = Instant::now();
    replays.retain(|_, (at, _, _)| now.duration_since(*at) < IDEMPOTENCY_WINDOW);
    let (_, status, body) = replays.get(key)?;
    Some(reply::json_bytes(*status, body.clone()))
}

async fn remember(call: &Call, key: (String, String), response: Response) -> Response {
    let status = response.status();
    if status.is_server_error() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            Kind::Server,
            "the answer could not be kept for replay",
            &call.request_id,
        );
    };
    call.shared
        .platform
        .replays
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, (Instant::now(), status, bytes.clone()));
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

async fn read_json(call: &Call, request: Request) -> Result<Value, Response> {
    let body = crate::queue::read_body(request).await?;
    serde_json::from_slice(&body).map_err(|e| invalid(call, &format!("the body is not JSON: {e}")))
}

/// Every value of query parameter `name`, comma-separated ones split
/// (`?endpoint_id=a,b` and `?endpoint_id=a&endpoint_id=b` are the same).
pub(crate) fn list_param(call: &Call, name: &str) -> Vec<String> {
    call.query_pairs()
        .into_iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `limit` (default `default`, at most `max`) and the page from `cursor`
/// (base64 of the 1-based page number, as fal's own cursors are).
pub(crate) fn paging(call: &Call, default: usize, max: usize) -> Result<(usize, usize), Response> {
    let limit = match call.query_param("limit") {
        None => default,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                return Err(invalid(
                    call,
                    &format!("limit must be an integer from 1 to {max}, got {text:?}"),
                ))
            }
        },
    };
    let page = match call.query_param("cursor") {
        None => 1,
        Some(cursor) => match decode_cursor(&cursor) {
            Some(page) => page,
            None => return Err(invalid(call, &format!("invalid cursor {cursor:?}"))),
        },
    };
    Ok((limit, page))
}

/// One page of `items` and the listing's `next_cursor` / `has_more`.
pub(crate) fn page_of<T: Clone>(items: &[T], limit: usize, page: usize) -> (Vec<T>, Value, bool) {
    use base64::Engine;
    let offset = (page - 1).saturating_mul(limit);
    let slice: Vec<T> = items.iter().skip(offset).take(limit).cloned().collect();
    let more = offset.saturating_add(limit) < items.len();
    let next = if more {
        json!(base64::engine::general_purpose::STANDARD.encode((page + 1).to_string()))
    } else {
        Value::Null
    };
    (slice, next, more)
}

pub(crate) fn decode_cursor(cursor: &str) -> Option<usize> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()?;
    let page: usize = std::str::from_utf8(&bytes).ok()?.parse().ok()?;
    (page >= 1).then_some(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_base64_page_numbers() {
        assert_eq!(decode_cursor("Mg=="), Some(2));
        assert_eq!(decode_cursor("MA=="), None);
        assert_eq!(decode_cursor("!!"), None);
        let (items, next, more) = page_of(&[1, 2, 3], 2, 1);
        assert_eq!((items, next, more), (vec![1, 2], json!("Mg=="), true));
        let (items, next, more) = page_of(&[1, 2, 3], 2, 2);
        assert_eq!((items, next, more), (vec![3], Value::Null, false));
    }
}
