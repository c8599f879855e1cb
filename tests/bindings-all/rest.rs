//! REST client modules for the build: fal-codegen's written REST fixture and
//! every operation of fal's Platform API document as the repository keeps it
//! (reduced to facts, `fal-runtime/platform/`), plus one round-trip case per
//! example of that document: each response example through the operation's
//! answer type, each request-body example through its body type.
//!
//! Examples that contradict their own schema are listed, not tested.

use std::path::Path;

use fal_codegen::emit::{rust_type, Names};
use fal_codegen::ir::rest::{lower_rest, Output};
use fal_codegen::ir::{Kind, Ty};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::validate;

/// Spells an operation's types through its module (which defines or
/// re-exports every type it uses), from the crate root.
struct ApiNames(TokenStream);

impl Names for ApiNames {
    fn named(&self, name: &str) -> TokenStream {
        let module = &self.0;
        let name = format_ident!("{}", name);
        quote!(#module::#name)
    }
}

/// The module source and the round-trip cases of the REST document `file`,
/// whose module is `fal_bindings_all::<module>`.
pub fn generate(module: &str, file: &Path) -> (String, String) {
    println!("cargo:rerun-if-changed={}", file.display());
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let document = fal_codegen::parse::rest::parse_rest_document(file, &text)
        .unwrap_or_else(|e| panic!("{e}"));
    let root: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let generated = fal_codegen::generate_rest(&document, &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let api = lower_rest(&document, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let prefix = format_ident!("{}", module);
    let mut entries: Vec<TokenStream> = Vec::new();
    let mut skipped: Vec<TokenStream> = Vec::new();
    for op in &api.operations {
        let Some(source) = document.operations.iter().find(|o| o.id == op.id) else {
            continue;
        };
        let module_ident = format_ident!("{}", op.module);
        let names = ApiNames(quote!(fal_bindings_all::#prefix::#module_ident));
        if let Output::Json(_) = &op.output {
            // The answer's own type, or an alias of it.
            let name = format_ident!("{}", op.output_name);
            let answer = quote!(fal_bindings_all::#prefix::#module_ident::#name);
            if let Some(response) = source
                .responses
                .iter()
                .find(|r| r.status == op.success_status)
            {
                let schema = root
                    .pointer(&response.pointer)
                    .cloned()
                    .unwrap_or(Value::Null);
                for (i, example) in response.examples.iter().enumerate() {
                    let label = format!("{} {} example {i}", op.id, response.status);
                    push(
                        &mut entries,
                        &mut skipped,
                        label,
                        example,
                        &schema,
                        &root,
                        &answer,
                    );
                }
            }
        }
        let body_ty = op.body.as_ref().and_then(|body| {
            let Kind::Struct(fields) = &op.request.kind else {
                return None;
            };
            let field = fields.iter().find(|f| f.rust_name == body.rust_name)?;
            Some(match &field.ty {
                Ty::Option(inner) => rust_type(inner, &names),
                other => rust_type(other, &names),
            })
        });
        if let (Some(body_ty), Some(body)) = (body_ty, &source.body) {
            let schema = root.pointer(&body.pointer).cloned().unwrap_or(Value::Null);
            for (i, example) in body.examples.iter().enumerate() {
                let label = format!("{} request body example {i}", op.id);
                push(
                    &mut entries,
                    &mut skipped,
                    label,
                    example,
                    &schema,
                    &root,
                    &body_ty,
                );
            }
        }
    }
    let tokens = quote! {
        /// Every round-trip case of this document.
        pub fn cases() -> Vec<Case> {
            vec![#(#entries),*]
        }
        /// Examples that contradict their own schema, with the reason.
        pub fn skipped() -> Vec<(&'static str, &'static str)> {
            vec![#(#skipped),*]
        }
    };
    let file: syn::File = syn::parse2(tokens).unwrap_or_else(|e| panic!("{e}"));
    (generated.code, prettyplease::unparse(&file))
}

fn push(
    entries: &mut Vec<TokenStream>,
    skipped: &mut Vec<TokenStream>,
    label: String,
    example: &Value,
    schema: &Value,
    root: &Value,
    ty: &TokenStream,
) {
    let json = example.to_string();
    match validate::check(example, schema, root, 0) {
        Ok(()) => entries.push(quote!((#label, #json, check::<#ty>))),
        Err(reason) => skipped.push(quote!((#label, #reason))),
    }
}
