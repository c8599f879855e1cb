//! `fal-runtime`: the async client for [fal.ai](https://fal.ai).
//!
//! It speaks fal's wire protocol (queue, subscribe, direct run, streaming,
//! realtime, storage, webhooks) over one shared `reqwest` client, and is what
//! generated bindings and `#[fal_endpoint]` compile against: they implement
//! [`Endpoint`], and every call is typed by it.
#![warn(missing_docs)]

// Lets generated code and macro output name `fal_runtime::…` even inside this crate.
extern crate self as fal_runtime;

pub mod endpoint;
pub mod file;
pub mod storage;
pub mod webhook;

pub use endpoint::{Endpoint, EndpointId, InvalidEndpointId};
pub use file::{File, FileInput, Image};

/// Re-exports that generated code and macro output rely on, so a user's crate
/// needs no dependency besides `fal-runtime`. Not part of the stable API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use serde_json;
}

#[cfg(feature = "macros")]
pub use fal_macros::fal_endpoint;
