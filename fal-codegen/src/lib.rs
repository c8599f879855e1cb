//! `fal-codegen`: fal endpoint OpenAPI documents to typed Rust bindings.
//!
//! Three stages, each its own module: [`parse`] reads a fal queue OpenAPI
//! document (no network), [`ir`] decides every type and name, [`emit`] writes
//! formatted Rust. [`Builder`] drives them from a build script; the `fal codegen`
//! CLI uses the same builder, and [`Bundle`] lays bindings out as a crate of their
//! own with one cargo feature per endpoint (how `fal-endpoints` is generated).
//! [`reduce`] cuts fal's documents down to facts (no prose) before they are
//! stored in the repository.
//!
//! What the generated code looks like, and why:
//! - One module per endpoint from its id (`fal-ai/flux/dev` → `fal_ai::flux::dev`)
//!   with the input struct (which implements `fal_runtime::Endpoint`), the output
//!   type and every other type under its schema name. Types are named from
//!   component keys, else property names; collisions are resolved inside the
//!   endpoint only, so adding endpoints never renames a type.
//! - Identical definitions are emitted once (in a hidden `__types` module, keyed
//!   by name and content hash) and re-exported by each endpoint module.
//! - Required properties are constructor arguments (`FluxDevInput::new(prompt)`),
//!   optional ones `with_*` setters; unset optional fields are left out of the
//!   request so fal applies its own defaults (which are documented, never sent).
//! - String enums keep unknown values in `Other(String)`; structs ignore unknown
//!   fields. Both keep bindings working when fal adds values or fields.
//! - `anyOf`/`oneOf` become `Option` (null arms) and untagged enums that
//!   serialize to exactly the JSON of the arm.
//! - File-URL inputs (`x-fal-file-input`, `format: uri`, `*_url`/`*_urls`) are
//!   `fal_runtime::FileInput`; fal's File/Image shapes are `fal_runtime::File` /
//!   `fal_runtime::Image`.
//! - `$ref`s to components a document does not define become
//!   `serde_json::Value` with a doc note saying so; defaults that do not match
//!   their schema are only documentation, so they never fail a document.
#![warn(missing_docs)]

mod builder;
pub mod bundle;
pub mod emit;
pub mod endpoint_id;
mod error;
pub mod ir;
pub mod parse;
pub mod reduce;

pub use builder::{Builder, Generated, DEFAULT_OUT_FILE};
pub use bundle::Bundle;
pub use error::{Error, Location};

/// Bindings for already parsed documents (one endpoint each).
pub fn generate(documents: &[parse::Document]) -> Result<String, Error> {
    let ir = ir::lower(documents)?;
    emit::render(&ir)
}
