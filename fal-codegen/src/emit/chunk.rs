//! Formatting a large token stream in pieces, with the text prettyplease gives
//! for the whole.
//!
//! prettyplease holds the whole syntax tree of what it prints, and a document
//! with a million properties makes one endpoint module of a million fields,
//! setters, map entries and match arms: formatted whole that took about 54 KB
//! per property. Here every list longer than [`MAX_TOKENS`] tokens (the items
//! of the module, a struct's fields, a function's statements, a match's arms,
//! an array's elements) is cut out and replaced by one placeholder element, the
//! rest (the skeleton) is formatted once, and the list is formatted in batches,
//! each inside the skeleton after the placeholder, so each batch gets the
//! indentation and line width it has in the whole. Lists that long never fit on
//! one line, so prettyplease breaks them one element per line whatever their
//! length, and a batch's lines are the lines it has in the whole.
//!
//! A batch whose text does not sit between the skeleton's lines around the
//! placeholder (which would be a bug here) makes the unit be formatted whole,
//! so the output never depends on where the cuts are (tested with tiny limits
//! against the whole formatting).

use proc_macro2::{Delimiter, Group, Ident, Spacing, Span, TokenStream, TokenTree};

use crate::error::Error;

/// Lists of more tokens than this are formatted in batches of at most this many.
pub(super) const MAX_TOKENS: usize = 20_000;

/// Starts every placeholder's identifier.
const PLACEHOLDER: &str = "__fal_codegen_cut_";

/// Numbers placeholders. Each one's line also holds 100 more characters, so a
/// list holding one is always too long for one line.
static NEXT_PLACEHOLDER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How a list's elements are separated, and what its placeholder is.
#[derive(Clone, Copy, Debug, PartialEq)]
enum List {
    /// Items (a file, a module, an impl): each ends at `;` or its block.
    Items,
    /// Statements: each ends at `;`.
    Statements,
    /// Struct fields (`name: Type`), struct literal fields (`name: value`).
    Fields,
    /// Match arms (`pattern => value`).
    Arms,
    /// Enum variants, arguments, array elements.
    Values,
}

/// The formatted text of `tokens` (items of a file), as
/// `prettyplease::unparse` gives it for the whole.
pub(super) fn unparse(tokens: TokenStream, limit: usize) -> Result<String, Error> {
    let root: Vec<TokenTree> = tokens.into_iter().collect();
    format(&root, limit)
}

fn whole(trees: &[TokenTree]) -> Result<String, Error> {
    let file = syn::parse2::<syn::File>(trees.iter().cloned().collect())
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(prettyplease::unparse(&file))
}

fn format(root: &[TokenTree], limit: usize) -> Result<String, Error> {
    if count(root) <= limit {
        return whole(root);
    }
    match format_cut(root, limit) {
        Ok(Some(text)) => Ok(text),
        // Nothing to cut, or a batch did not fit its skeleton: whole.
        Ok(None) | Err(_) => whole(root),
    }
}

/// Gives up cutting: the unit is formatted whole.
fn mismatch() -> Result<Option<String>, Error> {
    #[cfg(test)]
    MISMATCHES.with(|n| n.set(n.get() + 1));
    Ok(None)
}

#[cfg(test)]
thread_local! {
    /// How often a batch did not sit in its skeleton.
    static MISMATCHES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// The most tokens a skeleton held: what every batch of its cuts
    /// formats again, so it must not grow with the lists cut out of it.
    static LARGEST_SKELETON: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A list cut out of the skeleton: where it is and its elements.
struct Cut {
    path: Vec<usize>,
    /// The list's tokens and where each element ends.
    list: Vec<TokenTree>,
    ends: Vec<usize>,
    placeholder: Vec<TokenTree>,
    name: String,
}

fn format_cut(root: &[TokenTree], limit: usize) -> Result<Option<String>, Error> {
    let mut cuts = Vec::new();
    find_cuts(root, List::Items, &mut Vec::new(), limit, &mut cuts);
    if cuts.is_empty() {
        return Ok(None);
    }
    let mut skeleton = root.to_vec();
    for cut in &cuts {
        skeleton = replace(&skeleton, &cut.path, cut.placeholder.clone());
    }
    #[cfg(test)]
    LARGEST_SKELETON.with(|n| n.set(n.get().max(count(&skeleton))));
    let text = whole(&skeleton)?;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut pieces: Vec<(usize, String)> = Vec::with_capacity(cuts.len());
    for cut in &cuts {
        let mut at = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains(&cut.name));
        let (Some((line, _)), None) = (at.next(), at.next()) else {
            return mismatch();
        };
        let prefix: String = lines[..=line].concat();
        let suffix: String = lines[line + 1..].concat();
        let mut middle = String::new();
        let mut batch: Vec<TokenTree> = cut.placeholder.clone();
        let mut size = 0;
        let mut start = 0;
        let last = cut.ends.len() - 1;
        for (index, &end) in cut.ends.iter().enumerate() {
            let element = &cut.list[start..end];
            start = end;
            size += count(element);
            batch.extend(element.iter().cloned());
            if size >= limit || index == last {
                let unit = replace(&skeleton, &cut.path, std::mem::take(&mut batch));
                let formatted = format(&unit, limit)?;
                let Some(inner) = formatted
                    .strip_prefix(prefix.as_str())
                    .and_then(|rest| rest.strip_suffix(suffix.as_str()))
                else {
                    return mismatch();
                };
                middle.push_str(inner);
                batch = cut.placeholder.clone();
                size = 0;
            }
        }
        pieces.push((line, middle));
    }
    let mut out =
        String::with_capacity(text.len() + pieces.iter().map(|p| p.1.len()).sum::<usize>());
    let mut pieces = pieces.into_iter().peekable();
    for (index, line) in lines.iter().enumerate() {
        match pieces.next_if(|(at, _)| *at == index) {
            Some((_, middle)) => out.push_str(&middle),
            None => out.push_str(line),
        }
    }
    Ok(Some(out))
}

/// Finds the lists to cut in `list` (of kind `kind`, at `path`): the list
/// itself when it is long and has several elements, else the long lists
/// inside its groups.
fn find_cuts(
    list: &[TokenTree],
    kind: List,
    path: &mut Vec<usize>,
    limit: usize,
    cuts: &mut Vec<Cut>,
) {
    let placed = list.iter().any(is_placeholder);
    if !placed {
        let ends = ends(list, kind);
        if ends.len() >= 2 && count(list) > limit {
            // Unique among the placeholders of the enclosing units too.
            let id = NEXT_PLACEHOLDER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("{PLACEHOLDER}{id}_{}", "x".repeat(100));
            cuts.push(Cut {
                path: path.clone(),
                list: list.to_vec(),
                ends,
                placeholder: placeholder(kind, &name),
                name,
            });
            return;
        }
    }
    for (index, tree) in list.iter().enumerate() {
        let TokenTree::Group(group) = tree else {
            continue;
        };
        let inner: Vec<TokenTree> = group.stream().into_iter().collect();
        if count(&inner) <= limit {
            continue;
        }
        let Some(inner_kind) = kind_of(list, index, kind) else {
            continue;
        };
        path.push(index);
        find_cuts(&inner, inner_kind, path, limit, cuts);
        path.pop();
    }
}

fn is_placeholder(tree: &TokenTree) -> bool {
    matches!(tree, TokenTree::Ident(i) if i.to_string().starts_with(PLACEHOLDER))
}

/// What the group at `index` of `list` (a list of kind `outer`) holds, when it
/// is a list this knows how to cut.
fn kind_of(list: &[TokenTree], index: usize, outer: List) -> Option<List> {
    let TokenTree::Group(group) = &list[index] else {
        return None;
    };
    // The tokens of the element the group is in, before it.
    let start = split_points(&list[..index], outer)
        .last()
        .copied()
        .unwrap_or(0);
    let before = &list[start..index];
    let has = |word: &str| {
        before
            .iter()
            .any(|t| matches!(t, TokenTree::Ident(i) if i == word))
    };
    let kind = match group.delimiter() {
        Delimiter::Parenthesis | Delimiter::Bracket => {
            // `#[attribute]` and signatures are short; what is long is an
            // argument list or an array.
            let inner: Vec<TokenTree> = group.stream().into_iter().collect();
            if !has_top(&inner, |before, t| {
                is_single(before, t, ':') || is_joint(t, '=')
            }) {
                List::Values
            } else {
                return None;
            }
        }
        Delimiter::Brace => {
            if has("match")
                && !before
                    .iter()
                    .any(|t| matches!(t, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace))
            {
                List::Arms
            } else if matches!(outer, List::Items) {
                if has("struct") || has("union") {
                    List::Fields
                } else if has("enum") {
                    List::Values
                } else if has("fn") {
                    List::Statements
                } else if has("impl") || has("trait") || has("mod") {
                    List::Items
                } else {
                    return None;
                }
            } else if has("fn") && (has("impl") || has("struct") || has("enum")) {
                // An item inside a block: not cut here.
                return None;
            } else if has("impl") || has("mod") || has("trait") {
                List::Items
            } else if has("struct") || has("union") {
                List::Fields
            } else if has("enum") {
                List::Values
            } else if has("fn")
                || has("while")
                || has("loop")
                || has("for")
                || has("if")
                || has("else")
                || has("unsafe")
                || before.is_empty()
            {
                List::Statements
            } else if matches!(before.last(), Some(TokenTree::Ident(_)))
                || matches!(before.last(), Some(TokenTree::Punct(p)) if p.as_char() == '>')
            {
                // `Name { field: value, … }` (a struct literal).
                List::Fields
            } else {
                return None;
            }
        }
        Delimiter::None => return None,
    };
    Some(kind)
}

/// Whether `test` holds at some top-level position of `trees` (it is given
/// the tokens before the position and those from it on).
fn has_top(trees: &[TokenTree], test: impl Fn(&[TokenTree], &[TokenTree]) -> bool) -> bool {
    (0..trees.len()).any(|i| test(&trees[..i], &trees[i..]))
}

/// `trees` starts with a `c` that is not part of `cc`, on either side (like
/// `:` in `a: T`, not either `:` of `::`). `before` is what precedes it: the
/// second `:` of `Key::new(..)` is no `name: Type`, so such an argument list is
/// not taken for a signature and stays a list that can be cut.
fn is_single(before: &[TokenTree], trees: &[TokenTree], c: char) -> bool {
    let joined_to_it = matches!(before.last(),
        Some(TokenTree::Punct(p)) if p.as_char() == c && p.spacing() == Spacing::Joint);
    match trees {
        [TokenTree::Punct(p), rest @ ..] if p.as_char() == c && !joined_to_it => {
            p.spacing() == Spacing::Alone
                && !matches!(rest.first(), Some(TokenTree::Punct(q)) if q.as_char() == c)
        }
        _ => false,
    }
}

/// `trees` starts with `c` joined to `>` (like `=>`).
fn is_joint(trees: &[TokenTree], c: char) -> bool {
    matches!(trees,
        [TokenTree::Punct(p), TokenTree::Punct(q), ..]
            if p.as_char() == c && p.spacing() == Spacing::Joint && q.as_char() == '>')
}

/// Where each element of `list` ends (one past its last token).
fn split_points(list: &[TokenTree], kind: List) -> Vec<usize> {
    let mut ends = Vec::new();
    for (index, tree) in list.iter().enumerate() {
        let end = match (kind, tree) {
            (_, TokenTree::Punct(p)) if p.as_char() == ';' => {
                matches!(kind, List::Items | List::Statements)
            }
            // A `,` inside a pattern or a type's generics is in a group
            // or between `<` and `>`; generic lists are never long.
            (List::Fields | List::Arms | List::Values, TokenTree::Punct(p)) => p.as_char() == ',',
            (List::Items, TokenTree::Group(g)) => {
                g.delimiter() == Delimiter::Brace
                    && !matches!(list.get(index + 1), Some(TokenTree::Punct(p)) if p.as_char() == ';')
            }
            _ => false,
        };
        if end {
            ends.push(index + 1);
        }
    }
    ends
}

/// Where each element of `list` ends; what follows the last separator is the
/// last element.
fn ends(list: &[TokenTree], kind: List) -> Vec<usize> {
    let mut ends = split_points(list, kind);
    if ends.last().copied().unwrap_or(0) < list.len() {
        ends.push(list.len());
    }
    ends
}

/// One element of the kind, whose line holds `name` and nothing of the list.
fn placeholder(kind: List, name: &str) -> Vec<TokenTree> {
    let text = match kind {
        List::Items => format!("fn {name}() {{}}"),
        List::Statements => format!("{name};"),
        List::Fields => format!("{name}: (),"),
        List::Arms => format!("{name} => {{}}"),
        // Enum variants are identifiers, like arguments and array elements.
        List::Values => format!("{name},"),
    };
    let stream: TokenStream = text.parse().unwrap_or_else(|_| {
        let ident = Ident::new(name, Span::call_site());
        TokenStream::from(TokenTree::Ident(ident))
    });
    stream.into_iter().collect()
}

/// `trees` with the group at `path` holding `content` instead.
fn replace(trees: &[TokenTree], path: &[usize], content: Vec<TokenTree>) -> Vec<TokenTree> {
    let Some((&index, rest)) = path.split_first() else {
        return content;
    };
    let mut out = trees.to_vec();
    if let Some(TokenTree::Group(group)) = trees.get(index) {
        let inner: Vec<TokenTree> = group.stream().into_iter().collect();
        let replaced = replace(&inner, rest, content);
        let mut new = Group::new(group.delimiter(), replaced.into_iter().collect());
        new.set_span(group.span());
        out[index] = TokenTree::Group(new);
    }
    out
}

/// Tokens in `trees`, groups counted with what they hold.
fn count(trees: &[TokenTree]) -> usize {
    trees
        .iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => 1 + count(&group.stream().into_iter().collect::<Vec<_>>()),
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn whole_text(tokens: &TokenStream) -> String {
        whole(&tokens.clone().into_iter().collect::<Vec<_>>()).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A module body shaped like a generated input of `n` fields.
    fn wide(n: usize) -> TokenStream {
        let names: Vec<proc_macro2::Ident> = (0..n)
            .map(|i| proc_macro2::Ident::new(&format!("field_{i}"), Span::call_site()))
            .collect();
        let keys: Vec<String> = (0..n).map(|i| format!("field_{i}")).collect();
        let indices: Vec<usize> = (0..n).collect();
        quote! {
            use fal_runtime::__private as __fal;
            #[doc = " A wide input."]
            pub struct Wide { #( #[doc = " One field."] pub #names: Option<String>, )* }
            impl Wide {
                #( pub fn #names(mut self, value: impl Into<String>) -> Self { self.#names = Some(value.into()); self } )*
                fn serialize(&self) -> Result<(), ()> {
                    let mut map = start();
                    #( __fal::optional_entry(&mut map, #keys, &self.#names)?; )*
                    while let Some(key) = map.next_key_seed(__fal::Key::new(&[#(#keys),*]))? {
                        match key {
                            #( Some(#indices) => __fal::set(&mut map), )*
                            _ => __fal::skip(&mut map),
                        }?;
                    }
                    Ok(Wide { #( #names: None, )* })
                }
            }
        }
    }

    #[test]
    fn cut_lists_format_like_the_whole() {
        let tokens = wide(300);
        let expected = whole_text(&tokens);
        let root: Vec<TokenTree> = tokens.into_iter().collect();
        for limit in [40, 100, 333, 1_000, 5_000] {
            MISMATCHES.with(|n| n.set(0));
            let cut = format_cut(&root, limit).unwrap_or_else(|e| panic!("{e}"));
            // Cut for real (a batch that did not fit would give `None`).
            let Some(cut) = cut else {
                panic!("limit {limit}: nothing was cut");
            };
            assert_eq!(cut, expected, "limit {limit}");
            assert_eq!(format(&root, limit).ok(), Some(expected.clone()));
            // Every long list inside was cut too, none formatted whole.
            assert_eq!(MISMATCHES.with(std::cell::Cell::get), 0, "limit {limit}");
        }
    }

    /// Every endpoint of the fixtures and of the repository's schemas, cut
    /// into small batches, formats as it does whole.
    #[test]
    fn endpoints_format_the_same_cut() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut docs = Vec::new();
        for dir in [root.join("tests/fixtures"), root.join("../schemas")] {
            let mut paths: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "json"))
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
                docs.push(
                    crate::parse::parse_document(&path, &text).unwrap_or_else(|e| panic!("{e}")),
                );
            }
        }
        let ir = crate::ir::lower(&docs).unwrap_or_else(|e| panic!("{e}"));
        assert!(ir.endpoints.len() >= 10, "{}", ir.endpoints.len());
        for endpoint in &ir.endpoints {
            let tokens = super::super::endpoint_body(endpoint);
            let expected = whole_text(&tokens);
            for limit in [60, 400] {
                MISMATCHES.with(|n| n.set(0));
                let cut = unparse(tokens.clone(), limit).unwrap_or_else(|e| panic!("{e}"));
                assert!(cut == expected, "{} cut at {limit} differs", endpoint.id);
                assert_eq!(
                    MISMATCHES.with(std::cell::Cell::get),
                    0,
                    "{} cut at {limit}",
                    endpoint.id
                );
            }
        }
    }

    /// Formatting stays linear: a long list left in a skeleton (such as the
    /// key array inside `next_key_seed(__fal::Key::new(&[..]))`) would be
    /// formatted again with every batch, quadratic in the number of fields.
    #[test]
    fn skeletons_do_not_grow_with_the_lists() {
        let limit = 400;
        let largest = |n: usize| {
            LARGEST_SKELETON.with(|c| c.set(0));
            let root: Vec<TokenTree> = wide(n).into_iter().collect();
            assert!(format(&root, limit).is_ok());
            LARGEST_SKELETON.with(std::cell::Cell::get)
        };
        let (small, large) = (largest(300), largest(3_000));
        assert!(small > 0, "nothing was cut");
        assert!(
            large <= small + limit,
            "300 fields: {small} tokens, 3,000: {large}"
        );
    }

    #[test]
    fn short_units_are_formatted_whole() {
        let tokens = wide(3);
        let root: Vec<TokenTree> = tokens.clone().into_iter().collect();
        assert_eq!(
            unparse(tokens.clone(), MAX_TOKENS).ok(),
            Some(whole_text(&tokens))
        );
        assert!(count(&root) < MAX_TOKENS);
    }
}
