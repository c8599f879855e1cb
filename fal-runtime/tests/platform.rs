//! The platform client (`Client::platform`, feature `platform`) over real
//! sockets against the testkit's Platform API routes: every generated
//! operation, cursor pages, each error type, retries, idempotency keys and
//! proxy mode.

mod common;

use std::time::Duration;

use common::{client, entries, fast_retry};
use fal_runtime::platform::{
    delete_request_payloads::DeleteRequestPayloads,
    estimate_pricing::{EstimatePricing, EstimatePricingBody, EstimateType},
    get_analytics::GetAnalytics,
    get_billing_events::GetBillingEvents,
    get_meta::GetMeta,
    get_models::GetModels,
    get_pricing::GetPricing,
    get_storage_file_acl::GetStorageFileAcl,
    get_storage_settings::GetStorageSettings,
    get_usage::GetUsage,
    list_requests_by_endpoint::ListRequestsByEndpoint,
    set_storage_file_acl::{self, SetStorageFileAcl},
    sign_storage_file_url::{SignStorageFileUrl, SignStorageFileUrlBody},
    update_storage_settings::{self, UpdateStorageSettings},
    Method, Operation, Page, Paginated, RequestParts, ResponseBody,
};
use fal_runtime::Client;
use fal_testkit::{FaultRule, PricingTable, RouteKind, Testkit};
use futures::StreamExt;
use serde_json::json;

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

/// Runs one queued request of `endpoint` to its end; returns its id.
async fn run_job(client: &Client, endpoint: &str, input: serde_json::Value) -> String {
    let handle = client
        .endpoint(endpoint)
        .submit(input)
        .await
        .expect("submitted");
    handle.result().await.ok();
    handle.request_id().to_owned()
}

#[tokio::test]
async fn models_list_search_and_get_with_the_openapi_expansion() {
    let kit = kit().await;
    let platform = client(&kit).platform();
    let all: Vec<String> = platform
        .pages(GetModels::new().with_limit(3))
        .map(|m| m.expect("model").endpoint_id)
        .collect()
        .await;
    assert_eq!(all.len(), kit.schema_count());
    assert_eq!(
        entries(&kit, RouteKind::Models).len(),
        all.len().div_ceil(3)
    );

    let found = platform
        .send(&GetModels::new().with_q("image-to-video"))
        .await
        .expect("search");
    let ids: Vec<&str> = found
        .models
        .iter()
        .map(|m| m.endpoint_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [
            "fal-ai/kling-video/v1.6/standard/image-to-video",
            "fal-ai/luma-dream-machine/image-to-video"
        ]
    );
    assert!(!found.has_more);

    let one = platform
        .send(
            &GetModels::new()
                .with_endpoint_id("fal-ai/flux/dev".to_owned())
                .with_expand(vec!["openapi-3.0".to_owned()]),
        )
        .await
        .expect("get");
    assert_eq!(one.models.len(), 1);
    let document = serde_json::to_value(&one.models[0].openapi).expect("openapi");
    assert_eq!(
        document["info"]["x-fal-metadata"]["endpointId"],
        "fal-ai/flux/dev"
    );
    let first = platform
        .page(&GetModels::new().with_limit(3))
        .await
        .expect("page");
    assert_eq!(first.items.len(), 3);
    assert!(first.continuation().is_some());
}

#[tokio::test]
async fn pricing_and_both_estimates() {
    let kit = kit().await;
    let platform = client(&kit).platform();
    let prices = platform
        .send(&GetPricing::new(vec![
            "fal-ai/flux/dev".to_owned(),
            "fal-ai/kling-video/v1.6/standard/image-to-video".to_owned(),
        ]))
        .await
        .expect("prices");
    let got: Vec<(&str, f64, &str, &str)> = prices
        .prices
        .iter()
        .map(|p| {
            (
                p.endpoint_id.as_str(),
                p.unit_price,
                p.unit.as_str(),
                p.currency.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("fal-ai/flux/dev", 0.03, "image", "USD"),
            (
                "fal-ai/kling-video/v1.6/standard/image-to-video",
                0.25,
                "video",
                "USD"
            )
        ]
    );
    // More ids than one call takes: the convenience call splits them.
    let many: Vec<String> = (0..120).map(|i| format!("acme/model-{i}")).collect();
    let priced = platform.prices(many.clone()).await.expect("prices");
    assert_eq!(
        priced
            .iter()
            .map(|p| p.endpoint_id.clone())
            .collect::<Vec<_>>(),
        many
    );
    assert_eq!(entries(&kit, RouteKind::Platform).len(), 1 + 3);

    let units = platform
        .estimate_units([
            ("fal-ai/flux/dev", 10.0),
            ("fal-ai/kling-video/v1.6/standard/image-to-video", 2.0),
        ])
        .await
        .expect("estimate");
    assert_eq!(units.estimate_type, EstimateType::UnitPrice);
    assert!((units.total_cost - 0.8).abs() < 1e-9, "{units:?}");
    assert_eq!(units.currency, "USD");
    let client = client(&kit);
    run_job(
        &client,
        "fal-ai/flux/dev",
        json!({"prompt": "a", "num_images": 3}),
    )
    .await;
    let calls = platform
        .estimate_calls([("fal-ai/flux/dev", 4)])
        .await
        .expect("estimate");
    assert_eq!(calls.estimate_type, EstimateType::HistoricalApiPrice);
    assert!(
        (calls.total_cost - 4.0 * 3.0 * 0.03).abs() < 1e-9,
        "{calls:?}"
    );

    // The generated body type is the tagged union; the wire form carries the tag.
    let body: EstimatePricingBody = serde_json::from_value(
        json!({"estimate_type": "unit_price", "endpoints": {"a/b": {"unit_quantity": 1}}}),
    )
    .expect("body");
    let direct = platform
        .send(&EstimatePricing::new().with_body(body))
        .await
        .expect("estimate");
    assert!((direct.total_cost - 0.01).abs() < 1e-9);
}

#[tokio::test]
async fn usage_analytics_billing_and_history_of_jobs_that_ran() {
    let kit = kit().await;
    let client = client(&kit);
    let platform = client.platform();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            run_job(
                &client,
                "fal-ai/flux/dev",
                json!({"prompt": "a", "num_images": 2}),
            )
            .await,
        );
    }
    run_job(&client, "fal-ai/flux/dev", json!({"num_images": 2})).await;

    let usage = platform
        .send(&GetUsage::new().with_expand(vec!["time_series".to_owned(), "summary".to_owned()]))
        .await
        .expect("usage");
    let summary = usage.summary.expect("summary");
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].endpoint_id, "fal-ai/flux/dev");
    assert_eq!(summary[0].quantity, 6.0);
    assert!((summary[0].cost_total - 0.18).abs() < 1e-9);
    let buckets: Vec<String> = platform
        .pages(GetUsage::new())
        .map(|b| b.expect("bucket").bucket)
        .collect()
        .await;
    assert_eq!(buckets.len(), 1, "one day");

    let analytics = platform
        .send(
            &GetAnalytics::new("fal-ai/flux/dev".to_owned())
                .with_expand(vec!["summary".to_owned()]),
        )
        .await
        .expect("analytics");
    let totals = &analytics.summary.expect("summary")[0];
    assert_eq!(
        (
            totals.request_count,
            totals.success_count,
            totals.user_error_count
        ),
        (Some(4), Some(3), Some(1))
    );

    let events: Vec<String> = platform
        .pages(GetBillingEvents::new().with_limit(2))
        .map(|e| e.expect("event").request_id)
        .collect()
        .await;
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(events, expected, "newest first, the 422 bills nothing");

    let history: Vec<_> = platform
        .pages(
            ListRequestsByEndpoint::new("fal-ai/flux/dev".to_owned())
                .with_expand("payloads".to_owned())
                .with_limit(3),
        )
        .map(|item| item.expect("item"))
        .collect()
        .await;
    assert_eq!(history.len(), 4);
    assert_eq!(
        history
            .iter()
            .filter(|i| i.status_code == Some(200))
            .count(),
        3
    );
    assert_eq!(
        history
            .iter()
            .filter(|i| i.status_code == Some(422))
            .count(),
        1
    );
    assert!(history.iter().all(|i| i.json_input.is_some()));
}

#[tokio::test]
async fn deleting_payloads_removes_the_stored_output() {
    let kit = kit().await;
    let client = client(&kit);
    let id = run_job(&client, "fal-ai/flux/dev", json!({"prompt": "a"})).await;
    let deleted = client
        .platform()
        .send(&DeleteRequestPayloads::new(id.clone()))
        .await
        .expect("deleted");
    assert_eq!(deleted.cdn_delete_results.len(), 1);
    assert!(deleted.cdn_delete_results[0].exception.is_none());
    let file = deleted.cdn_delete_results[0].link.clone();
    let status = reqwest::get(&file).await.expect("file").status();
    assert_eq!(status.as_u16(), 404);
    let handle = client
        .endpoint("fal-ai/flux/dev")
        .request(&id)
        .expect("handle");
    let gone = handle.result().await.expect_err("deleted");
    assert_eq!(gone.status().map(|s| s.as_u16()), Some(410));
}

#[tokio::test]
async fn storage_settings_acls_signed_urls_and_meta() {
    let kit = kit().await;
    let platform = client(&kit).platform();
    let settings = platform
        .send(&GetStorageSettings::new())
        .await
        .expect("settings");
    assert_eq!(settings.expiration_duration_seconds, None);
    let acl =
        update_storage_settings::InitialAcl::new(update_storage_settings::DefaultType::Forbid);
    let updated = platform
        .send(&UpdateStorageSettings::new(
            update_storage_settings::UpdateStorageSettingsBody::new()
                .with_expiration_duration_seconds(3600)
                .with_initial_acl(acl),
        ))
        .await
        .expect("updated");
    assert_eq!(updated.expiration_duration_seconds, Some(3600));

    let file = format!("{}/files/abc/out.png", kit.cdn_url());
    let initial = platform
        .send(&GetStorageFileAcl::new(file.clone()))
        .await
        .expect("acl");
    assert_eq!(initial.default.as_str(), "forbid");
    let body =
        set_storage_file_acl::SetStorageFileAclBody::new(set_storage_file_acl::DefaultType::Hide)
            .with_rules([set_storage_file_acl::RulesItem::new(
                "team-a",
                set_storage_file_acl::Decision::Allow,
            )]);
    let set = platform
        .send(&SetStorageFileAcl::new(file.clone(), body))
        .await
        .expect("set");
    assert_eq!(set.rules.len(), 1);
    assert_eq!(set.rules[0].user, "team-a");
    let signed = platform
        .send(&SignStorageFileUrl::new(
            file.clone(),
            SignStorageFileUrlBody::new(60),
        ))
        .await
        .expect("signed");
    assert!(signed.signed_url.starts_with(&file) && signed.signed_url.contains("signature="));

    let meta = platform.send(&GetMeta::new()).await.expect("meta");
    assert!(!meta.webhook_ip_ranges.is_empty());
}

#[tokio::test]
async fn each_error_type_reaches_the_one_error() {
    let kit = Testkit::builder()
        .admin_key("admin:secret")
        .start()
        .await
        .expect("testkit starts");
    let platform = client(&kit).platform();
    let kind = |err: &fal_runtime::Error| {
        (
            err.status().map(|s| s.as_u16()),
            err.api().and_then(|a| a.error_type.clone()),
            err.request_id().is_some(),
        )
    };
    let invalid = platform
        .send(&GetPricing::new(Vec::<String>::new()))
        .await
        .expect_err("no ids");
    assert_eq!(
        kind(&invalid),
        (Some(400), Some("validation_error".into()), true)
    );
    assert!(
        invalid.to_string().contains("endpoint_id is required"),
        "{invalid}"
    );
    let forbidden = platform
        .send(&GetUsage::new())
        .await
        .expect_err("admin only");
    assert_eq!(
        kind(&forbidden),
        (Some(403), Some("authorization_error".into()), true)
    );
    let anonymous = kit
        .client_builder()
        .key("nobody")
        .retry(fast_retry())
        .build()
        .expect("client");
    let unauthorized = anonymous.platform().send(&GetMeta::new()).await;
    assert!(unauthorized.is_ok(), "meta is open");
    let unauthorized = anonymous
        .platform()
        .send(&GetPricing::new("a/b".to_owned()))
        .await
        .expect_err("bad key");
    assert_eq!(
        kind(&unauthorized),
        (Some(401), Some("authorization_error".into()), true)
    );
    let admin = kit
        .client_builder()
        .key("admin:secret")
        .retry(fast_retry())
        .build()
        .expect("client");
    let missing = admin
        .platform()
        .send(&DeleteRequestPayloads::new(
            "00000000-0000-0000-0000-000000000000",
        ))
        .await
        .expect_err("unknown request");
    assert_eq!(kind(&missing), (Some(404), Some("not_found".into()), true));
    kit.inject(FaultRule::new(fal_testkit::Fault::Status {
        status: 429,
        retry_after: None,
        body: Some(json!({"error": {"type": "rate_limited", "message": "slow down", "request_id": "r-429"}})),
        ingress: false,
        request_id: None,
    })
    .on(RouteKind::Platform)
    .times(5));
    let limited = platform
        .send(&GetMeta::new())
        .await
        .expect_err("rate limited");
    assert_eq!(
        kind(&limited),
        (Some(429), Some("rate_limited".into()), true)
    );
    assert_eq!(
        entries(&kit, RouteKind::Platform)
            .iter()
            .filter(|e| e.status == 429)
            .count(),
        4,
        "retried 3 times"
    );
    kit.clear_faults();
    kit.inject(
        FaultRule::new(fal_testkit::Fault::Status {
            status: 500,
            retry_after: None,
            body: Some(json!({"error": {"type": "server_error", "message": "boom"}})),
            ingress: false,
            request_id: None,
        })
        .on(RouteKind::Platform),
    );
    let failed = platform
        .send(&GetMeta::new())
        .await
        .expect_err("server error");
    assert_eq!(
        failed.api().and_then(|a| a.error_type.as_deref()),
        Some("server_error")
    );
}

#[tokio::test]
async fn retries_resend_the_same_idempotency_key() {
    let kit = kit().await;
    let client = client(&kit);
    let id = run_job(&client, "fal-ai/flux/dev", json!({"prompt": "a kite"})).await;
    kit.inject(FaultRule::status(503).on(RouteKind::Platform));
    client
        .platform()
        .send(&DeleteRequestPayloads::new(id.clone()))
        .await
        .expect("deleted after a retry");
    let sent = entries(&kit, RouteKind::Platform);
    assert_eq!(
        sent.iter().map(|e| e.status).collect::<Vec<_>>(),
        [503, 200]
    );
    let keys: Vec<&str> = sent
        .iter()
        .filter_map(|e| e.header("idempotency-key"))
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "one key per call, kept across retries");

    client
        .platform()
        .send(&DeleteRequestPayloads::new(id.clone()).with_idempotency_key("mine-1"))
        .await
        .expect("deleted");
    client
        .platform()
        .send(&DeleteRequestPayloads::new(id))
        .await
        .expect("deleted");
    let keys: Vec<String> = entries(&kit, RouteKind::Platform)
        .iter()
        .filter_map(|e| e.header("idempotency-key").map(str::to_owned))
        .collect();
    assert_eq!(keys[2], "mine-1");
    assert_ne!(keys[3], keys[0], "a new call, a new key");
}

#[tokio::test]
async fn a_post_without_a_key_is_not_retried_after_a_gateway_error() {
    let kit = kit().await;
    let platform = client(&kit).platform();
    kit.inject(FaultRule::status(502).on(RouteKind::Platform));
    let err = platform
        .estimate_units([("fal-ai/flux/dev", 2.0)])
        .await
        .expect_err("502 is final for a POST");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    kit.inject(FaultRule::status(429).on(RouteKind::Platform));
    let estimate = platform
        .estimate_units([("fal-ai/flux/dev", 2.0)])
        .await
        .expect("429 is retried");
    assert!((estimate.total_cost - 0.06).abs() < 1e-9);
    let statuses: Vec<u16> = entries(&kit, RouteKind::Platform)
        .iter()
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, [502, 429, 200]);
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
        .prices(["fal-ai/flux/dev"])
        .await
        .expect("prices through the proxy");
    assert_eq!(prices[0].unit_price, 0.03);
    let journal = entries(&kit, RouteKind::Platform);
    assert_eq!(
        journal[0].header("x-fal-target-url"),
        Some("https://api.fal.ai/v1/models/pricing?endpoint_id=fal-ai%2Fflux%2Fdev")
    );
}

/// The trait is open: an operation written by hand (an API the generator
/// has not seen) pages like a generated one, and a server that repeats a
/// cursor ends the stream with an error instead of looping.
#[tokio::test]
async fn a_hand_written_operation_and_a_repeated_cursor() {
    #[derive(Clone)]
    struct Stuck;
    #[derive(serde::Deserialize)]
    struct Models {
        models: Vec<serde_json::Value>,
    }
    impl Operation for Stuck {
        type Output = Models;
        const OPERATION_ID: &'static str = "stuck";
        const METHOD: Method = Method::GET;
        fn write(&self, request: &mut RequestParts) -> fal_runtime::Result<()> {
            request.segment("v1");
            request.segment("models");
            request.query("limit", &1, true)
        }
        fn read(body: ResponseBody) -> fal_runtime::Result<Models> {
            body.json()
        }
    }
    impl Paginated for Stuck {
        type Item = serde_json::Value;
        fn set_cursor(&mut self, _: String) {}
        fn into_page(output: Models) -> Page<serde_json::Value> {
            Page::new(output.models, Some("same".into()), Some(true))
        }
    }
    let kit = kit().await;
    let results: Vec<_> = client(&kit).platform().pages(Stuck).collect().await;
    assert_eq!(results.len(), 3, "two pages of one item, then the error");
    let err = results[2].as_ref().expect_err("repeated cursor");
    assert_eq!(err.kind(), fal_runtime::ErrorKind::Decode);
    // Display shows one level and `source` the next: the cause names the cursor.
    let mut chain = err.to_string();
    let mut cause = std::error::Error::source(err);
    while let Some(next) = cause {
        chain.push_str(&format!(": {next}"));
        cause = next.source();
    }
    assert!(chain.contains("\"same\""), "{chain}");
}
