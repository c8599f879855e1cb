//! Type definitions → tokens: structs (with constructors and `with_` setters
//! for request types), strict string enums (with an `Other` arm), untagged
//! unions and newtypes. Serde impls are written by hand against the helpers in
//! `fal_runtime::__private`: serde's derive expands to several times the code
//! (the corpus check went from about 26 s to 3.5 min and over 2 GB with it),
//! and compile time is a feature here.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use super::docs::doc_attrs;
use crate::ir::naming::unraw;
use crate::ir::{Field, Kind, Role, Rules, Tagged, Ty, TypeDef, UnionArm, Variant};

/// How named types are spelled where the code is emitted.
pub trait Names {
    /// The tokens naming the type with this name (in its endpoint's module).
    fn named(&self, name: &str) -> TokenStream;
}

/// An identifier, raw when the IR name is raw (`r#type`).
pub(super) fn ident(name: &str) -> Ident {
    match name.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(name, Span::call_site()),
    }
}

/// The Rust spelling of `ty`.
pub fn rust_type(ty: &Ty, names: &dyn Names) -> TokenStream {
    match ty {
        Ty::Bool => quote!(bool),
        Ty::Integer => quote!(i64),
        Ty::Number => quote!(f64),
        Ty::String => quote!(String),
        Ty::FileInput => quote!(fal_runtime::FileInput),
        Ty::File => quote!(fal_runtime::File),
        Ty::Image => quote!(fal_runtime::Image),
        Ty::Json => quote!(fal_runtime::__private::serde_json::Value),
        Ty::JsonObject => {
            quote!(fal_runtime::__private::serde_json::Map<String, fal_runtime::__private::serde_json::Value>)
        }
        Ty::List(inner) => {
            let inner = rust_type(inner, names);
            quote!(Vec<#inner>)
        }
        Ty::Map(inner) => {
            let inner = rust_type(inner, names);
            quote!(::std::collections::BTreeMap<String, #inner>)
        }
        Ty::Option(inner) => {
            let inner = rust_type(inner, names);
            quote!(Option<#inner>)
        }
        Ty::Named(key) => names.named(key),
    }
}

/// The definition of `def`, under its name.
pub(super) fn definition(def: &TypeDef, names: &dyn Names) -> TokenStream {
    let name = ident(&def.name);
    let fallback = format!("The `{}` type of the endpoint schema.", def.name);
    let docs = doc_attrs(&def.docs, &fallback);
    match &def.kind {
        Kind::Struct(fields) => structure(def.role, &name, &docs, fields, names),
        Kind::Enum(variants) => string_enum(def.role, &name, &docs, variants),
        Kind::Union(arms) => union(def.role, &name, &docs, arms, names),
        Kind::Newtype(inner) => newtype(&name, &docs, inner, names),
        Kind::Tagged(tagged) => tagged_union(def.role, &name, &docs, tagged, names),
    }
}

/// `&__fal::Rules { .. }` for `rules` (the schema's rules at one position).
fn rules_tokens(rules: &Rules) -> TokenStream {
    if rules.is_empty() {
        return quote!(&__fal::Rules::NONE);
    }
    let limits = &rules.own;
    let float = |name: &str, v: Option<f64>| {
        v.map(|v| {
            let ident = format_ident!("{}", name);
            let lit = proc_macro2::Literal::f64_suffixed(v);
            quote!(#ident: Some(#lit),)
        })
    };
    let int = |name: &str, v: Option<u64>| {
        v.map(|v| {
            let ident = format_ident!("{}", name);
            quote!(#ident: Some(#v),)
        })
    };
    let parts = [
        float("minimum", limits.minimum),
        float("exclusive_minimum", limits.exclusive_minimum),
        float("maximum", limits.maximum),
        float("exclusive_maximum", limits.exclusive_maximum),
        float("multiple_of", limits.multiple_of),
        int("min_length", limits.min_length),
        int("max_length", limits.max_length),
        limits.pattern.as_ref().map(|p| quote!(pattern: Some(#p),)),
        int("min_items", limits.min_items),
        int("max_items", limits.max_items),
        limits.listed.as_ref().map(|values| {
            let values = values
                .iter()
                .map(|v| proc_macro2::Literal::f64_suffixed(*v));
            quote!(listed: Some(&[#(#values),*]),)
        }),
        limits.literal.then(|| quote!(literal: true,)),
        limits.text.as_ref().map(|t| quote!(text: Some(#t),)),
        rules.any_text.as_ref().map(|text| {
            let text = rules_tokens(text);
            quote!(any_text: Some(#text),)
        }),
        rules.items.as_ref().map(|items| {
            let items = rules_tokens(items);
            quote!(items: Some(#items),)
        }),
        rules.values.as_ref().map(|values| {
            let values = rules_tokens(values);
            quote!(values: Some(#values),)
        }),
    ];
    let parts = parts.into_iter().flatten();
    quote!(&__fal::Rules { #(#parts)* ..__fal::Rules::NONE })
}

/// Whether a value of `ty` may break a rule without one at its own position:
/// it holds a generated type (which has its own rules).
fn holds_named(ty: &Ty) -> bool {
    match ty {
        Ty::Named(_) => true,
        Ty::List(inner) | Ty::Map(inner) | Ty::Option(inner) => holds_named(inner),
        _ => false,
    }
}

/// `impl __fal::Validate` for an input struct: one `field` call per field
/// that has rules or holds a type that has.
fn struct_validation(name: &Ident, fields: &[Field]) -> TokenStream {
    let checks: Vec<TokenStream> = fields
        .iter()
        .filter(|f| !f.rules.is_empty() || holds_named(&f.ty))
        .map(|field| {
            let ident = ident(&field.rust_name);
            if field.additional {
                // Flattened: each member is checked at its own name.
                return quote!(__fal::Validate::validate_at(&self.#ident, v, &__fal::Rules::NONE););
            }
            let json = &field.json_name;
            let rules = rules_tokens(&field.rules);
            quote!(v.field(#json, &self.#ident, #rules);)
        })
        .collect();
    let v = if checks.is_empty() {
        quote!(_)
    } else {
        quote!(v)
    };
    quote! {
        impl __fal::Validate for #name {
            fn validate_at(&self, #v: &mut __fal::Validator, _: &__fal::Rules<'_>) {
                #(#checks)*
            }
        }
    }
}

/// A struct, its serde impls and (for input types) its builders.
///
/// Serialization writes a map, leaving unset optional fields out.
/// Deserialization streams the map key by key (see `fal_runtime::__private`):
/// unknown keys are skipped, every value is read straight into its field's
/// type, so `serde_path_to_error` names the exact path and any
/// self-describing format works. Locals are positional (`f0`, `f1`, …) so no
/// field name can shadow the map. Each arm of the key `match` is a helper
/// call returning a `Result` and the `match` has one `?`; the required
/// fields are unwrapped by one `match` over their slots; `serialize` makes
/// one plain call per field into `__fal::Entries`, which keeps the first
/// error. A `?` per field was measurably more to type-check and borrow-check
/// in a crate of a thousand endpoints (docs/codegen.md, Benchmark).
fn structure(
    role: Role,
    name: &Ident,
    docs: &TokenStream,
    fields: &[Field],
    names: &dyn Names,
) -> TokenStream {
    let all_optional = fields.iter().all(|f| !f.required);
    let default = all_optional.then(|| quote!(Default,));
    let field_tokens = fields.iter().map(|field| {
        let ident = ident(&field.rust_name);
        let ty = rust_type(&field.ty, names);
        let fallback = format!("The `{}` field.", field.json_name);
        let docs = doc_attrs(&field.docs, &fallback);
        quote! {
            #docs
            pub #ident: #ty,
        }
    });
    // One plain call per field into `__fal::Entries`, which keeps the first
    // error (see `structure`'s docs).
    let writes = fields.iter().map(|field| {
        let ident = ident(&field.rust_name);
        let json = &field.json_name;
        if field.additional {
            return quote!(map.extra(&self.#ident););
        }
        match (&field.ty, field.required) {
            (Ty::Option(_), false) => quote!(map.opt(#json, &self.#ident);),
            _ => quote!(map.put(#json, &self.#ident);),
        }
    });
    let locals: Vec<Ident> = (0..fields.len()).map(|i| format_ident!("f{}", i)).collect();
    // The members the schema does not name, when the struct keeps them (its
    // last field); every other key is skipped.
    let others = fields
        .iter()
        .zip(&locals)
        .find(|(f, _)| f.additional)
        .map(|(field, local)| (local, rust_type(&field.ty, names)));
    let keys = fields
        .iter()
        .filter(|f| !f.additional)
        .map(|f| f.json_name.as_str());
    // `Some(i)` from `Key`, `Ok(i)` from `KeyOrName`.
    let found = if others.is_some() {
        quote!(Ok)
    } else {
        quote!(Some)
    };
    let arms = fields
        .iter()
        .filter(|f| !f.additional)
        .zip(&locals)
        .enumerate()
        .map(|(index, (field, local))| {
            (proc_macro2::Literal::usize_unsuffixed(index), field, local)
        })
        .map(|(index, field, local)| match &field.ty {
            // `null` reads as `None`, like an absent key.
            Ty::Option(_) => quote!(#found(#index) => __fal::set(&mut #local, &mut map),),
            _ => quote!(#found(#index) => __fal::put(&mut #local, &mut map),),
        });
    let inits = fields.iter().zip(&locals).map(|(field, local)| {
        let ident = ident(&field.rust_name);
        quote!(#ident: #local,)
    });
    // The required fields' slots are unwrapped by one `match`: all set builds
    // the value, else the first unset one (in field order) is missing.
    let required: Vec<(&Field, &Ident)> = fields
        .iter()
        .zip(&locals)
        .filter(|(f, _)| !f.additional && !matches!(f.ty, Ty::Option(_)))
        .collect();
    let build = if required.is_empty() {
        quote!(Ok(#name { #(#inits)* }))
    } else {
        let slots = required.iter().map(|(_, local)| *local);
        let set = required.iter().map(|(_, local)| quote!(Some(#local)));
        let unset = required.iter().enumerate().map(|(i, (field, _))| {
            let columns =
                (0..required.len()).map(|j| if i == j { quote!(None) } else { quote!(_) });
            let json = &field.json_name;
            quote!((#(#columns,)*) => Err(__fal::missing(#json)),)
        });
        quote! {
            match (#(#slots,)*) {
                (#(#set,)*) => Ok(#name { #(#inits)* }),
                #(#unset)*
            }
        }
    };
    let named_locals = fields
        .iter()
        .zip(&locals)
        .filter(|(f, _)| !f.additional)
        .map(|(_, local)| local);
    let visit = match others {
        // No fields (a REST request without parameters): any object.
        None if fields.is_empty() => quote! {
            while map.next_key::<__fal::serde::de::IgnoredAny>()?.is_some() {
                __fal::skip(&mut map)?;
            }
        },
        None => quote! {
            #( let mut #named_locals = None; )*
            while let Some(key) = map.next_key_seed(__fal::Key(&[#(#keys),*]))? {
                match key {
                    #(#arms)*
                    _ => __fal::skip(&mut map),
                }?;
            }
        },
        Some((others, others_ty)) => quote! {
            #( let mut #named_locals = None; )*
            let mut #others: #others_ty = ::std::default::Default::default();
            while let Some(key) = map.next_key_seed(__fal::KeyOrName(&[#(#keys),*]))? {
                match key {
                    #(#arms)*
                    Ok(_) => __fal::skip(&mut map),
                    Err(name) => map.next_value().map(|value| {
                        #others.insert(name, value);
                    }),
                }?;
            }
        },
    };
    // A struct without fields (a REST request with no parameters) writes an
    // empty object.
    let map_binding = if fields.is_empty() {
        quote!(map)
    } else {
        quote!(mut map)
    };
    let expecting = format!("a `{name}` object");
    let builders = (role == Role::Input).then(|| builders(name, fields, names));
    let validation = (role == Role::Input).then(|| struct_validation(name, fields));
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, #default)]
        pub struct #name {
            #(#field_tokens)*
        }
        impl __fal::serde::Serialize for #name {
            fn serialize<S: __fal::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let #map_binding = __fal::Entries::new(serializer.serialize_map(None)?);
                #(#writes)*
                map.end()
            }
        }
        impl<'de> __fal::serde::Deserialize<'de> for #name {
            fn deserialize<D: __fal::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct FalVisitor;
                impl<'de> __fal::serde::de::Visitor<'de> for FalVisitor {
                    type Value = #name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(#expecting)
                    }
                    fn visit_map<A: __fal::serde::de::MapAccess<'de>>(self, mut map: A) -> Result<#name, A::Error> {
                        #visit
                        #build
                    }
                }
                deserializer.deserialize_map(FalVisitor)
            }
        }
        #builders
        #validation
    }
}

/// A parameter accepting anything convertible into `ty`, and the expression
/// converting it. Lists take any iterator of convertible items.
fn param(
    ty: &Ty,
    arg: &Ident,
    generic: &Ident,
    names: &dyn Names,
) -> (TokenStream, Option<TokenStream>, TokenStream) {
    match ty {
        Ty::List(item) => {
            let item = rust_type(item, names);
            (
                quote!(impl IntoIterator<Item = #generic>),
                Some(quote!(#generic: Into<#item>)),
                quote!(#arg.into_iter().map(Into::into).collect()),
            )
        }
        other => {
            let ty = rust_type(other, names);
            (quote!(impl Into<#ty>), None, quote!(#arg.into()))
        }
    }
}

fn builders(name: &Ident, fields: &[Field], names: &dyn Names) -> TokenStream {
    let mut args = Vec::new();
    let mut generics = Vec::new();
    let mut inits = Vec::new();
    let mut setters = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        let member = ident(&field.rust_name);
        let arg = member.clone();
        let generic = format_ident!("I{}", index);
        if field.additional {
            inits.push(quote!(#member: ::std::default::Default::default()));
            let value = match &field.ty {
                Ty::Map(inner) => rust_type(inner, names),
                _ => quote!(fal_runtime::__private::serde_json::Value),
            };
            setters.push(quote! {
                /// Adds a member the schema does not name (`additionalProperties`).
                pub fn with_extra_member(mut self, name: impl Into<String>, value: impl Into<#value>) -> Self {
                    self.#member.insert(name.into(), value.into());
                    self
                }
            });
            continue;
        }
        if field.required {
            let (param_ty, bound, convert) = param(&field.ty, &arg, &generic, names);
            args.push(quote!(#arg: #param_ty));
            generics.extend(bound);
            inits.push(quote!(#member: #convert));
        } else {
            inits.push(quote!(#member: None));
            let inner = match &field.ty {
                Ty::Option(inner) => inner.as_ref(),
                other => other,
            };
            let (param_ty, bound, convert) = param(inner, &arg, &generic, names);
            let method = format_ident!("with_{}", unraw(&field.rust_name).trim_end_matches('_'));
            let doc = format!(
                " Sets `{}` (left out of the request until set).",
                field.json_name
            );
            let generics = bound.map(|b| quote!(<#b>));
            setters.push(quote! {
                #[doc = #doc]
                pub fn #method #generics (mut self, #arg: #param_ty) -> Self {
                    self.#member = Some(#convert);
                    self
                }
            });
        }
    }
    let generics = (!generics.is_empty()).then(|| quote!(<#(#generics),*>));
    let allow = (args.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
    let new_doc = if args.is_empty() {
        " An input with every field unset, so fal applies its defaults."
    } else {
        " An input from its required fields; optional fields start unset, so fal applies its defaults."
    };
    quote! {
        impl #name {
            #[doc = #new_doc]
            #allow
            pub fn new #generics (#(#args),*) -> Self {
                Self { #(#inits),* }
            }
            #(#setters)*
        }
    }
}

/// A strict string enum: one variant per listed value plus `Other` for values
/// fal adds later (see `fal_runtime::UnlistedValue`). `FromStr` and
/// `TryFrom<&str>` refuse unlisted values; `from_wire` is the one explicit way
/// to build any value, and maps listed ones to their variant, so derived
/// equality is equality of wire values.
fn string_enum(role: Role, name: &Ident, docs: &TokenStream, variants: &[Variant]) -> TokenStream {
    let idents: Vec<Ident> = variants.iter().map(|v| ident(&v.rust_name)).collect();
    let values: Vec<&str> = variants.iter().map(|v| v.value.as_str()).collect();
    let variant_docs = values.iter().map(|v| format!(" `{v:?}`"));
    let type_name = name.to_string();
    let expecting = format!("a `{name}` string");
    // Sending an unlisted value is possible (`from_wire`); validation says
    // what fal would: it is not one of the listed values (unless the schema
    // also takes any string there).
    let validation = (role == Role::Input).then(|| {
        quote! {
            impl __fal::Validate for #name {
                fn validate_at(&self, v: &mut __fal::Validator, rules: &__fal::Rules<'_>) {
                    if let Self::Other(value) = self {
                        v.unlisted(value.as_str(), Self::VALUES, rules);
                    }
                }
            }
        }
    });
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum #name {
            #( #[doc = #variant_docs] #idents, )*
            /// A value the schema does not list (fal added it later), kept as sent.
            Other(fal_runtime::UnlistedValue),
        }
        impl #name {
            /// Every value the schema lists, in its order.
            pub const VALUES: &'static [&'static str] = &[#(#values),*];
            /// The value on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #( Self::#idents => #values, )*
                    Self::Other(value) => value.as_str(),
                }
            }
            /// Any wire value, unchecked: a listed value becomes its variant, any
            /// other `Other`. For values fal accepts that this binding does not
            /// list yet; `parse` and `try_from` refuse those.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    #( #values => Self::#idents, )*
                    other => Self::Other(__fal::unlisted(other)),
                }
            }
        }
        impl ::std::str::FromStr for #name {
            type Err = fal_runtime::UnknownEnumValue;
            fn from_str(value: &str) -> Result<Self, fal_runtime::UnknownEnumValue> {
                match Self::from_wire(value) {
                    Self::Other(_) => Err(fal_runtime::UnknownEnumValue::new(#type_name, value, Self::VALUES)),
                    known => Ok(known),
                }
            }
        }
        impl TryFrom<&str> for #name {
            type Error = fal_runtime::UnknownEnumValue;
            // Spelled out: a variant named `Error` would make `Self::Error` ambiguous.
            fn try_from(value: &str) -> Result<Self, fal_runtime::UnknownEnumValue> {
                value.parse()
            }
        }
        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl __fal::serde::Serialize for #name {
            fn serialize<S: __fal::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> __fal::serde::Deserialize<'de> for #name {
            fn deserialize<D: __fal::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                __fal::string_enum(deserializer, #expecting, Self::from_wire)
            }
        }
        #validation
    }
}

/// An untagged union: serializes as the arm's own JSON; deserializes by
/// buffering the value once (format-agnostic) and trying the arms in order.
fn union(
    role: Role,
    name: &Ident,
    docs: &TokenStream,
    arms: &[UnionArm],
    names: &dyn Names,
) -> TokenStream {
    let idents: Vec<Ident> = arms.iter().map(|a| ident(&a.rust_name)).collect();
    let tys: Vec<TokenStream> = arms.iter().map(|a| rust_type(&a.ty, names)).collect();
    let arm_docs = arms.iter().map(|a| format!(" The `{}` form.", a.rust_name));
    let froms = (role == Role::Input).then(|| {
        quote! {
            #(
                impl From<#tys> for #name {
                    fn from(value: #tys) -> Self {
                        Self::#idents(value)
                    }
                }
            )*
            impl __fal::Validate for #name {
                fn validate_at(&self, v: &mut __fal::Validator, rules: &__fal::Rules<'_>) {
                    match self {
                        #( Self::#idents(value) => __fal::Validate::validate_at(value, v, rules), )*
                    }
                }
            }
        }
    });
    let forms: Vec<String> = arms.iter().map(|a| describe(&a.ty)).collect();
    let expecting = format!("one of the forms of `{name}`: {}", forms.join(", "));
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant, clippy::enum_variant_names)]
        pub enum #name {
            #( #[doc = #arm_docs] #idents(#tys), )*
        }
        impl __fal::serde::Serialize for #name {
            fn serialize<S: __fal::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    #( Self::#idents(value) => __fal::serde::Serialize::serialize(value, serializer), )*
                }
            }
        }
        impl<'de> __fal::serde::Deserialize<'de> for #name {
            /// Tries each form in order, like serde's untagged enums.
            fn deserialize<D: __fal::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <__fal::Buffered as __fal::serde::Deserialize>::deserialize(deserializer)?;
                #(
                    if let Some(arm) = value.parse::<#tys>() {
                        return Ok(Self::#idents(arm));
                    }
                )*
                Err(value.mismatch(#expecting))
            }
        }
        #froms
    }
}

/// How a union's error message names an arm's type.
fn describe(ty: &Ty) -> String {
    match ty {
        Ty::Bool => "a boolean".into(),
        Ty::Integer => "an integer".into(),
        Ty::Number => "a number".into(),
        Ty::String | Ty::FileInput => "a string".into(),
        Ty::File => "a File object".into(),
        Ty::Image => "an Image object".into(),
        Ty::Json => "any JSON".into(),
        Ty::JsonObject | Ty::Map(_) => "an object".into(),
        Ty::List(inner) => format!("a list of {}", describe(inner)),
        Ty::Option(inner) => describe(inner),
        Ty::Named(name) => format!("`{name}`"),
    }
}

fn newtype(name: &Ident, docs: &TokenStream, inner: &Ty, names: &dyn Names) -> TokenStream {
    let ty = rust_type(inner, names);
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        pub struct #name(
            /// The request body.
            pub #ty,
        );
        impl #name {
            /// Wraps the request body.
            pub fn new(value: impl Into<#ty>) -> Self {
                Self(value.into())
            }
        }
        impl __fal::serde::Serialize for #name {
            fn serialize<S: __fal::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                __fal::serde::Serialize::serialize(&self.0, serializer)
            }
        }
        impl<'de> __fal::serde::Deserialize<'de> for #name {
            fn deserialize<D: __fal::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <#ty as __fal::serde::Deserialize>::deserialize(deserializer).map(Self)
            }
        }
        impl __fal::Validate for #name {
            fn validate_at(&self, v: &mut __fal::Validator, rules: &__fal::Rules<'_>) {
                __fal::Validate::validate_at(&self.0, v, rules);
            }
        }
    }
}

/// An internally tagged enum: the tag property picks the arm; an unknown tag
/// keeps the whole object in `Other`, so bindings keep working when fal adds
/// an arm. Reading buffers the object once (any self-describing format) to
/// find the tag before reading the arm.
fn tagged_union(
    role: Role,
    name: &Ident,
    docs: &TokenStream,
    tagged: &Tagged,
    names: &dyn Names,
) -> TokenStream {
    let tag = tagged.tag.as_str();
    let mut variants = Vec::new();
    let mut writes = Vec::new();
    let mut reads = Vec::new();
    let mut values = Vec::new();
    let mut checks = Vec::new();
    let mut froms = Vec::new();
    // `From` only for an arm type no other arm has (the impls would overlap).
    let mut counts: std::collections::BTreeMap<&Ty, usize> = std::collections::BTreeMap::new();
    for ty in tagged.arms.iter().filter_map(|a| a.ty.as_ref()) {
        *counts.entry(ty).or_default() += 1;
    }
    for arm in &tagged.arms {
        let ident = ident(&arm.rust_name);
        let value = arm.value.as_str();
        let doc = format!(" `{tag}` is `{value:?}`.");
        match &arm.ty {
            Some(arm_ty) => {
                let ty = rust_type(arm_ty, names);
                variants.push(quote!(#[doc = #doc] #ident(#ty),));
                values.push(quote!(Self::#ident(_) => #value,));
                checks.push(
                    quote!(Self::#ident(value) => __fal::Validate::validate_at(value, v, rules),),
                );
                if arm.carries_tag {
                    writes.push(
                        quote!(Self::#ident(fields) => __fal::serde::Serialize::serialize(fields, serializer),),
                    );
                    reads.push(quote!(#value => value.arm(None).map(Self::#ident),));
                } else {
                    writes.push(quote!(Self::#ident(fields) => __fal::tagged_entry(serializer, #tag, #value, fields),));
                    reads.push(quote!(#value => value.arm(Some(#tag)).map(Self::#ident),));
                }
                if role == Role::Input && counts.get(arm_ty) == Some(&1) {
                    froms.push(quote! {
                        impl From<#ty> for #name {
                            fn from(value: #ty) -> Self {
                                Self::#ident(value)
                            }
                        }
                    });
                }
            }
            None => {
                variants.push(quote!(#[doc = #doc] #ident,));
                values.push(quote!(Self::#ident => #value,));
                checks.push(quote!(Self::#ident => {}));
                writes.push(quote!(Self::#ident => {
                    use __fal::serde::ser::SerializeMap as _;
                    let mut map = serializer.serialize_map(Some(1))?;
                    map.serialize_entry(#tag, #value)?;
                    map.end()
                }));
                reads.push(quote!(#value => Ok(Self::#ident),));
            }
        }
    }
    let validation = (role == Role::Input).then(|| {
        quote! {
            impl __fal::Validate for #name {
                fn validate_at(&self, v: &mut __fal::Validator, rules: &__fal::Rules<'_>) {
                    match self {
                        #(#checks)*
                        Self::Other(_) => {}
                    }
                }
            }
        }
    });
    let other_doc =
        format!(" A `{tag}` this binding does not know (yet): the whole object, kept as sent.");
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum #name {
            #(#variants)*
            #[doc = #other_doc]
            Other(fal_runtime::__private::serde_json::Map<String, fal_runtime::__private::serde_json::Value>),
        }
        impl #name {
            /// The value of the tag property on the wire.
            pub fn tag(&self) -> &str {
                match self {
                    #(#values)*
                    Self::Other(object) => object.get(#tag).and_then(|v| v.as_str()).unwrap_or_default(),
                }
            }
        }
        impl __fal::serde::Serialize for #name {
            fn serialize<S: __fal::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    #(#writes)*
                    Self::Other(object) => __fal::serde::Serialize::serialize(object, serializer),
                }
            }
        }
        impl<'de> __fal::serde::Deserialize<'de> for #name {
            fn deserialize<D: __fal::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <__fal::Buffered as __fal::serde::Deserialize>::deserialize(deserializer)?;
                match value.tag::<D::Error>(#tag)?.as_str() {
                    #(#reads)*
                    _ => value.arm(None).map(Self::Other),
                }
            }
        }
        #(#froms)*
        #validation
    }
}
