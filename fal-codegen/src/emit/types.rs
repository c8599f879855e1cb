//! Type definitions → tokens: structs (with constructors and `with_` setters
//! for request types), string enums (with an `Other` arm), untagged unions and
//! newtypes. Enum serde impls are written by hand: a derive for a string enum
//! costs several times the code, and compile time is a feature here.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use super::docs::doc_attrs;
use crate::ir::naming::unraw;
use crate::ir::{Field, Kind, Role, Tagged, Ty, TypeDef, UnionArm, Variant};

/// How named types are spelled where the code is emitted.
pub trait Names {
    /// The tokens naming the type with this key.
    fn named(&self, key: &str) -> TokenStream;

    /// The path of the module holding the generated helper functions.
    fn helpers(&self) -> TokenStream {
        quote!(self)
    }
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

/// The definition of `def` under the name `name`.
pub(super) fn definition(def: &TypeDef, name: &Ident, names: &dyn Names) -> TokenStream {
    let fallback = format!("The `{}` type of the endpoint schema.", def.name);
    let docs = doc_attrs(&def.docs, &fallback);
    match &def.kind {
        Kind::Struct(fields) => structure(def.role, name, &docs, fields, names),
        Kind::Enum(variants) => string_enum(name, &docs, variants),
        Kind::Union(arms) => union(def.role, name, &def.name, &docs, arms, names),
        Kind::Newtype(inner) => newtype(name, &docs, inner, names),
        Kind::Tagged(tagged) => tagged_union(def.role, name, &docs, tagged, names),
    }
}

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
    let helpers = names.helpers();
    let helpers = &helpers;
    let writes = fields.iter().map(|field| {
        let ident = ident(&field.rust_name);
        let json = &field.json_name;
        if field.additional {
            return quote! {
                for (name, value) in &self.#ident {
                    map.serialize_entry(name, value)?;
                }
            };
        }
        match (&field.ty, field.required) {
            (Ty::Option(_), false) => {
                quote!(#helpers::optional_entry(&mut map, #json, &self.#ident)?;)
            }
            _ => quote!(map.serialize_entry(#json, &self.#ident)?;),
        }
    });
    let reads = fields.iter().map(|field| {
        let ident = ident(&field.rust_name);
        let json = &field.json_name;
        if field.additional {
            // Last: the named fields are taken out of `map` first.
            return quote!(#ident: #helpers::from_object(::std::mem::take(&mut map))?,);
        }
        match &field.ty {
            Ty::Option(_) => quote!(#ident: #helpers::optional_field(&mut map, #json)?,),
            _ => quote!(#ident: #helpers::required_field(&mut map, #json)?,),
        }
    });
    let builders = (role == Role::Input).then(|| builders(name, fields, names));
    // A struct without fields (a REST request with no parameters) writes an
    // empty object and reads any object.
    let (map_binding, read_binding) = if fields.is_empty() {
        (quote!(map), quote!(_map))
    } else {
        (quote!(mut map), quote!(mut map))
    };
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, #default)]
        pub struct #name {
            #(#field_tokens)*
        }
        impl __serde::Serialize for #name {
            fn serialize<S: __serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use __serde::ser::SerializeMap as _;
                let #map_binding = serializer.serialize_map(None)?;
                #(#writes)*
                map.end()
            }
        }
        impl<'de> __serde::Deserialize<'de> for #name {
            fn deserialize<D: __serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let #read_binding = #helpers::object(deserializer)?;
                Ok(Self {
                    #(#reads)*
                })
            }
        }
        #builders
    }
}

/// Helper functions emitted once per file (in the shared-types module): the
/// struct impls call them instead of expanding serde's derive, which keeps the
/// generated code small enough to compile fast. Deserializing goes through a
/// JSON object, so field errors name the field.
pub(super) fn helper_functions() -> TokenStream {
    quote! {
        /// A JSON object map, as generated deserializers read it.
        pub type JsonObject = fal_runtime::__private::serde_json::Map<String, fal_runtime::__private::serde_json::Value>;
        /// Reads a JSON object (the first step of every generated struct deserializer).
        pub fn object<'de, D: __serde::Deserializer<'de>>(deserializer: D) -> Result<JsonObject, D::Error> {
            <JsonObject as __serde::Deserialize>::deserialize(deserializer)
        }
        /// Writes an optional field, leaving it out when unset (so fal applies its default).
        pub fn optional_entry<M, T>(map: &mut M, name: &'static str, value: &Option<T>) -> Result<(), M::Error>
        where
            M: __serde::ser::SerializeMap,
            T: __serde::Serialize,
        {
            match value {
                Some(value) => map.serialize_entry(name, value),
                None => Ok(()),
            }
        }
        /// Takes a field the schema requires; errors name the field.
        pub fn required_field<T, E>(map: &mut JsonObject, name: &'static str) -> Result<T, E>
        where
            T: __serde::de::DeserializeOwned,
            E: __serde::de::Error,
        {
            match map.remove(name) {
                Some(value) => fal_runtime::__private::serde_json::from_value(value)
                    .map_err(|e| E::custom(format_args!("field `{name}`: {e}"))),
                None => Err(E::missing_field(name)),
            }
        }
        /// Writes an object with `tag: value` first, then the fields of `fields`
        /// (an arm of a tagged union, which does not hold its tag itself).
        pub fn tagged_entry<S, T>(serializer: S, tag: &'static str, value: &'static str, fields: &T) -> Result<S::Ok, S::Error>
        where
            S: __serde::Serializer,
            T: __serde::Serialize,
        {
            let mut object = JsonObject::new();
            object.insert(tag.to_owned(), fal_runtime::__private::serde_json::Value::String(value.to_owned()));
            match fal_runtime::__private::serde_json::to_value(fields).map_err(<S::Error as __serde::ser::Error>::custom)? {
                fal_runtime::__private::serde_json::Value::Object(rest) => object.extend(rest),
                _ => return Err(<S::Error as __serde::ser::Error>::custom(format_args!("the `{value}` arm is not an object"))),
            }
            __serde::Serialize::serialize(&object, serializer)
        }
        /// Reads an arm of a tagged union from the rest of its object.
        pub fn from_object<T, E>(object: JsonObject) -> Result<T, E>
        where
            T: __serde::de::DeserializeOwned,
            E: __serde::de::Error,
        {
            fal_runtime::__private::serde_json::from_value(fal_runtime::__private::serde_json::Value::Object(object)).map_err(E::custom)
        }
        /// Takes a field that may be absent or null.
        pub fn optional_field<T, E>(map: &mut JsonObject, name: &'static str) -> Result<Option<T>, E>
        where
            T: __serde::de::DeserializeOwned,
            E: __serde::de::Error,
        {
            match map.remove(name) {
                None | Some(fal_runtime::__private::serde_json::Value::Null) => Ok(None),
                Some(value) => fal_runtime::__private::serde_json::from_value(value)
                    .map(Some)
                    .map_err(|e| E::custom(format_args!("field `{name}`: {e}"))),
            }
        }
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

fn string_enum(name: &Ident, docs: &TokenStream, variants: &[Variant]) -> TokenStream {
    let idents: Vec<Ident> = variants.iter().map(|v| ident(&v.rust_name)).collect();
    let values: Vec<&str> = variants.iter().map(|v| v.value.as_str()).collect();
    let variant_docs = values.iter().map(|v| format!(" `{v:?}`"));
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum #name {
            #( #[doc = #variant_docs] #idents, )*
            /// A value this binding does not know (yet); kept as sent by fal.
            Other(String),
        }
        impl #name {
            /// The value on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #( Self::#idents => #values, )*
                    Self::Other(value) => value,
                }
            }
        }
        impl From<&str> for #name {
            fn from(value: &str) -> Self {
                match value {
                    #( #values => Self::#idents, )*
                    other => Self::Other(other.to_owned()),
                }
            }
        }
        impl __serde::Serialize for #name {
            fn serialize<S: __serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl<'de> __serde::Deserialize<'de> for #name {
            fn deserialize<D: __serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <String as __serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from(value.as_str()))
            }
        }
    }
}

fn union(
    role: Role,
    name: &Ident,
    local_name: &str,
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
        }
    });
    let message = format!("the value matches none of the forms of {local_name}");
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant, clippy::enum_variant_names)]
        pub enum #name {
            #( #[doc = #arm_docs] #idents(#tys), )*
        }
        impl __serde::Serialize for #name {
            fn serialize<S: __serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    #( Self::#idents(value) => __serde::Serialize::serialize(value, serializer), )*
                }
            }
        }
        impl<'de> __serde::Deserialize<'de> for #name {
            /// Tries each form in order, like serde's untagged enums.
            fn deserialize<D: __serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let value = <fal_runtime::__private::serde_json::Value as __serde::Deserialize>::deserialize(deserializer)?;
                #(
                    if let Ok(arm) = <#tys as __serde::Deserialize>::deserialize(&value) {
                        return Ok(Self::#idents(arm));
                    }
                )*
                Err(<D::Error as __serde::de::Error>::custom(#message))
            }
        }
        #froms
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
        impl __serde::Serialize for #name {
            fn serialize<S: __serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                __serde::Serialize::serialize(&self.0, serializer)
            }
        }
        impl<'de> __serde::Deserialize<'de> for #name {
            fn deserialize<D: __serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <#ty as __serde::Deserialize>::deserialize(deserializer).map(Self)
            }
        }
    }
}

/// An internally tagged enum: the tag property picks the arm; an unknown tag
/// keeps the whole object in `Other`, so bindings keep working when fal adds
/// an arm.
fn tagged_union(
    role: Role,
    name: &Ident,
    docs: &TokenStream,
    tagged: &Tagged,
    names: &dyn Names,
) -> TokenStream {
    let helpers = names.helpers();
    let tag = tagged.tag.as_str();
    let mut variants = Vec::new();
    let mut writes = Vec::new();
    let mut reads = Vec::new();
    let mut values = Vec::new();
    let mut froms = Vec::new();
    for arm in &tagged.arms {
        let ident = ident(&arm.rust_name);
        let value = arm.value.as_str();
        let doc = format!(" `{tag}` is `{value:?}`.");
        match &arm.ty {
            Some(ty) => {
                let ty = rust_type(ty, names);
                variants.push(quote!(#[doc = #doc] #ident(#ty),));
                values.push(quote!(Self::#ident(_) => #value,));
                if arm.carries_tag {
                    writes.push(
                        quote!(Self::#ident(fields) => __serde::Serialize::serialize(fields, serializer),),
                    );
                    reads.push(quote!(#value => #helpers::from_object(object).map(Self::#ident),));
                } else {
                    writes.push(quote!(Self::#ident(fields) => #helpers::tagged_entry(serializer, #tag, #value, fields),));
                    reads.push(quote!(#value => {
                        object.remove(#tag);
                        #helpers::from_object(object).map(Self::#ident)
                    }));
                }
                if role == Role::Input {
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
                writes.push(quote!(Self::#ident => {
                    use __serde::ser::SerializeMap as _;
                    let mut map = serializer.serialize_map(Some(1))?;
                    map.serialize_entry(#tag, #value)?;
                    map.end()
                }));
                reads.push(quote!(#value => Ok(Self::#ident),));
            }
        }
    }
    let other_doc =
        format!(" A `{tag}` this binding does not know (yet): the whole object, kept as sent.");
    let missing = format!("the object has no string `{tag}`, which tells its kind");
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum #name {
            #(#variants)*
            #[doc = #other_doc]
            Other(#helpers::JsonObject),
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
        impl __serde::Serialize for #name {
            fn serialize<S: __serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    #(#writes)*
                    Self::Other(object) => __serde::Serialize::serialize(object, serializer),
                }
            }
        }
        impl<'de> __serde::Deserialize<'de> for #name {
            fn deserialize<D: __serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                #[allow(unused_mut)]
                let mut object = #helpers::object(deserializer)?;
                let tag = match object.get(#tag) {
                    Some(fal_runtime::__private::serde_json::Value::String(tag)) => tag.clone(),
                    _ => return Err(<D::Error as __serde::de::Error>::custom(#missing)),
                };
                match tag.as_str() {
                    #(#reads)*
                    _ => Ok(Self::Other(object)),
                }
            }
        }
        #(#froms)*
    }
}
