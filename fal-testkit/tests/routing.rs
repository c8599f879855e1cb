//! Host routing, auth and the direct run over real sockets (DESIGN.md, spec 2, 4, 9).

mod common;

use common::*;
use fal_testkit::{RouteKind, Testkit};
use serde_json::json;

#[tokio::test]
async fn urls_follow_the_base_and_prefix_form() {
    let kit = start(fast()).await;
    assert_eq!(kit.base_url(), format!("http://{}", kit.addr()));
    assert_eq!(kit.queue_url(), format!("{}/queue", kit.base_url()));
    assert_eq!(kit.run_url(), format!("{}/run", kit.base_url()));
    assert_eq!(kit.rest_url(), format!("{}/rest", kit.base_url()));
    assert_eq!(kit.cdn_url(), format!("{}/cdn", kit.base_url()));
    // A client using `localhost` gets URLs that reach the testkit the same way.
    let via_localhost = format!(
        "http://localhost:{}/queue/fal-ai/flux/dev",
        kit.addr().port()
    );
    let body = json(
        authed(&kit, client().post(via_localhost))
            .json(&json!({"prompt": "p"}))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    let status_url = body["status_url"].as_str().expect("url");
    assert!(status_url.starts_with(&format!(
        "http://localhost:{}/queue/fal-ai/flux/requests/",
        kit.addr().port()
    )));
    assert_eq!(get(&kit, status_url).await.status(), 200);
}

#[tokio::test]
async fn target_url_header_routes_and_hands_out_real_fal_urls() {
    let kit = start(fast()).await;
    let submit = authed(&kit, client().post(kit.base_url()))
        .header("x-fal-target-url", "https://queue.fal.run/fal-ai/flux/dev")
        .json(&json!({"prompt": "p", "seed": 5}))
        .send()
        .await
        .expect("sent");
    assert_eq!(submit.status(), 200);
    let body = json(submit).await;
    let id = body["request_id"].as_str().expect("id");
    let response_url = format!("https://queue.fal.run/fal-ai/flux/requests/{id}");
    assert_eq!(body["response_url"], response_url);
    assert_eq!(body["status_url"], format!("{response_url}/status"));
    // Follow the returned URL through the same proxy convention.
    let status = authed(&kit, client().get(format!("{}/anything", kit.base_url())))
        .header("x-fal-target-url", format!("{response_url}/status?logs=1"))
        .send()
        .await
        .expect("sent");
    assert_eq!(status.status(), 200);
    assert!(
        json(status).await["logs"].is_array(),
        "query taken from the target URL"
    );
    let result = authed(&kit, client().get(kit.base_url()))
        .header("x-fal-target-url", &response_url)
        .send()
        .await
        .expect("sent");
    let output = json(result).await;
    let url = output["images"][0]["url"].as_str().expect("image url");
    // Clients fetch files without their proxy, so file URLs name the testkit.
    assert!(
        url.starts_with(&format!("{}/files/", kit.cdn_url())),
        "{url}"
    );
    let png = client().get(url).send().await.expect("sent");
    assert_eq!(png.status(), 200);
    // Sent through a proxy anyway, a URL naming the testkit is routed by its path.
    let png = client()
        .get(kit.base_url())
        .header("x-fal-target-url", url)
        .send()
        .await
        .expect("sent");
    assert_eq!(png.status(), 200);
    // fal's real CDN host is still routed to the testkit's CDN.
    let real_form = url.replace(&kit.cdn_url(), "https://v3.fal.media");
    let png = client()
        .get(kit.base_url())
        .header("x-fal-target-url", real_form)
        .send()
        .await
        .expect("sent");
    assert_eq!(png.status(), 200);
    // Direct run by header.
    let run = authed(&kit, client().post(kit.base_url()))
        .header("x-fal-target-url", "https://fal.run/fal-ai/flux/dev")
        .json(&json!({"prompt": "p"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(run.status(), 200);
    let bad = client()
        .get(kit.base_url())
        .header("x-fal-target-url", "https://example.com/x")
        .send()
        .await
        .expect("sent");
    assert_eq!(bad.status(), 400);
    assert!(json(bad).await["detail"].is_string());
}

#[tokio::test]
async fn auth_is_checked_with_key_or_bearer_and_can_be_switched_off() {
    let kit = start(fast()).await;
    let url = format!("{}/fal-ai/flux/dev", kit.queue_url());
    let none = client()
        .post(&url)
        .json(&json!({"prompt": "p"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(none.status(), 401);
    assert!(none.headers().contains_key("x-fal-request-id"));
    let wrong = client()
        .post(&url)
        .header("authorization", "Key nope:nope")
        .json(&json!({"prompt": "p"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), 401);
    assert_eq!(json(wrong).await, json!({"detail": "Invalid API key"}));
    let bearer = client()
        .post(&url)
        .header("authorization", format!("Bearer {}", kit.key()))
        .json(&json!({"prompt": "p"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(bearer.status(), 200);
    let entry = kit
        .journal()
        .into_iter()
        .find(|e| e.status == 200)
        .expect("journal entry");
    assert_eq!(entry.header("authorization"), Some("[redacted]"));

    let open = start(fast().require_auth(false).key("custom")).await;
    assert_eq!(open.key(), "custom");
    let ok = client()
        .post(format!("{}/fal-ai/flux/dev", open.queue_url()))
        .json(&json!({"prompt": "p"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn direct_run_returns_output_and_serves_real_png_bytes() {
    let kit = start(fast()).await;
    let response = authed(
        &kit,
        client().post(format!("{}/fal-ai/flux/dev", kit.run_url())),
    )
    .json(&json!({"prompt": "a fox", "image_size": {"width": 64, "height": 48}, "num_images": 2}))
    .send()
    .await
    .expect("sent");
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-fal-request-id"));
    let output = json(response).await;
    assert_eq!(output["prompt"], "a fox");
    assert!(output["seed"].is_u64());
    assert!(output["timings"]["inference"].is_number());
    assert_eq!(output["has_nsfw_concepts"], json!([false, false]));
    let images = output["images"].as_array().expect("images");
    assert_eq!(images.len(), 2);
    let url = images[1]["url"].as_str().expect("url");
    assert!(url.starts_with(&kit.cdn_url()), "{url}");
    let png = client().get(url).send().await.expect("sent");
    assert_eq!(png.status(), 200);
    assert_eq!(
        png.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    let bytes = png.bytes().await.expect("bytes");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height are the big-endian u32s at offsets 16 and 20.
    assert_eq!(
        u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]),
        64
    );
    assert_eq!(
        u32::from_be_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]),
        48
    );
}

#[tokio::test]
async fn direct_run_rejects_missing_prompt_with_fal_422() {
    let kit = start(fast()).await;
    let response = authed(
        &kit,
        client().post(format!("{}/fal-ai/flux/dev", kit.run_url())),
    )
    .json(&json!({"image_size": "square"}))
    .send()
    .await
    .expect("sent");
    assert_eq!(response.status(), 422);
    assert_eq!(
        json(response).await,
        json!({"detail":[{"loc":["body","prompt"],"msg":"Field required","type":"missing"}]})
    );
    let not_json = authed(
        &kit,
        client().post(format!("{}/fal-ai/flux/dev", kit.run_url())),
    )
    .body("{not json")
    .send()
    .await
    .expect("sent");
    assert_eq!(not_json.status(), 422);
}

#[tokio::test]
async fn unknown_paths_and_unbuilt_routes_answer_fal_404_with_request_id() {
    let kit = start(fast()).await;
    for path in [
        "/nowhere",
        "/rest/nothing-here",
        "/web/elsewhere",
        "/cdn/files/other/x.png",
    ] {
        let response = authed(&kit, client().post(format!("{}{path}", kit.base_url())))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 404, "{path}");
        assert!(
            response.headers().contains_key("x-fal-request-id"),
            "{path}"
        );
        assert!(json(response).await["detail"].is_string(), "{path}");
    }
    // The stream route is built: it answers, with the stream's content type.
    let stream = authed(
        &kit,
        client().post(format!("{}/fal-ai/flux/dev/stream", kit.run_url())),
    )
    .json(&json!({"prompt": "p"}))
    .send()
    .await
    .expect("sent");
    assert_eq!(stream.status(), 200);
    assert_eq!(
        stream.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/event-stream"[..])
    );
    let wrong_method = authed(
        &kit,
        client().delete(format!("{}/fal-ai/flux/dev", kit.queue_url())),
    )
    .send()
    .await
    .expect("sent");
    assert_eq!(wrong_method.status(), 405);
}

#[tokio::test]
async fn journal_records_each_request_once_with_route_and_ids() {
    let kit = start(fast()).await;
    let sub = submit(&kit, "fal-ai/flux/dev", json!({"prompt": "p"})).await;
    let id = sub["request_id"].as_str().expect("id");
    get(&kit, sub["status_url"].as_str().expect("url")).await;
    get(&kit, sub["response_url"].as_str().expect("url")).await;
    let journal = kit.journal();
    let routes: Vec<RouteKind> = journal.iter().map(|e| e.route).collect();
    assert_eq!(
        routes,
        [RouteKind::Submit, RouteKind::Status, RouteKind::Result]
    );
    for entry in &journal {
        assert_eq!(entry.request_id.as_deref(), Some(id));
        assert_eq!(entry.endpoint.as_deref(), Some("fal-ai/flux/dev"));
    }
    assert_eq!(journal[0].method, "POST");
    kit.clear_journal();
    assert!(kit.journal().is_empty());
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let kit: Testkit = start(fast()).await;
    let url = kit.queue_url();
    kit.shutdown().await.expect("clean shutdown");
    assert!(client().get(url).send().await.is_err());
}
