//! Formatting work units in parallel and stitching them into one file.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use proc_macro2::TokenStream;

use super::{endpoint_doc, Node};
use crate::error::Error;

/// Formats `units` (tokens from `tokens_of`) with prettyplease (long lists in
/// batches, see `chunk`), using every available core; results come back in
/// the order of `units`.
pub(super) fn format_units<U: Sync>(
    units: &[U],
    tokens_of: impl Fn(&U) -> TokenStream + Sync,
) -> Result<Vec<String>, Error> {
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, 8)
        .min(units.len().max(1));
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done: Vec<(usize, Result<String, Error>)> = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(unit) = units.get(index) else {
                break;
            };
            let (tokens, docs) = super::docs::deferred(|| tokens_of(unit));
            let formatted = super::chunk::unparse(tokens, super::chunk::MAX_TOKENS)
                .map(|text| super::docs::splice(&text, &docs));
            done.push((index, formatted));
        }
        done
    };
    let mut results: Vec<(usize, Result<String, Error>)> = if threads == 1 {
        work()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join().unwrap_or_else(|_| {
                        vec![(
                            usize::MAX,
                            Err(Error::Internal("a formatting thread panicked".into())),
                        )]
                    })
                })
                .collect()
        })
    };
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Appends `text` with every non-empty line indented by `depth` levels.
pub(super) fn push_indented(out: &mut String, text: &str, depth: usize) {
    for line in text.lines() {
        if !line.is_empty() {
            for _ in 0..depth {
                out.push_str("    ");
            }
            out.push_str(line);
        }
        out.push('\n');
    }
}

fn push_doc(out: &mut String, doc: &str, depth: usize) {
    for line in doc.split('\n') {
        let line = line.replace(['\r'], " ");
        push_indented(out, &format!("///{line}"), depth);
    }
}

/// Writes `pub mod name { body children }` at `depth`.
pub(super) fn write_module(
    out: &mut String,
    name: &str,
    node: &Node<'_>,
    depth: usize,
    parent: Option<&str>,
    bodies: &BTreeMap<&str, &str>,
) {
    let doc = match node.endpoint {
        Some(endpoint) => endpoint_doc(endpoint),
        None => format!(" Endpoints under `{}`.", node.prefix),
    };
    push_doc(out, &doc, depth);
    if parent == Some(name) {
        push_indented(out, "#[allow(clippy::module_inception)]", depth);
    }
    push_indented(out, &format!("pub mod {name} {{"), depth);
    if let Some(body) = node.endpoint.and_then(|e| bodies.get(e.id.as_str())) {
        push_indented(out, body, depth + 1);
    }
    for (child, child_node) in &node.children {
        write_module(out, child, child_node, depth + 1, Some(name), bodies);
    }
    push_indented(out, "}", depth);
}
