//! Reduce an OpenAPI document to facts: what the project may keep of fal's documents.
//!
//! fal's documents carry fal's prose (descriptions, summaries, labels, example
//! prompts). The project keeps only the facts needed to call an endpoint and to
//! document it in our own words: names, types, required lists, defaults, limits,
//! enum values, file-input marks and non-prose examples. [`reduce`] makes that
//! cut; [`audit`] checks it independently (no string of a `description`,
//! `summary` or `$comment`, and no sentence-like example, default or title, of
//! the original survives).
//!
//! Both OpenAPI 3.0 (fal's per-endpoint queue documents) and 3.1 (fal's
//! Platform API document: type arrays, `$defs`, `examples` arrays, webhooks,
//! path-item components) are handled.
//!
//! # What is kept
//!
//! The document is walked by its OpenAPI structure, and each object keeps only
//! the keys on an allowlist for its kind; everything else is dropped (and
//! counted in [`Reduction::dropped`], so a refresh shows when fal adds a key
//! that may be a new fact):
//!
//! - document: `openapi`, `jsonSchemaDialect`, `info`, `servers`, `paths`,
//!   `webhooks`, `components`, `security`, `tags` (names only),
//!   `x-fal-order-paths`;
//! - `info`: `version`, `title` (see below), and of `x-fal-metadata` only
//!   `endpointId` and `category`;
//! - servers: `url`, `variables` (`enum`, `default`); path items, operations,
//!   parameters, request bodies, media types, encodings, responses, headers,
//!   security schemes and OAuth flows: every structural key (`operationId`,
//!   `tags`, `parameters`, `name`, `in`, `required`, `style`, `schema`,
//!   `content`, `responses`, `type`, `scheme`, `tokenUrl`, `$ref`, …); OAuth
//!   scope names are kept with empty descriptions;
//! - schemas: `type` (a string or, in 3.1, an array), `format`, `pattern`,
//!   `enum`, `const`, every numeric and length limit (`minimum`,
//!   `exclusiveMaximum`, `multipleOf`, `maxLength`, `minItems`, …), `nullable`,
//!   `readOnly`, `writeOnly`, `deprecated`, `required`, the composition keys
//!   (`properties`, `items`, `prefixItems`, `additionalProperties`, `allOf`,
//!   `anyOf`, `oneOf`, `not`, `$defs`, `discriminator`, …), `$ref`, `$id`,
//!   `$schema`, `contentMediaType`, and fal's `x-fal-order-properties`,
//!   `x-fal-file-input` and `x-fal` (file limits: only numeric and boolean
//!   entries such as `max_file_size`, `min_width`, `timeout`), and the same
//!   numeric limits when fal states them on the schema itself
//!   (`max_file_size`, `min_width` … `max_fps`, `timeout`, pydantic's `ge`,
//!   `gt`, `le`, `lt`, and `min`, `max`, `step`);
//! - `default` only when it is a fact (next section); a prose default is
//!   dropped (fal still applies it; bindings never send defaults);
//! - a schema's `example` and `examples`, every one, in a facts-only form:
//!   each string in it that is not a fact (next section) is replaced by
//!   [`NEUTRAL_TEXT`], cut or repeated to the nearest length the `minLength`
//!   and `maxLength` of the schema it sits in allow (the property's, an arm
//!   of its `anyOf`, its items' or members', `$ref`s followed). An example
//!   with a prose string under a `pattern` is dropped (neutral text cannot be
//!   shown to match), and so is an example its own schema refuses after that
//!   (type, bounds, lengths, item counts, listed values, required members;
//!   counted in [`Reduction::contradicting_examples`]);
//! - the examples of media types and parameters (and an Example object's
//!   `value`) only when they are facts; fal's queue documents have none.
//!
//! Always dropped: `description`, `summary`, `$comment`, `externalDocs`,
//! `xml`, `links`, tag descriptions, `info.description`, `contact`,
//! `license`, `termsOfService`, and every extension not named above
//! (`x-imgly-*` labels, `x-mint`, UI hints such as `ui` and
//! `limit_description`). A response's `description`, which OpenAPI requires,
//! becomes the empty string.
//!
//! # What counts as a fact (non-prose) value
//!
//! A `default` (or a media type's example) is kept only when all of it is a
//! fact; an array or object is a fact when every element or member value is
//! (object keys are names and are always facts). A scalar is a fact when it is:
//!
//! 1. `null`, a boolean or a number;
//! 2. the empty string;
//! 3. a member of the document's vocabulary: a string that the document itself
//!    lists as an `enum` member or `const` value of some schema (an API value,
//!    e.g. `"X264 (.mp4)"` or `"landscape_4_3"`);
//! 4. an absolute URL: `http://` or `https://` followed by at least one more
//!    character, at most 2,048 ASCII characters, no whitespace or control
//!    characters (addresses of sample media, LoRA weights, models);
//! 5. an identifier: 1 to 64 ASCII characters from `A-Z a-z 0-9 _ . : / # + @
//!    = % -` (so no spaces), such as `16:9`, `en-US`, `#FFFFFF`, `Alice`,
//!    `image/png`, `2024-01-01T00:00:00Z` — *unless* the field it documents is
//!    free text: its property name, split on `_` and `-`, contains one of the
//!    words in [`FREE_TEXT_WORDS`] (`prompt`, `text`, `lyrics`, …). Then a
//!    one-word value such as `"person"` is an example prompt, and prose.
//!
//! Everything else is prose: strings with whitespace, non-ASCII text, longer
//! strings, and data URIs.
//!
//! A `title` is kept only when it is a name: the automatic title of the
//! property it belongs to (the property name with `_`/`-` as spaces, compared
//! case-insensitively: `image_size` → `Image Size`) or an identifier of letters,
//! digits and `_` starting with a letter or `_` (a model class name such as
//! `FluxDevInput` or `BaseInput`). Hand-written labels (`"Guidance scale
//! (CFG)"`) are fal's wording and are dropped. `info.title`, which OpenAPI
//! requires, becomes the endpoint id when the document names one, else is kept
//! when it is a name by the same rule, else becomes the empty string.

mod audit;
mod facts;
mod walk;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Location};

pub use audit::{audit, Leak};
pub use facts::{neutral_text, FREE_TEXT_WORDS, NEUTRAL_TEXT};

/// The result of [`reduce`].
#[derive(Clone, Debug, PartialEq)]
pub struct Reduction {
    /// The reduced document.
    pub document: Value,
    /// How many prose strings were removed (descriptions, summaries, titles,
    /// examples and defaults judged prose).
    pub prose_removed: usize,
    /// Examples dropped because their own schema refuses them (a value of
    /// another type, out of bounds, not listed, missing a required member):
    /// fal's documents contradicting themselves, not facts.
    pub contradicting_examples: usize,
    /// Keys dropped because no allowlist names them (not counting the
    /// expected prose keys), by key, with how often each was dropped. A new
    /// key here after a refresh may be a new fact worth keeping.
    pub dropped: BTreeMap<String, usize>,
}

/// Reduces one OpenAPI 3.0 or 3.1 document to facts (see the module docs for
/// the exact rules).
///
/// Fails only when `document` is not an OpenAPI 3 document (not an object, or
/// no `openapi: "3.x"`); any shape inside is reduced as far as it goes, and
/// parts that do not have the shape OpenAPI gives them are dropped.
pub fn reduce(document: &Value) -> Result<Reduction, String> {
    let map = document
        .as_object()
        .ok_or_else(|| "the document is not a JSON object".to_owned())?;

    match map.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.") => {}
        Some(other) => return Err(format!("`openapi` is {other}, not a 3.x version")),
        None => return Err("`openapi` is missing: not an OpenAPI 3 document".to_owned()),
    }
    Ok(walk::reduce_document(document))
}

/// Reads `text` as JSON and reduces it; errors name `file` and where.
pub fn reduce_text(file: &Path, text: &str) -> Result<Reduction, Error> {
    let value: Value = serde_json::from_str(text).map_err(|e| Error::Document {
        file: file.to_owned(),
        location: Location::Line {
            line: e.line(),
            column: e.column(),
        },
        message: format!("not valid JSON: {e}"),
    })?;
    reduce(&value).map_err(|message| Error::Document {
        file: file.to_owned(),
        location: Location::Pointer(String::new()),
        message,
    })
}

/// The text a reduced document is stored as: pretty-printed with two-space
/// indentation and a final newline, keys in the original's order, so the same
/// input always gives the same bytes.
pub fn to_text(document: &Value) -> String {
    // `{:#}` is serde_json's pretty printer (two-space indentation).
    format!("{document:#}\n")
}

/// The endpoint id a queue document describes: the path of its POST operation
/// without parameters when there is exactly one (the URL the queue really
/// uses, as [`crate::parse`] decides), else `info.x-fal-metadata.endpointId`.
/// `None` for other documents, such as the Platform API's with its many
/// operations.
pub fn endpoint_id(document: &Value) -> Option<String> {
    let mut submits = document
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(path, item)| !path.contains('{') && item.get("post").is_some())
        .map(|(path, _)| path.trim_matches('/'));
    let from_path = match (submits.next(), submits.next()) {
        (Some(id), None) if !id.is_empty() => Some(id.to_owned()),
        _ => None,
    };
    from_path.or_else(|| {
        document
            .pointer("/info/x-fal-metadata/endpointId")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}
