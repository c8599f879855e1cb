//! `fal models list` prints the catalogue of fal-endpoints offline: the same
//! rows as `fal_endpoints::CATALOGUE`, filtered by category and id.

mod common;

use std::process::Output;

use fal_endpoints::CATALOGUE;

/// `fal models list ARGS`, offline: none of the caller's fal variables.
fn fal(args: &[&str]) -> Output {
    let mut all = vec!["models", "list"];
    all.extend_from_slice(args);
    common::fal_with(&all, &[])
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

#[test]
fn lists_every_endpoint_of_the_catalogue_with_its_feature() {
    let text = stdout(&fal(&[]));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split_whitespace().collect();
    assert_eq!(header, ["ENDPOINT", "CATEGORY", "CRATE", "FEATURE"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    let expected: Vec<Vec<&str>> = CATALOGUE
        .iter()
        .map(|l| vec![l.id, l.category, l.package, l.feature])
        .collect();
    assert_eq!(rows, expected);
    assert!(rows.iter().any(|r| r[0] == "fal-ai/flux/dev"));
}

#[test]
fn filters_by_category_and_query_and_prints_a_json_array() {
    let text = stdout(&fal(&["--category", "image", "--json", "FLUX/d"]));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).expect("one JSON array");
    let expected: Vec<serde_json::Value> = CATALOGUE
        .iter()
        .filter(|l| l.category == "image" && l.id.contains("flux/d"))
        .map(|l| {
            serde_json::json!({
                "endpoint_id": l.id,
                "category": l.category,
                "crate": l.package,
                "feature": l.feature,
            })
        })
        .collect();
    assert_eq!(rows, expected);
    assert!(rows.contains(&serde_json::json!({
        "endpoint_id": "fal-ai/flux/dev",
        "category": "image",
        "crate": "fal-endpoints-f",
        "feature": "fal-ai__flux__dev",
    })));
    assert!(rows.len() < CATALOGUE.len());
}

#[test]
fn an_unknown_category_is_a_usage_error_naming_the_known_ones() {
    let output = fal(&["--category", "no-such-category"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no-such-category"), "{stderr}");
    assert!(stderr.contains("image"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn no_match_prints_nothing_and_says_so() {
    let output = fal(&["no-endpoint-has-this-in-its-id"]);
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no endpoint"));
}
