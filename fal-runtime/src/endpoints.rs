//! Typed bindings for the endpoints this crate ships, generated at build time
//! by fal-codegen from the repository's `schemas/` directory.
//!
//! One module per endpoint id: `fal-ai/flux/dev` is `endpoints::fal_ai::flux::dev`,
//! holding `FluxDevInput` (which implements [`Endpoint`](crate::Endpoint), so
//! `client.subscribe(input)` is typed), `FluxDevOutput` and every type they use.
//! Required fields are constructor arguments, optional ones `with_*` setters;
//! fields left unset are not sent, so fal applies its own defaults.
//!
//! For endpoints not shipped here, generate bindings the same way in your own
//! `build.rs` with `fal_codegen::Builder`, or run `fal codegen generate`.

include!(concat!(env!("OUT_DIR"), "/endpoints.rs"));
