//! One port, every fal host (DESIGN.md "Testkit routing").
//!
//! A request is routed by its `x-fal-target-url` header when present (the host
//! picks the service, the path the route), else by its first path segment:
//!
//! | prefix | real host | service |
//! |---|---|---|
//! | `/queue` | `queue.fal.run` | queue: submit, status, status stream, result, cancel |
//! | `/run` | `fal.run` | direct run, `/stream`, `/realtime` |
//! | `/rest` | `rest.fal.ai`, `rest.alpha.fal.ai` | tokens, storage, JWKS |
//! | `/cdn` | `v3.fal.media` | files |
//! | `/web` | `fal.ai` | `/api/openapi/queue/openapi.json` (spec 11.1) |
//! | `/api` | `api.fal.ai` | the Platform APIs, `/v1/…` (`crate::platform`) |
//!
//! Every URL handed out is absolute ([`Urls`]). Queue URLs (`status_url`,
//! `response_url`, `cancel_url`) use the form the request came in:
//! `http://<Host>/queue/...` for the prefix form, `https://queue.fal.run/...`
//! for a request that came by `x-fal-target-url`, which the client sends
//! through its proxy again. URLs a client fetches without a proxy (signed
//! upload and part URLs, file URLs) always point at the testkit itself
//! (`http://<Host>/cdn/...`), whichever way the request came: fal's own JS
//! client PUTs upload bytes straight to the signed URL, never through the proxy.
//! A `x-fal-target-url` that names the testkit itself is routed by its path
//! prefix, so a client that does send those URLs through its proxy works too.
//!
//! Around every route, in this order: auth (queue, run, rest, and non-GET cdn;
//! on by default), fault selection ([`crate::faults`]), the handler, then the
//! `x-fal-request-id` header and the journal entry.
//!
//! # Extension points
//!
//! Handlers have the shape `async fn handle(call: Call, request: Request) -> Response`.
//! [`Call`] carries the shared state, the path inside the host, the query, the
//! URL bases to hand out, the request id for this exchange, the endpoint id and
//! the fault selected for the request (e.g. [`crate::faults::Fault::TruncateStream`]).
//! Until a module exists its routes answer 404 with fal's body. Hook points in
//! [`dispatch`]:
//! - `run/<id>/stream` → `crate::stream::handle` (endpoint id without `/stream`);
//! - `run/<id>/realtime` → `crate::realtime::handle` (the [`Request`] still holds
//!   the upgrade, so `WebSocketUpgrade::from_request` works);
//! - `rest/...` → `rest` below: `tokens/` → realtime/stream module,
//!   `storage/...` → `crate::storage`, `.well-known/jwks.json` → `crate::webhook`;
//! - `cdn/...` other than the testkit's own images → `crate::storage`.
//!
//! Stream and realtime requests carrying `fal_jwt_token` in the query skip the
//! header check here: the module that issued the token verifies it.
//! A submit's `?fal_webhook=` URL is kept on the request
//! ([`crate::Testkit::webhook_of`]); the webhook module delivers it.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use http::header::{CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use uuid::Uuid;

use crate::faults::Fault;
use crate::journal::{redacted_headers, JournalEntry, RouteKind};
use crate::reply::{self, REQUEST_ID, TIMEOUT_TYPE};
use crate::state::Shared;
use crate::{auth, cdn, discovery, queue, run};

/// Pause before cutting a connection on purpose, so what was meant to arrive
/// (headers, partial body, earlier events) leaves the server's write buffer first.
pub(crate) const FLUSH_PAUSE: Duration = Duration::from_millis(30);

/// The header fal's proxy convention uses for the real target URL.
const TARGET_URL: &str = "x-fal-target-url";

/// Which fal host a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Queue,
    Run,
    Rest,
    Cdn,
    Web,
    Api,
}

/// Absolute base URLs to hand out for one request.
#[derive(Clone, Debug)]
pub(crate) struct Urls {
    /// Queue URLs: the routing form of the request (fal's for a proxied one).
    pub queue: String,
    /// Files and signed uploads: always the testkit itself, since clients
    /// fetch them without their proxy.
    pub cdn: String,
}

impl Urls {
    /// For a request addressed to the testkit by path prefix.
    fn local(authority: &str) -> Self {
        let base = format!("http://{authority}");
        Urls {
            queue: format!("{base}/queue"),
            cdn: format!("{base}/cdn"),
        }
    }

    /// For a request that came through a proxy (`x-fal-target-url`).
    fn proxied(authority: &str) -> Self {
        Urls {
            queue: "https://queue.fal.run".into(),
            cdn: format!("http://{authority}/cdn"),
        }
    }
}

/// Everything a route handler needs about one request.
pub(crate) struct Call {
    pub shared: Arc<Shared>,
    #[allow(dead_code)] // read by extension modules
    pub service: Service,
    /// Path inside the host, without the leading `/` (e.g. `fal-ai/flux/dev/stream`).
    pub path: String,
    /// Raw query string (from the target URL when routed by header).
    pub query: Option<String>,
    pub urls: Urls,
    /// Request id of this exchange when the route does not assign its own.
    #[allow(dead_code)] // read by extension modules (stream, realtime)
    pub request_id: String,
    /// The fault selected for this request, for handlers that act on it.
    pub fault: Option<Fault>,
}

impl Call {
    /// Decoded query pairs.
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Query pairs as a map (last value wins), the shape `realtime::handle` takes.
    #[allow(dead_code)] // read when the realtime route is wired in
    pub(crate) fn query_map(&self) -> std::collections::HashMap<String, String> {
        self.query_pairs().into_iter().collect()
    }

    /// First value of query parameter `name`.
    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

/// A queue operation on an existing request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestOp {
    Status,
    StatusStream,
    Result,
    Cancel,
}

/// The route a request resolves to.
#[derive(Clone, Debug)]
enum Route {
    Submit {
        endpoint: String,
    },
    Request {
        prefix: String,
        raw_id: String,
        op: RequestOp,
    },
    Run {
        endpoint: String,
    },
    Stream {
        endpoint: String,
    },
    Realtime {
        endpoint: String,
    },
    Rest,
    Cdn,
    OpenApi,
    Models,
    Platform,
    Unknown,
}

impl Route {
    fn kind(&self) -> RouteKind {
        match self {
            Route::Submit { .. } => RouteKind::Submit,
            Route::Request { op, .. } => match op {
                RequestOp::Status => RouteKind::Status,
                RequestOp::StatusStream => RouteKind::StatusStream,
                RequestOp::Result => RouteKind::Result,
                RequestOp::Cancel => RouteKind::Cancel,
            },
            Route::Run { .. } => RouteKind::Run,
            Route::Stream { .. } => RouteKind::Stream,
            Route::Realtime { .. } => RouteKind::Realtime,
            Route::Rest => RouteKind::Rest,
            Route::Cdn => RouteKind::Cdn,
            Route::OpenApi => RouteKind::OpenApi,
            Route::Models => RouteKind::Models,
            Route::Platform => RouteKind::Platform,
            Route::Unknown => RouteKind::Unknown,
        }
    }
}

/// Where a request is going, before route classification.
struct Target {
    service: Service,
    path: String,
    query: Option<String>,
    urls: Urls,
}

/// Maps a real fal host to its service.
fn service_of_host(host: &str) -> Option<Service> {
    match host {
        "queue.fal.run" => Some(Service::Queue),
        "fal.run" => Some(Service::Run),
        "rest.fal.ai" | "rest.alpha.fal.ai" => Some(Service::Rest),
        "v3.fal.media" => Some(Service::Cdn),
        "fal.ai" => Some(Service::Web),
        "api.fal.ai" => Some(Service::Api),
        _ => None,
    }
}

fn service_of_prefix(prefix: &str) -> Option<Service> {
    match prefix {
        "queue" => Some(Service::Queue),
        "run" => Some(Service::Run),
        "rest" => Some(Service::Rest),
        "cdn" => Some(Service::Cdn),
        "web" => Some(Service::Web),
        "api" => Some(Service::Api),
        _ => None,
    }
}

fn resolve(shared: &Shared, request: &Request) -> Result<Target, Response> {
    let own = authority(shared, request);
    if let Some(header) = request.headers().get(TARGET_URL) {
        let bad = |why: &str| {
            reply::detail(
                StatusCode::BAD_REQUEST,
                &format!("Invalid {TARGET_URL}: {why}"),
            )
        };
        let text = header.to_str().map_err(|_| bad("not visible ASCII"))?;
        let url = url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
        let query = url
            .query()
            .map(str::to_owned)
            .or_else(|| request.uri().query().map(str::to_owned));
        if names_this_testkit(shared, &own, &url) {
            // A URL the testkit handed out, sent through a proxy anyway.
            let (service, path) = by_prefix(url.path()).ok_or_else(|| bad("no such path"))?;
            return Ok(Target {
                service,
                path,
                query,
                urls: Urls::local(&own),
            });
        }
        let host = url.host_str().unwrap_or_default();
        let service = service_of_host(host)
            .ok_or_else(|| bad(&format!("{host:?} is not a fal host this testkit serves")))?;
        return Ok(Target {
            service,
            path: url.path().trim_start_matches('/').to_owned(),
            query,
            urls: Urls::proxied(&own),
        });
    }
    let (service, path) = by_prefix(request.uri().path())
        .ok_or_else(|| reply::path_not_found(request.uri().path()))?;
    Ok(Target {
        service,
        path,
        query: request.uri().query().map(str::to_owned),
        urls: Urls::local(&own),
    })
}

/// The service and in-host path of a prefix-form path (`/queue/a/b` → queue, `a/b`).
fn by_prefix(path: &str) -> Option<(Service, String)> {
    let path = path.trim_start_matches('/');
    let (prefix, rest) = path.split_once('/').unwrap_or((path, ""));
    service_of_prefix(prefix).map(|service| (service, rest.to_owned()))
}

/// Whether `url` points at this testkit: the authority the request came to,
/// or the address it is bound to.
fn names_this_testkit(shared: &Shared, own: &str, url: &url::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let Some(port) = url.port_or_known_default() else {
        return false;
    };
    let target = format!("{host}:{port}");
    let bound = shared.fallback_host.get().map(String::as_str);
    (url.scheme() == "http" || url.scheme() == "ws")
        && (target == own || Some(target.as_str()) == bound)
}

/// `host:port` the client used, so handed-out URLs reach this server the same way.
fn authority(shared: &Shared, request: &Request) -> String {
    let from_header = request
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| h.parse::<http::uri::Authority>().is_ok());
    request
        .uri()
        .authority()
        .map(|a| a.as_str())
        .or(from_header)
        .map(str::to_owned)
        .or_else(|| shared.fallback_host.get().cloned())
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

fn classify(service: Service, path: &str) -> Route {
    let trimmed = path.trim_end_matches('/');
    match service {
        Service::Queue => classify_queue(trimmed),
        Service::Run => {
            if let Some(endpoint) = trimmed.strip_suffix("/stream") {
                Route::Stream {
                    endpoint: endpoint.to_owned(),
                }
            } else if let Some(endpoint) = trimmed.strip_suffix("/realtime") {
                Route::Realtime {
                    endpoint: endpoint.to_owned(),
                }
            } else {
                Route::Run {
                    endpoint: trimmed.to_owned(),
                }
            }
        }
        Service::Rest => Route::Rest,
        Service::Cdn => Route::Cdn,
        Service::Web if trimmed == "api/openapi/queue/openapi.json" => Route::OpenApi,
        Service::Api if trimmed == "v1/models" => Route::Models,
        Service::Api => Route::Platform,
        Service::Web => Route::Unknown,
    }
}

fn classify_queue(path: &str) -> Route {
    let segments: Vec<&str> = path.split('/').collect();
    for i in 2..segments.len() {
        if segments[i] != "requests" {
            continue;
        }
        let op = match &segments[i + 1..] {
            [_] => RequestOp::Result,
            [_, "status"] => RequestOp::Status,
            [_, "status", "stream"] => RequestOp::StatusStream,
            [_, "cancel"] => RequestOp::Cancel,
            _ => continue,
        };
        return Route::Request {
            prefix: segments[..i].join("/"),
            raw_id: segments[i + 1].to_owned(),
            op,
        };
    }
    Route::Submit {
        endpoint: path.to_owned(),
    }
}

fn needs_auth(route: &Route, method: &Method, query: Option<&str>) -> bool {
    let has_jwt = query.is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "fal_jwt_token")
    });
    match route {
        Route::Submit { .. } | Route::Request { .. } | Route::Run { .. } | Route::Rest => true,
        Route::Stream { .. } | Route::Realtime { .. } => !has_jwt,
        Route::Cdn => !matches!(*method, Method::GET | Method::HEAD),
        // The Platform APIs answer auth failures in their own envelope.
        Route::OpenApi | Route::Models | Route::Platform | Route::Unknown => false,
    }
}

/// What the journal needs besides the response.
struct Seen {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    route: RouteKind,
    endpoint: Option<String>,
}

/// The single axum handler: routes, authenticates, injects faults, journals.
pub(crate) async fn entry(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let mut seen = Seen {
        method: request.method().clone(),
        path: request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_default(),
        headers: redacted_headers(request.headers()),
        route: RouteKind::Unknown,
        endpoint: None,
    };
    let fresh_id = Uuid::new_v4().to_string();
    let target = match resolve(&shared, &request) {
        Ok(target) => target,
        Err(response) => return finish(&shared, seen, response, &fresh_id, true),
    };
    let route = classify(target.service, &target.path);
    seen.route = route.kind();
    let addressed = match &route {
        Route::Request { raw_id, .. } => Some(raw_id.clone()),
        _ => None,
    };
    seen.endpoint = match &route {
        Route::Submit { endpoint }
        | Route::Run { endpoint }
        | Route::Stream { endpoint }
        | Route::Realtime { endpoint } => Some(endpoint.clone()),
        Route::Request { prefix, raw_id, .. } => Some(
            Uuid::parse_str(raw_id)
                .ok()
                .and_then(|id| shared.store.endpoint_of(id))
                .map(|e| e.to_string())
                .unwrap_or_else(|| prefix.clone()),
        ),
        _ => None,
    };
    let own_id = addressed.clone().unwrap_or(fresh_id);

    // Signed upload URLs carry their own authorization; fal's key set is public.
    let self_authorized = (target.service == Service::Cdn
        && crate::storage::authorizes_itself(&target.path))
        || (target.service == Service::Rest && target.path == ".well-known/jwks.json");
    if shared.settings.require_auth
        && !self_authorized
        && needs_auth(&route, request.method(), target.query.as_deref())
    {
        if let Err(response) = auth::check(request.headers(), &shared.settings.key) {
            return finish(&shared, seen, response, &own_id, true);
        }
    }

    let mut fault = shared
        .faults
        .take(seen.route, seen.endpoint.as_deref(), addressed.as_deref());
    if let Some(Fault::Delay { ms }) = fault {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ms)) => {}
            () = shared.shutdown.cancelled() => {}
        }
        fault = None;
    }
    match &fault {
        Some(Fault::Status {
            status,
            retry_after,
            body,
            ingress,
            request_id,
        }) => {
            let response = status_fault(*status, *retry_after, body.as_ref(), *ingress);
            let answered_as = request_id.as_deref().unwrap_or(&own_id);
            return finish(&shared, seen, response, answered_as, !*ingress);
        }
        Some(Fault::EndlessLine { interval_ms }) => {
            let response =
                endless_line(Duration::from_millis(*interval_ms), shared.shutdown.clone());
            return finish(&shared, seen, response, &own_id, true);
        }
        Some(Fault::UserTimeout) => {
            let mut response = reply::json(
                StatusCode::GATEWAY_TIMEOUT,
                &serde_json::json!({"detail": "Request timed out", "error_type": "request_timeout"}),
            );
            let headers = response.headers_mut();
            headers.insert(TIMEOUT_TYPE, HeaderValue::from_static("user"));
            headers.insert(
                reply::ERROR_TYPE,
                HeaderValue::from_static("request_timeout"),
            );
            return finish(&shared, seen, response, &own_id, true);
        }
        _ => {}
    }
    let drop_after = match &fault {
        Some(Fault::DropConnection { after_bytes }) => Some(*after_bytes),
        _ => None,
    };
    let malformed = matches!(fault, Some(Fault::MalformedBody));
    let drip_every = match &fault {
        Some(Fault::Drip { interval_ms }) => Some(Duration::from_millis(*interval_ms)),
        _ => None,
    };
    let call = Call {
        shared: shared.clone(),
        service: target.service,
        path: target.path,
        query: target.query,
        urls: target.urls,
        request_id: own_id.clone(),
        fault,
    };
    let response = dispatch(call, route, request).await;
    let response = match drop_after {
        Some(after) => cut(response, after),
        None => response,
    };
    let response = if malformed {
        malformed_body(response)
    } else {
        response
    };
    let response = match drip_every {
        Some(interval) => drip(response, interval, shared.shutdown.clone()),
        None => response,
    };
    finish(&shared, seen, response, &own_id, true)
}

/// `200 text/event-stream` with a body that is one line without end: `data: `,
/// then an `x` per `interval`, until the testkit shuts down.
fn endless_line(interval: Duration, shutdown: tokio_util::sync::CancellationToken) -> Response {
    let start =
        futures::stream::once(async { Ok::<_, std::io::Error>(Bytes::from_static(b"data: ")) });
    let rest = futures::stream::unfold(shutdown, move |shutdown| async move {
        tokio::select! {
            () = tokio::time::sleep(interval) => Some((Ok(Bytes::from_static(b"x")), shutdown)),
            () = shutdown.cancelled() => None,
        }
    });
    let mut response = Response::new(Body::from_stream(start.chain(rest)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    response
}

/// The same status and headers at once, then the body one byte per
/// `interval` (the length is announced when known, as a slow host would).
/// Stops when the testkit shuts down.
fn drip(
    response: Response,
    interval: Duration,
    shutdown: tokio_util::sync::CancellationToken,
) -> Response {
    let (mut parts, body) = response.into_parts();
    if let Some(n) = body.size_hint().exact() {
        parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
    }
    let bytes = futures::stream::once(async move {
        axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default()
    });
    let stream = bytes.flat_map(move |whole| {
        let shutdown = shutdown.clone();
        futures::stream::unfold((whole, 0usize), move |(whole, at)| {
            let shutdown = shutdown.clone();
            async move {
                if at >= whole.len() {
                    return None;
                }
                tokio::select! {
                    () = tokio::time::sleep(interval) => {}
                    () = shutdown.cancelled() => return None,
                }
                let byte = whole.slice(at..at + 1);
                Some((Ok::<_, std::io::Error>(byte), (whole, at + 1)))
            }
        })
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

/// Adds `x-fal-request-id` (unless the handler set one, or this mimics an
/// ingress error) and records the journal entry.
fn finish(
    shared: &Shared,
    seen: Seen,
    mut response: Response,
    request_id: &str,
    add_id: bool,
) -> Response {
    if add_id && !response.headers().contains_key(REQUEST_ID) {
        if let Ok(value) = HeaderValue::from_str(request_id) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
    }
    let carries_request = matches!(
        seen.route,
        RouteKind::Submit
            | RouteKind::Status
            | RouteKind::StatusStream
            | RouteKind::Result
            | RouteKind::Cancel
            | RouteKind::Run
            | RouteKind::Stream
            | RouteKind::Realtime
    );
    let request_id = carries_request
        .then(|| response.headers().get(REQUEST_ID))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    shared.journal.push(JournalEntry {
        method: seen.method.to_string(),
        route: seen.route,
        endpoint: seen.endpoint,
        request_id,
        path: seen.path,
        headers: seen.headers,
        status: response.status().as_u16(),
    });
    response
}

fn status_fault(
    status: u16,
    retry_after: Option<u64>,
    body: Option<&serde_json::Value>,
    ingress: bool,
) -> Response {
    let (code, valid) = match StatusCode::from_u16(status) {
        Ok(code) => (code, true),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, false),
    };
    let mut response = if ingress {
        reply::ingress_page(code)
    } else if let Some(body) = body {
        reply::json(code, body)
    } else if valid {
        reply::detail(code, code.canonical_reason().unwrap_or("Error"))
    } else {
        reply::detail(
            code,
            &format!("fault injection: {status} is not an HTTP status"),
        )
    };
    if let Some(secs) = retry_after {
        response = reply::with_retry_after(response, secs);
    }
    response
}

/// The same status and headers around a body that is not JSON (the length
/// follows the new body).
fn malformed_body(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    Response::from_parts(parts, Body::from("this is not json"))
}

/// Sends the status, headers and `after` body bytes (default half), then cuts
/// the connection instead of ending the body.
fn cut(response: Response, after: Option<usize>) -> Response {
    let (mut parts, body) = response.into_parts();
    let exact = body.size_hint().exact();
    let limit = after.unwrap_or_else(|| exact.map_or(16, |n| usize::try_from(n / 2).unwrap_or(16)));
    if let Some(n) = exact {
        parts.headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
    }
    let aborted = || {
        std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "connection dropped by fault injection",
        )
    };
    let stream = futures::stream::unfold(
        (body.into_data_stream(), 0usize, false),
        move |(mut inner, sent, done)| async move {
            if done {
                return None;
            }
            if sent >= limit {
                // Let the server flush the headers and the partial body first.
                tokio::time::sleep(FLUSH_PAUSE).await;
                return Some((Err(aborted()), (inner, sent, true)));
            }
            match inner.next().await {
                Some(Ok(chunk)) => {
                    let room = limit - sent;
                    let part: Bytes = if chunk.len() > room {
                        chunk.slice(..room)
                    } else {
                        chunk
                    };
                    let sent = sent + part.len();
                    Some((Ok(part), (inner, sent, false)))
                }
                Some(Err(_)) | None => {
                    tokio::time::sleep(FLUSH_PAUSE).await;
                    Some((Err(aborted()), (inner, sent, true)))
                }
            }
        },
    );
    Response::from_parts(parts, Body::from_stream(stream))
}

async fn dispatch(call: Call, route: Route, request: Request) -> Response {
    let method = request.method().clone();
    match route {
        Route::Submit { endpoint } => {
            if method == Method::POST {
                queue::submit(call, &endpoint, request).await
            } else {
                reply::method_not_allowed()
            }
        }
        Route::Request { prefix, raw_id, op } => {
            let wanted = match op {
                RequestOp::Cancel => Method::PUT,
                _ => Method::GET,
            };
            if method != wanted {
                return reply::method_not_allowed();
            }
            queue::request_op(call, &prefix, &raw_id, op)
        }
        Route::Run { endpoint } => run::handle(call, &endpoint, request).await,
        Route::Stream { endpoint } => crate::stream::handle(call, &endpoint, request).await,
        Route::Realtime { endpoint } => crate::realtime::handle(call, &endpoint, request).await,
        Route::Rest => rest(call, request).await,
        Route::Cdn if crate::storage::serves_cdn(&call.path) => {
            let storage = call.shared.storage.clone();
            storage
                .handle_cdn(&call.path, call.query.as_deref(), &call.urls.cdn, request)
                .await
        }
        Route::Cdn => cdn::handle(call, &method).await,
        Route::OpenApi if method != Method::GET => reply::method_not_allowed(),
        Route::OpenApi => discovery::openapi(&call),
        Route::Models | Route::Platform => crate::platform::handle(call, request).await,
        Route::Unknown => reply::path_not_found(&format!("/{}", call.path)),
    }
}

/// REST host: `tokens/` (realtime/stream), `storage/...` (`crate::storage`),
/// `.well-known/jwks.json` (`crate::webhook`).
async fn rest(call: Call, request: Request) -> Response {
    let path = call.path.trim_end_matches('/');
    if path.starts_with("storage/") {
        let storage = call.shared.storage.clone();
        return storage
            .handle_rest(&call.path, call.query.as_deref(), &call.urls.cdn, request)
            .await;
    }
    match path {
        "tokens" => crate::realtime::issue_token(call, request).await,
        ".well-known/jwks.json" if request.method() == Method::GET => {
            call.shared.webhooks.jwks_response()
        }
        _ => not_served(&call),
    }
}

/// fal's 404 for a route whose module is not part of this build yet.
fn not_served(call: &Call) -> Response {
    reply::path_not_found(&format!("/{}", call.path))
}

/// Header map helper for handlers that need a header as text.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_paths_split_into_prefix_id_and_op() {
        let cases = [
            ("fal-ai/flux/dev", "submit"),
            ("fal-ai/flux/requests/abc/status", "fal-ai/flux abc Status"),
            (
                "fal-ai/flux/dev/requests/abc/status/stream",
                "fal-ai/flux/dev abc StatusStream",
            ),
            ("fal-ai/flux/requests/abc", "fal-ai/flux abc Result"),
            ("fal-ai/flux/requests/abc/cancel", "fal-ai/flux abc Cancel"),
            ("fal-ai/requests/abc", "submit"),
        ];
        for (path, want) in cases {
            let got = match classify_queue(path) {
                Route::Submit { .. } => "submit".to_owned(),
                Route::Request { prefix, raw_id, op } => format!("{prefix} {raw_id} {op:?}"),
                other => format!("{other:?}"),
            };
            assert_eq!(got, want, "{path}");
        }
    }

    #[test]
    fn real_hosts_map_to_services() {
        let cases = [
            ("queue.fal.run", Some(Service::Queue)),
            ("fal.run", Some(Service::Run)),
            ("rest.fal.ai", Some(Service::Rest)),
            ("rest.alpha.fal.ai", Some(Service::Rest)),
            ("v3.fal.media", Some(Service::Cdn)),
            ("fal.ai", Some(Service::Web)),
            ("api.fal.ai", Some(Service::Api)),
            ("evil.fal.run.example", None),
        ];
        for (host, want) in cases {
            assert_eq!(service_of_host(host), want, "{host}");
        }
    }

    #[test]
    fn run_suffixes_pick_stream_and_realtime() {
        assert!(
            matches!(classify(Service::Run, "a/b/stream"), Route::Stream { endpoint } if endpoint == "a/b")
        );
        assert!(matches!(
            classify(Service::Run, "a/b/realtime"),
            Route::Realtime { .. }
        ));
        assert!(
            matches!(classify(Service::Run, "a/b/"), Route::Run { endpoint } if endpoint == "a/b")
        );
        assert!(matches!(
            classify(Service::Web, "api/openapi/queue/openapi.json"),
            Route::OpenApi
        ));
        assert!(matches!(
            classify(Service::Api, "v1/models/"),
            Route::Models
        ));
    }
}
