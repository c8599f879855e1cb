//! Bindings for every reference fal schema, compiled in one crate so that
//! `clippy -D warnings` and `missing_docs` cover all of them at once. The corpus
//! is built only with the `corpus` feature and when `../shared/fal-schemas` is
//! present; the generator's fixture documents are always built.
#![deny(missing_docs)]

/// Bindings for fal-codegen's own fixture documents (always built).
pub mod fixtures {
    include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
}

/// Bindings for fal-codegen's one-construct documents
/// (`fal-codegen/tests/fixtures/constructs`, always built).
pub mod constructs {
    include!(concat!(env!("OUT_DIR"), "/constructs.rs"));
}

/// The client module of fal-codegen's REST fixture document (always built).
pub mod acme_admin_api {
    include!(concat!(env!("OUT_DIR"), "/acme_admin_api.rs"));
}

/// Every operation of fal's Platform API document, as the repository keeps it
/// (reduced to facts), generated as one client module (always built; the
/// runtime's `platform` feature holds a selection of these operations).
pub mod platform_api {
    include!(concat!(env!("OUT_DIR"), "/platform_api.rs"));
}

/// Tier A: complete fal queue documents.
#[cfg(fal_corpus)]
pub mod tier_a {
    include!(concat!(env!("OUT_DIR"), "/tier_a.rs"));
}

/// Tier B: IMG.LY-edited fal documents.
#[cfg(fal_corpus)]
pub mod imgly {
    include!(concat!(env!("OUT_DIR"), "/imgly.rs"));
}

/// Tier C: documents rebuilt from fal's bulk export.
#[cfg(fal_corpus)]
pub mod bulk {
    include!(concat!(env!("OUT_DIR"), "/bulk.rs"));
}
