//! `fal-codegen`: fal endpoint OpenAPI documents to typed Rust bindings.
