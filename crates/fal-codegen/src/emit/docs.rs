//! Doc attributes from IR docs. Every generated item gets one, because the
//! bindings must pass `missing_docs`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ir::Docs;

/// Longest JSON value shown inline as a default or example.
const MAX_INLINE: usize = 200;

/// `#[doc = "..."]` lines for `docs`, using `fallback` when there is no description.
pub(super) fn doc_attrs(docs: &Docs, fallback: &str) -> TokenStream {
    let text = doc_text(docs, fallback);
    let lines = text.split('\n');
    quote! { #( #[doc = #lines] )* }
}

/// The markdown of a doc comment; each line starts with a space like `/// text`.
pub(super) fn doc_text(docs: &Docs, fallback: &str) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    paragraphs.push(
        docs.description
            .clone()
            .unwrap_or_else(|| fallback.to_owned()),
    );
    let mut facts: Vec<String> = Vec::new();
    if let Some(default) = &docs.default {
        facts.push(format!(
            "Default (applied by fal when the field is left unset): {}.",
            code(default)
        ));
    }
    if let Some(example) = docs.examples.iter().find(|e| e.len() <= MAX_INLINE) {
        facts.push(format!("Example: {}.", code(example)));
    }
    if !docs.constraints.is_empty() {
        facts.push(format!("Limits: {}.", docs.constraints.join("; ")));
    }
    if !facts.is_empty() {
        paragraphs.push(facts.join("\n"));
    }
    paragraphs.extend(docs.notes.iter().cloned());
    let joined = paragraphs.join("\n\n");
    let mut out = String::with_capacity(joined.len() + 16);
    for (i, line) in joined.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !line.is_empty() {
            out.push(' ');
            out.push_str(line);
        }
    }
    out
}

/// A markdown code span that survives backticks inside and stays short.
fn code(json: &str) -> String {
    let mut text: String = json.chars().take(MAX_INLINE).collect();
    if text.len() < json.len() {
        text.push('…');
    }
    let text = text.replace(['\n', '\r'], " ");
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_facts() {
        let docs = Docs {
            description: Some("Number of images.".into()),
            default: Some("1".into()),
            examples: vec!["2".into()],
            constraints: vec!["1 ≤ value ≤ 4".into()],
            notes: vec![],
        };
        assert_eq!(
            doc_text(&docs, "unused"),
            " Number of images.\n\n Default (applied by fal when the field is left unset): `1`.\n Example: `2`.\n Limits: 1 ≤ value ≤ 4."
        );
        assert_eq!(
            doc_text(&Docs::default(), "The `x` field."),
            " The `x` field."
        );
    }
}
