//! A fal queue OpenAPI document → the parts code generation needs.
//!
//! The envelope (info, paths, components) is read with small serde structs; each
//! schema uses schemars' `Schema` model, which keeps numeric `exclusiveMinimum`
//! (fal writes JSON-Schema-2019 style numbers) and collects every `x-*` key in
//! `extensions`. The openapiv3 crate (2.x) was tried and rejects 244 of the 981
//! tier-A and bulk reference documents (7 of 13, 237 of 968) on exactly that
//! numeric `exclusiveMinimum`.
//!
//! No network access, ever: the input is text already read.

mod locate;
mod normalize;
pub mod rest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::schema::Schema;
use serde::Deserialize;

use crate::error::{pointer_token, Error, Location};

/// The schema reference prefix for components.
pub(crate) const COMPONENTS: &str = "#/components/schemas/";

/// One endpoint's document, ready for lowering into the IR.
#[derive(Clone, Debug)]
pub struct Document {
    /// The file it came from (used in errors and generated docs).
    pub file: PathBuf,
    /// The endpoint id, from the POST path (the one URL the queue really uses),
    /// else from `info.x-fal-metadata.endpointId`.
    pub endpoint_id: String,
    /// `info.x-fal-metadata.category`, e.g. `text-to-image`.
    pub category: Option<String>,
    /// The request body schema (usually a `$ref` to `<Pascal>Input`).
    pub input: Schema,
    /// Where the request body schema sits in the document.
    pub input_pointer: String,
    /// The result schema (usually a `$ref` to `<Pascal>Output`), if the document has one.
    pub output: Option<Schema>,
    /// `components.schemas`, by key.
    pub components: BTreeMap<String, Schema>,
}

#[derive(Deserialize)]
struct RawDocument {
    openapi: String,
    #[serde(default)]
    info: Option<RawInfo>,
    paths: BTreeMap<String, RawPathItem>,
    #[serde(default)]
    components: Option<RawComponents>,
}

#[derive(Deserialize)]
struct RawInfo {
    #[serde(default, rename = "x-fal-metadata")]
    metadata: Option<RawMetadata>,
}

#[derive(Deserialize)]
struct RawMetadata {
    #[serde(default, rename = "endpointId")]
    endpoint_id: Option<String>,
    #[serde(default)]
    category: Option<String>,
}

#[derive(Deserialize)]
struct RawPathItem {
    #[serde(default)]
    get: Option<RawOperation>,
    #[serde(default)]
    post: Option<RawOperation>,
}

#[derive(Deserialize)]
struct RawOperation {
    #[serde(default, rename = "requestBody")]
    request_body: Option<RawBody>,
    #[serde(default)]
    responses: BTreeMap<String, RawBody>,
}

#[derive(Deserialize)]
struct RawBody {
    #[serde(default)]
    content: BTreeMap<String, RawMedia>,
}

#[derive(Deserialize)]
struct RawMedia {
    #[serde(default)]
    schema: Option<Schema>,
}

#[derive(Deserialize)]
struct RawComponents {
    #[serde(default)]
    schemas: BTreeMap<String, Schema>,
}

/// serde_json's message without the " at line L column C" it appends: the
/// location is already in front (`file:L:C: not valid JSON: <reason>`).
fn json_reason(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&position) {
        Some(reason) => reason.to_owned(),
        None => text,
    }
}

/// Parses one document's text; `file` only names it in errors.
pub fn parse_document(file: &Path, text: &str) -> Result<Document, Error> {
    let fail = |location: Location, message: String| Error::Document {
        file: file.to_owned(),
        location,
        message,
    };
    let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        fail(
            Location::Line {
                line: e.line(),
                column: e.column(),
            },
            format!("not valid JSON: {}", json_reason(&e)),
        )
    })?;
    normalize::normalize(&mut value);
    normalize::hoist_defs(&mut value);
    // Path tracking costs time on every document; only a failure needs it.
    let raw = match RawDocument::deserialize(&value) {
        Ok(raw) => raw,
        Err(_) => {
            let error = match serde_path_to_error::deserialize::<_, RawDocument>(&value) {
                Ok(_) => {
                    return Err(fail(
                        Location::File,
                        "the document does not deserialize".into(),
                    ))
                }
                Err(error) => error,
            };
            let (pointer, message) = locate::locate(&value, error);
            return Err(fail(Location::Pointer(pointer), message));
        }
    };
    if !raw.openapi.starts_with("3.") {
        return Err(fail(
            Location::Pointer("/openapi".into()),
            format!("OpenAPI version {:?} is not 3.x", raw.openapi),
        ));
    }
    let metadata = raw.info.and_then(|info| info.metadata);
    let (submit_path, submit) = raw
        .paths
        .iter()
        .filter(|(path, _)| !path.contains('{'))
        .find_map(|(path, item)| item.post.as_ref().map(|op| (path, op)))
        .ok_or_else(|| {
            fail(
                Location::Pointer("/paths".into()),
                "no POST operation on a path without parameters (the queue submit path /<endpoint id>)".into(),
            )
        })?;
    let submit_pointer = format!("/paths/{}/post", pointer_token(submit_path));
    let from_path = submit_path.trim_matches('/');
    let endpoint_id = if from_path.is_empty() {
        metadata
            .as_ref()
            .and_then(|m| m.endpoint_id.clone())
            .ok_or_else(|| {
                fail(
                    Location::Pointer(submit_pointer.clone()),
                    "the submit path is `/` and info.x-fal-metadata.endpointId is absent".into(),
                )
            })?
    } else {
        from_path.to_owned()
    };
    fal_id::EndpointId::parse(&endpoint_id)
        .map_err(|e| fail(Location::Pointer(submit_pointer.clone()), e.to_string()))?;

    let (input_media, input) = submit
        .request_body
        .as_ref()
        .and_then(json_schema)
        .ok_or_else(|| {
            fail(
                Location::Pointer(format!("{submit_pointer}/requestBody")),
                "the submit operation has no application/json request body schema".into(),
            )
        })?;
    let input_pointer = format!(
        "{submit_pointer}/requestBody/content/{}/schema",
        pointer_token(input_media)
    );
    let result_path = format!("/{endpoint_id}/requests/{{request_id}}");
    let output = raw
        .paths
        .get(&result_path)
        .or_else(|| {
            raw.paths
                .get(&format!("{}/requests/{{request_id}}", submit_path))
        })
        .and_then(|item| item.get.as_ref())
        .and_then(|op| op.responses.get("200"))
        .and_then(json_schema)
        .map(|(_, schema)| schema.clone());

    Ok(Document {
        file: file.to_owned(),
        endpoint_id,
        category: metadata.and_then(|m| m.category),
        input: input.clone(),
        input_pointer,
        output,
        components: raw.components.map(|c| c.schemas).unwrap_or_default(),
    })
}

/// The `application/json` (else first JSON-ish) schema of a body.
fn json_schema(body: &RawBody) -> Option<(&str, &Schema)> {
    if let Some(schema) = body
        .content
        .get("application/json")
        .and_then(|m| m.schema.as_ref())
    {
        return Some(("application/json", schema));
    }
    body.content
        .iter()
        .filter(|(media, _)| media.contains("json"))
        .find_map(|(media, m)| m.schema.as_ref().map(|s| (media.as_str(), s)))
}
