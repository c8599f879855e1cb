//! Conformance of `fal-runtime` against the testkit's fault matrix (issue 7,
//! part 3): every call (subscribe by stream and by polling, submit + poll +
//! result, direct run, cancel) under every fault on every route it uses ends
//! with the output or with the expected typed error; an error that happens
//! after the submit was accepted carries the request id; and no input is ever
//! queued twice (the testkit's own request count and journal).
//!
//! Scenarios run concurrently, each against its own testkit, with a retry
//! policy of millisecond delays (and `Retry-After` capped at 10 ms), so the
//! whole matrix takes a few seconds.

use std::fmt;
use std::time::Duration;

use fal_runtime::{Client, Error, ErrorKind, RetryPolicy, WaitMode};
use fal_testkit::{FaultRule, RouteKind, Testkit};
use serde_json::{json, Value};

/// The calls under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    /// `subscribe`, following the status stream.
    Subscribe,
    /// `subscribe` in polling mode.
    SubscribePolling,
    /// `submit`, poll `status` until completed, then `result`.
    SubmitResult,
    /// Direct run.
    Run,
    /// `submit`, then `cancel` while queued, then `result` (the cancellation).
    Cancel,
}

impl Call {
    fn routes(self) -> &'static [RouteKind] {
        match self {
            Call::Subscribe => &[
                RouteKind::Submit,
                RouteKind::StatusStream,
                RouteKind::Result,
            ],
            Call::SubscribePolling | Call::SubmitResult => {
                &[RouteKind::Submit, RouteKind::Status, RouteKind::Result]
            }
            Call::Run => &[RouteKind::Run],
            Call::Cancel => &[RouteKind::Submit, RouteKind::Cancel, RouteKind::Result],
        }
    }
}

/// The faults of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Status(u16),
    UserTimeout,
    Delay,
    Drop,
    TruncateStream,
    CompleteWithError,
    RunnerCancel,
}

impl Fault {
    fn rule(self) -> FaultRule {
        match self {
            Fault::Status(429) => FaultRule::status(429).retry_after(1),
            Fault::Status(code) => FaultRule::status(code),
            Fault::UserTimeout => FaultRule::user_timeout(),
            Fault::Delay => FaultRule::delay(Duration::from_millis(30)),
            Fault::Drop => FaultRule::drop_connection(),
            Fault::TruncateStream => FaultRule::truncate_stream(1),
            Fault::CompleteWithError => FaultRule::complete_with_error(500, "CUDA out of memory"),
            Fault::RunnerCancel => FaultRule::runner_cancel(),
        }
    }
}

/// What a scenario must end with.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    /// The output.
    Output,
    /// An `ErrorKind::Api` error with this status (and `error_type`, when given), never queued.
    RejectedAtSubmit(u16),
    /// An `ErrorKind::Api` error with this status after the request was queued: carries its id.
    Failed(u16, Option<&'static str>),
    /// A 504 with `x-fal-request-timeout-type: user`, never retried.
    UserTimeout { queued: bool },
    /// A transport error that carries the request id.
    TransportWithId,
    /// A cancelled request: its result is fal's 499 `client_cancelled`.
    Cancelled,
}

struct Scenario {
    call: Call,
    fault: Fault,
    route: RouteKind,
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} with {:?} on {:?}",
            self.call, self.fault, self.route
        )
    }
}

/// The expected end of a scenario (the runtime's retry rules, spec 10).
fn expect(s: &Scenario) -> Expect {
    use Expect::*;
    let after_submit = s.route != RouteKind::Submit;
    let ok = if s.call == Call::Cancel {
        Cancelled
    } else {
        Output
    };
    match (s.fault, s.route) {
        (Fault::Delay | Fault::TruncateStream, _) => ok,
        (_, RouteKind::StatusStream) => ok, // subscribe falls back to polling
        (Fault::Status(429 | 503), _) => ok,
        (Fault::Status(code), RouteKind::Submit) => RejectedAtSubmit(code),
        (Fault::Status(500), RouteKind::Result) => Failed(500, None),
        (Fault::Status(500), RouteKind::Run | RouteKind::Cancel) => Failed(500, None),
        (Fault::Status(_), _) => ok,
        (Fault::UserTimeout, _) => UserTimeout {
            queued: after_submit && s.route != RouteKind::Run,
        },
        (Fault::Drop, RouteKind::Run) => TransportWithId,
        (Fault::Drop, _) => ok,
        (Fault::CompleteWithError, RouteKind::Run) => Failed(500, Some("runner_server_error")),
        (Fault::CompleteWithError, _) if s.call == Call::Cancel => Cancelled,
        (Fault::CompleteWithError, _) => Failed(500, Some("runner_server_error")),
        // A direct run that loses its runner is retried (503) and then succeeds.
        (Fault::RunnerCancel, RouteKind::Run) => Output,
        (Fault::RunnerCancel, _) if s.call == Call::Cancel => Cancelled,
        (Fault::RunnerCancel, _) => Failed(503, Some("runner_disconnected")),
    }
}

fn scenarios() -> Vec<Scenario> {
    let route_faults = [
        Fault::Status(429),
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(503),
        Fault::Status(504),
        Fault::UserTimeout,
        Fault::Delay,
        Fault::Drop,
    ];
    let calls = [
        Call::Subscribe,
        Call::SubscribePolling,
        Call::SubmitResult,
        Call::Run,
        Call::Cancel,
    ];
    let mut out = Vec::new();
    for call in calls {
        for &route in call.routes() {
            for fault in route_faults {
                out.push(Scenario { call, fault, route });
            }
        }
        let entry = if call == Call::Run {
            RouteKind::Run
        } else {
            RouteKind::Submit
        };
        for fault in [Fault::CompleteWithError, Fault::RunnerCancel] {
            out.push(Scenario {
                call,
                fault,
                route: entry,
            });
        }
    }
    out.push(Scenario {
        call: Call::Subscribe,
        fault: Fault::TruncateStream,
        route: RouteKind::StatusStream,
    });
    out
}

fn policy() -> RetryPolicy {
    RetryPolicy::default()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
        .max_retry_after(Duration::from_millis(10))
        .jitter(false)
}

fn input() -> Value {
    json!({"prompt": "a lighthouse at dusk", "seed": 7})
}

async fn submit_poll_result(client: &Client) -> Result<Value, Error> {
    let handle = client.endpoint("fal-ai/flux/dev").submit(input()).await?;
    for _ in 0..500 {
        if handle.status(false).await?.is_completed() {
            return handle.result().await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("request {} never completed", handle.request_id());
}

async fn cancel_then_result(client: &Client) -> Result<Value, Error> {
    let handle = client.endpoint("fal-ai/flux/dev").submit(input()).await?;
    handle.cancel().await?;
    handle.result().await
}

async fn perform(client: &Client, call: Call) -> Result<Value, Error> {
    let flux = client.endpoint("fal-ai/flux/dev");
    match call {
        Call::Subscribe => flux.subscribe(input()).await,
        Call::SubscribePolling => {
            flux.subscribe(input())
                .mode(WaitMode::Polling)
                .poll_interval(Duration::from_millis(5))
                .await
        }
        Call::SubmitResult => submit_poll_result(client).await,
        Call::Run => flux.run(input()).await,
        Call::Cancel => cancel_then_result(client).await,
    }
}

/// Runs one scenario; `Err` describes how it went wrong.
async fn check(s: Scenario) -> Result<(), String> {
    let kit = Testkit::builder()
        // Cancel scenarios need the request to still be queued when cancelled,
        // however slowly a loaded machine gets there: the cancel ends it at once.
        .queue_delay(if s.call == Call::Cancel {
            Duration::from_secs(60)
        } else {
            Duration::from_millis(5)
        })
        .run_duration(Duration::from_millis(20))
        .keep_alive(Duration::from_millis(50))
        .start()
        .await
        .map_err(|e| format!("{s}: testkit: {e}"))?;
    let client = kit
        .client_builder()
        .retry(policy())
        .build()
        .map_err(|e| format!("{s}: client: {e}"))?;
    kit.inject(s.fault.rule().on(s.route));
    let want = expect(&s);
    let got = tokio::time::timeout(Duration::from_secs(8), perform(&client, s.call))
        .await
        .map_err(|_| format!("{s}: hung"))?;

    let journal = kit.journal();
    let accepted: Vec<String> = journal
        .iter()
        .filter(|e| e.route == RouteKind::Submit && e.status == 200)
        .filter_map(|e| e.request_id.clone())
        .collect();
    if kit.request_count() > 1 || accepted.len() > 1 {
        return Err(format!(
            "{s}: input queued {} times ({} accepted submits)",
            kit.request_count(),
            accepted.len()
        ));
    }
    let queued_id = accepted.first().cloned();
    let run_id = journal
        .iter()
        .rev()
        .find(|e| e.route == RouteKind::Run)
        .and_then(|e| e.request_id.clone());
    let fail = |what: String| Err(format!("{s}: expected {want:?}, {what}"));
    match (&want, got) {
        (Expect::Output, Ok(out)) => {
            if out["images"].as_array().is_none_or(Vec::is_empty) {
                return fail(format!("output without images: {out}"));
            }
            if s.call != Call::Run && queued_id.is_none() {
                return fail("no accepted submit in the journal".into());
            }
        }
        (Expect::RejectedAtSubmit(code), Err(err)) => {
            if err.status().map(|c| c.as_u16()) != Some(*code) {
                return fail(format!("got {err:?}"));
            }
            if kit.request_count() != 0 {
                return fail("a rejected submit was queued".into());
            }
        }
        (Expect::Failed(code, kind), Err(err)) => {
            let api = err.api();
            if api.map(|a| a.status.as_u16()) != Some(*code)
                || (kind.is_some() && api.and_then(|a| a.error_type.as_deref()) != *kind)
            {
                return fail(format!("got {err:?}"));
            }
            let id = if s.call == Call::Run {
                run_id
            } else {
                queued_id
            };
            if id.is_none() || err.request_id() != id.as_deref() {
                return fail(format!("request id {:?} not {id:?}", err.request_id()));
            }
        }
        (Expect::UserTimeout { queued }, Err(err)) => {
            if !err.is_user_timeout() {
                return fail(format!("got {err:?}"));
            }
            if *queued && (queued_id.is_none() || err.request_id() != queued_id.as_deref()) {
                return fail(format!(
                    "request id {:?} not {queued_id:?}",
                    err.request_id()
                ));
            }
            let tries = journal.iter().filter(|e| e.route == s.route).count();
            if tries != 1 {
                return fail(format!("the user timeout was sent {tries} times"));
            }
        }
        (Expect::TransportWithId, Err(err)) => {
            if err.kind() != ErrorKind::Transport {
                return fail(format!("got {err:?}"));
            }
            if run_id.is_none() || err.request_id() != run_id.as_deref() {
                return fail(format!("request id {:?} not {run_id:?}", err.request_id()));
            }
        }
        (Expect::Cancelled, Err(err)) => {
            let kind = err.api().and_then(|a| a.error_type.as_deref());
            if kind != Some("client_cancelled") || err.request_id() != queued_id.as_deref() {
                return fail(format!("got {err:?}"));
            }
        }
        (_, Ok(out)) => return fail(format!("got an output: {out}")),
        (_, Err(err)) => return fail(format!("got {err:?}")),
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_survives_every_fault_in_the_matrix() {
    let all = scenarios();
    let count = all.len();
    let results = futures::future::join_all(all.into_iter().map(check)).await;
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(
        failures.is_empty(),
        "{} of {count} scenarios failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(count > 100, "the matrix has {count} scenarios");
}
