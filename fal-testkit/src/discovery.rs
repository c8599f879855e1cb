//! Schema discovery (spec 11): the per-endpoint OpenAPI document
//! (`fal.ai/api/openapi/queue/openapi.json?endpoint_id=`) and the models
//! listing (`api.fal.ai/v1/models`), served from the documents in `schemas_dir`.
//!
//! Documents are indexed by `info.x-fal-metadata.endpointId`, else by the path
//! of their POST operation (`/fal-ai/flux/dev` → `fal-ai/flux/dev`). Only
//! `*.json` files directly in the directory are read.
//!
//! Listing choices (spec 11.2 leaves them open): default `limit` 20, maximum
//! 100; `cursor` is base64 of the 1-based page number (`Mg==` = page 2);
//! `endpoint_id` (repeatable, 1-50) returns the known ones in the order asked
//! and skips unknown ones; `q` matches id and description case-insensitively;
//! `category` matches `x-fal-metadata.category`; every model is `active`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::StatusCode;
use serde_json::{json, Value};

use crate::reply;
use crate::router::Call;

/// Why the schema directory could not be indexed.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The directory or a file in it could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not JSON.
    #[error("{path} is not valid JSON: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where parsing failed.
        source: serde_json::Error,
    },
    /// A document names no endpoint.
    #[error("{path}: no endpoint id (neither info.x-fal-metadata.endpointId nor a POST path)")]
    NoEndpointId {
        /// The file.
        path: PathBuf,
    },
    /// Two documents claim the same endpoint.
    #[error("endpoint {id} is described twice: {first} and {second}")]
    Duplicate {
        /// The endpoint id.
        id: String,
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
}

struct Entry {
    doc: Arc<Value>,
    file: PathBuf,
}

/// The endpoint documents, by endpoint id.
#[derive(Default)]
pub(crate) struct SchemaIndex {
    docs: BTreeMap<String, Entry>,
}

impl SchemaIndex {
    /// Reads every `*.json` file directly in `dir`.
    pub(crate) fn load(dir: &Path) -> Result<SchemaIndex, SchemaError> {
        let read_err = |path: &Path| {
            let path = path.to_owned();
            move |source| SchemaError::Read { path, source }
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read_err(dir))? {
            let path = entry.map_err(read_err(dir))?.path();
            if path.extension().is_some_and(|e| e == "json") && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        let mut index = SchemaIndex::default();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(read_err(&path))?;
            let doc: Value = serde_json::from_str(&text).map_err(|source| SchemaError::Parse {
                path: path.clone(),
                source,
            })?;
            let id = endpoint_id(&doc)
                .ok_or_else(|| SchemaError::NoEndpointId { path: path.clone() })?;
            if let Some(existing) = index.docs.get(&id) {
                return Err(SchemaError::Duplicate {
                    id,
                    first: existing.file.clone(),
                    second: path,
                });
            }
            index.docs.insert(
                id,
                Entry {
                    doc: Arc::new(doc),
                    file: path,
                },
            );
        }
        Ok(index)
    }

    /// Every document with its endpoint id and file, for schema-driven endpoints.
    pub(crate) fn documents(&self) -> impl Iterator<Item = (&str, &Path, &Value)> {
        self.docs
            .iter()
            .map(|(id, e)| (id.as_str(), e.file.as_path(), &*e.doc))
    }

    /// Number of documents (for tests and the CLI banner).
    pub(crate) fn len(&self) -> usize {
        self.docs.len()
    }
}

fn endpoint_id(doc: &Value) -> Option<String> {
    if let Some(id) = doc
        .pointer("/info/x-fal-metadata/endpointId")
        .and_then(Value::as_str)
    {
        return Some(id.to_owned());
    }
    doc.get("paths")?
        .as_object()?
        .iter()
        .find(|(path, item)| !path.contains('{') && item.get("post").is_some())
        .map(|(path, _)| path.trim_matches('/').to_owned())
        .filter(|id| !id.is_empty())
}

/// `GET web/api/openapi/queue/openapi.json?endpoint_id=<id>`.
pub(crate) fn openapi(call: &Call) -> Response {
    let Some(id) = call.query_param("endpoint_id") else {
        return reply::validation(vec![reply::field_error(
            &["query", "endpoint_id"],
            "Field required",
            "missing",
        )]);
    };
    match call.shared.schemas.docs.get(&id) {
        Some(entry) => reply::json(StatusCode::OK, &entry.doc),
        None => reply::detail(StatusCode::NOT_FOUND, &format!("Endpoint {id} not found")),
    }
}

const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;
const MAX_IDS: usize = 50;

/// `GET api/v1/models`.
pub(crate) fn models(call: &Call) -> Response {
    let pairs = call.query_pairs();
    let values = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let first = |name: &str| values(name).first().map(|s| s.to_string());
    let bad = |message: String| reply::detail(StatusCode::BAD_REQUEST, &message);

    let limit = match first("limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return bad(format!(
                    "limit must be an integer from 1 to {MAX_LIMIT}, got {text:?}"
                ))
            }
        },
    };
    let page = match first("cursor") {
        None => 1,
        Some(cursor) => match decode_cursor(&cursor) {
            Some(page) => page,
            None => return bad(format!("invalid cursor {cursor:?}")),
        },
    };
    let ids = values("endpoint_id");
    if ids.len() > MAX_IDS {
        return bad(format!(
            "at most {MAX_IDS} endpoint_id values are allowed, got {}",
            ids.len()
        ));
    }
    let docs = &call.shared.schemas.docs;
    let mut selected: Vec<(&str, &Entry)> = if ids.is_empty() {
        docs.iter().map(|(id, e)| (id.as_str(), e)).collect()
    } else {
        ids.iter()
            .filter_map(|id| docs.get_key_value(*id).map(|(k, e)| (k.as_str(), e)))
            .collect()
    };
    if let Some(q) = first("q").map(|q| q.to_lowercase()) {
        selected.retain(|(id, e)| {
            id.to_lowercase().contains(&q) || description(&e.doc).to_lowercase().contains(&q)
        });
    }
    if let Some(category) = first("category") {
        selected.retain(|(_, e)| category_of(&e.doc) == Some(category.as_str()));
    }
    if let Some(status) = first("status") {
        if status != "active" {
            selected.clear();
        }
    }
    let expand = values("expand");
    let offset = (page - 1).saturating_mul(limit);
    let models: Vec<Value> = selected
        .iter()
        .skip(offset)
        .take(limit)
        .map(|(id, e)| model_json(id, &e.doc, &expand))
        .collect();
    let more = offset.saturating_add(limit) < selected.len();
    let next_cursor = more.then(|| STANDARD.encode((page + 1).to_string()));
    reply::json(
        StatusCode::OK,
        &json!({ "models": models, "next_cursor": next_cursor, "has_more": more }),
    )
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = STANDARD.decode(cursor).ok()?;
    let page: usize = std::str::from_utf8(&bytes).ok()?.parse().ok()?;
    (page >= 1).then_some(page)
}

fn description(doc: &Value) -> &str {
    doc.pointer("/info/description")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn category_of(doc: &Value) -> Option<&str> {
    doc.pointer("/info/x-fal-metadata/category")
        .and_then(Value::as_str)
}

fn model_json(id: &str, doc: &Value, expand: &[&str]) -> Value {
    let mut metadata = json!({
        "display_name": id,
        "description": description(doc),
        "status": "active",
        "tags": [],
        "model_url": format!("https://fal.run/{id}"),
        "kind": "inference",
    });
    if let Some(category) = category_of(doc) {
        metadata["category"] = json!(category);
    }
    if let Some(thumb) = doc
        .pointer("/info/x-fal-metadata/thumbnailUrl")
        .and_then(Value::as_str)
    {
        metadata["thumbnail_url"] = json!(thumb);
    }
    let mut model = json!({ "endpoint_id": id, "metadata": metadata });
    if expand.contains(&"openapi-3.0") {
        model["openapi"] = doc.clone();
    }
    if expand.contains(&"enterprise_status") {
        model["enterprise_status"] = json!("ready");
    }
    model
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_metadata_or_the_post_path() {
        let with_meta = json!({"info": {"x-fal-metadata": {"endpointId": "a/b/c"}}, "paths": {}});
        assert_eq!(endpoint_id(&with_meta).as_deref(), Some("a/b/c"));
        let with_path = json!({"paths": {
            "/a/b/requests/{request_id}": {"get": {}},
            "/a/b": {"post": {}}
        }});
        assert_eq!(endpoint_id(&with_path).as_deref(), Some("a/b"));
        assert_eq!(endpoint_id(&json!({"paths": {}})), None);
    }

    #[test]
    fn cursors_are_base64_page_numbers() {
        assert_eq!(decode_cursor("Mg=="), Some(2));
        assert_eq!(decode_cursor("MA=="), None);
        assert_eq!(decode_cursor("!!"), None);
    }
}
