//! Generates bindings for the reference corpus (when the `corpus` feature is on
//! and `../shared/fal-schemas` exists beside the repository) plus a table of
//! round-trip cases: every `examples` value of every field.

mod rest;
mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use fal_codegen::emit::{rust_type, Names};
use fal_codegen::ir::{Ir, Kind, TypeDef};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The tiers of the corpus: module name and directory under fal-schemas.
const TIERS: [(&str, &str); 3] = [("tier_a", ""), ("imgly", "derived/imgly"), ("bulk", "bulk")];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-check-cfg=cfg(fal_corpus)");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    // `../shared` beside the repository (CI), or beside the directory of git
    // worktrees (development); FAL_SCHEMA_CORPUS overrides both.
    println!("cargo:rerun-if-env-changed=FAL_SCHEMA_CORPUS");
    let corpus = std::env::var_os("FAL_SCHEMA_CORPUS")
        .map(PathBuf::from)
        .or_else(|| {
            [
                "../../../shared/fal-schemas",
                "../../../../shared/fal-schemas",
            ]
            .iter()
            .map(|p| manifest.join(p))
            .find(|p| p.is_dir())
        })
        .unwrap_or_default();
    println!("cargo:rerun-if-env-changed=CI");
    let wanted = std::env::var_os("CARGO_FEATURE_CORPUS").is_some();
    let enabled = wanted && corpus.is_dir();
    if enabled {
        println!("cargo:rustc-cfg=fal_corpus");
    } else if wanted && std::env::var("CI").is_ok_and(|v| v == "true") {
        // In CI a missing corpus must fail, not pass with nothing tested.
        panic!(
            "the `corpus` feature is on and CI=true, but the reference corpus is missing: \
             expected ../shared/fal-schemas beside the repository (or FAL_SCHEMA_CORPUS)"
        );
    } else if wanted {
        println!(
            "cargo:warning=SKIPPED: ../shared/fal-schemas not found, so the corpus bindings, \
             round trips and validation agreement are not built or tested"
        );
    }
    // The fixture documents are always compiled (cheap), so every workspace
    // clippy run checks generated code.
    let fixtures = manifest.join("../../fal-codegen/tests/fixtures");
    bindings(&fixtures, &out_dir.join("fixtures.rs"));
    // The one-construct documents (fal-codegen's `construct_*` snapshots) are
    // compiled too, so each construct's generated code is known to build, lint
    // clean and document itself, not only to match its snapshot.
    bindings(&fixtures.join("constructs"), &out_dir.join("constructs.rs"));
    // REST client modules (always built: both documents are in the repository).
    for (module, file) in [
        (
            "acme_admin_api",
            "../../fal-codegen/tests/rest_fixtures/acme-admin-api.json",
        ),
        (
            "platform_api",
            "../../fal-runtime/platform/platform-apis-v1.openapi.json",
        ),
    ] {
        let (code, cases) = rest::generate(module, &manifest.join(file));
        write(&out_dir.join(format!("{module}.rs")), &code);
        write(&out_dir.join(format!("{module}_cases.rs")), &cases);
    }
    for (module, sub) in TIERS {
        let (code, cases) = if enabled {
            generate(module, &corpus.join(sub))
        } else {
            (
                String::new(),
                "pub fn cases() -> Vec<Case> { Vec::new() }\npub fn skipped() -> Vec<(&'static str, &'static str)> { Vec::new() }\npub fn validators() -> Vec<Validator> { Vec::new() }".to_owned(),
            )
        };
        write(&out_dir.join(format!("{module}.rs")), &code);
        write(&out_dir.join(format!("{module}_cases.rs")), &cases);
    }
}

/// The bindings of every document in `dir`, as a user's build script makes
/// them, written to `out`.
fn bindings(dir: &Path, out: &Path) {
    let generated = fal_codegen::Builder::new()
        .schema_dir(dir)
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));
    for input in &generated.inputs {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    write(out, &generated.code);
}

fn write(path: &Path, text: &str) {
    if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
        return;
    }
    if let Err(e) = std::fs::write(path, text) {
        panic!("{}: {e}", path.display());
    }
}

fn generate(module: &str, dir: &Path) -> (String, String) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut documents = Vec::new();
    let mut raw = BTreeMap::new();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let document =
            fal_codegen::parse::parse_document(file, &text).unwrap_or_else(|e| panic!("{e}"));
        raw.insert(
            document.endpoint_id.clone(),
            serde_json::from_str(&text).unwrap_or(Value::Null),
        );
        documents.push(document);
    }
    let ir = fal_codegen::ir::lower(&documents).unwrap_or_else(|e| panic!("{e}"));
    let code = fal_codegen::emit::render(&ir).unwrap_or_else(|e| panic!("{e}"));
    (code, cases(module, &ir, &raw))
}

/// Spells an endpoint's types from the crate root.
struct CrateNames(TokenStream);

impl Names for CrateNames {
    fn named(&self, name: &str) -> TokenStream {
        let prefix = &self.0;
        let name = format_ident!("{}", name);
        quote!(#prefix::#name)
    }
}

/// The path of an endpoint's module from the crate root.
fn module_path(tier: &proc_macro2::Ident, module: &[String]) -> TokenStream {
    let path = module.iter().map(|m| match m.strip_prefix("r#") {
        Some(raw) => proc_macro2::Ident::new_raw(raw, proc_macro2::Span::call_site()),
        None => format_ident!("{}", m),
    });
    quote!(fal_bindings_all::#tier::#(#path)::*)
}

/// One round-trip case per valid example of every struct field, plus one whole
/// input per endpoint built from the first valid example (or default) of each
/// field. Examples that contradict their own schema are listed, not tested.
fn cases(module: &str, ir: &Ir, documents: &BTreeMap<String, Value>) -> String {
    let tier = format_ident!("{}", module);
    let mut entries: Vec<TokenStream> = Vec::new();
    let mut skipped: Vec<TokenStream> = Vec::new();
    let mut validators: Vec<TokenStream> = Vec::new();
    // Each endpoint's types are its own: the same example on the same field of
    // a same-named type elsewhere is a different type, so it is checked again.
    let mut seen: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    for endpoint in &ir.endpoints {
        let Some(root) = documents.get(&endpoint.id) else {
            continue;
        };
        let path = module_path(&tier, &endpoint.module);
        let names = CrateNames(path.clone());
        let input_ident = format_ident!("{}", endpoint.input.name);
        let id = &endpoint.id;
        let file = endpoint.file.display().to_string();
        validators.push(quote!((#id, #file, typed_errors::<#path::#input_ident>)));
        let mut defs: Vec<&TypeDef> = vec![&endpoint.input];
        defs.extend(endpoint.types.values());
        for def in defs {
            let owner = def.name.as_str();
            let Kind::Struct(fields) = &def.kind else {
                continue;
            };
            for field in fields {
                let ty = rust_type(&field.ty, &names);
                let schema = root.pointer(&field.pointer).cloned().unwrap_or(Value::Null);
                for example in &field.docs.examples {
                    let id = (
                        endpoint.id.clone(),
                        owner.to_owned(),
                        field.json_name.clone(),
                        example.clone(),
                    );
                    if !seen.insert(id) {
                        continue;
                    }
                    let label = format!("{module} {} {owner}.{}", endpoint.id, field.json_name);
                    let value: Value = serde_json::from_str(example).unwrap_or(Value::Null);
                    match validate::check(&value, &schema, root, 0) {
                        Ok(()) => entries.push(quote!((#label, #example, check::<#ty>))),
                        Err(reason) => skipped.push(quote!((#label, #reason))),
                    }
                }
            }
        }
        if let Kind::Struct(fields) = &endpoint.input.kind {
            let mut object = serde_json::Map::new();
            let mut complete = true;
            for field in fields {
                let schema = root.pointer(&field.pointer).cloned().unwrap_or(Value::Null);
                let value = field
                    .docs
                    .examples
                    .iter()
                    .chain(&field.docs.default)
                    .filter_map(|v| serde_json::from_str::<Value>(v).ok())
                    .find(|v| validate::check(v, &schema, root, 0).is_ok());
                match value {
                    Some(v) => {
                        object.insert(field.json_name.clone(), v);
                    }
                    None if field.required => complete = false,
                    None => {}
                }
            }
            if complete {
                let input = format_ident!("{}", endpoint.input.name);
                let label = format!("{module} {} whole input", endpoint.id);
                let json = Value::Object(object).to_string();
                entries.push(quote!((#label, #json, check::<#path::#input>)));
            }
        }
    }
    let tokens = quote! {
        /// Every round-trip case of this tier.
        pub fn cases() -> Vec<Case> {
            vec![#(#entries),*]
        }
        /// Examples that contradict their own schema, with the reason.
        pub fn skipped() -> Vec<(&'static str, &'static str)> {
            vec![#(#skipped),*]
        }
        /// Endpoint id, document, and the generated validation of its input type.
        pub fn validators() -> Vec<Validator> {
            vec![#(#validators),*]
        }
    };
    let file: syn::File = syn::parse2(tokens).unwrap_or_else(|e| panic!("{e}"));
    prettyplease::unparse(&file)
}
