//! `fal-runtime`: the async client for [fal.ai](https://fal.ai).
//!
//! It speaks fal's wire protocol (queue, subscribe, direct run, streaming,
//! realtime, storage, webhooks) over one shared `reqwest` client, and is what
//! generated bindings and `#[fal_endpoint]` compile against: they implement
//! [`Endpoint`] on the **input** type, so the input picks the endpoint and the
//! output type of every call.
//!
//! ```no_run
//! # async fn demo() -> fal_runtime::Result<()> {
//! /// What we send: the attribute implements `Endpoint`, so the input picks the endpoint.
//! #[fal_runtime::fal_endpoint("fal-ai/flux/dev", output = Generated)]
//! struct Draw {
//!     prompt: String,
//! }
//!
//! /// What comes back: any `Deserialize` type; fields it does not name are ignored.
//! #[derive(serde::Deserialize)]
//! struct Generated {
//!     images: Vec<fal_runtime::Image>,
//! }
//!
//! // FAL_KEY and FAL_*_URL from the environment; without a key fal answers 401.
//! let client = fal_runtime::Client::from_env()?;
//! // Typed: `#[fal_endpoint]`, the bundled bindings of the `fal-endpoints` crate,
//! // or bindings your own build.rs generates with `fal-codegen`.
//! let output = client
//!     .subscribe(Draw { prompt: "a lighthouse at dusk".into() })
//!     .logs(true)
//!     .on_update(|status| {
//!         for line in status.logs() {
//!             eprintln!("{}", line.message);
//!         }
//!     })
//!     .await?; // a `Generated`
//! println!("{}", output.images[0].url);
//!
//! // Untyped: JSON in, JSON out.
//! let output = client
//!     .endpoint("fal-ai/flux/dev")
//!     .subscribe(serde_json::json!({"prompt": "a lighthouse at dusk"}))
//!     .await?;
//! println!("{output}");
//! # Ok(()) }
//! ```
//!
//! Typed bindings for fal's endpoints (`FluxDevInput::new("…")` with every field
//! documented) are in the `fal-endpoints` crate, one cargo feature per endpoint.
//!
//! The verbs on [`Client`]: [`subscribe`](Client::subscribe) (submit, wait with
//! progress, fetch the result), [`submit`](Client::submit) (a [`QueueHandle`] to
//! drive yourself), [`run`](Client::run) (one blocking HTTP call),
//! [`stream`](Client::stream) (partial outputs), [`realtime`](Client::realtime)
//! (a WebSocket session, opened by `.connect()`) and
//! [`upload_file`](Client::upload_file). `subscribe`, `submit`, `run` and
//! `stream` return a builder for per-call options; awaiting it sends the request.
//!
//! # Features
//!
//! The default features give what most users want: `subscribe`, `run`,
//! `stream`, `storage`, `macros` (the `#[fal_endpoint]` re-export), `rustls`
//! (TLS). `gzip` (compressed responses), `realtime` (WebSocket sessions),
//! `webhook` (signature verification), `axum` (the webhook extractor; implies
//! `webhook`), `batch` and `batch-postgres` (the durable bulk runner),
//! `platform` (fal's Platform APIs), `native-tls` (the platform's TLS instead
//! of rustls) and `http2` are opt-in.
//! With `default-features = false` the crate is the queue client alone
//! ([`Client::submit`] and the [`QueueHandle`] verbs) with no TLS backend, for a
//! plain-HTTP proxy or a local testkit; add `rustls` or `native-tls` for fal's
//! own hosts.
//!
//! To test code that uses a client, point it at `fal-testkit`, a local
//! fal-compatible server: `let kit = fal_testkit::Testkit::builder().start().await?;`
//! then `kit.client_builder().build()?`, keeping `kit` alive while the client is
//! used (see the `fal-testkit` crate docs and `docs/testkit.md`).
//!
//! # How calls behave
//! - **Configuration**: builder settings win over `FAL_KEY` (or `FAL_KEY_ID` +
//!   `FAL_KEY_SECRET`) and `FAL_QUEUE_URL` / `FAL_RUN_URL` / `FAL_REST_URL`, which
//!   win over fal's hosts. A [`Key`] never prints itself.
//! - **Where the key goes**: only to the configured queue, run and REST base URLs
//!   (their host and path prefix, judged on the decoded path), the proxy, and
//!   fal's own hosts (`fal.ai`, `fal.run` and subdomains, https only); never to a
//!   URL named in a response or a redirect elsewhere. A call that would leave
//!   those fails with an [`ErrorKind::UntrustedUrl`] error before anything is sent. Endpoint
//!   ids are checked first ([`EndpointId`]: no `%`, `\`, `.` or `..` segment can
//!   climb out of a base path). [`ClientBuilder::proxy_url`] has the details.
//! - **Queue**: a [`QueueHandle`] keeps the `status_url`, `response_url` and
//!   `cancel_url` submit returned when they lie under the configured queue base
//!   (host and path prefix, so neither a prefix nor a proxy is ever bypassed), and
//!   otherwise builds them from the id with the endpoint's sub-path dropped
//!   (`fal-ai/flux/dev` → `fal-ai/flux/requests/…`).
//! - **subscribe** follows the SSE status stream and falls back to polling when it
//!   cannot open, breaks, or is silent too long; an overall
//!   [`Subscribe::timeout`] cancels the request and returns an
//!   [`ErrorKind::Timeout`] error with its id. Nothing is spawned, so dropping a call stops all of its traffic.
//! - **Retries** ([`RetryPolicy`] has the table): 429/502/503/504 (plus 500 for status
//!   polls) and transport errors, exponential backoff with jitter, `Retry-After`
//!   (header or body) honoured up to a cap, never a 504 carrying
//!   `x-fal-request-timeout-type`, and a submit only when fal cannot have queued it.
//! - **Validation before sending**: a typed call first checks its input against
//!   the schema's rules ([`Endpoint::validate`]: bounds, lengths, patterns,
//!   item counts, listed values); a broken rule fails with an error of kind
//!   [`ErrorKind::Validation`], whose [`Error::field_errors`] are exactly those
//!   a 422 from fal would carry, and nothing is sent. On by default (a refused
//!   input then costs no request and no billing); off per client with
//!   [`ClientBuilder::validate_inputs`] or per call with
//!   [`RequestOptions::validate`].
//! - **Errors** are one [`Error`]: [`Error::kind`] says what went wrong,
//!   [`Error::status`] and [`Error::request_id`] which answer and request,
//!   [`Error::api`] fal's message, field paths (`body.prompt`) and error type;
//!   decode errors name the serde path and show a preview of the body.
//! - **Billing**: `x-fal-billable-units` is on [`Completed::billable_units`]
//!   ([`QueueHandle::completed`]) and [`Error::billable_units`] when fal sends it.
//! - **Compression**: responses may come gzip-compressed (`accept-encoding: gzip`;
//!   the opt-in `gzip` feature, which the `fal` CLI turns on).
//! - **tracing**: one span per call (`call`, `endpoint`, `request_id`); no header
//!   or credential is ever recorded.
#![warn(missing_docs)]

// Lets generated code and macro output name `fal_runtime::…` even inside this crate.
extern crate self as fal_runtime;

// Plumbing stays private: the crate root re-exports what users name, and the
// families whose many types a user names together (`batch`, `platform`, `realtime`, `storage`,
// `stream`, `webhook`) are public modules, as `header` and `redirect` are in
// reqwest. `public-api.txt` (checked by `scripts/public-api.sh`) lists the
// resulting surface.
#[cfg(feature = "batch")]
pub mod batch;
mod body;
mod calls;
mod client;
mod config;
mod destination;
mod endpoint;
mod error;
mod file;
mod http;
mod input;
mod options;
#[cfg(feature = "platform")]
pub mod platform;
mod proxy;
mod queue;
mod random;
#[cfg(feature = "realtime")]
pub mod realtime;
#[cfg(feature = "run")]
mod run;
mod status;
#[cfg(feature = "storage")]
pub mod storage;
// Always compiled: the queue's status stream reports its failures as
// `StreamError`s; the `/stream` verb in it is behind the `stream` feature.
pub mod stream;
#[cfg(feature = "subscribe")]
mod subscribe;
mod timeouts;
mod validation;
mod values;
#[cfg(feature = "webhook")]
pub mod webhook;

pub use body::DEFAULT_MAX_RESPONSE_BYTES;
pub use calls::Untyped;
pub use client::{Client, ClientBuilder};
pub use config::Key;
pub use endpoint::{Endpoint, EndpointId, IdProblem, InvalidEndpointId};
pub use error::{ApiError, Error, ErrorKind, FieldError, Result};
pub use file::{File, FileInput, Image};
pub use http::RetryPolicy;
pub use options::{
    Acl, AclDecision, AclRule, Expiration, ObjectLifecycle, Priority, RequestOptions,
};
pub use queue::{Completed, QueueHandle, StatusStream, Submit};
#[cfg(feature = "run")]
pub use run::Run;
pub use status::{Log, Metrics, QueueStatus};
#[cfg(feature = "subscribe")]
pub use subscribe::{Subscribe, WaitMode};
pub use timeouts::Timeouts;
pub use validation::{Checkable, ValidationError};
pub use values::{UnknownEnumValue, UnlistedValue};

// What generated code and macro output rely on; documented inside (an outer
// doc here would make rustdoc resolve the module's links in this scope).
#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;

#[cfg(feature = "macros")]
pub use fal_macros::fal_endpoint;
