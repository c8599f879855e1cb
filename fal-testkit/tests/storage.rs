//! The Python client's CDN upload flow (spec 7.3/7.4) against the testkit,
//! over raw HTTP: a CDN token from the REST host, then a single upload or
//! create / parts (any order, ETag header) / complete; files come back
//! byte-identical. (The JS flow is exercised through fal-runtime's tests.)

use fal_testkit::Testkit;
use serde_json::{json, Value};

async fn token(kit: &Testkit, http: &reqwest::Client) -> (String, String) {
    let answer: Value = http
        .post(format!(
            "{}/storage/auth/token?storage_type=fal-cdn-v3",
            kit.rest_url()
        ))
        .header("authorization", format!("Key {}", kit.key()))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["token_type"], "Bearer");
    assert!(answer["expires_at"].as_str().unwrap().ends_with('Z'));
    (
        format!("Bearer {}", answer["token"].as_str().unwrap()),
        answer["base_url"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn single_cdn_upload_round_trips() {
    let kit = Testkit::builder().start().await.unwrap();
    let http = reqwest::Client::new();
    let (auth, base) = token(&kit, &http).await;
    assert_eq!(base, kit.cdn_url());
    let answer: Value = http
        .post(format!("{base}/files/upload"))
        .header("authorization", &auth)
        .header("content-type", "audio/wav")
        .header("x-fal-file-name", "voice.wav")
        .header(
            "x-fal-object-lifecycle",
            r#"{"expiration_duration_seconds":60}"#,
        )
        .body(vec![7u8; 3000])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = answer["access_url"].as_str().unwrap();
    assert!(url.ends_with("/voice.wav"), "{url}");
    let served = reqwest::get(url).await.unwrap();
    assert_eq!(served.headers()["content-type"], "audio/wav");
    assert_eq!(served.bytes().await.unwrap().to_vec(), vec![7u8; 3000]);
    assert_eq!(
        kit.storage().lifecycles(),
        vec![json!({"expiration_duration_seconds": 60})]
    );

    let refused = http
        .post(format!("{base}/files/upload"))
        .header("authorization", "Bearer not-a-token")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
}

#[tokio::test]
async fn cdn_multipart_accepts_parts_in_any_order() {
    let kit = Testkit::builder().start().await.unwrap();
    let http = reqwest::Client::new();
    let (auth, base) = token(&kit, &http).await;
    let created: Value = http
        .post(format!("{base}/files/upload/multipart"))
        .header("authorization", &auth)
        .header("content-type", "application/zip")
        .header("x-fal-file-name", "data.zip")
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = created["access_url"].as_str().unwrap().to_owned();
    let upload_id = created["uploadId"].as_str().unwrap().to_owned();
    let parts: Vec<Vec<u8>> = (1..=3u8).map(|i| vec![i; 1000 + usize::from(i)]).collect();

    let mut listed = Vec::new();
    for number in [3usize, 1, 2] {
        let response = http
            .put(format!("{access}/multipart/{upload_id}/{number}"))
            .header("authorization", &auth)
            .header("accept-encoding", "identity")
            .body(parts[number - 1].clone())
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        listed.push(json!({"partNumber": number, "etag": etag}));
    }
    let unauthorized = http
        .put(format!("{access}/multipart/{upload_id}/4"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorized.status().as_u16(), 401);

    http.post(format!("{access}/multipart/{upload_id}/complete"))
        .header("authorization", &auth)
        .json(&json!({ "parts": listed }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let served = reqwest::get(&access).await.unwrap();
    assert_eq!(served.headers()["content-type"], "application/zip");
    assert_eq!(served.bytes().await.unwrap().to_vec(), parts.concat());
    assert_eq!(kit.storage().completed_multipart_uploads(), 1);
}

/// fal's JS client in proxy mode sends only the initiate call through its
/// proxy and PUTs the bytes (single or parts) straight to the signed URL, so
/// the signed, part and file URLs must name the testkit itself.
#[tokio::test]
async fn uploads_initiated_through_a_proxy_get_urls_of_the_testkit_itself() {
    let kit = Testkit::builder().start().await.unwrap();
    let http = reqwest::Client::new();
    let initiate = |kind: &str| {
        http.post(kit.base_url())
            .header(
                "x-fal-target-url",
                format!("https://rest.fal.ai/storage/upload/{kind}?storage_type=fal-cdn-v3"),
            )
            .header("authorization", format!("Key {}", kit.key()))
            .json(&json!({"content_type": "text/plain", "file_name": "a.txt"}))
            .send()
    };
    let answer: Value = initiate("initiate").await.unwrap().json().await.unwrap();
    let upload_url = answer["upload_url"].as_str().unwrap();
    let file_url = answer["file_url"].as_str().unwrap();
    for url in [upload_url, file_url] {
        assert!(url.starts_with(&kit.cdn_url()), "{url}");
    }
    let put = http.put(upload_url).body("direct").send().await.unwrap();
    assert!(put.status().is_success(), "{put:?}");
    assert_eq!(
        reqwest::get(file_url).await.unwrap().text().await.unwrap(),
        "direct"
    );

    let answer: Value = initiate("initiate-multipart")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let upload_url = url::Url::parse(answer["upload_url"].as_str().unwrap()).unwrap();
    let part_url = |suffix: &str| {
        let mut url = upload_url.clone();
        url.set_path(&format!("{}/{suffix}", upload_url.path()));
        url
    };
    let part: Value = http
        .put(part_url("1"))
        .body("in parts")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let done = http
        .post(part_url("complete"))
        .json(&json!({"parts": [part]}))
        .send()
        .await
        .unwrap();
    assert!(done.status().is_success(), "{done:?}");
    let file_url = answer["file_url"].as_str().unwrap();
    assert!(file_url.starts_with(&kit.cdn_url()), "{file_url}");
    assert_eq!(
        reqwest::get(file_url).await.unwrap().text().await.unwrap(),
        "in parts"
    );
}
