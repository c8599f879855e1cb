//! An OpenAPI 3.0 or 3.1 REST document → its operations, for REST clients
//! (fal's Platform APIs) rather than one queue endpoint.
//!
//! Where [`super::parse_document`] looks for the one queue shape (a POST body
//! and a result path), this reads every operation: its method and path
//! template, path, query and header parameters (path-level ones merged in,
//! operation-level ones winning), the request body, and each response by
//! status with its media type. Parameter, request-body and response objects
//! may be `$ref`s into `components`; they are resolved here, so the IR sees
//! only inline objects. Schemas are read with the same schemars model (and
//! the same normalization, including `$defs` hoisting) as queue documents.
//!
//! Media-level examples (`example`, and the `value`s of `examples`) are kept:
//! they are what tests round-trip through the generated types. Each object
//! schema's property order is kept too (as `x-fal-order-properties`), so
//! fields follow the document.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::schema::Schema;
use serde_json::{Map, Value};

use super::normalize;
use crate::error::{pointer_token, Error, Location};

/// A REST document, ready for lowering ([`crate::ir::rest`]).
#[derive(Clone, Debug)]
pub struct RestDocument {
    /// The file it came from (used in errors).
    pub file: PathBuf,
    /// The path of the first server URL (`/v1` for `https://api.fal.ai/v1`),
    /// without a trailing `/`; operations' paths are relative to it.
    pub base_path: String,
    /// Every operation, in document order (paths, then methods in the order
    /// `get`, `put`, `post`, `delete`, `options`, `head`, `patch`, `trace`).
    pub operations: Vec<Operation>,
    /// `components.schemas` (with `$defs` hoisted into it), by key.
    pub components: BTreeMap<String, Schema>,
}

/// An HTTP method an operation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// `GET`.
    Get,
    /// `PUT`.
    Put,
    /// `POST`.
    Post,
    /// `DELETE`.
    Delete,
    /// `OPTIONS`.
    Options,
    /// `HEAD`.
    Head,
    /// `PATCH`.
    Patch,
    /// `TRACE`.
    Trace,
}

impl Method {
    /// Every method, in the order OpenAPI lists them in a path item.
    pub const ALL: [Method; 8] = [
        Method::Get,
        Method::Put,
        Method::Post,
        Method::Delete,
        Method::Options,
        Method::Head,
        Method::Patch,
        Method::Trace,
    ];

    /// The key in a path item (`get`).
    pub fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Put => "put",
            Method::Post => "post",
            Method::Delete => "delete",
            Method::Options => "options",
            Method::Head => "head",
            Method::Patch => "patch",
            Method::Trace => "trace",
        }
    }

    /// The method as HTTP spells it (`GET`).
    pub fn as_http(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
        }
    }
}

/// One operation of a REST document.
#[derive(Clone, Debug)]
pub struct Operation {
    /// `operationId`, else the method and path (`get /models/{id}`).
    pub id: String,
    /// The HTTP method.
    pub method: Method,
    /// The path template relative to the server (`/models/requests/{request_id}/payloads`).
    pub path: String,
    /// JSON pointer of the operation object.
    pub pointer: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Whether the document marks it deprecated.
    pub deprecated: bool,
    /// Security requirements: alternatives, each naming the schemes it needs
    /// (the operation's own, else the document's). Empty: no requirement stated.
    pub security: Vec<Vec<String>>,
    /// Path, query, header and cookie parameters.
    pub parameters: Vec<Parameter>,
    /// The request body, if any.
    pub body: Option<Body>,
    /// Responses, in status order (`200` before `4XX` before `default`).
    pub responses: Vec<Response>,
}

/// Where a parameter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParamLocation {
    /// A `{name}` in the path template.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

/// One parameter.
#[derive(Clone, Debug)]
pub struct Parameter {
    /// Its name on the wire.
    pub name: String,
    /// Where it goes.
    pub location: ParamLocation,
    /// Whether it must be sent (path parameters always must).
    pub required: bool,
    /// Whether the document marks it deprecated.
    pub deprecated: bool,
    /// Its schema (any JSON when the document gives none).
    pub schema: Schema,
    /// `style` (OpenAPI's defaults: `form` for query, `simple` for path and header).
    pub style: String,
    /// `explode` (default: true for `form`, false otherwise): whether a list is
    /// sent as repeated `name=value` pairs rather than one comma-joined value.
    pub explode: bool,
    /// JSON pointer of the parameter's schema.
    pub pointer: String,
}

/// A request body.
#[derive(Clone, Debug)]
pub struct Body {
    /// Whether the body must be sent.
    pub required: bool,
    /// The media type used (`application/json` when offered).
    pub media: String,
    /// The schema for that media type, if given.
    pub schema: Option<Schema>,
    /// JSON pointer of the schema (or of the media type object when there is none).
    pub pointer: String,
    /// The media type's example values (`example`, then each `examples` value).
    pub examples: Vec<Value>,
}

/// One response.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status key: `200`, `4XX`, `default`, …
    pub status: String,
    /// The media type of the body, when the response has one (`application/json`
    /// preferred).
    pub media: Option<String>,
    /// The body's schema, if given.
    pub schema: Option<Schema>,
    /// JSON pointer of the schema (or of the response object).
    pub pointer: String,
    /// The media type's example values.
    pub examples: Vec<Value>,
}

/// Parses a REST document's text; `file` only names it in errors.
pub fn parse_rest_document(file: &Path, text: &str) -> Result<RestDocument, Error> {
    let mut value: Value = serde_json::from_str(text).map_err(|e| Error::Document {
        file: file.to_owned(),
        location: Location::Line {
            line: e.line(),
            column: e.column(),
        },
        message: format!("not valid JSON: {e}"),
    })?;
    normalize::normalize(&mut value);
    normalize::hoist_defs(&mut value);
    normalize::record_property_order(&mut value);
    Reader { file, root: &value }.document()
}

struct Reader<'a> {
    file: &'a Path,
    root: &'a Value,
}

impl<'a> Reader<'a> {
    fn fail(&self, pointer: &str, message: impl Into<String>) -> Error {
        Error::Document {
            file: self.file.to_owned(),
            location: Location::Pointer(pointer.to_owned()),
            message: message.into(),
        }
    }

    fn object(&self, value: &'a Value, pointer: &str) -> Result<&'a Map<String, Value>, Error> {
        value
            .as_object()
            .ok_or_else(|| self.fail(pointer, "expected an object"))
    }

    /// Follows a `$ref` to an object elsewhere in the document (components),
    /// returning the object and its pointer; up to 16 hops, so a cycle fails.
    fn resolve(&self, value: &'a Value, pointer: &str) -> Result<(&'a Value, String), Error> {
        let mut current = value;
        let mut at = pointer.to_owned();
        for _ in 0..16 {
            let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
                return Ok((current, at));
            };
            let Some(target) = reference.strip_prefix('#') else {
                return Err(self.fail(&at, format!("`{reference}` points outside this document")));
            };
            current = self
                .root
                .pointer(target)
                .ok_or_else(|| self.fail(&at, format!("`{reference}` does not exist")))?;
            at = target.to_owned();
        }
        Err(self.fail(pointer, "the `$ref` chain does not end"))
    }

    fn schema(&self, value: &Value, pointer: &str) -> Result<Schema, Error> {
        serde_json::from_value(value.clone())
            .map_err(|e| self.fail(pointer, format!("not a schema: {e}")))
    }

    fn document(&self) -> Result<RestDocument, Error> {
        let root = self.object(self.root, "")?;
        let version = root
            .get("openapi")
            .and_then(Value::as_str)
            .ok_or_else(|| self.fail("/openapi", "no `openapi` version"))?;
        if !version.starts_with("3.") {
            return Err(self.fail(
                "/openapi",
                format!("OpenAPI version {version:?} is not 3.x"),
            ));
        }
        let base_path = root
            .get("servers")
            .and_then(Value::as_array)
            .and_then(|servers| servers.first())
            .and_then(|server| server.get("url"))
            .and_then(Value::as_str)
            .map(server_path)
            .unwrap_or_default();
        let security = root
            .get("security")
            .map(|s| self.security(s, "/security"))
            .transpose()?
            .unwrap_or_default();
        let mut components = BTreeMap::new();
        if let Some(schemas) = self.root.pointer("/components/schemas") {
            for (key, schema) in self.object(schemas, "/components/schemas")? {
                let pointer = format!("/components/schemas/{}", pointer_token(key));
                components.insert(key.clone(), self.schema(schema, &pointer)?);
            }
        }
        let paths = match root.get("paths") {
            Some(paths) => self.object(paths, "/paths")?,
            None => return Err(self.fail("/paths", "the document has no `paths`")),
        };
        let mut operations = Vec::new();
        for (path, item) in paths {
            let item_pointer = format!("/paths/{}", pointer_token(path));
            let (item, item_pointer) = self.resolve(item, &item_pointer)?;
            let item_object = self.object(item, &item_pointer)?;
            let shared = match item_object.get("parameters") {
                Some(list) => self.parameters(list, &format!("{item_pointer}/parameters"))?,
                None => Vec::new(),
            };
            for method in Method::ALL {
                let Some(op) = item_object.get(method.key()) else {
                    continue;
                };
                let pointer = format!("{item_pointer}/{}", method.key());
                operations.push(self.operation(path, method, op, &pointer, &shared, &security)?);
            }
        }
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for op in &operations {
            if let Some(first) = seen.insert(&op.id, &op.pointer) {
                return Err(self.fail(
                    &op.pointer,
                    format!("operationId `{}` is also used at {first}", op.id),
                ));
            }
        }
        Ok(RestDocument {
            file: self.file.to_owned(),
            base_path,
            operations,
            components,
        })
    }

    fn security(&self, value: &Value, pointer: &str) -> Result<Vec<Vec<String>>, Error> {
        let list = value
            .as_array()
            .ok_or_else(|| self.fail(pointer, "expected a list of security requirements"))?;
        list.iter()
            .enumerate()
            .map(|(i, requirement)| {
                Ok(self
                    .object(requirement, &format!("{pointer}/{i}"))?
                    .keys()
                    .cloned()
                    .collect())
            })
            .collect()
    }

    fn operation(
        &self,
        path: &str,
        method: Method,
        value: &'a Value,
        pointer: &str,
        shared: &[Parameter],
        default_security: &[Vec<String>],
    ) -> Result<Operation, Error> {
        let op = self.object(value, pointer)?;
        let id = match op.get("operationId") {
            Some(Value::String(id)) if !id.trim().is_empty() => id.clone(),
            Some(_) => {
                return Err(self.fail(
                    &format!("{pointer}/operationId"),
                    "operationId must be a non-empty string",
                ))
            }
            None => format!("{} {path}", method.key()),
        };
        let tags = op
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| {
                tags.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let security = match op.get("security") {
            Some(value) => self.security(value, &format!("{pointer}/security"))?,
            None => default_security.to_vec(),
        };
        let mut parameters: Vec<Parameter> = shared.to_vec();
        if let Some(list) = op.get("parameters") {
            for param in self.parameters(list, &format!("{pointer}/parameters"))? {
                parameters.retain(|p| !(p.name == param.name && p.location == param.location));
                parameters.push(param);
            }
        }
        for param in &parameters {
            if param.location == ParamLocation::Path
                && !path.contains(&format!("{{{}}}", param.name))
            {
                return Err(self.fail(
                    &param.pointer,
                    format!(
                        "path parameter `{}` is not in the path `{path}`",
                        param.name
                    ),
                ));
            }
        }
        for name in template_names(path) {
            let declared = parameters
                .iter()
                .any(|p| p.location == ParamLocation::Path && p.name == name);
            if !declared {
                return Err(self.fail(
                    pointer,
                    format!(
                        "the path `{path}` uses `{{{name}}}`, which no path parameter declares"
                    ),
                ));
            }
        }
        let body = match op.get("requestBody") {
            Some(body) => Some(self.body(body, &format!("{pointer}/requestBody"))?),
            None => None,
        };
        let mut responses = Vec::new();
        if let Some(list) = op.get("responses") {
            let list_pointer = format!("{pointer}/responses");
            for (status, response) in self.object(list, &list_pointer)? {
                let at = format!("{list_pointer}/{}", pointer_token(status));
                responses.push(self.response(status, response, &at)?);
            }
        }
        responses.sort_by_key(|r| status_rank(&r.status));
        Ok(Operation {
            id,
            method,
            path: path.to_owned(),
            pointer: pointer.to_owned(),
            tags,
            deprecated: op
                .get("deprecated")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            security,
            parameters,
            body,
            responses,
        })
    }

    fn parameters(&self, list: &'a Value, pointer: &str) -> Result<Vec<Parameter>, Error> {
        let items = list
            .as_array()
            .ok_or_else(|| self.fail(pointer, "expected a list of parameters"))?;
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let (item, at) = self.resolve(item, &format!("{pointer}/{index}"))?;
            let param = self.object(item, &at)?;
            let name = param
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| self.fail(&at, "a parameter needs a `name`"))?;
            let location = match param.get("in").and_then(Value::as_str) {
                Some("path") => ParamLocation::Path,
                Some("query") => ParamLocation::Query,
                Some("header") => ParamLocation::Header,
                Some("cookie") => ParamLocation::Cookie,
                other => {
                    return Err(self.fail(
                        &format!("{at}/in"),
                        format!("`in` must be path, query, header or cookie, not {other:?}"),
                    ))
                }
            };
            let (schema, schema_pointer) = match param.get("schema") {
                Some(schema) => {
                    let schema_at = format!("{at}/schema");
                    (self.schema(schema, &schema_at)?, schema_at)
                }
                // OpenAPI's alternative, `content`: one media type with a schema.
                None => match param
                    .get("content")
                    .and_then(Value::as_object)
                    .and_then(|c| c.iter().next())
                {
                    Some((media, m)) => {
                        let schema_at = format!("{at}/content/{}/schema", pointer_token(media));
                        match m.get("schema") {
                            Some(schema) => (self.schema(schema, &schema_at)?, schema_at),
                            None => (Schema::Bool(true), at.clone()),
                        }
                    }
                    None => (Schema::Bool(true), at.clone()),
                },
            };
            let style = param
                .get("style")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    match location {
                        ParamLocation::Query | ParamLocation::Cookie => "form",
                        ParamLocation::Path | ParamLocation::Header => "simple",
                    }
                    .to_owned()
                });
            let explode = param
                .get("explode")
                .and_then(Value::as_bool)
                .unwrap_or(style == "form");
            out.push(Parameter {
                name: name.to_owned(),
                location,
                required: location == ParamLocation::Path
                    || param
                        .get("required")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                deprecated: param
                    .get("deprecated")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                schema,
                style,
                explode,
                pointer: schema_pointer,
            });
        }
        Ok(out)
    }

    /// The preferred media type of a `content` map: `application/json`, else
    /// another JSON type, else the first listed.
    fn media(content: &'a Map<String, Value>) -> Option<(&'a String, &'a Value)> {
        content
            .get_key_value("application/json")
            .or_else(|| content.iter().find(|(media, _)| media.contains("json")))
            .or_else(|| content.iter().next())
    }

    fn examples(media: &Value) -> Vec<Value> {
        let mut out: Vec<Value> = media.get("example").cloned().into_iter().collect();
        if let Some(Value::Object(named)) = media.get("examples") {
            out.extend(named.values().filter_map(|e| e.get("value").cloned()));
        }
        out
    }

    fn body(&self, value: &'a Value, pointer: &str) -> Result<Body, Error> {
        let (value, at) = self.resolve(value, pointer)?;
        let body = self.object(value, &at)?;
        let content = match body.get("content") {
            Some(content) => self.object(content, &format!("{at}/content"))?,
            None => return Err(self.fail(&at, "a request body needs `content`")),
        };
        let (media, media_value) = Self::media(content)
            .ok_or_else(|| self.fail(&format!("{at}/content"), "no media type"))?;
        let media_at = format!("{at}/content/{}", pointer_token(media));
        let (schema, schema_at) = match media_value.get("schema") {
            Some(schema) => {
                let schema_at = format!("{media_at}/schema");
                (Some(self.schema(schema, &schema_at)?), schema_at)
            }
            None => (None, media_at),
        };
        Ok(Body {
            required: body
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            media: media.clone(),
            schema,
            pointer: schema_at,
            examples: Self::examples(media_value),
        })
    }

    fn response(&self, status: &str, value: &'a Value, pointer: &str) -> Result<Response, Error> {
        let (value, at) = self.resolve(value, pointer)?;
        let response = self.object(value, &at)?;
        let Some(content) = response.get("content") else {
            return Ok(Response {
                status: status.to_owned(),
                media: None,
                schema: None,
                pointer: at,
                examples: Vec::new(),
            });
        };
        let content = self.object(content, &format!("{at}/content"))?;
        let Some((media, media_value)) = Self::media(content) else {
            return Ok(Response {
                status: status.to_owned(),
                media: None,
                schema: None,
                pointer: at,
                examples: Vec::new(),
            });
        };
        let media_at = format!("{at}/content/{}", pointer_token(media));
        let (schema, schema_at) = match media_value.get("schema") {
            Some(schema) => {
                let schema_at = format!("{media_at}/schema");
                (Some(self.schema(schema, &schema_at)?), schema_at)
            }
            None => (None, media_at),
        };
        Ok(Response {
            status: status.to_owned(),
            media: Some(media.clone()),
            schema,
            pointer: schema_at,
            examples: Self::examples(media_value),
        })
    }
}

/// The path part of a server URL (`https://api.fal.ai/v1/` → `/v1`); server
/// variables (`{version}`) are left as written.
fn server_path(url: &str) -> String {
    let path = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |slash| &rest[slash..]),
        None => url,
    };
    path.trim_end_matches('/').to_owned()
}

/// The `{name}`s of a path template, in order.
pub(crate) fn template_names(path: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        names.push(&rest[open + 1..open + close]);
        rest = &rest[open + close + 1..];
    }
    names
}

/// Sort key of a response status: exact codes, then ranges (`4XX`), then `default`.
fn status_rank(status: &str) -> (u8, String) {
    if status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()) {
        (0, status.to_owned())
    } else if status.eq_ignore_ascii_case("default") {
        (2, String::new())
    } else {
        (1, status.to_ascii_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_paths() {
        assert_eq!(server_path("https://api.fal.ai/v1"), "/v1");
        assert_eq!(server_path("https://api.fal.ai/v1/"), "/v1");
        assert_eq!(server_path("https://api.fal.ai"), "");
        assert_eq!(server_path("/api/v2"), "/api/v2");
    }

    #[test]
    fn template_names_in_order() {
        assert_eq!(
            template_names("/apps/{owner}/{name}/queue"),
            vec!["owner", "name"]
        );
        assert!(template_names("/models").is_empty());
    }

    #[test]
    fn references_parameters_and_statuses() {
        let doc = serde_json::json!({
            "openapi": "3.1.0",
            "servers": [{"url": "https://example.com/v2"}],
            "security": [{"key": []}],
            "components": {
                "parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer"}}},
                "responses": {"Gone": {"description": ""}}
            },
            "paths": {
                "/things/{id}": {
                    "parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}}],
                    "get": {
                        "operationId": "getThing",
                        "parameters": [{"$ref": "#/components/parameters/Limit"}, {"name": "ids", "in": "query", "explode": false, "schema": {"type": "array", "items": {"type": "string"}}}],
                        "responses": {
                            "default": {"description": ""},
                            "410": {"$ref": "#/components/responses/Gone"},
                            "200": {"description": "", "content": {"text/csv": {}, "application/json": {"schema": {"type": "object"}, "example": {"a": 1}}}}
                        }
                    },
                    "delete": {"security": [], "responses": {"204": {"description": ""}}}
                }
            }
        });
        let text = doc.to_string();
        let parsed =
            parse_rest_document(Path::new("t.json"), &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.base_path, "/v2");
        let get = &parsed.operations[0];
        assert_eq!(get.id, "getThing");
        let names: Vec<&str> = get.parameters.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, vec!["id", "limit", "ids"]);
        assert!(get.parameters[0].required && !get.parameters[1].required);
        assert!(get.parameters[1].explode && !get.parameters[2].explode);
        let statuses: Vec<&str> = get.responses.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(statuses, vec!["200", "410", "default"]);
        assert_eq!(get.responses[0].media.as_deref(), Some("application/json"));
        assert_eq!(get.responses[0].examples, vec![serde_json::json!({"a": 1})]);
        assert_eq!(get.security, vec![vec!["key".to_owned()]]);
        let delete = &parsed.operations[1];
        assert_eq!(delete.id, "delete /things/{id}");
        assert!(delete.security.is_empty());
    }

    #[test]
    fn undeclared_path_names_and_bad_refs_are_located() {
        let doc = serde_json::json!({
            "openapi": "3.1.0",
            "paths": {"/a/{x}": {"get": {"responses": {}}}}
        });
        let err = parse_rest_document(Path::new("t.json"), &doc.to_string())
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("#/paths/~1a~1{x}/get") && err.contains("`{x}`"),
            "{err}"
        );
        let doc = serde_json::json!({
            "openapi": "3.1.0",
            "paths": {"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/Nope"}], "responses": {}}}}
        });
        let err = parse_rest_document(Path::new("t.json"), &doc.to_string())
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/parameters/0") && err.contains("does not exist"),
            "{err}"
        );
    }
}
