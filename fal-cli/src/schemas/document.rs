//! What counts as an endpoint document worth writing to disk.
//!
//! Two steps: a quick shape check proves the bytes are an OpenAPI 3 document
//! for the endpoint that was asked for (cheap, with errors a person reads at
//! a glance), then fal-codegen's own parser and lowering run over it, so a
//! file is written only if `fal codegen` will accept it. A hostile or broken
//! schema host (a `$ref` chain thousands long, a construct the generator
//! refuses) is caught at fetch time with the generator's file and JSON
//! pointer, not later in somebody's build.

use std::path::Path;

use serde_json::Value;

/// Why a response body is not a usable endpoint document.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidDocument {
    /// The body does not parse as JSON.
    #[error("the response is not JSON ({0})")]
    NotJson(String),
    /// The body is JSON but not an object.
    #[error("the response is JSON but not an object")]
    NotObject,
    /// `openapi` is missing or not a 3.x version string.
    #[error("the document has no OpenAPI 3 version (`openapi` is {0})")]
    NotOpenApi3(String),
    /// `paths` is missing, not an object, or empty.
    #[error("the document has no operations (`paths` is {0})")]
    NoPaths(String),
    /// The generator refuses the document; the message names the file the
    /// document would have been written to and the JSON pointer.
    #[error("the code generator cannot use it: {0}")]
    Unusable(String),
    /// The document describes another endpoint.
    #[error("the document describes endpoint {found:?}, not the one requested")]
    OtherEndpoint {
        /// The id in `info.x-fal-metadata.endpointId`.
        found: String,
    },
}

/// Parses and checks a document fetched for `endpoint_id`.
pub fn parse(bytes: &[u8], endpoint_id: &str) -> Result<Value, InvalidDocument> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| InvalidDocument::NotJson(e.to_string()))?;
    check(&value, endpoint_id)?;
    Ok(value)
}

/// Checks an already parsed document (the models API embeds it in its reply).
pub fn check(doc: &Value, endpoint_id: &str) -> Result<(), InvalidDocument> {
    let map = doc.as_object().ok_or(InvalidDocument::NotObject)?;
    match map.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.") => {}
        other => return Err(InvalidDocument::NotOpenApi3(describe(other))),
    }
    match map.get("paths") {
        Some(Value::Object(paths)) if !paths.is_empty() => {}
        other => return Err(InvalidDocument::NoPaths(describe(other))),
    }
    if let Some(found) = doc
        .pointer("/info/x-fal-metadata/endpointId")
        .and_then(Value::as_str)
    {
        if found != endpoint_id {
            return Err(InvalidDocument::OtherEndpoint {
                found: found.to_owned(),
            });
        }
    }
    generator_accepts(doc, endpoint_id)
}

/// Runs the document through the same parser and lowering as `fal codegen`
/// (which bound nesting depth), naming it as the file it would be written to.
fn generator_accepts(doc: &Value, endpoint_id: &str) -> Result<(), InvalidDocument> {
    let file = format!("{}.json", endpoint_id.replace('/', "__"));
    let parsed = fal_codegen::parse::parse_document(Path::new(&file), &doc.to_string())
        .map_err(|e| InvalidDocument::Unusable(e.to_string()))?;
    fal_codegen::ir::lower(std::slice::from_ref(&parsed))
        .map(drop)
        .map_err(|e| InvalidDocument::Unusable(e.to_string()))
}

/// A short, bounded rendering of an unexpected value for an error message.
fn describe(value: Option<&Value>) -> String {
    match value {
        None => "missing".to_owned(),
        Some(Value::Object(m)) if m.is_empty() => "an empty object".to_owned(),
        Some(Value::Object(_)) => "an object".to_owned(),
        Some(Value::Array(_)) => "an array".to_owned(),
        Some(v) => {
            let text = v.to_string();
            match text.char_indices().nth(40) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "fal-ai/flux/dev";

    fn doc(extra: &str) -> String {
        let post = r#"{"post":{"requestBody":{"content":{"application/json":{"schema":{"type":"object","properties":{"prompt":{"type":"string"}}}}}}}}"#;
        format!(r#"{{"openapi":"3.0.4","paths":{{"/fal-ai/flux/dev":{post}}}{extra}}}"#)
    }

    #[test]
    fn accepts_a_minimal_queue_document() {
        assert!(parse(doc("").as_bytes(), ID).is_ok());
        let with_meta = doc(r#","info":{"x-fal-metadata":{"endpointId":"fal-ai/flux/dev"}}"#);
        assert!(parse(with_meta.as_bytes(), ID).is_ok());
    }

    #[test]
    fn a_document_without_operations_is_unusable() {
        let bare = r#"{"openapi":"3.0.4","paths":{"/fal-ai/flux/dev":{}}}"#;
        assert!(matches!(
            parse(bare.as_bytes(), ID),
            Err(InvalidDocument::Unusable(_))
        ));
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(matches!(
            parse(b"<html>", ID),
            Err(InvalidDocument::NotJson(_))
        ));
        assert_eq!(parse(b"[1]", ID), Err(InvalidDocument::NotObject));
        assert_eq!(
            parse(br#"{"openapi":"2.0","paths":{"/a":{}}}"#, ID),
            Err(InvalidDocument::NotOpenApi3("\"2.0\"".into()))
        );
        assert_eq!(
            parse(br#"{"paths":{"/a":{}}}"#, ID),
            Err(InvalidDocument::NotOpenApi3("missing".into()))
        );
        assert_eq!(
            parse(br#"{"openapi":"3.0.4","paths":{}}"#, ID),
            Err(InvalidDocument::NoPaths("an empty object".into()))
        );
        assert_eq!(
            parse(br#"{"detail":"Not found"}"#, ID),
            Err(InvalidDocument::NotOpenApi3("missing".into()))
        );
        let other = doc(r#","info":{"x-fal-metadata":{"endpointId":"fal-ai/flux/schnell"}}"#);
        assert_eq!(
            parse(other.as_bytes(), ID),
            Err(InvalidDocument::OtherEndpoint {
                found: "fal-ai/flux/schnell".into()
            })
        );
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = format!(r#"{{"openapi":"{}","paths":{{}}}}"#, "x".repeat(500));
        let err = parse(long.as_bytes(), ID).expect_err("not OpenAPI 3");
        assert!(err.to_string().len() < 120, "{err}");
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(&bytes, ID);
        }

        #[test]
        fn truncated_documents_are_rejected(cut in 0usize..40) {
            let full = doc("");
            let cut = cut.min(full.len() - 1);
            prop_assert!(parse(&full.as_bytes()[..cut], ID).is_err());
        }

        #[test]
        fn multibyte_versions_do_not_break_the_message(s in "\\PC{0,80}") {
            let body = serde_json::json!({"openapi": s, "paths": {"/a": {}}}).to_string();
            let _ = parse(body.as_bytes(), ID).map_err(|e| e.to_string());
        }
    }
}
