//! The `impl fal_runtime::Endpoint` that ties an input type to its endpoint.
//!
//! The trait is implemented on the INPUT type, which is what makes
//! `client.subscribe(input)` typed without a turbofish. `#[fal_endpoint]` writes
//! the same impl for a declared struct (fal-macros depends only on syn, quote and
//! the id grammar, so it cannot call this).

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

/// `impl fal_runtime::Endpoint for <input_ty> { ENDPOINT_ID = endpoint_id; Output = output_ty }`.
///
/// The id is emitted as given; callers check it first with
/// `fal_id::EndpointId::parse` so a bad id is a generation-time error.
pub fn endpoint_impl(
    input_ty: impl ToTokens,
    endpoint_id: &str,
    output_ty: impl ToTokens,
) -> TokenStream {
    endpoint_impl_with(input_ty, endpoint_id, output_ty, TokenStream::new())
}

/// [`endpoint_impl`] with more items in the impl (generated inputs add
/// `validate`).
pub(crate) fn endpoint_impl_with(
    input_ty: impl ToTokens,
    endpoint_id: &str,
    output_ty: impl ToTokens,
    items: TokenStream,
) -> TokenStream {
    quote! {
        impl fal_runtime::Endpoint for #input_ty {
            const ENDPOINT_ID: &'static str = #endpoint_id;
            type Output = #output_ty;
            #items
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_id_and_output() {
        let input: syn::Type = syn::parse_quote!(FluxDevInput);
        let tokens = endpoint_impl(&input, "fal-ai/flux/dev", quote!(FluxDevOutput));
        let file: syn::File = syn::parse2(tokens).unwrap_or_else(|e| panic!("{e}"));
        let text = prettyplease::unparse(&file);
        assert!(
            text.contains("impl fal_runtime::Endpoint for FluxDevInput"),
            "{text}"
        );
        assert!(
            text.contains("const ENDPOINT_ID: &'static str = \"fal-ai/flux/dev\";"),
            "{text}"
        );
        assert!(text.contains("type Output = FluxDevOutput;"), "{text}");
    }
}
