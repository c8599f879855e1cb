//! An independent check of a reduction: does any prose of the original survive?
//!
//! It does not reuse the reducer's allowlists. It collects the original's prose
//! the blunt way (every string under a `description`, `summary` or `$comment`
//! key at any depth, and every string with whitespace or non-ASCII text inside
//! any `default`, `example` or `examples`), then looks at every string value of
//! the reduced document. A reduced string is a leak when it equals one of those
//! strings, or contains one of 20 characters or more, unless the original also
//! uses it as a name or an API value (an object key, an `enum` or `const`
//! member, a `name`, `tags` or `operationId`, or an entry of `required` /
//! `x-fal-order-*`), which the reduction
//! must keep. A string whose words only spell an object key of the original
//! (`Image Size` for `image_size`) is a name too.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::pointer_token;

/// Prose shorter than this is only matched exactly (a short description such
/// as "Seed" may legitimately occur inside a longer fact such as a URL).
const CONTAINMENT_MIN: usize = 20;
/// How much of a leaked string a report quotes.
const QUOTE: usize = 80;

/// A string of the original's prose found in a reduced document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    /// Where it is in the reduced document (a JSON pointer).
    pub pointer: String,
    /// The start of the string found there.
    pub text: String,
}

impl std::fmt::Display for Leak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}: {:?}", self.pointer, self.text)
    }
}

/// Every place in `reduced` where prose of `original` survives; empty when
/// the reduction is clean.
pub fn audit(original: &Value, reduced: &Value) -> Vec<Leak> {
    let mut sets = Sets::default();
    sets.collect(original, None);
    let long: Vec<&str> = sets
        .prose
        .iter()
        .map(String::as_str)
        .filter(|p| p.len() >= CONTAINMENT_MIN)
        .collect();
    let mut leaks = Vec::new();
    let mut pointer = String::new();
    check(reduced, &mut pointer, &sets, &long, &mut leaks);
    leaks
}

#[derive(Default)]
struct Sets {
    /// The original's prose.
    prose: HashSet<String>,
    /// Names and API values of the original.
    exempt: HashSet<String>,
    /// The original's object keys as lower-case words (`image_size` ->
    /// `image size`): a title that only spells a property name is a name.
    key_words: HashSet<String>,
}

impl Sets {
    /// Walks the original; `parent` is the key the value sits under.
    fn collect(&mut self, value: &Value, parent: Option<&str>) {
        match value {
            Value::String(s) => match parent {
                Some("description" | "summary" | "$comment") => self.add_prose(s),
                Some("enum" | "const" | "required" | "name" | "tags" | "operationId") => {
                    self.exempt.insert(s.clone());
                }
                Some(key) if key.starts_with("x-fal-order-") => {
                    self.exempt.insert(s.clone());
                }
                _ => {}
            },
            Value::Array(items) => items.iter().for_each(|v| self.collect(v, parent)),
            Value::Object(map) => {
                for (key, v) in map {
                    self.exempt.insert(key.clone());
                    self.key_words.insert(words(key));
                    if matches!(key.as_str(), "default" | "example" | "examples") {
                        self.collect_values(v);
                    }
                    self.collect(v, Some(key));
                }
            }
            _ => {}
        }
    }

    /// Sentences anywhere inside an example or default.
    fn collect_values(&mut self, value: &Value) {
        match value {
            Value::String(s) if s.chars().any(|c| c.is_whitespace() || !c.is_ascii()) => {
                self.add_prose(s);
            }
            Value::Array(items) => items.iter().for_each(|v| self.collect_values(v)),
            Value::Object(map) => map.values().for_each(|v| self.collect_values(v)),
            _ => {}
        }
    }

    fn add_prose(&mut self, s: &str) {
        if !s.trim().is_empty() {
            self.prose.insert(s.to_owned());
        }
    }
}

/// Lower-case words split on spaces, `_` and `-`, joined by one space.
fn words(text: &str) -> String {
    text.split([' ', '_', '-'])
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn check(value: &Value, pointer: &mut String, sets: &Sets, long: &[&str], leaks: &mut Vec<Leak>) {
    match value {
        Value::String(s) => {
            if sets.exempt.contains(s) || sets.key_words.contains(&words(s)) {
                return;
            }
            let leaked = sets.prose.contains(s)
                || (s.len() >= CONTAINMENT_MIN && long.iter().any(|p| s.contains(p)));
            if leaked {
                leaks.push(Leak {
                    pointer: pointer.clone(),
                    text: s.chars().take(QUOTE).collect(),
                });
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                check(item, pointer, sets, long, leaks);
                pointer.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&pointer_token(key));
                check(item, pointer, sets, long, leaks);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_surviving_descriptions_and_sentences() {
        let original = json!({
            "info": {"description": "The queue of a model that draws pictures."},
            "properties": {"prompt": {"description": "What to draw", "examples": ["a red fox in snow"]}}
        });
        let reduced = json!({
            "a": "What to draw",
            "b": ["note: The queue of a model that draws pictures."],
            "c": {"x/y": "a red fox in snow"},
            "d": "prompt"
        });
        let leaks = audit(&original, &reduced);
        let pointers: Vec<&str> = leaks.iter().map(|l| l.pointer.as_str()).collect();
        assert_eq!(pointers, ["/a", "/b/0", "/c/x~1y"]);
    }

    #[test]
    fn names_and_api_values_are_not_leaks() {
        let original = json!({
            "properties": {
                "Seed": {"description": "Seed"},
                "mode": {"description": "fast", "enum": ["fast", "slow"]}
            }
        });
        let reduced = json!({"required": ["Seed"], "enum": ["fast", "slow"], "d": ""});
        assert_eq!(audit(&original, &reduced), Vec::<Leak>::new());
    }
}
