//! Schema discovery (spec 11): the per-endpoint OpenAPI document
//! (`fal.ai/api/openapi/queue/openapi.json?endpoint_id=`), served from the
//! documents in `schemas_dir`; the models listing (`api.fal.ai/v1/models`) is
//! one of the Platform API routes (`crate::platform`) and reads the same index.
//!
//! Documents are indexed by `info.x-fal-metadata.endpointId`, else by the path
//! of their POST operation (`/fal-ai/flux/dev` → `fal-ai/flux/dev`). Only
//! `*.json` files directly in the directory are read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::response::Response;
use http::StatusCode;
use serde_json::Value;

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
