//! `fal-codegen`: fal endpoint OpenAPI documents to typed Rust bindings.
#![warn(missing_docs)]

pub mod emit;
pub mod endpoint_id;
