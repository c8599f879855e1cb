//! Where the API key goes, against a deliberately hostile server over real
//! sockets: two listeners on 127.0.0.1, "fal" (configured as
//! `http://A/pfx/queue`, `/pfx/run`, `/pfx/rest`) and "elsewhere" (never
//! configured). The server answers with whatever `status_url`, `response_url`,
//! `cancel_url`, `upload_url` and redirects a case chooses, and records every
//! request as it arrived (raw path, whether it carried `Authorization`).
//!
//! The attacks of the hostile-server report are reproduced one by one, then a
//! property test throws arbitrary ids and response URLs at the client.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use fal_runtime::{Client, ErrorKind, RetryPolicy};
use proptest::prelude::*;
use serde_json::json;

const KEY: &str = "key-id:key-secret";

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    /// `"fal"` or `"elsewhere"`.
    listener: &'static str,
    method: Method,
    /// Path and query exactly as sent (still percent-encoded).
    target: String,
    keyed: bool,
}

/// What the hostile server answers.
#[derive(Clone, Debug, Default)]
struct Script {
    status_url: Option<String>,
    response_url: Option<String>,
    cancel_url: Option<String>,
    upload_url: Option<String>,
    /// Every request not already at the `Location`'s path gets this redirect.
    redirect: Option<(u16, String)>,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<Seen>>,
    script: Mutex<Script>,
}

#[derive(Clone)]
struct Listener {
    name: &'static str,
    shared: Arc<Shared>,
}

async fn answer(State(me): State<Listener>, request: Request) -> Response {
    let (parts, _body) = request.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_default();
    me.shared.seen.lock().unwrap().push(Seen {
        listener: me.name,
        method: parts.method.clone(),
        target: target.clone(),
        keyed: parts.headers.contains_key(header::AUTHORIZATION),
    });
    let script = me.shared.script.lock().unwrap().clone();
    if let Some((code, location)) = &script.redirect {
        let location_path = url::Url::parse(location)
            .map(|u| u.path().to_owned())
            .unwrap_or_else(|_| location.clone());
        if let (true, Ok(value)) = (parts.uri.path() != location_path, location.parse()) {
            let mut headers = HeaderMap::new();
            headers.insert(header::LOCATION, value);
            return (StatusCode::from_u16(*code).unwrap(), headers).into_response();
        }
    }
    let body = if parts.method == Method::POST && parts.uri.path().contains("/storage/upload/") {
        json!({
            "upload_url": script.upload_url.unwrap_or_default(),
            "file_url": "http://files.invalid/x",
        })
    } else if parts.method == Method::POST {
        json!({
            "request_id": "req-1",
            "status_url": script.status_url,
            "response_url": script.response_url,
            "cancel_url": script.cancel_url,
        })
    } else if parts.uri.path().ends_with("/status") {
        json!({"status": "COMPLETED"})
    } else {
        json!({"ok": true})
    };
    (StatusCode::OK, axum::Json(body)).into_response()
}

struct Hostile {
    shared: Arc<Shared>,
    fal: SocketAddr,
    elsewhere: SocketAddr,
}

impl Hostile {
    async fn start() -> Hostile {
        let shared = Arc::new(Shared::default());
        let mut addrs = Vec::new();
        for name in ["fal", "elsewhere"] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addrs.push(listener.local_addr().unwrap());
            let app = Router::new().fallback(answer).with_state(Listener {
                name,
                shared: shared.clone(),
            });
            tokio::spawn(async move { axum::serve(listener, app).await });
        }
        Hostile {
            shared,
            fal: addrs[0],
            elsewhere: addrs[1],
        }
    }

    fn client(&self) -> Client {
        let base = format!("http://{}/pfx", self.fal);
        Client::builder()
            .ignore_env()
            .key(KEY)
            .queue_url(format!("{base}/queue"))
            .run_url(format!("{base}/run"))
            .rest_url(format!("{base}/rest"))
            .retry(RetryPolicy::none())
            .build()
            .unwrap()
    }

    /// `template` with `{fal}` and `{elsewhere}` replaced by the listeners.
    fn url(&self, template: &str) -> String {
        template
            .replace("{fal}", &format!("http://{}", self.fal))
            .replace("{elsewhere}", &format!("http://{}", self.elsewhere))
    }

    fn script(&self, script: Script) {
        *self.shared.script.lock().unwrap() = script;
        self.shared.seen.lock().unwrap().clear();
    }

    fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// Every request that carried the key went to "fal", under one of the three
    /// configured bases, by a path no decoding server reads as leaving it.
    fn assert_key_stayed_home(&self) {
        for seen in self.seen() {
            if !seen.keyed {
                continue;
            }
            assert_eq!(seen.listener, "fal", "the key went elsewhere: {seen:?}");
            let path = seen.target.split('?').next().unwrap_or_default();
            let rest = ["/pfx/queue", "/pfx/run", "/pfx/rest"]
                .iter()
                .find_map(|base| path.strip_prefix(base))
                .unwrap_or_else(|| panic!("the key left the bases: {seen:?}"));
            assert!(rest.is_empty() || rest.starts_with('/'), "{seen:?}");
            for segment in rest.split('/') {
                let decoded = percent_decode(segment);
                assert!(
                    !decoded.contains(['/', '\\', '%'])
                        && !matches!(decoded.split(';').next(), Some("." | "..")),
                    "a keyed path climbs out: {seen:?}"
                );
            }
        }
    }
}

/// Percent-decoding, as a server in front of a router would do it.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Submit, then status, result and cancel on the handle; direct run; stream.
/// Errors are expected (a hostile server); only where requests went matters.
async fn every_keyed_call(client: &Client, id: &str) {
    let untyped = client.endpoint(id);
    if let Ok(handle) = untyped.submit(json!({})).await {
        let _ = handle.status(false).await;
        let _ = handle.result().await;
        let _ = handle.cancel().await;
    }
    let _ = untyped.run(json!({})).await;
    let _ = untyped.stream(json!({})).await;
}

#[tokio::test]
async fn ids_that_climb_out_of_the_base_path_are_never_sent() {
    let hostile = Hostile::start().await;
    let client = hostile.client();
    for id in [
        "%2e%2e/%2e%2e/admin",
        "%2e%2e/x",
        ".%2E/x/y",
        r"x\..\..\admin/y",
        "acme/../../admin",
        "fal-ai/flux%2F..%2F..%2Fadmin",
    ] {
        hostile.script(Script::default());
        let untyped = client.endpoint(id);
        let submit = untyped.submit(json!({})).await.map(drop);
        let run = untyped.run(json!({})).await.map(drop);
        let stream = untyped.stream(json!({})).await.map(drop);
        for result in [submit, run, stream] {
            assert!(
                matches!(&result, Err(e) if e.kind() == ErrorKind::InvalidId),
                "{id}: {result:?}"
            );
        }
        assert!(hostile.seen().is_empty(), "{id}: {:?}", hostile.seen());
    }
}

#[tokio::test]
async fn response_urls_outside_the_queue_base_are_not_followed() {
    let hostile = Hostile::start().await;
    let client = hostile.client();
    for outside in [
        "{fal}/admin",
        "{fal}/pfx/admin",
        "{fal}/pfx/queue/%2e%2e/%2e%2e/admin",
        "{fal}/pfx/queue/a%2F..%2F..%2Fadmin",
        "{fal}/pfx/queue/..;/admin",
        "{fal}/pfx/queueX/a",
        "{elsewhere}/pfx/queue/fal-ai/flux/requests/req-1",
    ] {
        let url = hostile.url(outside);
        hostile.script(Script {
            status_url: Some(url.clone()),
            response_url: Some(url.clone()),
            cancel_url: Some(url.clone()),
            ..Script::default()
        });
        every_keyed_call(&client, "fal-ai/flux/dev").await;
        let targets: Vec<String> = hostile.seen().into_iter().map(|s| s.target).collect();
        assert_eq!(
            targets,
            [
                "/pfx/queue/fal-ai/flux/dev",
                "/pfx/queue/fal-ai/flux/requests/req-1/status?logs=0",
                "/pfx/queue/fal-ai/flux/requests/req-1",
                "/pfx/queue/fal-ai/flux/requests/req-1/cancel",
                "/pfx/run/fal-ai/flux/dev",
                "/pfx/run/fal-ai/flux/dev/stream",
            ],
            "{outside}: the handle built its own URLs under the base"
        );
        hostile.assert_key_stayed_home();
    }

    // Under the base, fal's own URLs are used as given.
    let inside = hostile.url("{fal}/pfx/queue/fal-ai/flux/requests/req-1/elsewhere-in-base");
    hostile.script(Script {
        status_url: Some(inside.clone()),
        ..Script::default()
    });
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .submit(json!({}))
        .await
        .unwrap();
    let _ = handle.status(false).await;
    assert_eq!(
        hostile.seen().last().map(|s| s.target.as_str()),
        Some("/pfx/queue/fal-ai/flux/requests/req-1/elsewhere-in-base?logs=0")
    );
}

#[tokio::test]
async fn redirects_are_followed_with_the_key_only_inside_the_scope() {
    let hostile = Hostile::start().await;
    let client = hostile.client();
    for (code, location) in [
        (302, "{fal}/admin"),
        (307, "{fal}/pfx/queue/../../admin"),
        (308, "{elsewhere}/pfx/queue/fal-ai/flux/dev"),
        (301, "{fal}/pfx/queue/a%2F..%2F..%2Fadmin"),
    ] {
        let location = hostile.url(location);
        hostile.script(Script {
            redirect: Some((code, location.clone())),
            ..Script::default()
        });
        let err = client
            .endpoint("fal-ai/flux/dev")
            .run(json!({}))
            .await
            .unwrap_err();
        assert!(
            err.kind() == ErrorKind::UntrustedUrl,
            "{code} {location}: {err}"
        );
        assert!(err.to_string().contains("was redirected to"), "{err}");
        assert_eq!(hostile.seen().len(), 1, "{code} {location}: not followed");
        hostile.assert_key_stayed_home();
    }

    // A redirect that stays under a base is followed, key and all.
    let inside = hostile.url("{fal}/pfx/run/fal-ai/flux/dev/v2");
    hostile.script(Script {
        redirect: Some((307, inside)),
        ..Script::default()
    });
    client
        .endpoint("fal-ai/flux/dev")
        .run(json!({}))
        .await
        .unwrap();
    let seen = hostile.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].target, "/pfx/run/fal-ai/flux/dev/v2");
    assert!(seen[1].keyed && seen[1].method == Method::POST);
}

#[tokio::test]
async fn signed_upload_urls_anywhere_get_the_bytes_but_never_the_key() {
    let hostile = Hostile::start().await;
    let client = hostile.client();
    for upload in [
        "{elsewhere}/signed/abc?sig=1",
        "{fal}/admin/upload",
        "{fal}/pfx/rest/x",
    ] {
        hostile.script(Script {
            upload_url: Some(hostile.url(upload)),
            ..Script::default()
        });
        client
            .upload_bytes(b"payload".to_vec(), "text/plain")
            .await
            .unwrap_or_else(|e| panic!("{upload}: {e}"));
        let seen = hostile.seen();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[0].keyed, "initiate is an API call");
        assert!(seen[1].method == Method::PUT && !seen[1].keyed, "{seen:?}");
        hostile.assert_key_stayed_home();
    }
}

/// Strings biased towards URL path games.
fn path_game() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(fal_id::testing::PIECES).prop_map(str::to_owned),
        prop::sample::select(&["pfx", "queue", "admin"][..]).prop_map(str::to_owned),
        "[a-z0-9-]{1,4}",
    ];
    prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

/// An id, or a URL on either listener, made of path games.
fn url_like() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("{fal}/pfx/queue/"),
            Just("{fal}/pfx/"),
            Just("{fal}/"),
            Just("{elsewhere}/pfx/queue/"),
            Just(""),
        ],
        path_game(),
    )
        .prop_map(|(start, rest)| format!("{start}{rest}"))
}

fn ids() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("fal-ai/flux/dev".to_owned()),
        Just("workflows/acme/flow/x".to_owned()),
        path_game(),
        (path_game(), path_game()).prop_map(|(a, b)| format!("fal-ai/{a}/{b}")),
    ]
}

fn script() -> impl Strategy<Value = (Script, Option<(u16, String)>)> {
    (
        prop::option::of(url_like()),
        prop::option::of(url_like()),
        prop::option::of(url_like()),
        prop::option::of(url_like()),
        prop::option::weighted(
            0.3,
            (
                prop::sample::select(vec![301u16, 302, 303, 307, 308]),
                url_like(),
            ),
        ),
    )
        .prop_map(
            |(status_url, response_url, cancel_url, upload_url, redirect)| {
                (
                    Script {
                        status_url,
                        response_url,
                        cancel_url,
                        upload_url,
                        redirect: None,
                    },
                    redirect,
                )
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For arbitrary ids, response URLs and redirects, no request carrying the
    /// key leaves the configured bases.
    #[test]
    fn no_keyed_request_leaves_the_configured_bases(id in ids(), (script, redirect) in script()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let hostile = Hostile::start().await;
            let client = hostile.client();
            let fill = |url: Option<String>| url.map(|u| hostile.url(&u));
            hostile.script(Script {
                status_url: fill(script.status_url),
                response_url: fill(script.response_url),
                cancel_url: fill(script.cancel_url),
                upload_url: fill(script.upload_url),
                redirect: redirect.map(|(code, location)| (code, hostile.url(&location))),
            });
            every_keyed_call(&client, &id).await;
            let _ = client.upload_bytes(b"x".to_vec(), "text/plain").await;
            hostile.assert_key_stayed_home();
        });
    }
}
