//! The platform client (`Client::platform`) over real sockets against the
//! testkit's Platform API routes: typed answers, cursor pages, the error
//! envelope, retries, idempotency keys and proxy mode.
//!
//! The operations here are written by hand against the `Operation` trait, as
//! any REST document's generated modules implement it.

mod common;

use std::time::Duration;

use common::{client, entries, fast_retry};
use fal_runtime::platform::{Method, Operation, Page, Paginated, RequestParts, ResponseBody};
use fal_runtime::Client;
use fal_testkit::{FaultRule, PricingTable, RouteKind, Testkit};
use futures::StreamExt;
use serde::Deserialize;

async fn kit() -> Testkit {
    Testkit::builder()
        .queue_delay(Duration::ZERO)
        .run_duration(Duration::ZERO)
        .schemas_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas"))
        .pricing(PricingTable::new().endpoint("fal-ai/flux/dev", 0.03, "image"))
        .start()
        .await
        .expect("testkit starts")
}

#[derive(Clone)]
struct Pricing(Vec<&'static str>);

#[derive(Debug, Deserialize)]
struct Prices {
    prices: Vec<Price>,
}

#[derive(Debug, Deserialize)]
struct Price {
    endpoint_id: String,
    unit_price: f64,
    unit: String,
}

impl Operation for Pricing {
    type Output = Prices;
    const OPERATION_ID: &'static str = "getPricing";
    const METHOD: Method = Method::GET;
    fn write(&self, request: &mut RequestParts) -> fal_runtime::Result<()> {
        request.segment("v1");
        request.segment("models");
        request.segment("pricing");
        request.query("endpoint_id", &self.0, true)
    }
    fn read(body: ResponseBody) -> fal_runtime::Result<Prices> {
        body.json()
    }
}

#[derive(Clone, Default)]
struct Models {
    limit: Option<u32>,
    cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ModelPage {
    models: Vec<Model>,
    next_cursor: Option<String>,
    has_more: bool,
}

#[derive(Debug, Deserialize)]
struct Model {
    endpoint_id: String,
}

impl Operation for Models {
    type Output = ModelPage;
    const OPERATION_ID: &'static str = "getModels";
    const METHOD: Method = Method::GET;
    fn write(&self, request: &mut RequestParts) -> fal_runtime::Result<()> {
        request.segment("v1");
        request.segment("models");
        request.query("limit", &self.limit, true)?;
        request.query("cursor", &self.cursor, true)
    }
    fn read(body: ResponseBody) -> fal_runtime::Result<ModelPage> {
        body.json()
    }
}

impl Paginated for Models {
    type Item = Model;
    fn set_cursor(&mut self, cursor: String) {
        self.cursor = Some(cursor);
    }
    fn into_page(output: ModelPage) -> Page<Model> {
        Page::new(output.models, output.next_cursor, Some(output.has_more))
    }
}

struct DeletePayloads {
    request_id: String,
    key: Option<String>,
}

impl Operation for DeletePayloads {
    type Output = serde_json::Value;
    const OPERATION_ID: &'static str = "deleteRequestPayloads";
    const METHOD: Method = Method::DELETE;
    fn write(&self, request: &mut RequestParts) -> fal_runtime::Result<()> {
        request.segment("v1");
        request.segment("models");
        request.segment("requests");
        request.param_segment(&self.request_id)?;
        request.segment("payloads");
        request.idempotency_key("Idempotency-Key", self.key.as_deref())
    }
    fn read(body: ResponseBody) -> fal_runtime::Result<serde_json::Value> {
        body.json()
    }
}

#[tokio::test]
async fn a_typed_call_goes_to_the_api_host_with_the_key() {
    let kit = kit().await;
    let prices = client(&kit)
        .platform()
        .send(&Pricing(vec![
            "fal-ai/flux/dev",
            "fal-ai/kling-video/v1.6/standard/image-to-video",
        ]))
        .await
        .expect("prices");
    let got: Vec<(&str, f64, &str)> = prices
        .prices
        .iter()
        .map(|p| (p.endpoint_id.as_str(), p.unit_price, p.unit.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("fal-ai/flux/dev", 0.03, "image"),
            (
                "fal-ai/kling-video/v1.6/standard/image-to-video",
                0.25,
                "video"
            )
        ]
    );
    let journal = entries(&kit, RouteKind::Platform);
    assert_eq!(journal.len(), 1);
    assert!(
        journal[0]
            .path
            .starts_with("/api/v1/models/pricing?endpoint_id=fal-ai%2Fflux%2Fdev&endpoint_id="),
        "{:?}",
        journal[0]
    );
    assert_eq!(journal[0].header("authorization"), Some("[redacted]"));
}

#[tokio::test]
async fn pages_follow_the_cursor_to_the_end() {
    let kit = kit().await;
    let platform = client(&kit).platform();
    let ids: Vec<String> = platform
        .pages(Models {
            limit: Some(3),
            cursor: None,
        })
        .map(|m| m.expect("model").endpoint_id)
        .collect()
        .await;
    assert_eq!(ids.len(), kit.schema_count());
    assert_eq!(
        ids.first().map(String::as_str),
        Some("fal-ai/bytedance/seed/v2/mini")
    );
    assert_eq!(
        entries(&kit, RouteKind::Models).len(),
        ids.len().div_ceil(3)
    );
    let first = platform
        .page(&Models {
            limit: Some(3),
            cursor: None,
        })
        .await
        .expect("page");
    assert_eq!(first.items.len(), 3);
    assert!(first.continuation().is_some());
}

#[tokio::test]
async fn the_error_envelope_becomes_the_one_error() {
    let kit = Testkit::builder()
        .admin_key("admin:secret")
        .start()
        .await
        .expect("testkit starts");
    let err = client(&kit)
        .platform()
        .send(&Pricing(Vec::new()))
        .await
        .expect_err("no ids");
    let api = err.api().expect("api error");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(api.error_type.as_deref(), Some("validation_error"));
    assert!(err.request_id().is_some(), "{err}");
    assert!(err.to_string().contains("endpoint_id is required"), "{err}");

    let denied = client(&kit)
        .platform()
        .send(&DeletePayloads {
            request_id: "x".into(),
            key: None,
        })
        .await
        .expect_err("admin only");
    assert_eq!(denied.status().map(|s| s.as_u16()), Some(403));
    assert_eq!(
        denied.api().and_then(|a| a.error_type.as_deref()),
        Some("authorization_error")
    );

    let admin = kit
        .client_builder()
        .key("admin:secret")
        .retry(fast_retry())
        .build()
        .expect("client");
    let missing = admin
        .platform()
        .send(&DeletePayloads {
            request_id: "00000000-0000-0000-0000-000000000000".into(),
            key: None,
        })
        .await
        .expect_err("unknown request");
    assert_eq!(
        missing.api().and_then(|a| a.error_type.as_deref()),
        Some("not_found")
    );
}

#[tokio::test]
async fn retries_resend_the_same_idempotency_key() {
    let kit = kit().await;
    let client = client(&kit);
    let id = client
        .endpoint("fal-ai/flux/dev")
        .submit(serde_json::json!({"prompt": "a kite"}))
        .await
        .expect("submitted")
        .request_id()
        .to_owned();
    kit.inject(FaultRule::status(503).on(RouteKind::Platform));
    let deleted = client
        .platform()
        .send(&DeletePayloads {
            request_id: id.clone(),
            key: None,
        })
        .await
        .expect("deleted after a retry");
    assert!(deleted["cdn_delete_results"].is_array());
    let sent = entries(&kit, RouteKind::Platform);
    assert_eq!(
        sent.iter().map(|e| e.status).collect::<Vec<_>>(),
        vec![503, 200]
    );
    let keys: Vec<&str> = sent
        .iter()
        .filter_map(|e| e.header("idempotency-key"))
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "one key per call, kept across retries");

    // A key of the caller's own is sent as given; a second call makes a new one.
    client
        .platform()
        .send(&DeletePayloads {
            request_id: id.clone(),
            key: Some("mine-1".into()),
        })
        .await
        .expect("deleted");
    client
        .platform()
        .send(&DeletePayloads {
            request_id: id,
            key: None,
        })
        .await
        .expect("deleted");
    let keys: Vec<String> = entries(&kit, RouteKind::Platform)
        .iter()
        .filter_map(|e| e.header("idempotency-key").map(str::to_owned))
        .collect();
    assert_eq!(keys[2], "mine-1");
    assert_ne!(keys[3], keys[0]);
}

#[tokio::test]
async fn a_non_idempotent_post_is_not_retried_after_a_gateway_error() {
    #[derive(Clone)]
    struct Estimate;
    impl Operation for Estimate {
        type Output = serde_json::Value;
        const OPERATION_ID: &'static str = "estimatePricing";
        const METHOD: Method = Method::POST;
        fn write(&self, request: &mut RequestParts) -> fal_runtime::Result<()> {
            request.segment("v1");
            request.segment("models");
            request.segment("pricing");
            request.segment("estimate");
            request.json_body(&serde_json::json!({"estimate_type": "unit_price", "endpoints": {"fal-ai/flux/dev": {"unit_quantity": 2}}}))
        }
        fn read(body: ResponseBody) -> fal_runtime::Result<serde_json::Value> {
            body.json()
        }
    }
    let kit = kit().await;
    let client = client(&kit);
    kit.inject(FaultRule::status(502).on(RouteKind::Platform));
    let err = client
        .platform()
        .send(&Estimate)
        .await
        .expect_err("502 is final for a POST");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    kit.inject(FaultRule::status(429).on(RouteKind::Platform));
    let estimate = client
        .platform()
        .send(&Estimate)
        .await
        .expect("429 is retried");
    assert!((estimate["total_cost"].as_f64().unwrap_or(0.0) - 0.06).abs() < 1e-9);
    let statuses: Vec<u16> = entries(&kit, RouteKind::Platform)
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, vec![502, 429, 200]);
}

#[tokio::test]
async fn proxy_mode_sends_platform_calls_through_the_proxy() {
    let kit = kit().await;
    let closed = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
    let http = reqwest::Client::builder()
        .resolve("api.fal.ai", closed)
        .build()
        .expect("http client");
    let proxied = Client::builder()
        .ignore_env()
        .http_client(http)
        .key(kit.key())
        .proxy_url(kit.base_url())
        .retry(fast_retry())
        .build()
        .expect("client");
    assert_eq!(proxied.api_base().as_str(), "https://api.fal.ai/");
    let prices = proxied
        .platform()
        .send(&Pricing(vec!["fal-ai/flux/dev"]))
        .await
        .expect("prices through the proxy");
    assert_eq!(prices.prices[0].unit_price, 0.03);
    let journal = entries(&kit, RouteKind::Platform);
    assert_eq!(
        journal[0].header(fal_runtime::proxy::TARGET_URL_HEADER),
        Some("https://api.fal.ai/v1/models/pricing?endpoint_id=fal-ai%2Fflux%2Fdev")
    );
}
