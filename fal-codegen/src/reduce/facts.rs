//! The line between a fact and prose, for values and titles (the rules are
//! stated in the parent module's docs; this is their one implementation).

use std::collections::HashSet;

use serde_json::Value;

/// Words that mark a property as free text: a one-word value of such a field
/// is an example prompt, not an identifier. Chosen from the names of every
/// field whose examples in fal's documents are sentences.
pub const FREE_TEXT_WORDS: &[&str] = &[
    "prompt",
    "prompts",
    "text",
    "texts",
    "lyrics",
    "instruction",
    "instructions",
    "caption",
    "captions",
    "description",
    "script",
    "message",
    "messages",
    "query",
    "question",
    "reasoning",
    "transcript",
    "dialogue",
    "concept",
    "subject",
    "tags",
];

/// The longest URL kept (longer "URLs" are usually data smuggled in a query).
const MAX_URL: usize = 2048;
/// The longest identifier kept.
const MAX_IDENTIFIER: usize = 64;

/// The strings a document lists as `enum` members or `const` values: API
/// values, which stay facts wherever they appear.
pub(super) type Vocabulary = HashSet<String>;

/// Whether all of `value` is a fact, when it documents the property `field`.
pub(super) fn is_fact(value: &Value, field: Option<&str>, vocabulary: &Vocabulary) -> bool {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
        Value::String(s) => is_fact_string(s, field, vocabulary),
        Value::Array(items) => items.iter().all(|v| is_fact(v, field, vocabulary)),
        Value::Object(members) => members
            .iter()
            .all(|(key, v)| is_fact(v, Some(key), vocabulary)),
    }
}

fn is_fact_string(s: &str, field: Option<&str>, vocabulary: &Vocabulary) -> bool {
    s.is_empty()
        || vocabulary.contains(s)
        || is_url(s)
        || (is_identifier(s) && !field.is_some_and(is_free_text))
}

/// The neutral text that replaces a prose string of an example: ours, the
/// same for every field, sized into the field's `minLength`/`maxLength`.
pub const NEUTRAL_TEXT: &str = "sample text";

/// How deep `$ref`s and compositions are followed when looking for the
/// schema of a value inside an example (documents may be cyclic).
const MAX_SCHEMA_DEPTH: usize = 16;

/// An example made facts-only: its value with every prose string replaced by
/// neutral text, and how many strings were replaced; `None` when a prose
/// string cannot be replaced (its schema has a `pattern`, which neutral text
/// cannot be shown to match), so the example goes whole.
pub(super) fn neutralize(
    value: &Value,
    field: Option<&str>,
    schema: Option<&Value>,
    root: &Value,
    vocabulary: &Vocabulary,
) -> Option<(Value, usize)> {
    match value {
        Value::String(s) if !is_fact_string(s, field, vocabulary) => {
            let limits = schema.and_then(|s| shape(s, root, "string", 0));
            let limit = |key: &str| limits.and_then(|l| l.get(key));
            if limit("pattern").is_some() {
                return None;
            }
            let text = neutral_text(
                limit("minLength").and_then(Value::as_u64),
                limit("maxLength").and_then(Value::as_u64),
            );
            // Already neutral (a reduced document reduced again): no change.
            let replaced = usize::from(*s != text);
            Some((Value::String(text), replaced))
        }
        Value::Array(items) => {
            let items_schema = schema
                .and_then(|s| shape(s, root, "array", 0))
                .and_then(|a| a.get("items"));
            let mut replaced = 0;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let (v, n) = neutralize(item, field, items_schema, root, vocabulary)?;
                replaced += n;
                out.push(v);
            }
            Some((Value::Array(out), replaced))
        }
        Value::Object(members) => {
            let object = schema.and_then(|s| shape(s, root, "object", 0));
            let mut replaced = 0;
            let mut out = serde_json::Map::new();
            for (key, v) in members {
                let member = object.and_then(|o| {
                    o.get("properties")
                        .and_then(|p| p.get(key))
                        .or_else(|| o.get("additionalProperties").filter(|a| a.is_object()))
                });
                let (v, n) = neutralize(v, Some(key), member, root, vocabulary)?;
                replaced += n;
                out.insert(key.clone(), v);
            }
            Some((Value::Object(out), replaced))
        }
        _ => Some((value.clone(), 0)),
    }
}

/// Whether `value` is a value `schema` allows: its JSON type (`type`,
/// `nullable`), listed values (`enum`, `const`), numeric bounds, lengths and
/// item counts, required members, and the same of its members and items, with
/// `$ref`s followed to `root` and compositions (`allOf` all, `anyOf`/`oneOf`
/// one). `pattern` and `format` are not checked. An example it refuses
/// contradicts its own document (fal's, not a fact about the endpoint).
pub(super) fn conforms(value: &Value, schema: &Value, root: &Value, depth: usize) -> bool {
    if depth > MAX_SCHEMA_DEPTH {
        return true;
    }
    let Some(schema) = schema.as_object() else {
        return schema.as_bool() != Some(false);
    };
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        return match target.strip_prefix('#').and_then(|p| root.pointer(p)) {
            Some(target) => conforms(value, target, root, depth + 1),
            None => true,
        };
    }
    let arms = |key: &str| schema.get(key).and_then(Value::as_array);
    if let Some(all) = arms("allOf") {
        if !all.iter().all(|arm| conforms(value, arm, root, depth + 1)) {
            return false;
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(any) = arms(key) {
            if !any.iter().any(|arm| conforms(value, arm, root, depth + 1)) {
                return false;
            }
        }
    }
    if value.is_null() && schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        return true;
    }
    let typed = match schema.get("type") {
        Some(Value::String(t)) => has_type(value, t),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .any(|t| has_type(value, t)),
        _ => true,
    };
    let listed = arms("enum").is_none_or(|values| values.contains(value))
        && schema.get("const").is_none_or(|c| c == value);
    typed && listed && within_limits(value, schema) && members_conform(value, schema, root, depth)
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => true,
    }
}

fn within_limits(value: &Value, schema: &serde_json::Map<String, Value>) -> bool {
    let limit = |key: &str| schema.get(key).and_then(Value::as_f64);
    let count = |key: &str| schema.get(key).and_then(Value::as_u64);
    let size = match value {
        Value::String(s) => Some(s.chars().count() as u64),
        Value::Array(items) => Some(items.len() as u64),
        _ => None,
    };
    let (min_size, max_size) = match value {
        Value::String(_) => (count("minLength"), count("maxLength")),
        Value::Array(_) => (count("minItems"), count("maxItems")),
        _ => (None, None),
    };
    let sized =
        size.is_none_or(|n| min_size.is_none_or(|m| n >= m) && max_size.is_none_or(|m| n <= m));
    let bounded = value.as_f64().is_none_or(|x| {
        limit("minimum").is_none_or(|m| x >= m)
            && limit("maximum").is_none_or(|m| x <= m)
            && limit("exclusiveMinimum").is_none_or(|m| x > m)
            && limit("exclusiveMaximum").is_none_or(|m| x < m)
    });
    sized && bounded
}

fn members_conform(
    value: &Value,
    schema: &serde_json::Map<String, Value>,
    root: &Value,
    depth: usize,
) -> bool {
    match value {
        Value::Object(members) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let required = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str);
            required.into_iter().all(|name| members.contains_key(name))
                && members.iter().all(
                    |(name, member)| match properties.and_then(|p| p.get(name)) {
                        Some(property) => conforms(member, property, root, depth + 1),
                        None => match schema.get("additionalProperties") {
                            Some(extra) => conforms(member, extra, root, depth + 1),
                            None => true,
                        },
                    },
                )
        }
        Value::Array(items) => match schema.get("items") {
            Some(each) if !each.is_array() => items
                .iter()
                .all(|item| conforms(item, each, root, depth + 1)),
            _ => true,
        },
        _ => true,
    }
}

/// [`NEUTRAL_TEXT`] repeated or cut to the nearest length the limits allow
/// (lengths count characters, as JSON Schema does; the text is ASCII). A
/// trailing space becomes a full stop.
pub fn neutral_text(min_length: Option<u64>, max_length: Option<u64>) -> String {
    let natural = NEUTRAL_TEXT.len() as u64;
    let mut length = natural.max(min_length.unwrap_or(0));
    if let Some(max) = max_length {
        length = length.min(max);
    }
    let length = usize::try_from(length).unwrap_or(usize::MAX).min(1 << 16);
    let mut text: String = NEUTRAL_TEXT
        .chars()
        .chain(std::iter::once(' '))
        .cycle()
        .take(length)
        .collect();
    if text.ends_with(' ') {
        text.pop();
        text.push('.');
    }
    text
}

/// The schema of kind `kind` (`string`, `array`, `object`) that `schema`
/// describes: itself after following `$ref`s to `root`, or the first such arm
/// of its `anyOf`/`oneOf`/`allOf` (fal writes optional fields as
/// `anyOf: [{type: string, maxLength: …}, {type: null}]`).
fn shape<'a>(schema: &'a Value, root: &'a Value, kind: &str, depth: usize) -> Option<&'a Value> {
    if depth > MAX_SCHEMA_DEPTH {
        return None;
    }
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = target.strip_prefix('#')?;
        return shape(root.pointer(pointer)?, root, kind, depth + 1);
    }
    let declared = match schema.get("type") {
        Some(Value::String(t)) => t == kind,
        Some(Value::Array(types)) => types.iter().any(|t| t == kind),
        _ => false,
    };
    let implied = match kind {
        "object" => schema.get("properties").is_some(),
        "array" => schema.get("items").is_some(),
        _ => schema.get("maxLength").is_some() || schema.get("minLength").is_some(),
    };
    if declared || implied {
        return Some(schema);
    }
    ["anyOf", "oneOf", "allOf"]
        .iter()
        .filter_map(|key| schema.get(*key).and_then(Value::as_array))
        .flatten()
        .find_map(|arm| shape(arm, root, kind, depth + 1))
}

/// Rule 4: an absolute http(s) URL.
fn is_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|rest| !rest.is_empty())
        && s.len() <= MAX_URL
        && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Rule 5: a short identifier-like token.
fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_IDENTIFIER
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'_' | b'.' | b':' | b'/' | b'#' | b'+' | b'@' | b'=' | b'%' | b'-'
                )
        })
}

/// Whether a property of this name holds free text.
pub(super) fn is_free_text(field: &str) -> bool {
    field
        .split(['_', '-'])
        .any(|word| FREE_TEXT_WORDS.contains(&word.to_ascii_lowercase().as_str()))
}

/// Whether a schema `title` is a name (kept) rather than a label (prose).
pub(super) fn is_name_title(title: &str, property: Option<&str>) -> bool {
    let class_name = title
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && title
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    class_name || property.is_some_and(|p| words(p) == words(title))
}

/// Lower-case words of a name or title, split on spaces, `_` and `-`.
fn words(text: &str) -> Vec<String> {
    text.split([' ', '_', '-'])
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn vocab(words: &[&str]) -> Vocabulary {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn scalars_urls_and_identifiers_are_facts() {
        let v = vocab(&[]);
        for value in [
            json!(null),
            json!(true),
            json!(3.5),
            json!(""),
            json!("landscape_4_3"),
            json!("16:9"),
            json!("#FFFFFF"),
            json!("en-US"),
            json!("Alice"),
            json!("https://v3.fal.media/files/a b".replace(' ', "")),
            json!({"width": 1024, "height": 768}),
            json!([1, 2, "image/png"]),
        ] {
            assert!(is_fact(&value, Some("value"), &v), "{value}");
        }
    }

    #[test]
    fn sentences_non_ascii_and_long_strings_are_prose() {
        let v = vocab(&[]);
        for value in [
            json!("a cat on a mat"),
            json!("每一个伟大的旅程"),
            json!("x".repeat(65)),
            json!("data:image/png;base64,AAAA"),
            json!("https://fal.media/a b.png"),
            json!(["ok", "two words"]),
            json!({"url": "https://fal.media/x.png", "caption": "a dog"}),
        ] {
            assert!(!is_fact(&value, None, &v), "{value}");
        }
    }

    #[test]
    fn one_word_values_of_free_text_fields_are_prose() {
        let v = vocab(&[]);
        assert!(!is_fact(&json!("person"), Some("prompt"), &v));
        assert!(!is_fact(&json!("pop"), Some("style_prompt"), &v));
        assert!(!is_fact(&json!("Hi"), Some("TEXT-input"), &v));
        assert!(is_fact(&json!("ohwx"), Some("trigger_phrase"), &v));
        assert!(is_fact(&json!(""), Some("prompt"), &v));
        // Inside an object example the member name is the field.
        assert!(!is_fact(&json!({"prompt": "dog"}), None, &v));
        assert!(is_fact(&json!({"voice": "Aria"}), None, &v));
    }

    #[test]
    fn vocabulary_members_are_facts_even_with_spaces() {
        let v = vocab(&["X264 (.mp4)", "golden hour"]);
        assert!(is_fact(
            &json!("X264 (.mp4)"),
            Some("video_output_type"),
            &v
        ));
        assert!(is_fact(&json!("golden hour"), Some("prompt"), &v));
        assert!(!is_fact(&json!("blue hour"), None, &v));
    }

    #[test]
    fn titles_that_name_are_kept_labels_are_not() {
        assert!(is_name_title("Image Size", Some("image_size")));
        assert!(is_name_title("image-size", Some("image_size")));
        assert!(is_name_title("FluxDevInput", None));
        assert!(is_name_title("registry__image__Image", None));
        assert!(!is_name_title(
            "Guidance scale (CFG)",
            Some("guidance_scale")
        ));
        assert!(!is_name_title("Number of Images", Some("num_images")));
        assert!(!is_name_title("Queue OpenAPI for fal-ai/flux/dev", None));
        assert!(!is_name_title("", Some("x")));
        assert!(!is_name_title("9Lives", None));
    }

    #[test]
    fn prose_in_examples_becomes_neutral_text_within_the_limits() {
        let v = vocab(&["golden hour"]);
        let root = json!({"components": {"schemas": {
            "Segment": {"type": "object", "properties": {"text": {"type": "string", "maxLength": 4}}}
        }}});
        let limited = json!({"anyOf": [{"type": "string", "minLength": 15, "maxLength": 20}, {"type": "null"}]});
        let (out, n) = neutralize(
            &json!("a fox in snow"),
            Some("prompt"),
            Some(&limited),
            &root,
            &v,
        )
        .expect("no pattern");
        assert_eq!((out, n), (json!("sample text sam"), 1));
        // Facts stay, prose inside structure is replaced where it sits, with
        // the limits of the schema a `$ref` leads to.
        let segments = json!({"type": "array", "items": {"$ref": "#/components/schemas/Segment"}});
        let (out, n) = neutralize(
            &json!([{"text": "hello there", "start": 0.5}, {"text": "golden hour", "start": 1}]),
            Some("segments"),
            Some(&segments),
            &root,
            &v,
        )
        .expect("no pattern");
        assert_eq!(
            out,
            json!([{"text": "samp", "start": 0.5}, {"text": "golden hour", "start": 1}])
        );
        assert_eq!(n, 1);
        // Already neutral: nothing replaced (reducing twice changes nothing).
        let again = neutralize(&json!("sample text"), Some("prompt"), None, &root, &v);
        assert_eq!(again, Some((json!("sample text"), 0)));
        // A pattern cannot be shown to match: the example goes.
        let patterned = json!({"type": "string", "pattern": "^[a-z]+$"});
        assert_eq!(
            neutralize(&json!("two words"), None, Some(&patterned), &root, &v),
            None
        );
    }

    #[test]
    fn examples_are_checked_against_their_schema() {
        let root = json!({"components": {"schemas": {
            "Word": {"type": "object", "required": ["text"], "properties": {
                "text": {"type": "string"}, "start": {"type": "number", "minimum": 0}
            }}
        }}});
        let words =
            json!({"type": "array", "items": {"$ref": "#/components/schemas/Word"}, "maxItems": 2});
        let ok = |v: Value, s: &Value| conforms(&v, s, &root, 0);
        assert!(ok(json!([{"text": "a", "start": 0.5}]), &words));
        // fal lists an item of a list as the list's example: refused.
        assert!(!ok(json!({"text": "a", "start": 0.5}), &words));
        assert!(
            !ok(json!([{"start": 1}]), &words),
            "required member missing"
        );
        assert!(
            !ok(json!([{"text": "a", "start": -1}]), &words),
            "below the minimum"
        );
        assert!(!ok(
            json!([{"text": "a"}, {"text": "b"}, {"text": "c"}]),
            &words
        ));
        let seed = json!({"anyOf": [{"type": "integer"}, {"type": "null"}]});
        assert!(ok(json!(42), &seed) && ok(json!(null), &seed) && ok(json!(4.0), &seed));
        assert!(!ok(json!(4.5), &seed) && !ok(json!("42"), &seed));
        let mode = json!({"type": "string", "enum": ["fast", "slow"]});
        assert!(ok(json!("fast"), &mode) && !ok(json!("medium"), &mode));
        assert!(ok(json!("anything"), &json!({"$ref": "#/nowhere"})));
    }

    #[test]
    fn neutral_text_takes_the_nearest_allowed_length() {
        assert_eq!(neutral_text(None, None), NEUTRAL_TEXT);
        assert_eq!(neutral_text(Some(1), Some(3)), "sam");
        assert_eq!(neutral_text(None, Some(0)), "");
        assert_eq!(neutral_text(Some(12), None), "sample text.");
        assert_eq!(neutral_text(Some(30), Some(10)), "sample tex");
        assert_eq!(neutral_text(Some(23), None).len(), 23);
    }

    proptest! {
        /// Anything with whitespace that is neither vocabulary nor a URL is
        /// prose, whatever the field.
        #[test]
        fn whitespace_means_prose(a in "[a-z]{1,10}", b in "[a-z]{1,10}", sep in "[ \t\n]") {
            let s = format!("{a}{sep}{b}");
            prop_assert!(!is_fact(&json!(s), None, &vocab(&[])));
            prop_assert!(!is_fact(&json!(s), Some("seed"), &vocab(&[])));
        }

        /// Neutral text meets any consistent pair of length limits.
        #[test]
        fn neutral_text_meets_its_limits(min in 0u64..100, extra in 0u64..100) {
            let text = neutral_text(Some(min), Some(min + extra));
            prop_assert!(text.len() as u64 >= min && text.len() as u64 <= min + extra);
            prop_assert!(!text.ends_with(' '));
        }

        /// The classifier never panics and is decided element-wise.
        #[test]
        fn arrays_are_facts_iff_all_elements_are(items in proptest::collection::vec("\\PC{0,12}", 0..6)) {
            let v = vocab(&[]);
            let all = items.iter().all(|s| is_fact(&json!(s), Some("f"), &v));
            prop_assert_eq!(is_fact(&json!(items), Some("f"), &v), all);
        }
    }
}
