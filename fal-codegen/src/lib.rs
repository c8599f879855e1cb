//! `fal-codegen`: fal endpoint OpenAPI documents to typed Rust bindings.
//!
//! Three stages, each its own module: [`parse`] reads a fal queue OpenAPI
//! document (no network), [`ir`] decides every type and name, [`emit`] writes
//! formatted Rust. [`Builder`] drives them from a build script; the `fal codegen`
//! CLI uses the same builder. [`reduce`] cuts fal's documents down to facts
//! (no prose) before they are stored in the repository.
//!
//! What the generated code looks like, and why:
//! - One module per endpoint from its id (`fal-ai/flux/dev` → `fal_ai::flux::dev`)
//!   with the input struct (which implements `fal_runtime::Endpoint`), the output
//!   type and every other type its schemas define, each under its schema name.
//! - One Rust type per schema definition: a component used by both the input
//!   and the output (a chat message sent back as the next turn's history) is
//!   one type, so an output can go straight back in.
//! - Names come from component keys, else property names, and depend only on
//!   the endpoint's own document: adding endpoints never renames a type, and no
//!   name carries a hash or a counter (see [`ir::naming`] for the collision rule).
//! - Required properties are constructor arguments (`FluxDevInput::new(prompt)`),
//!   optional ones `with_*` setters; unset optional fields are left out of the
//!   request so fal applies its own defaults (which are documented, never sent).
//!   File inputs take `fal_runtime::FileInput` (a URL, bytes or a path), never a
//!   bare `&str`, so a prompt and an image URL cannot be swapped silently.
//! - String enums are strict: `FromStr`/`TryFrom<&str>` refuse unlisted
//!   values, `from_wire` is the explicit way to send one, and values fal adds
//!   later still deserialize (into `Other`) and round-trip. Structs ignore
//!   unknown fields.
//! - `anyOf`/`oneOf` become `Option` (null arms) and untagged enums that
//!   serialize to exactly the JSON of the arm.
//! - Serde impls stream (no `serde_json::Map` in between), so a decode error
//!   names its exact path (`images[0].width`) through `serde_path_to_error`,
//!   and msgpack (realtime) reads the same types. Their helpers live once in
//!   `fal_runtime::__private`.
//! - File-URL inputs (`x-fal-file-input`, `format: uri`, `*_url`/`*_urls`) are
//!   `fal_runtime::FileInput`; fal's File/Image shapes are `fal_runtime::File` /
//!   `fal_runtime::Image`.
//! - `$ref`s to components a document does not define become
//!   `serde_json::Value` with a doc note saying so; defaults that do not match
//!   their schema are only documentation, so they never fail a document.
#![warn(missing_docs)]

mod builder;
pub mod emit;
pub mod endpoint_id;
mod error;
pub mod ir;
pub mod parse;
pub mod reduce;

pub use builder::{Builder, Generated, DEFAULT_OUT_FILE};
pub use error::{Error, Location};

/// Bindings for already parsed documents (one endpoint each).
pub fn generate(documents: &[parse::Document]) -> Result<String, Error> {
    let ir = ir::lower(documents)?;
    emit::render(&ir)
}
