//! The annotated item: which shapes can be an endpoint input, and the
//! `Serialize` derive the attribute adds when the user has not.

use syn::spanned::Spanned;
use syn::{Attribute, Fields, Item, ItemStruct};

/// Checks that `item` is a struct fal can send as a JSON object.
///
/// fal's queue, run and stream routes all take a JSON object body, so only a
/// struct with named fields (possibly none, `struct Ping {}`) fits; an enum,
/// union, tuple or unit struct would serialize to something else.
pub fn input_struct(item: &Item) -> syn::Result<&ItemStruct> {
    let hint = "#[fal_endpoint] goes on the endpoint's input type: a struct with named fields, \
                sent to fal as a JSON object";
    let s = match item {
        Item::Struct(s) => s,
        Item::Enum(e) => {
            return Err(syn::Error::new(
                e.enum_token.span,
                format!("an enum cannot be an endpoint input; {hint}"),
            ))
        }
        Item::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                format!("a union cannot be an endpoint input; {hint}"),
            ))
        }
        other => return Err(syn::Error::new(other.span(), hint)),
    };
    match &s.fields {
        Fields::Named(_) => {}
        Fields::Unnamed(f) => {
            return Err(syn::Error::new(
                f.span(),
                format!("a tuple struct serializes to a JSON array, not an object; {hint}"),
            ))
        }
        Fields::Unit => {
            return Err(syn::Error::new(
                s.ident.span(),
                format!(
                    "a unit struct serializes to null; write `struct {} {{}}` for an endpoint without inputs",
                    s.ident
                ),
            ))
        }
    }
    if !s.generics.params.is_empty() {
        return Err(syn::Error::new(
            s.generics.span(),
            "an endpoint input cannot be generic: the endpoint id and output type are fixed per type",
        ));
    }
    Ok(s)
}

/// Whether the struct already derives `Serialize` (under any path ending in
/// `Serialize`, e.g. `serde::Serialize`).
pub fn derives_serialize(attrs: &[Attribute]) -> bool {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .any(|a| {
            let mut found = false;
            // A derive list that does not parse is left for rustc to report.
            let _ = a.parse_nested_meta(|meta| {
                if meta
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "Serialize")
                {
                    found = true;
                }
                Ok(())
            });
            found
        })
}
