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

    proptest! {
        /// Anything with whitespace that is neither vocabulary nor a URL is
        /// prose, whatever the field.
        #[test]
        fn whitespace_means_prose(a in "[a-z]{1,10}", b in "[a-z]{1,10}", sep in "[ \t\n]") {
            let s = format!("{a}{sep}{b}");
            prop_assert!(!is_fact(&json!(s), None, &vocab(&[])));
            prop_assert!(!is_fact(&json!(s), Some("seed"), &vocab(&[])));
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
