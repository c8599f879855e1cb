//! Rust names for JSON names: idiomatic (heck), ASCII, never a keyword, never a
//! name the generated code itself relies on.
//!
//! The collision rule, inside one endpoint's module (names never depend on
//! other endpoints, and never carry a hash or a number):
//! 1. Components are named from their keys (`ImageSize`, `registry__image__Image`
//!    → `RegistryImageImage`); when two keys spell the same name, the key that
//!    sorts first keeps it and the next gets `Alt` appended.
//! 2. The input and output are named from their components, else from the
//!    endpoint id (`FluxDevInput`, `FluxDevOutput`).
//! 3. An inline definition (an enum, object or union written inside a
//!    property) is named from its property (`output_format` → `OutputFormat`;
//!    union arms add `Preset`, `Object`…; list items `Item`). When that name is
//!    taken by a different definition it tries the same with `Choice` (unions),
//!    then qualified with its owner's name (`LoraWeightStyle`), then appends
//!    `Alt` until free (at most [`MAX_ALTERNATIVES`] times, so naming stays
//!    linear; past that the document is refused). An identical definition
//!    (the same shape: descriptions are not compared, so names never depend
//!    on prose) reuses the name, so an enum written out in both the input and
//!    the output is one type.
//!
//! Definitions are visited in a fixed order (input first, then output;
//! properties in `x-fal-order-properties` order, then by name), so the result
//! is the same on every run.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Words Rust reserves; a field or module with one of these names is written raw.
const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate",
    "do", "dyn", "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl",
    "in", "let", "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref",
    "return", "self", "static", "struct", "super", "trait", "true", "try", "type", "typeof",
    "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers; they get a trailing `_` instead.
const NOT_RAW: &[&str] = &["crate", "self", "super"];

/// Type names the generated code uses unqualified (prelude types and the traits
/// named in impls); a schema type with one of these names gets a `Type` suffix.
const RESERVED_TYPES: &[&str] = &[
    "Self",
    "String",
    "Vec",
    "Option",
    "Box",
    "Result",
    "Some",
    "None",
    "Ok",
    "Err",
    "From",
    "Into",
    "Default",
    "Clone",
    "Copy",
    "Send",
    "Sync",
    "Sized",
    "Iterator",
    "IntoIterator",
    "ToString",
    "ToOwned",
    "PartialEq",
    "Eq",
    "Debug",
    "Hash",
    "AsRef",
];

/// The ASCII alphanumeric words of `text`, split at every other character.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
}

fn starts_with_digit(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_ascii_digit())
}

fn ends_with_digit(text: &str) -> bool {
    text.chars().last().is_some_and(|c| c.is_ascii_digit())
}

/// UpperCamelCase joining `words`, keeping a `_` between two digits so `16:9`
/// and `1:69` stay apart (`16_9`, `1_69`); rustc accepts `_` between digits in
/// camel-case names.
fn camel_words<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for word in parts {
        let camel = word.to_upper_camel_case();
        if ends_with_digit(&out) && starts_with_digit(&camel) {
            out.push('_');
        }
        out.push_str(&camel);
    }
    out
}

/// A type name: `image_size` → `ImageSize`, `registry__image__Image` →
/// `RegistryImageImage`, `3d` → `T3d`.
pub fn type_name(text: &str) -> String {
    let mut out = camel_words(words(text));
    if out.is_empty() {
        out.push_str("Unnamed");
    }
    if starts_with_digit(&out) {
        out.insert(0, 'T');
    }
    if RESERVED_TYPES.contains(&out.as_str()) {
        out.push_str("Type");
    }
    out
}

/// A snake-case identifier (field or module), written raw or suffixed when it is
/// a keyword and prefixed with `_` when it would start with a digit.
pub fn snake_ident(text: &str) -> String {
    let joined = words(text).collect::<Vec<_>>().join("_");
    let mut out = joined.to_snake_case();
    if out.is_empty() {
        out.push_str("field");
    }
    if starts_with_digit(&out) {
        out.insert(0, '_');
    }
    escape_keyword(out)
}

/// `type` → `r#type`, `self` → `self_`.
pub fn escape_keyword(ident: String) -> String {
    if NOT_RAW.contains(&ident.as_str()) {
        format!("{ident}_")
    } else if KEYWORDS.contains(&ident.as_str()) {
        format!("r#{ident}")
    } else {
        ident
    }
}

/// An identifier without its `r#` prefix (for building `with_type` from `r#type`).
pub fn unraw(ident: &str) -> &str {
    ident.strip_prefix("r#").unwrap_or(ident)
}

/// An enum variant for a wire value: `landscape_4_3` → `Landscape4_3`,
/// `16:9` → `V16_9`, `IN_QUEUE` → `InQueue`. Never `Other`, which is the
/// catch-all for values the binding does not know.
pub fn variant_name(value: &str) -> String {
    let mut out = camel_words(words(value));
    if out.is_empty() {
        out.push_str("Value");
    }
    if starts_with_digit(&out) {
        out.insert(0, 'V');
    }
    if out == "Other" || out == "Self" {
        out.push_str("Value");
    }
    out
}

/// How often a collision rule may append its suffix before the document is
/// refused. Every real document needs at most one (`HopeAlt`); the bound keeps
/// naming linear in the document's size, since without it `n` names that spell
/// alike would cost `n` tries of names up to `n` suffixes long each.
pub const MAX_ALTERNATIVES: usize = 16;

/// More than [`MAX_ALTERNATIVES`] names in one scope spell like `name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TooManyAlike {
    /// The name before any suffix.
    pub name: String,
}

impl TooManyAlike {
    /// The document error for this, at `pointer` in `file`.
    pub fn at(&self, file: &std::path::Path, pointer: &str) -> crate::error::Error {
        crate::error::Error::Document {
            file: file.to_owned(),
            location: crate::error::Location::Pointer(pointer.to_owned()),
            message: format!(
                "more than {MAX_ALTERNATIVES} names here are spelled `{}` in Rust; \
                 rename some (the generator gives each a distinct name by appending \
                 a suffix, at most {MAX_ALTERNATIVES} times)",
                self.name
            ),
        }
    }
}

/// `name`, or when `taken` says it is in use, `name` with `Alt` appended as
/// often as needed (at most [`MAX_ALTERNATIVES`] times): the last step of
/// every collision rule. Never a number, so no generated name looks like a
/// counter that shifts when schemas change.
pub fn alternative(name: String, taken: impl Fn(&str) -> bool) -> Result<String, TooManyAlike> {
    alternative_with(name, "Alt", taken)
}

/// [`alternative`] with another suffix (fields use `_`: `type_`, `type__`).
pub fn alternative_with(
    name: String,
    suffix: &str,
    taken: impl Fn(&str) -> bool,
) -> Result<String, TooManyAlike> {
    let base = name.len();
    let mut name = name;
    for _ in 0..=MAX_ALTERNATIVES {
        if !taken(&name) {
            return Ok(name);
        }
        name.push_str(suffix);
    }
    name.truncate(base);
    Err(TooManyAlike { name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(type_name("FluxDevInput"), "FluxDevInput");
        assert_eq!(type_name("image_size"), "ImageSize");
        assert_eq!(
            type_name("registry__image__fast_sdxl__models__Image"),
            "RegistryImageFastSdxlModelsImage"
        );
        assert_eq!(type_name("3d-model"), "T3dModel");
        assert_eq!(type_name("String"), "StringType");
        assert_eq!(type_name(""), "Unnamed");
    }

    #[test]
    fn idents() {
        assert_eq!(snake_ident("imageUrl"), "image_url");
        assert_eq!(snake_ident("type"), "r#type");
        assert_eq!(snake_ident("loop"), "r#loop");
        assert_eq!(snake_ident("self"), "self_");
        assert_eq!(snake_ident("v1.1-ultra"), "v1_1_ultra");
        assert_eq!(snake_ident("9b"), "_9b");
        assert_eq!(snake_ident("fal-ai"), "fal_ai");
        assert_eq!(unraw("r#type"), "type");
    }

    #[test]
    fn variants() {
        assert_eq!(variant_name("landscape_4_3"), "Landscape4_3");
        assert_eq!(variant_name("16:9"), "V16_9");
        assert_eq!(variant_name("1:69"), "V1_69");
        assert_eq!(variant_name("5"), "V5");
        assert_eq!(variant_name("IN_QUEUE"), "InQueue");
        assert_eq!(variant_name("other"), "OtherValue");
        assert_eq!(variant_name("🤩"), "Value");
        assert_eq!(variant_name("HighPack"), "HighPack");
    }

    #[test]
    fn alternatives_never_count() {
        let taken = ["A", "AAlt"];
        assert_eq!(
            alternative("A".into(), |n| taken.contains(&n)),
            Ok("AAltAlt".into())
        );
        assert_eq!(
            alternative("B".into(), |n| taken.contains(&n)),
            Ok("B".into())
        );
        assert_eq!(
            alternative_with("a".into(), "_", |n| n == "a"),
            Ok("a_".into())
        );
    }

    #[test]
    fn alternatives_are_bounded() {
        // Every name with up to MAX_ALTERNATIVES suffixes is taken: the last
        // free one is still found, one more is refused (not searched for).
        let mut taken = std::collections::BTreeSet::new();
        let mut name = String::from("a");
        for _ in 0..MAX_ALTERNATIVES {
            taken.insert(name.clone());
            name.push('_');
        }
        assert_eq!(
            alternative_with("a".into(), "_", |n| taken.contains(n)),
            Ok(name.clone())
        );
        taken.insert(name);
        let tries = std::cell::Cell::new(0);
        let refused = alternative_with("a".into(), "_", |n| {
            tries.set(tries.get() + 1);
            taken.contains(n)
        });
        assert_eq!(refused, Err(TooManyAlike { name: "a".into() }));
        assert_eq!(tries.get(), MAX_ALTERNATIVES + 1);
    }
}
