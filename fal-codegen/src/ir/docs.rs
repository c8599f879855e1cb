//! Documentation text from a schema: description, default, examples, limits.

use schemars::schema::{SchemaObject, SingleOrVec};
use serde_json::Value;

use super::Docs;

/// The documentation of `schema` (its description, else its title).
pub(super) fn docs_of(schema: &SchemaObject) -> Docs {
    let metadata = schema.metadata.as_deref();
    let description = type_docs(schema).description;
    let default = metadata
        .and_then(|m| m.default.as_ref())
        .map(Value::to_string);
    // JSON Schema's `examples` array (OpenAPI 3.1), else OpenAPI 3.0's single
    // `example`, which schemars keeps among the extensions.
    let mut examples: Vec<String> = metadata
        .map(|m| m.examples.iter().map(Value::to_string).collect())
        .unwrap_or_default();
    if examples.is_empty() {
        examples.extend(schema.extensions.get("example").map(Value::to_string));
    }
    Docs {
        description,
        default,
        examples,
        constraints: constraints(schema),
        notes: Vec::new(),
    }
}

/// The documentation of a type defined by `schema`: its description only (a
/// default or example belongs to the field using the type, and leaving them out
/// lets identical types across endpoints share one definition). Titles are not
/// used: fal's are Python class names or the property name again.
pub(super) fn type_docs(schema: &SchemaObject) -> Docs {
    let description = schema
        .metadata
        .as_deref()
        .and_then(|m| m.description.as_deref())
        .map(clean_description)
        .filter(|d| !d.is_empty());
    Docs {
        description,
        ..Docs::default()
    }
}

/// Dedents Python docstrings and keeps rustdoc from reading them as code:
/// leading spaces would make an indented code block (a doctest), and a bare
/// ``` fence would be compiled as Rust.
fn clean_description(text: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut in_fence = false;
    let mut in_block = false;
    for line in text.lines() {
        let line = line.trim();
        // A plain line right after a list item or quote would be a "lazy
        // continuation" (clippy::doc_lazy_continuation); make it a paragraph.
        let starts_block = is_list_item(line) || line.starts_with('>');
        if !in_fence && in_block && !starts_block && !line.is_empty() {
            lines.push(String::new());
        }
        in_block = !in_fence && starts_block;
        if line.starts_with("```") {
            if in_fence {
                lines.push("```".into());
            } else {
                lines.push("```text".into());
            }
            in_fence = !in_fence;
            continue;
        }
        if line.is_empty() && lines.last().is_none_or(|l| l.is_empty()) {
            continue;
        }
        if in_fence {
            lines.push(line.to_owned());
        } else {
            lines.push(escape_markdown(line));
        }
    }
    if in_fence {
        lines.push("```".into());
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// Keeps rustdoc from reading prose as links or HTML: `[`/`]` are escaped (no
/// broken intra-doc links), `<` becomes `&lt;` (no unclosed HTML tags) and bare
/// URLs are wrapped in `<…>` (rustdoc's `bare_urls`). Code spans are left alone.
fn escape_markdown(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    for (i, part) in line.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        if i % 2 == 1 {
            out.push_str(part);
            continue;
        }
        let mut words = part.split(' ').peekable();
        while let Some(word) = words.next() {
            out.push_str(&escape_word(word));
            if words.peek().is_some() {
                out.push(' ');
            }
        }
    }
    out
}

fn escape_word(word: &str) -> String {
    let escaped = word
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace('<', "&lt;");
    let Some(start) = escaped.find("http://").or_else(|| escaped.find("https://")) else {
        return escaped;
    };
    // The URL ends before trailing punctuation that belongs to the sentence.
    let url_part = &escaped[start..];
    let url_end = url_part
        .trim_end_matches(['.', ',', ';', ':', ')', '!', '?', '"', '\''])
        .len();
    format!(
        "{}<{}>{}",
        &escaped[..start],
        &url_part[..url_end],
        &url_part[url_end..]
    )
}

fn is_list_item(line: &str) -> bool {
    let bullet = ["- ", "* ", "+ "].iter().any(|b| line.starts_with(b));
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    let numbered = digits > 0
        && matches!(line.as_bytes().get(digits), Some(b'.' | b')'))
        && matches!(line.as_bytes().get(digits + 1), None | Some(b' '));
    bullet || numbered
}

/// `4`, not `4.0`, for whole numbers.
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn constraints(schema: &SchemaObject) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(n) = schema.number.as_deref() {
        let lower = n
            .exclusive_minimum
            .map(|v| format!("{} <", number(v)))
            .or(n.minimum.map(|v| format!("{} ≤", number(v))));
        let upper = n
            .exclusive_maximum
            .map(|v| format!("< {}", number(v)))
            .or(n.maximum.map(|v| format!("≤ {}", number(v))));
        match (lower, upper) {
            (Some(l), Some(u)) => out.push(format!("{l} value {u}")),
            (Some(l), None) => out.push(format!("{l} value")),
            (None, Some(u)) => out.push(format!("value {u}")),
            (None, None) => {}
        }
        if let Some(m) = n.multiple_of {
            out.push(format!("a multiple of {}", number(m)));
        }
    }
    if let Some(s) = schema.string.as_deref() {
        match (s.min_length, s.max_length) {
            (Some(l), Some(u)) => out.push(format!("{l} to {u} characters")),
            (Some(l), None) => out.push(format!("at least {l} characters")),
            (None, Some(u)) => out.push(format!("at most {u} characters")),
            (None, None) => {}
        }
        if let Some(p) = &s.pattern {
            out.push(format!("matches `{}`", p.replace('`', "'")));
        }
    }
    if let Some(a) = schema.array.as_deref() {
        match (a.min_items, a.max_items) {
            (Some(l), Some(u)) => out.push(format!("{l} to {u} items")),
            (Some(l), None) => out.push(format!("at least {l} items")),
            (None, Some(u)) => out.push(format!("at most {u} items")),
            (None, None) => {}
        }
    }
    if let Some(values) = &schema.enum_values {
        let is_string = matches!(&schema.instance_type, Some(SingleOrVec::Single(t)) if **t == schemars::schema::InstanceType::String);
        if !is_string && !values.is_empty() {
            let list: Vec<String> = values.iter().map(Value::to_string).collect();
            out.push(format!("one of {}", list.join(", ")));
        }
    }
    if let Some(value) = &schema.const_value {
        out.push(format!("always {value}"));
    }
    if let Some(format) = &schema.format {
        match format.as_str() {
            "binary" => out.push("binary content (format `binary`)".into()),
            "uri" => out.push("a URI".into()),
            other => out.push(format!("format `{other}`")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedents_and_neutralizes_code() {
        let text = "First line.\n\n        Indented detail.\n\n\n    ```\n    code\n    ```";
        assert_eq!(
            clean_description(text),
            "First line.\n\nIndented detail.\n\n```text\ncode\n```"
        );
        assert_eq!(
            clean_description("Modes:\n- a\n- b\nafter"),
            "Modes:\n- a\n- b\n\nafter"
        );
        assert_eq!(
            clean_description("See [docs](x) at https://fal.ai/models_a. Use `a[0]` <b>"),
            "See \\[docs\\](x) at <https://fal.ai/models_a>. Use `a[0]` &lt;b>"
        );
        assert_eq!(
            clean_description("snake_case and 2*3"),
            "snake_case and 2*3"
        );
    }

    #[test]
    fn limits() {
        let schema: SchemaObject = serde_json::from_value(serde_json::json!({
            "type": "integer", "minimum": 1, "maximum": 4, "default": 1, "examples": [2]
        }))
        .unwrap_or_default();
        let docs = docs_of(&schema);
        assert_eq!(docs.constraints, vec!["1 ≤ value ≤ 4".to_owned()]);
        assert_eq!(docs.default.as_deref(), Some("1"));
        assert_eq!(docs.examples, vec!["2".to_owned()]);
        let single: SchemaObject =
            serde_json::from_value(serde_json::json!({"type": "integer", "example": 3}))
                .unwrap_or_default();
        assert_eq!(docs_of(&single).examples, vec!["3".to_owned()]);
    }
}
