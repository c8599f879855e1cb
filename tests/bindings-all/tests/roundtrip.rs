//! Round trips: every `examples` value in the reference schemas deserializes
//! into its generated type and serializes back to the same JSON (the check is
//! `support::check`). And one source of truth for the rules: generated
//! `validate()` and fal-testkit's 422 validation agree on every corpus example
//! and on generated inputs.
#![cfg(fal_corpus)]

mod support;
use support::{check, Case};

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Endpoint id, document path, generated validation of a JSON input.
type Validator = (
    &'static str,
    &'static str,
    fn(&Value) -> Option<Vec<(String, String)>>,
);

/// The rules generated `validate()` finds broken in `json` (path, type), or
/// `None` when `json` does not even deserialize into the input type (a value
/// the typed API cannot hold, so there is nothing to compare).
fn typed_errors<T: DeserializeOwned + fal_runtime::Endpoint>(
    json: &Value,
) -> Option<Vec<(String, String)>> {
    let typed: T = serde_json::from_value(json.clone()).ok()?;
    Some(match typed.validate() {
        Ok(()) => Vec::new(),
        Err(err) => err
            .errors()
            .iter()
            .map(|e| (e.path.clone(), e.kind.clone().unwrap_or_default()))
            .collect(),
    })
}

mod tier_a {
    use super::{check, typed_errors, Case, Validator};
    include!(concat!(env!("OUT_DIR"), "/tier_a_cases.rs"));
}
mod imgly {
    use super::{check, typed_errors, Case, Validator};
    include!(concat!(env!("OUT_DIR"), "/imgly_cases.rs"));
}
mod bulk {
    use super::{check, typed_errors, Case, Validator};
    include!(concat!(env!("OUT_DIR"), "/bulk_cases.rs"));
}

#[test]
fn every_example_round_trips() {
    let cases: Vec<Case> = [tier_a::cases(), imgly::cases(), bulk::cases()].concat();
    let skipped = [tier_a::skipped(), imgly::skipped(), bulk::skipped()].concat();
    assert!(
        cases.len() > 1000,
        "expected the whole corpus, got {} cases",
        cases.len()
    );
    // Examples that contradict their own schema are fal's, not ours; they are
    // listed (run with --nocapture) and must stay a small minority.
    for (label, reason) in &skipped {
        println!("skipped (example contradicts its schema) {label}: {reason}");
    }
    println!(
        "{} round-trip cases, {} examples skipped",
        cases.len(),
        skipped.len()
    );
    assert!(
        skipped.len() * 20 < cases.len(),
        "{} examples skipped",
        skipped.len()
    );
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(label, json, check)| check(json).err().map(|e| format!("{label}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Whether the generated validation and the testkit's agree on one input:
/// both call it valid, or both invalid with every generated violation also
/// reported by the testkit, with the same type at the same path. pydantic
/// puts the name of a union's arm into `loc` (`image_size`,
/// `literal['square',..]`); a typed value already is one arm, so those
/// members (the ones that do not address into the input) are left out of the
/// testkit's path before comparing.
fn agree(
    input: &Value,
    testkit: &[fal_testkit::schema::FieldError],
    typed: &[(String, String)],
) -> Result<(), String> {
    let kit: Vec<(String, &str)> = testkit
        .iter()
        .map(|e| (value_path(input, &e.loc), e.kind))
        .collect();
    if kit.is_empty() != typed.is_empty() {
        return Err(format!("testkit: {kit:?}; generated: {typed:?}"));
    }
    for (path, kind) in typed {
        if !kit.iter().any(|(p, k)| p == path && k == kind) {
            return Err(format!("generated {path} [{kind}] not in testkit: {kit:?}"));
        }
    }
    Ok(())
}

/// The members of a 422 `loc` that address into `input` (after `body`),
/// joined with `.` as generated validation writes paths.
fn value_path(input: &Value, loc: &[Value]) -> String {
    let mut parts: Vec<String> = Vec::with_capacity(loc.len());
    let mut at = Some(input);
    for (index, member) in loc.iter().enumerate() {
        let text = match member {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if index == 0 {
            parts.push(text);
            continue;
        }
        let next = match (at, member) {
            (Some(Value::Object(map)), Value::String(key)) => map.get(key),
            (Some(Value::Array(items)), Value::Number(n)) => {
                n.as_u64().and_then(|i| items.get(i as usize))
            }
            _ => None,
        };
        if next.is_some() {
            parts.push(text);
            at = next;
        }
    }
    parts.join(".")
}

/// A mutation of one top-level field of a valid input.
#[derive(Clone, Debug)]
enum Mutation {
    Int(i64),
    Float(f64),
    Text(String),
    Ints(Vec<i64>),
    Texts(Vec<String>),
}

impl Mutation {
    fn value(&self) -> Value {
        match self {
            Mutation::Int(n) => Value::from(*n),
            Mutation::Float(f) => Value::from(*f),
            Mutation::Text(s) => Value::from(s.as_str()),
            Mutation::Ints(v) => Value::from(v.clone()),
            Mutation::Texts(v) => Value::from(v.clone()),
        }
    }
}

fn mutation() -> impl proptest::strategy::Strategy<Value = Mutation> {
    use proptest::prelude::*;
    prop_oneof![
        (-20i64..5000).prop_map(Mutation::Int),
        (-2.0f64..50.0).prop_map(Mutation::Float),
        "[a-z _é-]{0,80}".prop_map(Mutation::Text),
        proptest::collection::vec(-5i64..200, 0..12).prop_map(Mutation::Ints),
        proptest::collection::vec("[a-z ]{0,6}", 0..12).prop_map(Mutation::Texts),
    ]
}

#[test]
fn generated_validation_agrees_with_the_testkit() {
    let validators: Vec<Validator> = [
        tier_a::validators(),
        imgly::validators(),
        bulk::validators(),
    ]
    .concat();
    let cases: Vec<Case> = [tier_a::cases(), imgly::cases(), bulk::cases()].concat();
    let params = fal_testkit::schema::SynthParams {
        seed: 7,
        cdn_base: "https://cdn.example.com",
        inference_secs: 0.5,
    };
    let mut compared = 0usize;
    let mut failures: Vec<String> = Vec::new();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for (id, file, typed) in &validators {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let schema = fal_testkit::schema::EndpointSchema::parse(std::path::Path::new(file), &text)
            .unwrap_or_else(|e| panic!("{e}"));
        let mut inputs: Vec<Value> = cases
            .iter()
            .filter(|(label, _, _)| label.ends_with(&format!(" {id} whole input")))
            .filter_map(|(_, json, _)| serde_json::from_str(json).ok())
            .collect();
        let valid = schema.synthesize_input(&params);
        inputs.push(valid.clone());
        if let Value::Object(fields) = &valid {
            let names: Vec<&String> = fields.keys().collect();
            for _ in 0..4 {
                if names.is_empty() {
                    break;
                }
                let pick = proptest::strategy::Strategy::new_tree(
                    &(0..names.len(), mutation()),
                    &mut runner,
                )
                .map(|t| proptest::strategy::ValueTree::current(&t));
                if let Ok((index, change)) = pick {
                    let mut mutated = valid.clone();
                    mutated[names[index].as_str()] = change.value();
                    inputs.push(mutated);
                }
            }
        }
        for input in &inputs {
            let Some(generated) = typed(input) else {
                continue;
            };
            compared += 1;
            if let Err(why) = agree(input, &schema.validate_input(input), &generated) {
                failures.push(format!("{id}: {why}\n  input: {input}"));
            }
        }
    }
    println!(
        "{compared} inputs compared over {} endpoints",
        validators.len()
    );
    assert!(
        compared > validators.len(),
        "too few inputs compared: {compared}"
    );
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
