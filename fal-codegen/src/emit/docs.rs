//! Doc attributes from IR docs. Every generated item gets one, because the
//! bindings must pass `missing_docs`.

use std::cell::RefCell;

use proc_macro2::TokenStream;
use quote::quote;

use crate::ir::Docs;

/// Longest JSON value shown inline as a default or example.
const MAX_INLINE: usize = 200;

/// `#[doc = "..."]` lines for `docs`, using `fallback` when there is no description.
pub(super) fn doc_attrs(docs: &Docs, fallback: &str) -> TokenStream {
    doc_lines(doc_text(docs, fallback))
}

/// `#[doc]` attributes for `text` (lines starting with a space).
///
/// While [`deferred`] runs, this emits one short placeholder instead and keeps
/// the text aside: doc attributes are more than half of what syn parses in a
/// large file, and the text needs no formatting, so it is spliced back into the
/// formatted code by [`splice`].
pub(super) fn doc_lines(text: String) -> TokenStream {
    let placeholder = DEFERRED.with(|cell| {
        cell.borrow_mut().as_mut().map(|texts| {
            texts.push(text.clone());
            format!("{MARKER}{}", texts.len() - 1)
        })
    });
    match placeholder {
        Some(marker) => quote! { #[doc = #marker] },
        None => {
            let lines = text.split('\n');
            quote! { #( #[doc = #lines] )* }
        }
    }
}

/// Marks a deferred doc comment; `///` + this + index is a whole line.
const MARKER: &str = " @@fal-codegen-doc-";

thread_local! {
    static DEFERRED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Runs `build` with doc text deferred; returns its tokens and the texts.
pub(super) fn deferred(build: impl FnOnce() -> TokenStream) -> (TokenStream, Vec<String>) {
    DEFERRED.with(|cell| *cell.borrow_mut() = Some(Vec::new()));
    let tokens = build();
    let texts = DEFERRED
        .with(|cell| cell.borrow_mut().take())
        .unwrap_or_default();
    (tokens, texts)
}

/// Replaces every placeholder line in `formatted` with its doc comment lines,
/// at the placeholder's indentation.
pub(super) fn splice(formatted: &str, texts: &[String]) -> String {
    let mut out =
        String::with_capacity(formatted.len() + texts.iter().map(String::len).sum::<usize>() * 2);
    for line in formatted.lines() {
        let trimmed = line.trim_start();
        let text = trimmed
            .strip_prefix("///")
            .and_then(|rest| rest.strip_prefix(MARKER))
            .and_then(|index| index.parse::<usize>().ok())
            .and_then(|index| texts.get(index));
        match text {
            Some(text) => {
                let indent = &line[..line.len() - trimmed.len()];
                for doc_line in text.split('\n') {
                    out.push_str(indent);
                    out.push_str("///");
                    out.push_str(doc_line);
                    out.push('\n');
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
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
