//! Schema discovery routes (spec 11) over real sockets.

mod common;

use base64::Engine;
use common::*;
use fal_testkit::Testkit;
use serde_json::{json, Value};

fn doc(id: &str, category: &str, with_meta: bool) -> Value {
    let mut info = json!({
        "title": format!("Queue OpenAPI for {id}"),
        "version": "1.0.0",
        "description": format!("The OpenAPI schema for the {id} queue."),
    });
    if with_meta {
        info["x-fal-metadata"] = json!({"endpointId": id, "category": category});
    }
    json!({
        "openapi": "3.0.4",
        "info": info,
        "paths": {
            format!("/{id}/requests/{{request_id}}"): {"get": {}},
            format!("/{id}"): {"post": {}},
        },
    })
}

async fn kit_with_docs() -> (Testkit, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let docs = [
        ("a.json", doc("fal-ai/flux/dev", "text-to-image", true)),
        ("b.json", doc("fal-ai/flux/schnell", "text-to-image", true)),
        ("c.json", doc("acme/video", "image-to-video", false)),
    ];
    for (name, value) in docs {
        std::fs::write(dir.path().join(name), value.to_string()).expect("write");
    }
    std::fs::write(dir.path().join("notes.txt"), "ignored").expect("write");
    let kit = start(fast().schemas_dir(dir.path())).await;
    (kit, dir)
}

#[tokio::test]
async fn openapi_document_is_served_by_endpoint_id_in_both_forms() {
    let (kit, _dir) = kit_with_docs().await;
    assert_eq!(kit.schema_count(), 3);
    let url = format!(
        "{}/web/api/openapi/queue/openapi.json?endpoint_id=fal-ai%2Fflux%2Fdev",
        kit.base_url()
    );
    let response = client().get(url).send().await.expect("sent");
    assert_eq!(response.status(), 200, "no auth needed");
    let body = json(response).await;
    assert_eq!(
        body["info"]["x-fal-metadata"]["endpointId"],
        "fal-ai/flux/dev"
    );
    // Indexed by POST path when there is no metadata; unencoded slashes work too.
    let by_path = client()
        .get(format!(
            "{}/web/api/openapi/queue/openapi.json?endpoint_id=acme/video",
            kit.base_url()
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(by_path.status(), 200);
    let via_header = client()
        .get(kit.base_url())
        .header(
            "x-fal-target-url",
            "https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=fal-ai/flux/schnell",
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(via_header.status(), 200);
    let unknown = client()
        .get(format!(
            "{}/web/api/openapi/queue/openapi.json?endpoint_id=x/y",
            kit.base_url()
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(unknown.status(), 404);
    assert!(json(unknown).await["detail"].is_string());
}

#[tokio::test]
async fn models_listing_finds_pages_and_expands() {
    let (kit, _dir) = kit_with_docs().await;
    let base = format!("{}/api/v1/models", kit.base_url());
    let found = json(
        client()
            .get(format!(
                "{base}?endpoint_id=fal-ai/flux/schnell&endpoint_id=nope/x&endpoint_id=acme/video&expand=openapi-3.0"
            ))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    let ids: Vec<&str> = found["models"]
        .as_array()
        .expect("models")
        .iter()
        .filter_map(|m| m["endpoint_id"].as_str())
        .collect();
    assert_eq!(ids, ["fal-ai/flux/schnell", "acme/video"]);
    assert_eq!(found["models"][0]["openapi"]["openapi"], "3.0.4");
    assert_eq!(found["models"][0]["metadata"]["category"], "text-to-image");
    assert_eq!(found["has_more"], false);
    assert!(found["next_cursor"].is_null());

    let page1 = json(
        client()
            .get(format!("{base}?limit=2"))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(page1["models"].as_array().map(Vec::len), Some(2));
    assert!(page1["models"][0].get("openapi").is_none());
    assert_eq!(page1["has_more"], true);
    let cursor = page1["next_cursor"].as_str().expect("cursor");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(cursor)
            .expect("b64"),
        b"2"
    );
    let page2 = json(
        client()
            .get(format!(
                "{base}?limit=2&cursor={}",
                cursor.replace('=', "%3D")
            ))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(page2["models"].as_array().map(Vec::len), Some(1));
    assert_eq!(page2["has_more"], false);

    let images = json(
        client()
            .get(format!("{base}?category=text-to-image"))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(images["models"].as_array().map(Vec::len), Some(2));
    let search = json(
        client()
            .get(format!("{base}?q=SCHNELL"))
            .send()
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(search["models"][0]["endpoint_id"], "fal-ai/flux/schnell");
    for bad in ["limit=0", "limit=x", "cursor=%21%21"] {
        let response = client()
            .get(format!("{base}?{bad}"))
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status(), 400, "{bad}");
    }
}

#[tokio::test]
async fn unreadable_schema_dirs_fail_start_with_the_file_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("broken.json"), "{").expect("write");
    let err = Testkit::builder()
        .schemas_dir(dir.path())
        .start()
        .await
        .expect_err("broken");
    assert!(err.to_string().contains("broken.json"), "{err}");
    std::fs::write(dir.path().join("broken.json"), "{\"paths\": {}}").expect("write");
    let err = Testkit::builder()
        .schemas_dir(dir.path())
        .start()
        .await
        .expect_err("no id");
    assert!(err.to_string().contains("no endpoint id"), "{err}");
    let a = doc("x/y", "c", true).to_string();
    std::fs::write(dir.path().join("broken.json"), &a).expect("write");
    std::fs::write(dir.path().join("copy.json"), &a).expect("write");
    let err = Testkit::builder()
        .schemas_dir(dir.path())
        .start()
        .await
        .expect_err("dup");
    assert!(err.to_string().contains("described twice"), "{err}");
}
