//! Property tests over the shared fal schema collection
//! (`/work/shared/fal-schemas`, or `FAL_SCHEMAS_DIR`): synthesized inputs and
//! outputs conform to their schemas, and no JSON input panics the validator.
//! Skipped (with a note) when the collection is absent. Bulk documents are
//! sampled (every 4th) to keep the run short.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fal_testkit::schema::{EndpointSchema, SynthParams};
use proptest::prelude::*;
use serde_json::Value;

fn root() -> PathBuf {
    std::env::var_os("FAL_SCHEMAS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/fal-schemas"))
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The sampled documents codegen parses (documents it rejects are codegen's
/// concern and are counted, not tested here).
fn documents() -> &'static [EndpointSchema] {
    static DOCS: OnceLock<Vec<EndpointSchema>> = OnceLock::new();
    DOCS.get_or_init(|| {
        let root = root();
        let mut files = json_files(&root);
        files.extend(json_files(&root.join("derived/imgly")));
        // FAL_SCHEMAS_STEP=1 checks every bulk document (slower).
        let step = std::env::var("FAL_SCHEMAS_STEP")
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|s: &usize| *s > 0)
            .unwrap_or(4);
        files.extend(json_files(&root.join("bulk")).into_iter().step_by(step));
        files
            .iter()
            .filter_map(|path| {
                let text = std::fs::read_to_string(path).ok()?;
                EndpointSchema::parse(path, &text).ok()
            })
            .collect()
    })
}

fn params(seed: u64) -> SynthParams<'static> {
    SynthParams {
        seed,
        cdn_base: "http://127.0.0.1:9/cdn",
        inference_secs: 0.5,
    }
}

#[test]
fn every_sampled_document_synthesizes_conforming_inputs_and_outputs() {
    let docs = documents();
    if docs.is_empty() {
        eprintln!("skipped: no schema collection at {}", root().display());
        return;
    }
    assert!(docs.len() > 200, "only {} documents parsed", docs.len());
    eprintln!("{} documents", docs.len());
    let mut failures = Vec::new();
    for doc in docs {
        for seed in [3, 1 << 40] {
            let input = doc.synthesize_input(&params(seed));
            let errors = doc.validate_input(&input);
            if !errors.is_empty() {
                failures.push(format!("{} input: {:?}", doc.endpoint_id(), errors));
            }
            let Some(output) = doc.synthesize_output(&input, &params(seed)) else {
                continue;
            };
            let text = output.to_string();
            let reparsed: Value = serde_json::from_str(&text).expect("output is JSON");
            let errors = doc.validate_output(&reparsed);
            if !errors.is_empty() {
                failures.push(format!("{} output: {:?}", doc.endpoint_id(), errors));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z0-9_:/.]{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("square_hd"),
            Just("jpeg"),
            Just("5"),
            Just("1.5"),
            Just("true")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("prompt".to_owned()),
                    Just("image_size".to_owned()),
                    Just("num_images".to_owned()),
                    Just("seed".to_owned()),
                    Just("loras".to_owned()),
                    "[a-z_]{1,8}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn outputs_conform_for_any_seed(pick in any::<prop::sample::Index>(), seed in any::<u64>()) {
        let docs = documents();
        if docs.is_empty() {
            return Ok(());
        }
        let doc = &docs[pick.index(docs.len())];
        let input = doc.synthesize_input(&params(seed));
        prop_assert_eq!(doc.validate_input(&input), vec![]);
        if let Some(output) = doc.synthesize_output(&input, &params(seed)) {
            prop_assert_eq!(doc.validate_output(&output), vec![], "{}", doc.endpoint_id());
            prop_assert_eq!(Some(output), doc.synthesize_output(&input, &params(seed)));
        }
    }

    #[test]
    fn arbitrary_inputs_never_panic(pick in any::<prop::sample::Index>(), body in arbitrary_json(), field in any::<prop::sample::Index>()) {
        let docs = documents();
        if docs.is_empty() {
            return Ok(());
        }
        let doc = &docs[pick.index(docs.len())];
        let whole = doc.validate_input(&body);
        for error in &whole {
            prop_assert_eq!(error.loc.first(), Some(&Value::from("body")));
            prop_assert!(!error.msg.is_empty());
        }
        // One field of a valid input replaced by arbitrary JSON.
        let mut input = doc.synthesize_input(&params(1));
        if let Some(map) = input.as_object_mut() {
            if !map.is_empty() {
                let key = map.keys().nth(field.index(map.len())).cloned().unwrap_or_default();
                map.insert(key, body.clone());
            }
        }
        let _ = doc.validate_input(&input);
        // Whatever the input, synthesis still conforms.
        if let Some(output) = doc.synthesize_output(&body, &params(2)) {
            prop_assert_eq!(doc.validate_output(&output), vec![], "{}", doc.endpoint_id());
        }
    }
}
