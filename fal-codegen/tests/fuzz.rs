//! Property tests: malformed, truncated and mutated documents give an error
//! or bindings, never a panic.

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

fn fixture_text() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/acme__sketch__v1.5-turbo.json");
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Parses and, if that succeeds, generates; any `Err` is fine.
fn run(text: &str) {
    if let Ok(doc) = fal_codegen::parse::parse_document(Path::new("fuzz.json"), text) {
        let _ = fal_codegen::generate(&[doc]);
    }
}

/// Every JSON pointer to an object member or array item in `value`.
fn pointers(value: &Value, prefix: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let p = format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                let p = format!("{prefix}/{i}");
                out.push(p.clone());
                pointers(v, p, out);
            }
        }
        _ => {}
    }
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z#/{}]{0,12}".prop_map(Value::String),
        Just(Value::String("#/components/schemas/SketchInput".into())),
        Just(Value::String("object".into())),
        Just(Value::String("array".into())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("$ref".to_owned()),
                    Just("anyOf".to_owned()),
                    Just("items".to_owned()),
                    Just("properties".to_owned()),
                    Just("enum".to_owned()),
                    Just("additionalProperties".to_owned()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn truncated_documents_never_panic(cut in 0usize..20_000) {
        let text = fixture_text();
        let cut = cut.min(text.len());
        let end = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        run(&text[..end]);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        run(&text);
    }

    #[test]
    fn mutated_documents_never_panic(index in any::<prop::sample::Index>(), replacement in arbitrary_json()) {
        let mut doc: Value = serde_json::from_str(&fixture_text()).unwrap_or(Value::Null);
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        if !all.is_empty() {
            let target = &all[index.index(all.len())];
            if let Some(slot) = doc.pointer_mut(target) {
                *slot = replacement;
            }
        }
        run(&doc.to_string());
    }

    #[test]
    fn removed_members_never_panic(index in any::<prop::sample::Index>()) {
        let mut doc: Value = serde_json::from_str(&fixture_text()).unwrap_or(Value::Null);
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        if !all.is_empty() {
            let target = all[index.index(all.len())].clone();
            if let Some((parent, key)) = target.rsplit_once('/') {
                match doc.pointer_mut(parent) {
                    Some(Value::Object(map)) => {
                        map.shift_remove(&key.replace("~1", "/").replace("~0", "~"));
                    }
                    Some(Value::Array(items)) => {
                        if let Ok(i) = key.parse::<usize>() {
                            if i < items.len() {
                                items.remove(i);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        run(&doc.to_string());
    }
}
