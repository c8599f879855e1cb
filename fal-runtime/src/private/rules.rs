//! The value rules of fal's schemas and how fal (FastAPI + pydantic v2)
//! reports a value that breaks one: one implementation, used by the
//! `validate()` of generated inputs and by fal-testkit's request validation,
//! so the two agree by construction. fal-codegen reads the rules from a schema
//! (`fal_codegen::ir::Limits`) for both.
//!
//! Messages and error types are pydantic v2's (`greater_than_equal`,
//! `string_too_long`, `too_short`, …), so a local failure reads exactly like
//! the 422 fal would have answered.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The rules of one value position: bounds for numbers, lengths and a pattern
/// for strings, item counts for lists, and the rules of the items and map
/// values below it. `Rules::NONE` has none.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rules<'a> {
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `exclusiveMinimum` (numeric form).
    pub exclusive_minimum: Option<f64>,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// `exclusiveMaximum` (numeric form).
    pub exclusive_maximum: Option<f64>,
    /// `multipleOf`.
    pub multiple_of: Option<f64>,
    /// `minLength`, in characters.
    pub min_length: Option<u64>,
    /// `maxLength`, in characters.
    pub max_length: Option<u64>,
    /// `pattern` (searched anywhere in the string, as pydantic does).
    pub pattern: Option<&'a str>,
    /// `minItems`.
    pub min_items: Option<u64>,
    /// `maxItems`.
    pub max_items: Option<u64>,
    /// The only values a number may take (an `enum` or `const` of numbers).
    pub listed: Option<&'a [f64]>,
    /// Whether `listed` is a `const` (pydantic's `Literal`, reported as
    /// `literal_error`) rather than an `enum` (reported as `enum`).
    pub literal: bool,
    /// The only value a string may take (a string `const`; string `enum`s are
    /// generated types).
    pub text: Option<&'a str>,
    /// A plain string arm beside listed strings (`anyOf: [{enum: [..]},
    /// {type: string}]`): a value of the position's string enum that is not
    /// listed is checked against these rules instead of being refused.
    pub any_text: Option<&'a Rules<'a>>,
    /// The rules of each list item.
    pub items: Option<&'a Rules<'a>>,
    /// The rules of each map value.
    pub values: Option<&'a Rules<'a>>,
}

/// One broken rule: pydantic's error type and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// pydantic's error type, e.g. `less_than_equal`.
    pub kind: &'static str,
    /// pydantic's message, e.g. `Input should be less than or equal to 4`.
    pub msg: String,
}

impl Violation {
    fn new(kind: &'static str, msg: String) -> Self {
        Self { kind, msg }
    }
}

impl Rules<'static> {
    /// No rules at all.
    pub const NONE: Rules<'static> = Rules {
        minimum: None,
        exclusive_minimum: None,
        maximum: None,
        exclusive_maximum: None,
        multiple_of: None,
        min_length: None,
        max_length: None,
        pattern: None,
        min_items: None,
        max_items: None,
        listed: None,
        literal: false,
        text: None,
        any_text: None,
        items: None,
        values: None,
    };
}

impl Rules<'_> {
    /// The bounds, `multipleOf` and listed values broken by a number.
    pub fn number(&self, n: f64, out: &mut Vec<Violation>) {
        if let Some(listed) = self.listed {
            if !listed.contains(&n) {
                let values: Vec<serde_json::Value> =
                    listed.iter().map(|v| json_number(*v)).collect();
                out.push(if self.literal {
                    not_literal(&values)
                } else {
                    not_listed(&values)
                });
            }
            return;
        }
        if let Some(min) = self.exclusive_minimum {
            if n <= min {
                out.push(Violation::new(
                    "greater_than",
                    format!("Input should be greater than {}", number(min)),
                ));
            }
        } else if let Some(min) = self.minimum {
            if n < min {
                out.push(Violation::new(
                    "greater_than_equal",
                    format!("Input should be greater than or equal to {}", number(min)),
                ));
            }
        }
        if let Some(max) = self.exclusive_maximum {
            if n >= max {
                out.push(Violation::new(
                    "less_than",
                    format!("Input should be less than {}", number(max)),
                ));
            }
        } else if let Some(max) = self.maximum {
            if n > max {
                out.push(Violation::new(
                    "less_than_equal",
                    format!("Input should be less than or equal to {}", number(max)),
                ));
            }
        }
        if let Some(step) = self.multiple_of.filter(|s| *s > 0.0) {
            let ratio = n / step;
            if (ratio - ratio.round()).abs() > 1e-9 {
                out.push(Violation::new(
                    "multiple_of",
                    format!("Input should be a multiple of {}", number(step)),
                ));
            }
        }
    }

    /// The length limits and pattern broken by a string.
    pub fn string(&self, text: &str, out: &mut Vec<Violation>) {
        if let Some(only) = self.text {
            if text != only {
                out.push(not_literal(&[only.into()]));
            }
            return;
        }
        let len = text.chars().count();
        let unit = |n: u64| if n == 1 { "character" } else { "characters" };
        if let Some(min) = self.min_length.filter(|m| (len as u64) < *m) {
            out.push(Violation::new(
                "string_too_short",
                format!("String should have at least {min} {}", unit(min)),
            ));
        }
        if let Some(max) = self.max_length.filter(|m| (len as u64) > *m) {
            out.push(Violation::new(
                "string_too_long",
                format!("String should have at most {max} {}", unit(max)),
            ));
        }
        if let Some(pattern) = self.pattern {
            if matches(pattern, text) == Some(false) {
                out.push(Violation::new(
                    "string_pattern_mismatch",
                    format!("String should match pattern '{pattern}'"),
                ));
            }
        }
    }

    /// The item counts broken by a list of `len` items.
    pub fn list(&self, len: usize, out: &mut Vec<Violation>) {
        let plural = |n: u64| if n == 1 { "item" } else { "items" };
        if let Some(min) = self.min_items.filter(|m| (len as u64) < *m) {
            out.push(Violation::new(
                "too_short",
                format!(
                    "List should have at least {min} {} after validation, not {len}",
                    plural(min)
                ),
            ));
        }
        if let Some(max) = self.max_items.filter(|m| (len as u64) > *m) {
            out.push(Violation::new(
                "too_long",
                format!(
                    "List should have at most {max} {} after validation, not {len}",
                    plural(max)
                ),
            ));
        }
    }
}

/// The violation of a value outside a listed set (`values` as JSON).
pub fn not_listed(values: &[serde_json::Value]) -> Violation {
    Violation::new("enum", format!("Input should be {}", choices(values)))
}

/// The violation of a value other than a `const` (pydantic's `Literal`;
/// `values` as JSON).
pub fn not_literal(values: &[serde_json::Value]) -> Violation {
    Violation::new(
        "literal_error",
        format!("Input should be {}", choices(values)),
    )
}

/// `'a', 'b' or 'c'`, as pydantic lists permitted values.
pub fn choices(values: &[serde_json::Value]) -> String {
    let listed: Vec<String> = values
        .iter()
        .map(|v| match v {
            serde_json::Value::String(s) => format!("'{s}'"),
            other => other.to_string(),
        })
        .collect();
    match listed.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A number as the schema wrote it: integral values as integers.
fn json_number(v: f64) -> serde_json::Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Value::from(v)
    }
}

/// A pydantic-style number in a message: integral bounds print without `.0`.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Whether `pattern` matches anywhere in `text`, as fal's engine (pydantic's
/// Rust `regex`, Unicode-aware) would say; `None` when that cannot be decided
/// here, and then the rule is not checked, so a value fal accepts is never
/// refused. Compiled patterns are cached.
///
/// The engine is `regex-lite`: it has no dependencies and compiles in a
/// fraction of the time of `regex` and its Unicode tables (docs/architecture.md
/// has the measurement). It refuses what it cannot express (`\p{..}` classes,
/// class set operations, look-around: `None`), and it reads `\w`, `\d`, `\s`,
/// `\b` and case-insensitive matching by ASCII rules where fal's engine uses
/// Unicode. The two agree on ASCII text matched by an ASCII pattern, so a
/// pattern using one of those is only decided for such text (`^\w+$` against
/// `"abc"` or `"a b"`, not against `"ça"`).
fn matches(pattern: &str, text: &str) -> Option<bool> {
    if ascii_sensitive(pattern) && !(pattern.is_ascii() && text.is_ascii()) {
        return None;
    }
    static CACHE: OnceLock<Mutex<HashMap<String, Option<regex_lite::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let regex = cache
        .entry(pattern.to_owned())
        .or_insert_with(|| regex_lite::Regex::new(pattern).ok());
    regex.as_ref().map(|r| r.is_match(text))
}

/// Whether `pattern` uses something regex-lite reads by ASCII rules and fal's
/// engine by Unicode ones: the Perl classes `\w \d \s` and their negations,
/// the word boundaries `\b \B \< \>`, or a flag group (`(?i)`, `(?-u)`, …).
/// Errs towards `true`: it only narrows what is checked.
fn ascii_sensitive(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if matches!(
                    chars.next(),
                    Some('w' | 'W' | 'd' | 'D' | 's' | 'S' | 'b' | 'B' | '<' | '>')
                ) {
                    return true;
                }
            }
            '(' => {
                let rest = chars.as_str();
                if rest.starts_with('?') && !rest.starts_with("?:") && !rest.starts_with("?P<") {
                    // A flag group; a named group `(?<name>` is harmless but
                    // rare enough to count as one.
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(rules: &Rules<'_>, f: impl Fn(&Rules<'_>, &mut Vec<Violation>)) -> Vec<&'static str> {
        let mut out = Vec::new();
        f(rules, &mut out);
        out.into_iter().map(|v| v.kind).collect()
    }

    #[test]
    fn numbers_follow_pydantic() {
        let rules = Rules {
            minimum: Some(1.0),
            maximum: Some(4.0),
            multiple_of: Some(0.5),
            ..Rules::NONE
        };
        assert_eq!(kinds(&rules, |r, o| r.number(2.5, o)), Vec::<&str>::new());
        assert_eq!(
            kinds(&rules, |r, o| r.number(0.0, o)),
            ["greater_than_equal"]
        );
        assert_eq!(
            kinds(&rules, |r, o| r.number(4.25, o)),
            ["less_than_equal", "multiple_of"]
        );
        let exclusive = Rules {
            exclusive_minimum: Some(0.0),
            exclusive_maximum: Some(1.0),
            ..Rules::NONE
        };
        assert_eq!(kinds(&exclusive, |r, o| r.number(0.0, o)), ["greater_than"]);
        assert_eq!(kinds(&exclusive, |r, o| r.number(1.0, o)), ["less_than"]);
        let mut out = Vec::new();
        rules.number(5.0, &mut out);
        assert_eq!(out[0].msg, "Input should be less than or equal to 4");
    }

    #[test]
    fn strings_and_lists() {
        let rules = Rules {
            min_length: Some(2),
            max_length: Some(3),
            pattern: Some(r"^\w+$"),
            min_items: Some(1),
            max_items: Some(1),
            ..Rules::NONE
        };
        assert_eq!(kinds(&rules, |r, o| r.string("é", o)), ["string_too_short"]);
        assert_eq!(
            kinds(&rules, |r, o| r.string("a b c", o)),
            ["string_too_long", "string_pattern_mismatch"]
        );
        assert_eq!(kinds(&rules, |r, o| r.string("ça", o)), Vec::<&str>::new());
        assert_eq!(kinds(&rules, |r, o| r.string("a_1", o)), Vec::<&str>::new());
        assert_eq!(kinds(&rules, |r, o| r.list(0, o)), ["too_short"]);
        assert_eq!(kinds(&rules, |r, o| r.list(2, o)), ["too_long"]);
        let unknown = Rules {
            pattern: Some("(?<=a)b"),
            ..Rules::NONE
        };
        assert_eq!(
            kinds(&unknown, |r, o| r.string("zz", o)),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn patterns_are_decided_only_where_the_engines_agree() {
        // The schemas' one pattern: ASCII text is decided both ways.
        assert_eq!(matches(r"^\w+$", "puck_2"), Some(true));
        assert_eq!(matches(r"^\w+$", "a b"), Some(false));
        // fal's Unicode `\w` takes "ça"; regex-lite's ASCII one would not.
        assert_eq!(matches(r"^\w+$", "ça"), None);
        assert_eq!(matches(r"(?i)^abc$", "ABC"), Some(true));
        assert_eq!(matches(r"(?i)^k$", "\u{212A}"), None);
        // No ASCII-ruled construct: decided for any text, by code point.
        assert_eq!(matches(r"^[a-zà-ü]+$", "ça"), Some(true));
        assert_eq!(matches(r"^[0-9]{2}:[0-9]{2}$", "1:30"), Some(false));
        assert_eq!(matches(r"^.$", "é"), Some(true));
        // An escaped backslash before `w` is a literal `w`.
        assert_eq!(matches(r"^\\w$", "\\w"), Some(true));
        assert!(!ascii_sensitive(r"\\w(?:x)(?P<n>y)"));
        // What regex-lite cannot express is not checked at all.
        assert_eq!(matches(r"^\p{L}+$", "abc"), None);
        assert_eq!(matches(r"^[\w&&[^_]]+$", "abc"), None);
        assert_eq!(matches(r"^[[:alpha:]]+$", "abc"), Some(true));
        // Not checked means no violation, whatever the text.
        let unicode = Rules {
            pattern: Some(r"^\w+$"),
            ..Rules::NONE
        };
        assert_eq!(
            kinds(&unicode, |r, o| r.string("ça va", o)),
            Vec::<&str>::new()
        );
        assert_eq!(
            kinds(&unicode, |r, o| r.string("ca va", o)),
            ["string_pattern_mismatch"]
        );
    }

    #[test]
    fn listed_values_are_quoted() {
        let values = [serde_json::json!("a"), serde_json::json!(2)];
        assert_eq!(not_listed(&values).msg, "Input should be 'a' or 2");
        let rules = Rules {
            listed: Some(&[1.0, 2.0, 4.0]),
            ..Rules::NONE
        };
        let mut out = Vec::new();
        rules.number(3.0, &mut out);
        assert_eq!(out[0].msg, "Input should be 1, 2 or 4");
        assert_eq!(kinds(&rules, |r, o| r.number(4.0, o)), Vec::<&str>::new());
    }

    #[test]
    fn constants_are_literals() {
        let number = Rules {
            listed: Some(&[2.0]),
            literal: true,
            ..Rules::NONE
        };
        assert_eq!(kinds(&number, |r, o| r.number(3.0, o)), ["literal_error"]);
        assert_eq!(kinds(&number, |r, o| r.number(2.0, o)), Vec::<&str>::new());
        let text = Rules {
            text: Some("768x512"),
            max_length: Some(1),
            ..Rules::NONE
        };
        let mut out = Vec::new();
        text.string("512x512", &mut out);
        assert_eq!(out, [not_literal(&["768x512".into()])]);
        assert_eq!(out[0].msg, "Input should be '768x512'");
        assert_eq!(
            kinds(&text, |r, o| r.string("768x512", o)),
            Vec::<&str>::new()
        );
    }
}
