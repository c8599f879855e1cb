//! Bounded memory against a broken or hostile host (issue 14 item 5): bodies
//! over their cap end in a typed `TooLarge` naming the limit, an enormous
//! error `detail` is neither read whole nor printed whole, and text from the
//! host is shown escaped.

use std::time::Duration;

use fal_runtime::{ErrorKind, DEFAULT_MAX_RESPONSE_BYTES};
use fal_testkit::{FaultRule, RouteKind};

const ENDPOINT: &str = "fal-ai/flux/dev";

#[tokio::test]
async fn an_answer_over_the_clients_cap_is_too_large_and_names_the_limit() {
    let tk = crate::common::testkit(Duration::ZERO, Duration::ZERO).await;
    let small = tk
        .client_builder()
        .retry(crate::common::fast_retry())
        .max_response_bytes(64)
        .build()
        .unwrap();
    assert_eq!(small.max_response_bytes(), 64);
    let err = small
        .endpoint(ENDPOINT)
        .run(crate::common::prompt())
        .await
        .expect_err("the output is larger than 64 bytes");
    assert_eq!(err.kind(), ErrorKind::TooLarge, "{err}");
    assert!(err.to_string().contains("64 bytes"), "{err}");
    // Not retried: the same answer would only come again.
    assert_eq!(crate::common::entries(&tk, RouteKind::Run).len(), 1);

    // The default cap is high enough for the same call.
    let client = crate::common::client(&tk);
    assert_eq!(client.max_response_bytes(), DEFAULT_MAX_RESPONSE_BYTES);
    client
        .endpoint(ENDPOINT)
        .run(crate::common::prompt())
        .await
        .expect("default cap");
}

#[tokio::test]
async fn a_huge_hostile_error_detail_is_bounded_and_escaped() {
    let tk = crate::common::testkit(Duration::ZERO, Duration::ZERO).await;
    let client = crate::common::client(&tk);

    // 5 MB of detail, with terminal escapes (clear screen, window title).
    let detail = format!(
        "\u{1b}[2J\u{1b}]0;owned\u{7}{}",
        "x".repeat(5 * 1024 * 1024)
    );
    tk.inject(
        FaultRule::status(400)
            .body(serde_json::json!({ "detail": detail }))
            .on(RouteKind::Submit),
    );
    let err = client
        .endpoint(ENDPOINT)
        .submit(crate::common::prompt())
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Api, "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    let shown = err.to_string();
    assert!(shown.len() < 2048, "{} bytes shown", shown.len());
    assert!(
        shown.contains("not read"),
        "an error body over 1 MiB is not read: {shown}"
    );

    // A small detail with escapes is read, and shown escaped.
    let detail = "bad \u{1b}[2Jinput\u{1b}]52;c;ZXZpbA==\u{7}";
    tk.inject(
        FaultRule::status(400)
            .body(serde_json::json!({ "detail": detail }))
            .on(RouteKind::Submit),
    );
    let err = client
        .endpoint(ENDPOINT)
        .submit(crate::common::prompt())
        .await
        .expect_err("refused");
    let shown = err.to_string();
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{7}'),
        "{shown:?}"
    );
    assert!(shown.contains("bad \\u{1b}[2Jinput"), "{shown}");
    // The message itself keeps what fal sent.
    assert_eq!(err.api().map(|a| a.message.as_str()), Some(detail));
}
