//! Round trips: every `examples` value in the reference schemas deserializes
//! into its generated type and serializes back to the same JSON.
//!
//! "The same" ignores two differences that carry no meaning on the wire:
//! an object key whose value is `null` equals an absent key (optional fields are
//! `Option`s left out when `None`), and numbers compare by value (`5` = `5.0`,
//! since a `number` field is an `f64`).
#![cfg(fal_corpus)]

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// Label, example JSON, checker.
type Case = (&'static str, &'static str, fn(&str) -> Result<(), String>);

fn check<T: DeserializeOwned + Serialize>(json: &str) -> Result<(), String> {
    let original: Value =
        serde_json::from_str(json).map_err(|e| format!("example is not JSON: {e}"))?;
    let typed: T = serde_json::from_value(original.clone())
        .map_err(|e| format!("does not deserialize: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("does not serialize: {e}"))?;
    if same(&normalize(original.clone()), &normalize(back.clone())) {
        Ok(())
    } else {
        Err(format!(
            "changed in the round trip:\n  before: {original}\n  after:  {back}"
        ))
    }
}

fn normalize(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, normalize(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(normalize).collect()),
        other => other,
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

mod tier_a {
    use super::{check, Case};
    include!(concat!(env!("OUT_DIR"), "/tier_a_cases.rs"));
}
mod imgly {
    use super::{check, Case};
    include!(concat!(env!("OUT_DIR"), "/imgly_cases.rs"));
}
mod bulk {
    use super::{check, Case};
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
