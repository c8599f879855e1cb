//! `fal models list`: the endpoints `fal-endpoints` has typed bindings for,
//! offline (the table is compiled into the binary from the catalogue). The
//! online verbs of `fal models` (search, get) are in `platform.rs`; `list`
//! prints through the same table and, with `--json`, the same JSON array
//! shape (`endpoint_id`, `category`, plus the `crate` and `feature` to enable).

use clap::Args;
use fal_endpoints::Listing;
use serde::Serialize;

use crate::output::print_json;
use crate::platform::table;
use crate::Failure;

/// `fal models list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// Only endpoints of this category (`image`, `video`, `audio`, `speech`,
    /// `llm`, `training`, `3d`, `json`, …).
    #[arg(long)]
    pub category: Option<String>,
    /// Only endpoints whose id contains this text (case-insensitive).
    pub query: Option<String>,
    /// A JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One row of `--json`.
#[derive(Serialize, Debug, PartialEq)]
struct Row {
    endpoint_id: &'static str,
    category: &'static str,
    #[serde(rename = "crate")]
    package: &'static str,
    feature: &'static str,
}

/// Prints the matching endpoints: id, category, and the crate (a part of
/// `fal-endpoints`) and cargo feature that compile its bindings. An unknown category is a usage
/// error naming the known ones; no match prints nothing and says so on stderr.
pub fn list(args: ListArgs) -> Result<(), Failure> {
    let catalogue = fal_endpoints::CATALOGUE;
    if let Some(category) = &args.category {
        if !catalogue.iter().any(|l| l.category == category) {
            return Err(Failure::Usage(format!(
                "--category {category:?} is not a category of the catalogue; known: {}",
                categories(catalogue).join(", ")
            )));
        }
    }
    let found = select(catalogue, args.category.as_deref(), args.query.as_deref());
    if found.is_empty() {
        eprintln!("no endpoint of the catalogue matches");
        return Ok(());
    }
    if args.json {
        let rows: Vec<Row> = found.iter().map(|l| row(l)).collect();
        return print_json(&rows);
    }
    let rows = found
        .iter()
        .map(|l| {
            [l.id, l.category, l.package, l.feature]
                .map(str::to_owned)
                .to_vec()
        })
        .collect();
    table(&["ENDPOINT", "CATEGORY", "CRATE", "FEATURE"], rows)
}

/// The categories present, sorted.
fn categories(catalogue: &[Listing]) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = catalogue.iter().map(|l| l.category).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The listings of `category` (exactly) whose id contains `query` (ignoring case).
fn select<'a>(
    catalogue: &'a [Listing],
    category: Option<&str>,
    query: Option<&str>,
) -> Vec<&'a Listing> {
    let query = query.map(str::to_lowercase);
    catalogue
        .iter()
        .filter(|l| category.is_none_or(|c| l.category == c))
        .filter(|l| {
            query
                .as_deref()
                .is_none_or(|q| l.id.to_lowercase().contains(q))
        })
        .collect()
}

/// The `--json` row of one listing.
fn row(listing: &Listing) -> Row {
    Row {
        endpoint_id: listing.id,
        category: listing.category,
        package: listing.package,
        feature: listing.feature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[Listing] = &[
        Listing {
            id: "fal-ai/flux/dev",
            category: "image",
            package: "fal-endpoints-x",
            feature: "fal-ai__flux__dev",
        },
        Listing {
            id: "fal-ai/kling-video/v1.6/standard/image-to-video",
            category: "video",
            package: "fal-endpoints-x",
            feature: "fal-ai__kling-video__v1.6__standard__image-to-video",
        },
        Listing {
            id: "bria/fibo/generate",
            category: "image",
            package: "fal-endpoints-x",
            feature: "bria__fibo__generate",
        },
    ];

    fn ids(found: &[&Listing]) -> Vec<&'static str> {
        found.iter().map(|l| l.id).collect()
    }

    #[test]
    fn filters_by_category_and_query() {
        assert_eq!(select(TABLE, None, None).len(), 3);
        assert_eq!(
            ids(&select(TABLE, Some("image"), None)),
            ["fal-ai/flux/dev", "bria/fibo/generate"]
        );
        assert_eq!(ids(&select(TABLE, None, Some("FLUX"))), ["fal-ai/flux/dev"]);
        assert!(select(TABLE, Some("video"), Some("flux")).is_empty());
        assert_eq!(categories(TABLE), ["image", "video"]);
    }

    #[test]
    fn json_names_the_fields() {
        let value = serde_json::to_value(row(select(TABLE, None, Some("bria"))[0]))
            .expect("a row serializes");
        assert_eq!(
            value,
            serde_json::json!({
                "endpoint_id": "bria/fibo/generate",
                "category": "image",
                "crate": "fal-endpoints-x",
                "feature": "bria__fibo__generate",
            })
        );
    }
}
