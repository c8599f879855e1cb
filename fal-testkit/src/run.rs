//! Direct run on the run host (spec 4): the connection stays open for the run
//! duration, then the output (or the app's error) comes back in one response.
//! Direct runs skip the queue, so the queue delay does not apply.

use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use http::StatusCode;

use crate::faults::Fault;
use crate::ids;
use crate::lifecycle::Outcome;
use crate::queue::{decide, read_body};
use crate::reply::{self, Failure};
use crate::router::Call;

/// `POST run/<full id>`.
pub(crate) async fn handle(call: Call, endpoint: &str, request: Request) -> Response {
    if let Err(reason) = ids::validate(endpoint) {
        return reply::detail(
            StatusCode::NOT_FOUND,
            &format!("Application {endpoint:?} not found: {reason}"),
        );
    }
    if request.method() != http::Method::POST {
        return reply::method_not_allowed();
    }
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let started = std::time::SystemTime::now();
    let run = call.shared.settings.run_duration;
    let (outcome, takes) = if matches!(call.fault, Some(Fault::RunnerCancel)) {
        let failure = Failure::request_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "The runner cancelled the request",
            "runner_disconnected",
        );
        (Outcome::Failed(failure.into()), run / 2)
    } else {
        let outcome = decide(&call, endpoint, &body);
        // An input the app rejects fails at once: validation precedes the run.
        let takes = match &outcome {
            Outcome::Failed(f) if f.status == StatusCode::UNPROCESSABLE_ENTITY => Duration::ZERO,
            _ => run,
        };
        (outcome, takes)
    };
    if !takes.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(takes) => {}
            () = call.shared.shutdown.cancelled() => {
                return reply::detail(StatusCode::SERVICE_UNAVAILABLE, "The testkit is shutting down");
            }
        }
    }
    crate::platform::record_run(&call, endpoint, &body, started, &outcome);
    match outcome {
        Outcome::Output(bytes) => reply::json_bytes(StatusCode::OK, bytes),
        Outcome::Failed(failure) => failure.to_response(),
    }
}
