//! IR → Rust tokens.

mod endpoint;

pub use endpoint::endpoint_impl;
