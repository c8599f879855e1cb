//! The endpoint-id entry points agree: for any string, `#[fal_endpoint]`'s
//! argument parser, the generator (`fal_codegen::parse::parse_document` on a
//! document whose submit path is that id) and the client (submit, direct run, a
//! handle from a request id) accept it exactly when `fal_id` does.
//!
//! The test lives here because the macro's parser can only be called as a
//! function from inside this proc-macro crate; the generator and the client are
//! dev-dependencies.

use std::path::Path;

use fal_id::EndpointId;
use proptest::prelude::*;
use quote::quote;
use serde_json::json;

use crate::args::Args;

fn macro_accepts(id: &str) -> bool {
    let lit = syn::LitStr::new(id, proc_macro2::Span::call_site());
    syn::parse2::<Args>(quote!(#lit, output = Out)).is_ok()
}

/// Whether the generator accepts a document whose submit path is `/{id}`. A
/// refusal must name the file.
fn generator_accepts(id: &str) -> bool {
    let schema = json!({"type": "object", "properties": {"prompt": {"type": "string"}}});
    let document = json!({
        "openapi": "3.0.4",
        "paths": {
            format!("/{id}"): {"post": {"requestBody": {"content": {"application/json": {"schema": schema}}}}}
        }
    });
    match fal_codegen::parse::parse_document(Path::new("agreement.json"), &document.to_string()) {
        Ok(doc) => fal_codegen::generate(&[doc]).is_ok(),
        Err(err) => {
            assert!(err.to_string().starts_with("agreement.json"), "{err}");
            false
        }
    }
}

/// Whether the client refuses `id` as an endpoint id before sending anything;
/// the base is a closed port, so an accepted id fails to connect instead.
fn client_accepts(runtime: &tokio::runtime::Runtime, base: &str, id: &str) -> bool {
    let client = fal_runtime::Client::builder()
        .ignore_env()
        .queue_url(base)
        .run_url(base)
        .retry(fal_runtime::RetryPolicy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let untyped = client.endpoint(id);
    let refused = |result: Result<(), fal_runtime::Error>| matches!(&result, Err(e) if e.kind() == fal_runtime::ErrorKind::InvalidId);
    let handle = refused(untyped.request("r-1").map(drop));
    let (submit, run) = runtime.block_on(async {
        (
            refused(untyped.submit(json!({})).await.map(drop)),
            refused(untyped.run(json!({})).await.map(drop)),
        )
    });
    assert_eq!(
        (handle, handle),
        (submit, run),
        "{id:?}: handle, submit and run disagree"
    );
    !handle
}

/// Strings from fragments that matter to the grammar and to URL parsers.
fn id_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(fal_id::testing::PIECES).prop_map(str::to_owned),
        "[a-z0-9_-]{1,5}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

fn closed_port_base() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port();
    drop(listener);
    format!("http://127.0.0.1:{port}/base")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_issue_examples_are_refused_everywhere_and_real_ids_accepted() {
    let runtime = runtime();
    let base = closed_port_base();
    for id in [
        "acme/../x",
        "%2e%2e/%2e%2e/admin",
        "%2e%2e/x",
        ".%2E/x/y",
        r"x\..\..\admin/y",
        "fal-ai/flux%2Fdev",
    ] {
        assert!(!macro_accepts(id), "macro accepted {id:?}");
        assert!(!generator_accepts(id), "generator accepted {id:?}");
        assert!(
            !client_accepts(&runtime, &base, id),
            "client accepted {id:?}"
        );
    }
    // Real ids, and segments that are awkward as Rust names.
    for id in [
        "fal-ai/flux/dev",
        "workflows/acme/my-flow",
        "12345-my-app",
        "bria/fibo/generate/structured_prompt",
        "acme/_",
        "acme/-/.x",
        "acme/self/super/crate",
        "0/1/2",
        "acme/fn/type/Self",
    ] {
        assert!(macro_accepts(id), "macro refused {id:?}");
        assert!(generator_accepts(id), "generator refused {id:?}");
        assert!(client_accepts(&runtime, &base, id), "client refused {id:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_entry_point_agrees_with_the_grammar(id in id_like()) {
        let expected = EndpointId::parse(&id).is_ok();
        prop_assert_eq!(macro_accepts(&id), expected, "macro, {:?}", id);
        prop_assert_eq!(generator_accepts(&id), expected, "generator, {:?}", id);
        let runtime = runtime();
        prop_assert_eq!(client_accepts(&runtime, &closed_port_base(), &id), expected, "client, {:?}", id);
    }
}
