//! `fal-runtime`: the async client for [fal.ai](https://fal.ai).
//!
//! It speaks fal's wire protocol (queue, subscribe, direct run, streaming,
//! realtime, storage, webhooks) over one shared `reqwest` client, and is what
//! generated bindings and `#[fal_endpoint]` compile against: they implement
//! [`Endpoint`], and every call is typed by it.
//!
//! ```no_run
//! # async fn demo() -> fal_runtime::Result<()> {
//! let client = fal_runtime::Client::from_env()?;
//! let output = client
//!     .endpoint("fal-ai/flux/dev")
//!     .subscribe(serde_json::json!({"prompt": "a lighthouse at dusk"}))
//!     .await?;
//! println!("{output}");
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

// Lets generated code and macro output name `fal_runtime::…` even inside this crate.
extern crate self as fal_runtime;

pub mod calls;
pub mod client;
pub mod config;
pub mod endpoint;
pub mod endpoints;
pub mod error;
pub mod file;
pub mod http;
pub mod input;
pub mod options;
pub mod queue;
pub mod realtime;
pub mod run;
pub mod status;
pub mod storage;
pub mod stream;
pub mod subscribe;
pub mod webhook;

pub use calls::Untyped;
pub use client::{Client, ClientBuilder};
pub use config::Key;
pub use endpoint::{Endpoint, EndpointId, InvalidEndpointId};
pub use error::{ApiError, Error, FieldError, Result};
pub use file::{File, FileInput, Image};
pub use http::{Operation, RetryPolicy};
pub use options::{
    Acl, AclDecision, AclRule, Expiration, ObjectLifecycle, Priority, RequestOptions,
};
pub use queue::{QueueHandle, StatusStream, Submit};
pub use run::Run;
pub use status::{Log, Metrics, QueueStatus};
pub use subscribe::{Subscribe, WaitMode};

/// Re-exports that generated code and macro output rely on, so a user's crate
/// needs no dependency besides `fal-runtime`. Not part of the stable API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use serde_json;
}

#[cfg(feature = "macros")]
pub use fal_macros::fal_endpoint;
