//! `#[fal_endpoint]`: declare a fal endpoint on your own input type.
//!
//! Generated bindings and this attribute produce the same thing, an
//! implementation of `fal_runtime::Endpoint` on the input type, with the id
//! checked by the same grammar (the `fal-id` crate), so every way of calling fal (queue,
//! subscribe, direct run, stream) works for a declared endpoint exactly as for
//! a generated one. Use it through `fal_runtime::fal_endpoint` (default feature
//! `macros`); the expansion names only `fal_runtime` paths, so the crate must
//! be a dependency under that name.
//!
//! ```
//! use fal_runtime::{fal_endpoint, Endpoint};
//! use serde::Deserialize;
//!
//! /// What we send.
//! #[fal_endpoint("fal-ai/flux/schnell", output = Generated)]
//! struct Sketch {
//!     prompt: String,
//!     #[serde(skip_serializing_if = "Option::is_none")]
//!     seed: Option<u64>,
//! }
//!
//! /// What comes back (only the fields we care about; the rest are ignored).
//! #[derive(Deserialize)]
//! struct Generated {
//!     seed: u64,
//! }
//!
//! assert_eq!(Sketch::ENDPOINT_ID, "fal-ai/flux/schnell");
//! let body = serde_json::to_value(Sketch { prompt: "a red kite".into(), seed: None }).unwrap();
//! assert_eq!(body, serde_json::json!({ "prompt": "a red kite" }));
//! let out: <Sketch as Endpoint>::Output = serde_json::from_str(r#"{"seed": 7, "images": []}"#).unwrap();
//! assert_eq!(out.seed, 7);
//! ```
//!
//! # Arguments
//!
//! - the endpoint id, a string literal `[namespace/]owner/alias[/path]`
//!   (spec 1.2), checked at compile time with the error on the literal;
//! - `output = Type` (required): what the result deserializes into, any
//!   `DeserializeOwned + Send + 'static` type (`serde_json::Value` for untyped);
//! - `derive_serialize = false` (optional): see below.
//!
//! # `Serialize`
//!
//! The input must serialize to a JSON object. The attribute adds
//! `#[derive(Serialize)]` (through `fal_runtime`'s re-export of serde, so no
//! serde dependency is needed) unless the struct already derives `Serialize`
//! itself below the attribute, in which case the user's derive and their serde
//! are used unchanged. Either way `#[serde(...)]` attributes work.
//!
//! Pass `derive_serialize = false` when the attribute cannot see the user's
//! implementation: a hand-written `impl Serialize`, a derive behind
//! `cfg_attr`, or a `#[derive(Serialize)]` written *above* `#[fal_endpoint]`
//! (rustc removes derives above an attribute before the attribute runs).
//! Forgetting it there is a "conflicting implementations of `Serialize`"
//! error pointing at the attribute. Simplest: put `#[fal_endpoint]` first.
//!
//! # Errors
//!
//! Misuse is a compile error at the offending token: an enum, union, tuple,
//! unit or generic struct; a missing `output`; an id outside the grammar; an
//! unknown or repeated option. The macro never panics.

#[cfg(test)]
mod agreement;
mod args;
mod item;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::{quote, ToTokens};
use syn::parse_quote;

/// Implements `fal_runtime::Endpoint` for the annotated input struct.
///
/// `#[fal_endpoint("owner/alias[/path]", output = OutputType)]`; see the
/// [crate documentation](crate) for the options and an example.
#[proc_macro_attribute]
pub fn fal_endpoint(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr.into(), item.into()).into()
}

/// The whole expansion. On error the item is still emitted next to the
/// error (with the `Serialize` derive when it is a struct), so one mistake
/// does not cascade into "type not found" or "unknown attribute `serde`"
/// errors.
fn expand(attr: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let parsed: syn::Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        Err(e) => return with_item(e, item),
    };
    let input = match item::input_struct(&parsed) {
        Ok(input) => input,
        Err(e) => return with_item(e, item),
    };
    match syn::parse2::<args::Args>(attr) {
        Ok(args) => {
            let input = with_serialize(input.clone(), args.derive_serialize.as_ref());
            let ident = &input.ident;
            // The checked value, re-emitted without any literal suffix.
            let id = syn::LitStr::new(&args.endpoint_id.value(), args.endpoint_id.span());
            let output = &args.output;
            quote! {
                #input
                impl fal_runtime::Endpoint for #ident {
                    const ENDPOINT_ID: &'static str = #id;
                    type Output = #output;
                }
            }
        }
        Err(e) => with_item(e, with_serialize(input.clone(), None).into_token_stream()),
    }
}

/// Adds the `Serialize` derive unless told not to or the struct has its own.
fn with_serialize(mut input: syn::ItemStruct, flag: Option<&syn::LitBool>) -> syn::ItemStruct {
    let derive = match flag {
        Some(flag) => flag.value,
        None => !item::derives_serialize(&input.attrs),
    };
    if derive {
        let added: [syn::Attribute; 2] = [
            parse_quote!(#[derive(fal_runtime::__private::serde::Serialize)]),
            parse_quote!(#[serde(crate = "fal_runtime::__private::serde")]),
        ];
        // Before the user's attributes, so their `#[serde(...)]` helpers
        // follow the derive that introduces them.
        input.attrs.splice(0..0, added);
    }
    input
}

fn with_item(error: syn::Error, item: TokenStream2) -> TokenStream2 {
    let error = error.to_compile_error();
    quote! {
        #error
        #item
    }
}
