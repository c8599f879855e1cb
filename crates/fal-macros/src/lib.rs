//! `#[fal_endpoint]`: declare a fal endpoint on your own input type.
//!
//! Filled in by the macros issue; the attribute currently only exists so the
//! runtime's re-export compiles.
use proc_macro::TokenStream;

/// Declares that the annotated input type calls a fal endpoint.
#[proc_macro_attribute]
pub fn fal_endpoint(attr: TokenStream, item: TokenStream) -> TokenStream {
    let _ = attr;
    item
}
