//! The attribute's arguments: `"owner/alias[/path]", output = Type[, derive_serialize = bool]`.
//!
//! Every mistake becomes a `syn::Error` spanned at the offending token, so the
//! compiler underlines the literal, the option name or the value, never the
//! whole attribute unless something is missing from it.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{Ident, LitBool, LitStr, Token, Type};

/// The options the attribute understands, for "unknown option" messages.
const KNOWN: &str = "`output` or `derive_serialize`";

/// What `#[fal_endpoint(...)]` was given, checked.
pub struct Args {
    /// The endpoint id, already checked against spec 1.2.
    pub endpoint_id: LitStr,
    /// `output = Type`.
    pub output: Type,
    /// `derive_serialize = false` turns off the automatic `Serialize` derive.
    pub derive_serialize: Option<LitBool>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "expected the endpoint id and output type: \
                 #[fal_endpoint(\"owner/alias\", output = OutputType)]",
            ));
        }
        let endpoint_id = parse_id(input)?;
        let mut output: Option<Type> = None;
        let mut derive_serialize: Option<LitBool> = None;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break; // trailing comma
            }
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            if key == "output" {
                let ty: Type = input.parse()?;
                set_once(&mut output, ty, &key)?;
            } else if key == "derive_serialize" {
                let value: LitBool = input.parse().map_err(|e| {
                    syn::Error::new(e.span(), "`derive_serialize` takes `true` or `false`")
                })?;
                set_once(&mut derive_serialize, value, &key)?;
            } else {
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown option `{key}`; expected {KNOWN}"),
                ));
            }
        }
        let output = output.ok_or_else(|| {
            syn::Error::new(
                Span::call_site(),
                "missing `output = OutputType`: the type the endpoint's result deserializes into \
                 (use serde_json::Value to take it untyped)",
            )
        })?;
        Ok(Self {
            endpoint_id,
            output,
            derive_serialize,
        })
    }
}

/// The leading string literal, checked with the same grammar as the runtime.
fn parse_id(input: ParseStream<'_>) -> syn::Result<LitStr> {
    let lit: LitStr = input.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            "the first argument must be the endpoint id as a string literal, e.g. \"fal-ai/flux/dev\"",
        )
    })?;
    fal_id::EndpointId::parse(&lit.value())
        .map_err(|err| syn::Error::new(lit.span(), err.to_string()))?;
    Ok(lit)
}

/// Stores an option's value, refusing a second occurrence at its name.
fn set_once<T>(slot: &mut Option<T>, value: T, key: &Ident) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` is given more than once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}
