//! fal storage, server side (spec 7.1/7.2): `initiate` and
//! `initiate-multipart` on the REST host hand out a signed upload URL and the
//! public file URL; the signed URL takes one PUT, or numbered part PUTs and a
//! `complete` call; every completed upload is then served back byte-identical,
//! with its content type, at its file URL.
//!
//! Content goes to a temporary directory, streamed to disk as it arrives, so
//! uploads of any size cost the server little memory. Nothing is served before
//! an upload is complete: a cut single PUT or a multipart upload that never
//! completes leaves no file behind.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::{Extension, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::sync::OnceCell;
use tokio_util::io::ReaderStream;
use tower::ServiceExt;

/// Highest part number accepted (the usual object-store limit).
const MAX_PART: u32 = 10_000;

/// Storage of one testkit: pending uploads, finished files, and faults.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    /// Created on the first upload, removed with the testkit.
    dir: OnceCell<tempfile::TempDir>,
    state: Mutex<Registry>,
    cut_parts: AtomicU32,
    rest_routes: OnceLock<Router>,
    cdn_routes: OnceLock<Router>,
}

/// The CDN base URL to hand out for one request: the testkit itself
/// (`http://127.0.0.1:PORT/cdn`) however the request came, because clients
/// PUT to signed URLs and fetch files without their proxy.
#[derive(Clone)]
struct CdnBase(String);

#[derive(Default)]
struct Registry {
    pending: HashMap<String, Pending>,
    /// CDN tokens handed out by `/storage/auth/token` (spec 7.3).
    cdn_tokens: HashSet<String>,
    files: HashMap<String, Stored>,
    lifecycles: Vec<Value>,
    completed_multipart: u32,
}

struct Pending {
    signature: String,
    file_url: String,
    content_type: String,
    file_name: String,
    multipart: bool,
    parts: BTreeMap<u32, (PathBuf, String)>,
}

#[derive(Clone)]
struct Stored {
    /// The content, in order: one file for a single PUT, the parts (kept as
    /// uploaded, never copied) for a multipart upload.
    paths: Vec<PathBuf>,
    content_type: String,
    len: u64,
    file_url: String,
}

/// What the testkit stored for one uploaded file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    /// The URL the file is served at.
    pub file_url: String,
    /// The content type it is served with.
    pub content_type: String,
    /// Its size in bytes.
    pub len: u64,
}

impl Default for Storage {
    fn default() -> Self {
        Self::new()
    }
}

impl Storage {
    /// Empty storage; its temporary directory is made on the first upload.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                dir: OnceCell::new(),
                state: Mutex::new(Registry::default()),
                cut_parts: AtomicU32::new(0),
                rest_routes: OnceLock::new(),
                cdn_routes: OnceLock::new(),
            }),
        }
    }

    /// Serves a REST-host request under `storage/...`; `path` is the path
    /// inside the host, `cdn_base` the CDN URL to hand out.
    pub(crate) async fn handle_rest(
        &self,
        path: &str,
        query: Option<&str>,
        cdn_base: &str,
        request: Request,
    ) -> Response {
        let routes = self.inner.rest_routes.get_or_init(|| {
            Router::new()
                .route("/storage/upload/initiate", post(initiate_single))
                .route(
                    "/storage/upload/initiate-multipart",
                    post(initiate_multipart),
                )
                .route("/storage/auth/token", post(cdn_token))
                .with_state(self.clone())
        });
        forward(routes.clone(), path, query, cdn_base, request).await
    }

    /// Serves a CDN-host request: signed upload targets (no credentials, the
    /// signature in the query is the authorization) and the served files.
    pub(crate) async fn handle_cdn(
        &self,
        path: &str,
        query: Option<&str>,
        cdn_base: &str,
        request: Request,
    ) -> Response {
        let routes = self.inner.cdn_routes.get_or_init(|| {
            Router::new()
                .route("/storage/upload/{id}", put(put_single))
                .route("/storage/upload/{id}/{part}", put(put_part))
                .route("/storage/upload/{id}/complete", post(complete))
                .route("/storage/files/{id}/{name}", get(serve))
                .route("/files/upload", post(cdn_upload))
                .route("/files/upload/multipart", post(cdn_multipart_create))
                .route(
                    "/storage/files/{id}/{name}/multipart/{upload_id}/{part}",
                    put(cdn_multipart_part),
                )
                .route(
                    "/storage/files/{id}/{name}/multipart/{upload_id}/complete",
                    post(cdn_multipart_complete),
                )
                .with_state(self.clone())
        });
        forward(routes.clone(), path, query, cdn_base, request).await
    }

    /// Makes the next `n` part uploads fail mid-transfer: the server reads
    /// about half of the part, then answers 200 with a body it cuts off, as a
    /// dropped connection would. Nothing of such a part is kept.
    pub fn cut_next_parts(&self, n: u32) {
        self.inner.cut_parts.store(n, Ordering::SeqCst);
    }

    /// Every completed upload, in no particular order.
    pub fn files(&self) -> Vec<StoredFile> {
        self.lock()
            .files
            .values()
            .map(|stored| StoredFile {
                file_url: stored.file_url.clone(),
                content_type: stored.content_type.clone(),
                len: stored.len,
            })
            .collect()
    }

    /// Multipart uploads completed so far.
    pub fn completed_multipart_uploads(&self) -> u32 {
        self.lock().completed_multipart
    }

    /// The lifecycle settings (`X-Fal-Object-Lifecycle` JSON) received with
    /// initiate calls, in order.
    pub fn lifecycles(&self) -> Vec<Value> {
        self.lock().lifecycles.clone()
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the maps half-updated
        // (every update is a single insert or remove), so poisoning is ignored.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn scratch(&self, name: &str) -> io::Result<PathBuf> {
        let dir = self
            .inner
            .dir
            .get_or_try_init(|| async {
                tempfile::Builder::new()
                    .prefix("fal-testkit-storage")
                    .tempdir()
            })
            .await?;
        Ok(dir.path().join(name))
    }
}

/// Whether this module serves a CDN path.
pub(crate) fn serves_cdn(cdn_path: &str) -> bool {
    cdn_path.starts_with("storage/") || cdn_path.starts_with("files/upload")
}

/// Whether a CDN request carries its own authorization instead of the key:
/// a signed upload URL (the `signature` query, spec 7.1/7.2) or a CDN token
/// from `/storage/auth/token` (spec 7.3/7.4), both checked here.
pub(crate) fn authorizes_itself(cdn_path: &str) -> bool {
    let path = cdn_path.trim_end_matches('/');
    path.starts_with("storage/upload/")
        || path == "files/upload"
        || path == "files/upload/multipart"
        || (path.starts_with("storage/files/") && path.contains("/multipart/"))
}

/// Runs `routes` on `request` with its URI replaced by `/path?query`. The query
/// is the routed one: for a request that came by `x-fal-target-url` it is the
/// target's (where a signed URL's signature is), not the proxy URL's.
async fn forward(
    routes: Router,
    path: &str,
    query: Option<&str>,
    cdn_base: &str,
    request: Request,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    let uri = format!("/{}{query}", path.trim_start_matches('/'));
    parts.uri = match uri.parse() {
        Ok(uri) => uri,
        Err(_) => return error(StatusCode::BAD_REQUEST, format!("unusable path {path:?}")),
    };
    parts
        .extensions
        .insert(CdnBase(cdn_base.trim_end_matches('/').to_owned()));
    match routes.oneshot(Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn error(status: StatusCode, detail: impl Into<String>) -> Response {
    (status, Json(json!({ "detail": detail.into() }))).into_response()
}

#[derive(Deserialize)]
struct InitiateBody {
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    file_name: Option<String>,
}

#[derive(Deserialize)]
struct StorageTypeQuery {
    #[serde(default)]
    storage_type: Option<String>,
}

async fn initiate_single(
    State(storage): State<Storage>,
    Extension(base): Extension<CdnBase>,
    Query(query): Query<StorageTypeQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    initiate(storage, &base.0, query, headers, body, false)
}

async fn initiate_multipart(
    State(storage): State<Storage>,
    Extension(base): Extension<CdnBase>,
    Query(query): Query<StorageTypeQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    initiate(storage, &base.0, query, headers, body, true)
}

fn initiate(
    storage: Storage,
    base: &str,
    query: StorageTypeQuery,
    headers: HeaderMap,
    body: Bytes,
    multipart: bool,
) -> Response {
    if let Some(kind) = query.storage_type.as_deref() {
        if !matches!(kind, "fal-cdn-v3" | "gcs" | "fal-cdn") {
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown storage_type {kind:?}"),
            );
        }
    }
    let request: InitiateBody = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("initiate body must be JSON {{content_type, file_name}}: {err}"),
            )
        }
    };
    let lifecycle = match lifecycle_of(&headers) {
        Ok(lifecycle) => lifecycle,
        Err(response) => return response,
    };
    let registered = register(
        &storage,
        base,
        request.content_type,
        request.file_name,
        lifecycle,
        multipart,
    );
    Json(json!({
        "upload_url": registered.upload_url,
        "file_url": registered.file_url,
    }))
    .into_response()
}

/// A new pending upload.
struct Registered {
    id: String,
    signature: String,
    upload_url: String,
    file_url: String,
}

fn register(
    storage: &Storage,
    base: &str,
    content_type: Option<String>,
    file_name: Option<String>,
    lifecycle: Option<Value>,
    multipart: bool,
) -> Registered {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let signature = uuid::Uuid::new_v4().simple().to_string();
    let content_type = content_type
        .filter(|ct| !ct.trim().is_empty())
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let file_name = file_name
        .map(|name| sanitize(&name))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "upload.bin".to_owned());
    let upload_url = format!("{base}/storage/upload/{id}?signature={signature}");
    let file_url = format!("{base}/storage/files/{id}/{file_name}");
    let mut state = storage.lock();
    if let Some(lifecycle) = lifecycle {
        state.lifecycles.push(lifecycle);
    }
    state.pending.insert(
        id.clone(),
        Pending {
            signature: signature.clone(),
            file_url: file_url.clone(),
            content_type,
            file_name,
            multipart,
            parts: BTreeMap::new(),
        },
    );
    Registered {
        id,
        signature,
        upload_url,
        file_url,
    }
}

/// The lifecycle JSON of an upload, from either header fal's clients send.
fn lifecycle_of(headers: &HeaderMap) -> Result<Option<Value>, Response> {
    let raw = headers
        .get("x-fal-object-lifecycle")
        .or_else(|| headers.get("x-fal-object-lifecycle-preference"));
    match raw.map(|v| serde_json::from_slice::<Value>(v.as_bytes())) {
        None => Ok(None),
        Some(Ok(value)) if value.is_object() => Ok(Some(value)),
        Some(_) => Err(error(
            StatusCode::BAD_REQUEST,
            "X-Fal-Object-Lifecycle must be a JSON object",
        )),
    }
}

/// Keeps a file name usable as one URL path segment.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[derive(Deserialize)]
struct Signed {
    #[serde(default)]
    signature: Option<String>,
}

/// Checks the signature; returns the pending upload's content type and name.
fn authorize(
    storage: &Storage,
    id: &str,
    signed: &Signed,
    multipart: bool,
) -> Result<(String, String, String), Response> {
    let state = storage.lock();
    let Some(pending) = state.pending.get(id) else {
        return Err(error(
            StatusCode::NOT_FOUND,
            format!("no pending upload {id}"),
        ));
    };
    if signed.signature.as_deref() != Some(pending.signature.as_str()) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "missing or wrong upload signature",
        ));
    }
    if pending.multipart != multipart {
        let expected = if pending.multipart {
            "part PUTs"
        } else {
            "a single PUT"
        };
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("upload {id} expects {expected}"),
        ));
    }
    Ok((
        pending.content_type.clone(),
        pending.file_name.clone(),
        pending.file_url.clone(),
    ))
}

/// Streams a request body to `path`; on any failure the partial file is removed.
async fn write_body(path: &PathBuf, body: Body) -> io::Result<u64> {
    let result = async {
        let mut file = tokio::fs::File::create(path).await?;
        let mut stream = body.into_data_stream();
        let mut len = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(io::Error::other)?;
            len += chunk.len() as u64;
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        Ok(len)
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(path).await;
    }
    result
}

async fn put_single(
    State(storage): State<Storage>,
    Path(id): Path<String>,
    Query(signed): Query<Signed>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (content_type, file_name, file_url) = match authorize(&storage, &id, &signed, false) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let path = match storage.scratch(&id).await {
        Ok(path) => path,
        Err(err) => return error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
    };
    let len = match write_body(&path, body).await {
        Ok(len) => len,
        Err(err) => return error(StatusCode::BAD_REQUEST, format!("upload body cut: {err}")),
    };
    // The PUT's own type wins, as a signed URL would store it.
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or(content_type);
    let mut state = storage.lock();
    state.pending.remove(&id);
    state.files.insert(
        format!("{id}/{file_name}"),
        Stored {
            paths: vec![path],
            content_type,
            len,
            file_url,
        },
    );
    StatusCode::OK.into_response()
}

async fn put_part(
    State(storage): State<Storage>,
    Path((id, part)): Path<(String, String)>,
    Query(signed): Query<Signed>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let number = match part.parse::<u32>() {
        Ok(n) if (1..=MAX_PART).contains(&n) => n,
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("part number {part:?} is not in 1..={MAX_PART}"),
            )
        }
    };
    if let Err(response) = authorize(&storage, &id, &signed, true) {
        return response;
    }
    store_part(&storage, &id, number, headers, body).await
}

/// Stores one authorized part; answers with its etag as JSON (fal's JS
/// flow) and as an `ETag` header (the CDN flow).
async fn store_part(
    storage: &Storage,
    id: &str,
    number: u32,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if take_one(&storage.inner.cut_parts) {
        return cut(headers, body).await;
    }
    let path = match storage.scratch(&format!("{id}.part{number}")).await {
        Ok(path) => path,
        Err(err) => return error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
    };
    if let Err(err) = write_body(&path, body).await {
        return error(StatusCode::BAD_REQUEST, format!("part body cut: {err}"));
    }
    let etag = format!("\"{}\"", uuid::Uuid::new_v4().simple());
    let mut state = storage.lock();
    let Some(pending) = state.pending.get_mut(id) else {
        return error(StatusCode::NOT_FOUND, format!("upload {id} is gone"));
    };
    pending.parts.insert(number, (path, etag.clone()));
    let mut response = Json(json!({ "partNumber": number, "etag": etag })).into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

fn take_one(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// Reads about half of the body, then answers 200 with a body that breaks
/// off: the connection dies mid-exchange and no etag ever reaches the client.
async fn cut(headers: HeaderMap, body: Body) -> Response {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let mut stream = body.into_data_stream();
    let mut read = 0u64;
    while read < declared / 2 {
        match stream.next().await {
            Some(Ok(chunk)) => read += chunk.len() as u64,
            _ => break,
        }
    }
    let broken = futures::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::other("testkit fault: connection cut mid-part"))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "64")
        .body(Body::from_stream(broken))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// `POST /storage/auth/token` (REST, key auth): a CDN token for the
/// Python client's flow (spec 7.3), valid for an hour.
async fn cdn_token(
    State(storage): State<Storage>,
    Extension(base): Extension<CdnBase>,
) -> Response {
    let token = uuid::Uuid::new_v4().simple().to_string();
    storage.lock().cdn_tokens.insert(token.clone());
    let expires_at = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    Json(json!({
        "token": token,
        "token_type": "Bearer",
        "base_url": base.0,
        "expires_at": humantime::format_rfc3339_seconds(expires_at).to_string(),
    }))
    .into_response()
}

/// Checks `Authorization: <token_type> <token>` against the issued CDN tokens.
fn check_cdn_token(storage: &Storage, headers: &HeaderMap) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, token)| token.trim());
    match token {
        Some(token) if storage.lock().cdn_tokens.contains(token) => Ok(()),
        _ => Err(error(
            StatusCode::UNAUTHORIZED,
            "missing or unknown CDN token (get one from /storage/auth/token)",
        )),
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The start both CDN upload flows share: check the CDN token, read the
/// lifecycle headers, and register the file under the name and type the
/// headers give.
fn register_cdn(
    storage: &Storage,
    base: &CdnBase,
    headers: &HeaderMap,
    multipart: bool,
) -> Result<Registered, Response> {
    check_cdn_token(storage, headers)?;
    let lifecycle = lifecycle_of(headers)?;
    Ok(register(
        storage,
        &base.0,
        header_text(headers, "content-type"),
        header_text(headers, "x-fal-file-name"),
        lifecycle,
        multipart,
    ))
}

/// `POST /files/upload` (CDN token): the whole file as the body; answers
/// `{"access_url"}` (spec 7.3).
async fn cdn_upload(
    State(storage): State<Storage>,
    Extension(base): Extension<CdnBase>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let registered = match register_cdn(&storage, &base, &headers, false) {
        Ok(registered) => registered,
        Err(response) => return response,
    };
    let signed = Signed {
        signature: Some(registered.signature),
    };
    let response = put_single(
        State(storage),
        Path(registered.id),
        Query(signed),
        headers,
        body,
    )
    .await;
    if !response.status().is_success() {
        return response;
    }
    Json(json!({ "access_url": registered.file_url })).into_response()
}

/// `POST /files/upload/multipart` (CDN token): answers `{"access_url",
/// "uploadId"}`; parts go to `<access_url>/multipart/<uploadId>/<n>` (spec 7.4).
async fn cdn_multipart_create(
    State(storage): State<Storage>,
    Extension(base): Extension<CdnBase>,
    headers: HeaderMap,
) -> Response {
    let registered = match register_cdn(&storage, &base, &headers, true) {
        Ok(registered) => registered,
        Err(response) => return response,
    };
    Json(json!({
        "access_url": registered.file_url,
        "uploadId": registered.signature,
    }))
    .into_response()
}

async fn cdn_multipart_part(
    State(storage): State<Storage>,
    Path((id, _name, upload_id, part)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(response) = check_cdn_token(&storage, &headers) {
        return response;
    }
    put_part(
        State(storage),
        Path((id, part)),
        Query(Signed {
            signature: Some(upload_id),
        }),
        headers,
        body,
    )
    .await
}

async fn cdn_multipart_complete(
    State(storage): State<Storage>,
    Path((id, _name, upload_id)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(response) = check_cdn_token(&storage, &headers) {
        return response;
    }
    complete(
        State(storage),
        Path(id),
        Query(Signed {
            signature: Some(upload_id),
        }),
        body,
    )
    .await
}

#[derive(Deserialize)]
struct CompleteBody {
    parts: Vec<CompletePart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CompletePart {
    part_number: u32,
    etag: String,
}

async fn complete(
    State(storage): State<Storage>,
    Path(id): Path<String>,
    Query(signed): Query<Signed>,
    body: Bytes,
) -> Response {
    let described = match authorize(&storage, &id, &signed, true) {
        Ok(found) => found,
        Err(response) => return response,
    };
    finish_multipart(&storage, &id, described, &body).await
}

/// Completes an authorized multipart upload from the listed parts.
async fn finish_multipart(
    storage: &Storage,
    id: &str,
    (content_type, file_name, file_url): (String, String, String),
    body: &[u8],
) -> Response {
    let mut listed: CompleteBody = match serde_json::from_slice(body) {
        Ok(listed) => listed,
        Err(err) => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("complete body must be {{\"parts\": [{{partNumber, etag}}]}}: {err}"),
            )
        }
    };
    // Clients may send parts in completion order; the object is in part order.
    listed.parts.sort_by_key(|part| part.part_number);
    let paths = {
        let state = storage.lock();
        let Some(pending) = state.pending.get(id) else {
            return error(StatusCode::NOT_FOUND, format!("no pending upload {id}"));
        };
        if listed.parts.is_empty() {
            return error(StatusCode::BAD_REQUEST, "complete lists no parts");
        }
        let mut paths = Vec::new();
        for (expected, part) in (1u32..).zip(&listed.parts) {
            if part.part_number != expected {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("parts must be numbered 1..n without gaps; missing part {expected}"),
                );
            }
            match pending.parts.get(&part.part_number) {
                Some((path, etag)) if *etag == part.etag => paths.push(path.clone()),
                Some(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("etag of part {} does not match", part.part_number),
                    )
                }
                None => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("part {} was never uploaded", part.part_number),
                    )
                }
            }
        }
        paths
    };
    let mut len = 0;
    for path in &paths {
        match tokio::fs::metadata(path).await {
            Ok(meta) => len += meta.len(),
            Err(err) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("a stored part is gone: {err}"),
                )
            }
        }
    }
    let unlisted: Vec<PathBuf> = {
        let mut state = storage.lock();
        let uploaded = state
            .pending
            .remove(id)
            .map(|p| p.parts)
            .unwrap_or_default();
        state.files.insert(
            format!("{id}/{file_name}"),
            Stored {
                paths: paths.clone(),
                content_type,
                len,
                file_url: file_url.clone(),
            },
        );
        state.completed_multipart += 1;
        uploaded
            .into_values()
            .map(|(path, _)| path)
            .filter(|path| !paths.contains(path))
            .collect()
    };
    for path in unlisted {
        let _ = tokio::fs::remove_file(path).await;
    }
    Json(json!({ "file_url": file_url })).into_response()
}

async fn serve(
    State(storage): State<Storage>,
    Path((id, name)): Path<(String, String)>,
) -> Response {
    let stored = storage.lock().files.get(&format!("{id}/{name}")).cloned();
    let Some(stored) = stored else {
        return error(StatusCode::NOT_FOUND, "no such file");
    };
    // Each piece is opened when the previous one is done, so serving holds
    // one read buffer whatever the size.
    let content = futures::stream::iter(stored.paths)
        .then(|path| async move { tokio::fs::File::open(path).await })
        .map(|opened| match opened {
            Ok(file) => ReaderStream::with_capacity(file, 256 * 1024).left_stream(),
            Err(err) => futures::stream::once(async move { Err(err) }).right_stream(),
        })
        .flatten();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, stored.content_type)
        .header(header::CONTENT_LENGTH, stored.len)
        .body(Body::from_stream(content))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
