//! `fal-endpoints-f`: the part of the `fal-endpoints` catalogue holding the fal.ai
//! endpoints whose alias (the id segment after the owner) starts with
//! `f`, one cargo feature each (the endpoint id with every `/` written
//! `__`), one per owner, and `full`.
//!
//! Enable an endpoint's feature here and name it through `fal-endpoints`
//! (`fal_endpoints::fal_ai::…`) or through this crate (`fal_endpoints_f::fal_ai::…`);
//! `fal models list` prints the crate and feature of every endpoint. Why the
//! catalogue is cut into parts: crates.io accepts at most 300 features per
//! crate (the `fal-endpoints` docs say more). Everything under
//! `src/generated/` and the `[features]` table of `Cargo.toml` are written by
//! `scripts/catalogue.sh`.
#![warn(missing_docs)]

#[rustfmt::skip] // generated code, formatted by the generator (prettyplease)
mod generated;

// With no endpoint feature enabled the owners' modules are empty.
#[allow(unused_imports)]
pub use generated::*;
