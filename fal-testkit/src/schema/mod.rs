//! Schema-driven endpoints: input validation with fal's 422 body and output
//! synthesis that conforms to the output schema.
//!
//! The schemas are the ones `fal-codegen`'s parser reads
//! ([`fal_codegen::parse::Document`]: the input and output schemas and the
//! document's components, in schemars' model), so the testkit and the
//! generated bindings agree on what a document says. Validation walks those
//! schemas rather than codegen's IR because the IR is a *typing* model: it
//! keeps limits, defaults and union arms only as documentation text, and
//! pydantic's checks need them as values (and need `allOf`/`anyOf` as written).
//!
//! What pydantic does that this follows (fal apps are FastAPI + pydantic v2):
//! - lax mode: integers accept integral floats and numeric strings, numbers
//!   accept numeric strings, booleans accept `0`/`1` and `"true"`/`"no"`…;
//!   strings accept only strings;
//! - every error is reported, in property order, with its `loc` path
//!   (`["body", "loras", 0, "path"]`), `msg` and `type` (`missing`,
//!   `string_type`, `int_type`, `int_parsing`, `int_from_float`, `float_type`,
//!   `float_parsing`, `bool_type`, `bool_parsing`, `enum`, `greater_than[_equal]`,
//!   `less_than[_equal]`, `multiple_of`, `string_too_short`, `string_too_long`,
//!   `string_pattern_mismatch`, `too_short`, `too_long`, `list_type`, `dict_type`, `model_type`,
//!   `model_attributes_type`, `extra_forbidden`, `none_required`);
//! - unions report each failing arm under the arm's name in `loc`; an
//!   `anyOf` with one non-null arm (`Optional[X]`) reports X's errors directly;
//! - unknown properties are ignored (pydantic's default).
//!
//! Choices: `null` is accepted for any property that is not required (schemas
//! written by pydantic v1 drop the null arm of `Optional[X]`).
//!
//! The value rules (bounds, `multipleOf`, lengths, `pattern`, item counts) are
//! read with `fal_codegen::ir::Limits` and checked with
//! `fal_runtime::__private::Rules`: the same reading and the same code as the
//! `validate()` of generated inputs, so the client's check before sending and
//! this server's 422 agree.

mod generate;
mod resolve;
mod validate;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use fal_codegen::parse::Document;
use serde_json::{json, Value};

pub(crate) use generate::lax_int;
pub use generate::SynthParams;

/// One validation error, as pydantic reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// Path to the offending value: `"body"`, then property names and list indices.
    pub loc: Vec<Value>,
    /// Human-readable message, worded as pydantic v2 words it.
    pub msg: String,
    /// pydantic's error type (`missing`, `int_type`, …).
    pub kind: &'static str,
}

impl FieldError {
    /// The entry of fal's 422 `detail` list.
    pub fn to_json(&self) -> Value {
        json!({ "loc": self.loc, "msg": self.msg, "type": self.kind })
    }
}

/// fal's 422 body for a list of errors: `{"detail": [...]}`.
pub fn detail_body(errors: &[FieldError]) -> Value {
    json!({ "detail": errors.iter().map(FieldError::to_json).collect::<Vec<_>>() })
}

/// One endpoint's schemas, ready to validate inputs and synthesize outputs.
#[derive(Clone, Debug)]
pub struct EndpointSchema {
    doc: Document,
}

impl EndpointSchema {
    /// Parses a queue OpenAPI document with `fal-codegen`'s parser; `file` only
    /// names it in errors.
    pub fn parse(file: &Path, text: &str) -> Result<Self, fal_codegen::Error> {
        fal_codegen::parse::parse_document(file, text).map(Self::from_document)
    }

    /// Wraps an already parsed document.
    pub fn from_document(doc: Document) -> Self {
        EndpointSchema { doc }
    }

    /// The endpoint id the document describes.
    pub fn endpoint_id(&self) -> &str {
        &self.doc.endpoint_id
    }

    /// Whether the document declares an output schema (else outputs are FLUX-like).
    pub fn has_output(&self) -> bool {
        self.doc.output.is_some()
    }

    /// Every error pydantic would report for `input` as the request body
    /// (empty when it is valid).
    pub fn validate_input(&self, input: &Value) -> Vec<FieldError> {
        validate::validate(&self.doc, &self.doc.input, input, "body")
    }

    /// Every way `output` fails the output schema (loc root `"response"`);
    /// empty when there is no output schema. For checking synthesized outputs.
    pub fn validate_output(&self, output: &Value) -> Vec<FieldError> {
        match &self.doc.output {
            Some(schema) => validate::validate(&self.doc, schema, output, "response"),
            None => Vec::new(),
        }
    }

    /// An output conforming to the output schema, deterministic for
    /// `params.seed`, shaped by `input` where the input says how (image size,
    /// number of images, output format, duration, prompt, seed).
    /// `None` when the document has no output schema.
    pub fn synthesize_output(&self, input: &Value, params: &SynthParams<'_>) -> Option<Value> {
        let schema = self.doc.output.as_ref()?;
        Some(generate::generate(&self.doc, schema, input, params))
    }
}

impl EndpointSchema {
    /// A valid input for this endpoint, deterministic for `params.seed` (every
    /// required field, optional ones filled, file URLs on the testkit CDN):
    /// a starting point for tests and the fixture of the property tests.
    pub fn synthesize_input(&self, params: &SynthParams<'_>) -> Value {
        generate::generate(&self.doc, &self.doc.input, &Value::Null, params)
    }
}

/// What the schema directory yielded (what `fal testkit` prints at start).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Documents that drive their endpoint: served by the discovery routes,
    /// validating inputs and synthesizing outputs. Sorted by endpoint id.
    pub loaded: Vec<Loaded>,
    /// Documents `fal-codegen`'s parser refused: still served by the discovery
    /// routes, but their endpoint answers FLUX-like. Sorted by endpoint id.
    pub rejected: Vec<Rejected>,
}

/// A document that drives its endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The endpoint id it describes.
    pub endpoint_id: String,
    /// The file it came from.
    pub file: std::path::PathBuf,
    /// Whether it declares an output schema (without one outputs are FLUX-like).
    pub has_output: bool,
}

/// A document the parser refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The endpoint id the discovery index found in it.
    pub endpoint_id: String,
    /// The file it came from.
    pub file: std::path::PathBuf,
    /// The parser's error (file and JSON pointer).
    pub reason: String,
}

/// Endpoint schemas by endpoint id.
#[derive(Default)]
pub(crate) struct Registry {
    by_id: HashMap<String, Arc<EndpointSchema>>,
    report: Report,
}

impl Registry {
    /// Parses every discovery document with codegen's parser. A document the
    /// parser rejects keeps its discovery route but gets the FLUX-like
    /// behaviour; it is logged, not fatal, so one odd file cannot stop a test.
    pub(crate) fn from_index(index: &crate::discovery::SchemaIndex) -> Registry {
        let mut by_id = HashMap::new();
        let mut report = Report::default();
        for (id, file, doc) in index.documents() {
            match EndpointSchema::parse(file, &doc.to_string()) {
                Ok(schema) => {
                    let schema = Arc::new(schema);
                    report.loaded.push(Loaded {
                        endpoint_id: id.to_owned(),
                        file: file.to_owned(),
                        has_output: schema.has_output(),
                    });
                    by_id.insert(schema.endpoint_id().to_owned(), schema.clone());
                    by_id.entry(id.to_owned()).or_insert(schema);
                }
                Err(error) => {
                    tracing::warn!(%error, "schema not used for validation or synthesis");
                    report.rejected.push(Rejected {
                        endpoint_id: id.to_owned(),
                        file: file.to_owned(),
                        reason: error.to_string(),
                    });
                }
            }
        }
        Registry { by_id, report }
    }

    /// What was loaded and what was refused, and why.
    pub(crate) fn report(&self) -> &Report {
        &self.report
    }

    /// The schema of `endpoint` (a full id), if one was loaded.
    pub(crate) fn get(&self, endpoint: &str) -> Option<&Arc<EndpointSchema>> {
        self.by_id.get(endpoint.trim_matches('/'))
    }
}
