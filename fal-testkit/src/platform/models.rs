//! `GET v1/models` (spec 11.2): the endpoints of the schema directory.
//!
//! Listing choices (spec 11.2 leaves them open): default `limit` 20, maximum
//! 100; `cursor` is base64 of the 1-based page number (`Mg==` = page 2);
//! `endpoint_id` (repeatable or comma-separated, 1-50) returns the known ones
//! in the order asked and skips unknown ones; `q` matches id, category and
//! description case-insensitively; `category` matches
//! `x-fal-metadata.category`; every model is `active`; `expand=openapi-3.0`
//! adds the endpoint's document, `expand=enterprise_status` adds `ready`.

use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Value};

use super::{invalid, list_param, page_of, paging};
use crate::reply;
use crate::router::Call;

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;
const MAX_IDS: usize = 50;

/// `GET v1/models`.
pub(super) fn list(call: &Call) -> Response {
    let (limit, page) = match paging(call, DEFAULT_LIMIT, MAX_LIMIT) {
        Ok(paging) => paging,
        Err(response) => return response,
    };
    let ids = list_param(call, "endpoint_id");
    if ids.len() > MAX_IDS {
        return invalid(
            call,
            &format!(
                "at most {MAX_IDS} endpoint_id values are allowed, got {}",
                ids.len()
            ),
        );
    }
    let docs: Vec<(&str, &std::path::Path, &Value)> = call.shared.schemas.documents().collect();
    let mut selected: Vec<(&str, &std::path::Path, &Value)> = if ids.is_empty() {
        docs
    } else {
        ids.iter()
            .filter_map(|id| docs.iter().find(|(known, _, _)| known == id).copied())
            .collect()
    };
    if let Some(q) = call.query_param("q").map(|q| q.to_lowercase()) {
        selected.retain(|(id, _, doc)| {
            id.to_lowercase().contains(&q)
                || category_of(doc).is_some_and(|c| c.to_lowercase().contains(&q))
                || description(doc).to_lowercase().contains(&q)
        });
    }
    if let Some(category) = call.query_param("category") {
        selected.retain(|(_, _, doc)| category_of(doc) == Some(category.as_str()));
    }
    if let Some(status) = call.query_param("status") {
        if status != "active" {
            selected.clear();
        }
    }
    let expand = list_param(call, "expand");
    let (models, next_cursor, more) = page_of(&selected, limit, page);
    let models: Vec<Value> = models
        .iter()
        .map(|(id, file, doc)| model_json(id, file, doc, &expand))
        .collect();
    reply::json(
        StatusCode::OK,
        &json!({ "models": models, "next_cursor": next_cursor, "has_more": more }),
    )
}

fn description(doc: &Value) -> &str {
    doc.pointer("/info/description")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub(super) fn category_of(doc: &Value) -> Option<&str> {
    doc.pointer("/info/x-fal-metadata/category")
        .and_then(Value::as_str)
}

/// A model entry with every metadata field the document requires: dates are
/// the document file's modification time, the thumbnail its
/// `x-fal-metadata.thumbnailUrl` (empty when it has none).
fn model_json(id: &str, file: &std::path::Path, doc: &Value, expand: &[String]) -> Value {
    let modified = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .map(super::time::rfc3339)
        .unwrap_or_default();
    let thumbnail = doc
        .pointer("/info/x-fal-metadata/thumbnailUrl")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let metadata = json!({
        "display_name": id,
        "category": category_of(doc).unwrap_or_default(),
        "description": description(doc),
        "status": "active",
        "tags": [],
        "updated_at": modified,
        "is_favorited": false,
        "thumbnail_url": thumbnail,
        "model_url": format!("https://fal.run/{id}"),
        "date": modified,
        "highlighted": false,
        "pinned": false,
        "kind": "inference",
    });
    let mut model = json!({ "endpoint_id": id, "metadata": metadata });
    if expand.iter().any(|e| e == "openapi-3.0") {
        model["openapi"] = doc.clone();
    }
    if expand.iter().any(|e| e == "enterprise_status") {
        model["enterprise_status"] = json!("ready");
    }
    model
}
