//! A REST document's operations → IR: one request type per operation, its
//! response type, and how each part of the request is sent.
//!
//! Each operation is its own naming scope (a module named after its
//! `operationId`), lowered with the same type lowering as queue endpoints:
//! one type per schema definition, named from the schema, and definitions
//! several operations spell identically are defined once, in the first of
//! those operations' modules, and re-exported by the others.
//! What is REST-specific is decided here:
//! - the request type: a struct named after the operation (`getPricing` →
//!   `GetPricing`) with one field per path, query and header parameter and a
//!   `body` field; required ones are constructor arguments;
//! - the response: the first 2xx response's JSON schema (`{Op}Response`), text
//!   for `text/*`, bytes for other media, nothing for a response without body;
//! - errors: the documented error statuses, and the `type` values of fal's
//!   error envelope (`{error: {type, message, docs_url, request_id}}`), for docs;
//! - cursor pagination: a `cursor` query parameter and a response object with
//!   `next_cursor` and a list (the required one, else the first in document
//!   order, when there are several; `has_more` when present);
//! - `Idempotency-Key`: a header parameter of that name (case-insensitive),
//!   which the runtime fills in when the caller leaves it unset.
//!
//! URL strings stay `String` here (no `FileInput`): a REST API takes URLs, and
//! there is nothing for the client to upload.

use std::collections::{BTreeMap, BTreeSet};

use schemars::schema::{Schema, SchemaObject, SingleOrVec};
use serde_json::Value;

use super::docs::docs_of;
use super::lower::EndpointLowering;
use super::naming::{alternative_with, snake_ident, type_name};
use super::share::{share, Scope};
use super::{Docs, Field, Kind, Role, Ty, TypeDef};
use crate::error::{Error, Location};
use crate::parse::rest::{self, Method, ParamLocation, RestDocument};

/// Every operation of a REST document.
#[derive(Clone, Debug, Default)]
pub struct Api {
    /// Operations, in document order.
    pub operations: Vec<Operation>,
    /// Operations left out, with the reason (an unsupported request media type).
    pub skipped: Vec<(String, String)>,
}

/// One operation.
#[derive(Clone, Debug)]
pub struct Operation {
    /// The `operationId` (or method and path when the document gives none).
    pub id: String,
    /// The module it is generated in (`get_pricing`).
    pub module: String,
    /// The HTTP method.
    pub method: Method,
    /// The full path template, server path included (`/v1/models/pricing`).
    pub template: String,
    /// The path, segment by segment.
    pub segments: Vec<Segment>,
    /// Its tags.
    pub tags: Vec<String>,
    /// Whether the document marks it deprecated.
    pub deprecated: bool,
    /// Security requirements (alternatives, each naming schemes).
    pub security: Vec<Vec<String>>,
    /// The request type (a struct; parameters and body are its fields).
    pub request: TypeDef,
    /// Where each parameter field goes.
    pub params: Vec<Param>,
    /// The body field, if the operation takes a body.
    pub body: Option<BodyField>,
    /// The local name of the response type (`GetPricingResponse`).
    pub output_name: String,
    /// What a successful answer holds.
    pub output: Output,
    /// The success status it is read from (`200`, `201`, `204`).
    pub success_status: String,
    /// The documented error statuses and, for fal's error envelope, the
    /// possible `error.type` values.
    pub errors: Vec<ErrorCase>,
    /// Cursor pagination, when the operation pages.
    pub pagination: Option<Pagination>,
    /// The Rust field of the `Idempotency-Key` header, when the operation takes one.
    pub idempotency_key: Option<String>,
    /// Every other type defined in the operation's module, by name.
    pub types: BTreeMap<String, TypeDef>,
    /// Types defined identically by an operation earlier in the document,
    /// whose module holds them: name → that module's path. Re-exported here
    /// under the same name.
    pub shared: BTreeMap<String, Vec<String>>,
    /// The module path (`[module]`), for sharing.
    path: Vec<String>,
}

impl Scope for Operation {
    fn id(&self) -> &str {
        &self.id
    }
    fn module(&self) -> &[String] {
        &self.path
    }
    fn types(&self) -> &BTreeMap<String, TypeDef> {
        &self.types
    }
    fn types_and_shared(
        &mut self,
    ) -> (
        &mut BTreeMap<String, TypeDef>,
        &mut BTreeMap<String, Vec<String>>,
    ) {
        (&mut self.types, &mut self.shared)
    }
}

/// One segment of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Literal text.
    Literal(String),
    /// A whole segment from a path parameter (the Rust field).
    Param(String),
    /// Literal text and parameters in one segment (`{name}.json`).
    Mixed(Vec<Piece>),
}

/// Part of a [`Segment::Mixed`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Literal(String),
    /// A path parameter (the Rust field).
    Param(String),
}

/// A parameter field of a request type.
#[derive(Clone, Debug)]
pub struct Param {
    /// The name on the wire.
    pub name: String,
    /// The Rust field.
    pub rust_name: String,
    /// Where it goes.
    pub location: ParamLocation,
    /// Whether a list is sent as repeated pairs (`explode`) or comma-joined.
    pub explode: bool,
    /// Whether it must be sent.
    pub required: bool,
}

/// The body field of a request type.
#[derive(Clone, Debug)]
pub struct BodyField {
    /// The Rust field.
    pub rust_name: String,
    /// The media type (`application/json`).
    pub media: String,
    /// Whether the body must be sent.
    pub required: bool,
}

/// What a successful answer holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// A JSON body of this type.
    Json(Ty),
    /// A text body (`text/csv`, `text/plain`, …).
    Text,
    /// Any other body, as bytes.
    Bytes,
    /// No body.
    Empty,
}

/// A documented error status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorCase {
    /// The status key (`404`, `4XX`, `default`).
    pub status: String,
    /// `error.type` values of fal's error envelope, when the body has that shape.
    pub types: Vec<String>,
}

/// Cursor pagination of a list operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pagination {
    /// The request field holding the cursor (`cursor`).
    pub cursor_field: String,
    /// The response field holding this page's items.
    pub items_field: String,
    /// Whether that field may be absent (an absent list is an empty page).
    pub items_optional: bool,
    /// The item type.
    pub item: Ty,
    /// The response field holding the next cursor.
    pub next_cursor_field: String,
    /// Whether `next_cursor` may be absent or null (it ends the listing).
    pub next_cursor_optional: bool,
    /// The response field holding `has_more`, if any.
    pub has_more_field: Option<String>,
    /// Whether `has_more` is optional.
    pub has_more_optional: bool,
}

/// Media types a request body can be sent as.
fn sendable(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

/// Lowers a REST document. `keep` selects operations by id (all when empty);
/// an id in `keep` that the document lacks is an error.
pub fn lower_rest(doc: &RestDocument, keep: &BTreeSet<String>) -> Result<Api, Error> {
    for id in keep {
        if !doc.operations.iter().any(|op| &op.id == id) {
            return Err(Error::Document {
                file: doc.file.clone(),
                location: Location::Pointer("/paths".into()),
                message: format!(
                    "operation `{id}` was requested but the document has no such operationId"
                ),
            });
        }
    }
    let mut api = Api::default();
    let mut modules: BTreeSet<String> = BTreeSet::new();
    for op in &doc.operations {
        if !keep.is_empty() && !keep.contains(&op.id) {
            continue;
        }
        if let Some(body) = &op.body {
            if !sendable(&body.media) {
                api.skipped.push((
                    op.id.clone(),
                    format!(
                        "its request body is `{}`, which the client does not send",
                        body.media
                    ),
                ));
                continue;
            }
        }
        let module = alternative_with(snake_ident(&op.id), "_", |m| modules.contains(m))
            .map_err(|alike| alike.at(&doc.file, &op.pointer))?;
        modules.insert(module.clone());
        let inputs = op
            .parameters
            .iter()
            .filter(|p| p.location != ParamLocation::Cookie)
            .map(|p| &p.schema)
            .chain(op.body.iter().filter_map(|b| b.schema.as_ref()));
        let outputs = success_response(op).and_then(|r| r.schema.as_ref());
        let lowered = OperationLowering {
            doc,
            op,
            scope: EndpointLowering::new(&doc.components, inputs, outputs).without_file_inputs(),
        }
        .run(module)?;
        api.operations.push(lowered);
    }
    share(&mut api.operations);
    Ok(api)
}

/// The first 2xx response: what a successful call answers.
fn success_response(op: &rest::Operation) -> Option<&rest::Response> {
    op.responses
        .iter()
        .find(|r| r.status.starts_with('2') && r.status.len() == 3)
}

struct OperationLowering<'a> {
    doc: &'a RestDocument,
    op: &'a rest::Operation,
    scope: EndpointLowering<'a>,
}

impl OperationLowering<'_> {
    fn run(mut self, module: String) -> Result<Operation, Error> {
        let op = self.op;
        let pascal = type_name(&op.id);
        let request_name = self.scope.reserve(&pascal);
        let response_base = format!("{pascal}Response");

        let mut fields: Vec<Field> = Vec::new();
        let mut taken: BTreeSet<String> = BTreeSet::new();
        let mut params = Vec::new();
        let mut idempotency_key = None;
        for param in &op.parameters {
            if param.location == ParamLocation::Cookie {
                continue;
            }
            let ty = self.scope.lower_root(
                &param.schema,
                Role::Input,
                &type_name(&param.name),
                &request_name,
                false,
                &param.pointer,
            );
            let mut docs = match &param.schema {
                Schema::Object(obj) => docs_of(obj),
                Schema::Bool(_) => Docs::default(),
            };
            docs.notes.append(&mut self.scope.take_notes());
            let where_ = match param.location {
                ParamLocation::Path => "Path parameter",
                ParamLocation::Query => "Query parameter",
                ParamLocation::Header => "Header",
                ParamLocation::Cookie => "Cookie",
            };
            let mut fact = format!("{where_} `{}`.", param.name);
            if param.deprecated {
                fact.push_str(" Deprecated.");
            }
            match docs.description {
                None => docs.description = Some(fact),
                Some(_) => docs.notes.insert(0, fact),
            }
            let rust_name = alternative_with(snake_ident(&param.name), "_", |n| taken.contains(n))
                .map_err(|alike| alike.at(&self.doc.file, &param.pointer))?;
            taken.insert(rust_name.clone());
            let is_idempotency = param.location == ParamLocation::Header
                && param.name.eq_ignore_ascii_case("idempotency-key");
            // The runtime fills an unset key in, so it is never a constructor argument.
            let required = param.required && !is_idempotency;
            if is_idempotency {
                idempotency_key = Some(rust_name.clone());
                docs.notes.push(
                    "Left unset, the client sends a fresh random key, the same on every retry of the call, so a retried call is applied once.".into(),
                );
            }
            fields.push(Field {
                json_name: param.name.clone(),
                rust_name: rust_name.clone(),
                ty: if required { ty } else { option(ty) },
                required,
                docs,
                pointer: param.pointer.clone(),
                rules: self.scope.rules(&param.schema),
                additional: false,
            });
            params.push(Param {
                name: param.name.clone(),
                rust_name,
                location: param.location,
                explode: param.explode,
                required,
            });
        }
        let body = match &op.body {
            Some(body) => {
                let ty = match &body.schema {
                    Some(schema) => self.scope.lower_root(
                        schema,
                        Role::Input,
                        &format!("{pascal}Body"),
                        &request_name,
                        false,
                        &body.pointer,
                    ),
                    None => Ty::Json,
                };
                let mut docs = Docs {
                    description: Some(format!("The request body (`{}`).", body.media)),
                    ..Docs::default()
                };
                docs.notes.append(&mut self.scope.take_notes());
                let rust_name = alternative_with("body".to_owned(), "_", |n| taken.contains(n))
                    .map_err(|alike| alike.at(&self.doc.file, &body.pointer))?;
                taken.insert(rust_name.clone());
                fields.push(Field {
                    json_name: "body".into(),
                    rust_name: rust_name.clone(),
                    ty: if body.required { ty } else { option(ty) },
                    required: body.required,
                    docs,
                    pointer: body.pointer.clone(),
                    rules: body
                        .schema
                        .as_ref()
                        .map(|schema| self.scope.rules(schema))
                        .unwrap_or_default(),
                    additional: false,
                });
                Some(BodyField {
                    rust_name,
                    media: body.media.clone(),
                    required: body.required,
                })
            }
            None => None,
        };

        // The answer is always `{Op}Response`: its own definition when the
        // schema is inline, else an alias (of a component, a list, text).
        let output_name = self.scope.reserve(&response_base);
        let (output, success_status) = match success_response(op) {
            None => (Output::Empty, "200".to_owned()),
            Some(response) => {
                let output = match (&response.media, &response.schema) {
                    (None, _) => Output::Empty,
                    (Some(media), Some(schema)) if media.contains("json") => {
                        Output::Json(self.scope.lower_root(
                            schema,
                            Role::Output,
                            &output_name,
                            &output_name,
                            true,
                            &response.pointer,
                        ))
                    }
                    (Some(media), None) if media.contains("json") => Output::Json(Ty::Json),
                    (Some(media), _) if media.starts_with("text/") => Output::Text,
                    (Some(_), _) => Output::Bytes,
                };
                (output, response.status.clone())
            }
        };
        self.scope.take_notes();
        let errors = op
            .responses
            .iter()
            .filter(|r| !r.status.starts_with('2') && !r.status.starts_with('1'))
            .map(|r| ErrorCase {
                status: r.status.clone(),
                types: r.schema.as_ref().map(envelope_types).unwrap_or_default(),
            })
            .collect();
        let pagination = self.pagination(&params, &fields, &output);

        let template = format!("{}{}", self.doc.base_path, op.path);
        let segments = segments(&template, &params);
        let request = TypeDef {
            name: request_name,
            docs: Docs {
                description: Some(format!(
                    "The request of `{} {template}` (operation `{}`).",
                    op.method.as_http(),
                    op.id
                )),
                ..Docs::default()
            },
            role: Role::Input,
            kind: Kind::Struct(fields),
        };
        self.scope.limit_error(&self.doc.file)?;
        Ok(Operation {
            id: op.id.clone(),
            module: module.clone(),
            method: op.method,
            template,
            segments,
            tags: op.tags.clone(),
            deprecated: op.deprecated,
            security: op.security.clone(),
            request,
            params,
            body,
            output_name,
            output,
            success_status,
            errors,
            pagination,
            idempotency_key,
            types: self.scope.into_types(),
            shared: BTreeMap::new(),
            path: vec![module],
        })
    }

    /// Cursor pagination: a `cursor` query parameter, and a response struct
    /// with `next_cursor` (a string, maybe null) and a list field.
    fn pagination(
        &self,
        params: &[Param],
        fields: &[Field],
        output: &Output,
    ) -> Option<Pagination> {
        let cursor = params
            .iter()
            .find(|p| p.location == ParamLocation::Query && p.name == "cursor")?;
        let cursor_is_text = fields
            .iter()
            .any(|f| f.rust_name == cursor.rust_name && *inner(&f.ty) == Ty::String);
        if !cursor_is_text {
            return None;
        }
        let Output::Json(Ty::Named(key)) = output else {
            return None;
        };
        let Kind::Struct(answer) = &self.scope.definition(key)?.kind else {
            return None;
        };
        let next = answer.iter().find(|f| f.json_name == "next_cursor")?;
        let next_optional = match &next.ty {
            Ty::String => false,
            Ty::Option(inner) if **inner == Ty::String => true,
            _ => return None,
        };
        let lists: Vec<(&Field, &Ty)> = answer
            .iter()
            .filter_map(|f| match &f.ty {
                Ty::List(item) => Some((f, item.as_ref())),
                Ty::Option(inner) => match inner.as_ref() {
                    Ty::List(item) => Some((f, item.as_ref())),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        // One list pages; when there are several (a page of `time_series`
        // next to a `summary`), the one the schema requires, else the first
        // in the document's order.
        let required: Vec<&(&Field, &Ty)> = lists.iter().filter(|(f, _)| f.required).collect();
        let (items, item) = match (required.as_slice(), lists.first()) {
            ([only], _) => **only,
            (_, Some(first)) => *first,
            (_, None) => return None,
        };
        let has_more = answer
            .iter()
            .find(|f| f.json_name == "has_more" && matches!(inner(&f.ty), Ty::Bool));
        Some(Pagination {
            cursor_field: cursor.rust_name.clone(),
            items_field: items.rust_name.clone(),
            items_optional: is_option(&items.ty),
            item: (*item).clone(),
            next_cursor_field: next.rust_name.clone(),
            next_cursor_optional: next_optional,
            has_more_field: has_more.map(|f| f.rust_name.clone()),
            has_more_optional: has_more.is_some_and(|f| is_option(&f.ty)),
        })
    }
}

fn is_option(ty: &Ty) -> bool {
    matches!(ty, Ty::Option(_))
}

fn inner(ty: &Ty) -> &Ty {
    match ty {
        Ty::Option(inner) => inner,
        other => other,
    }
}

fn option(ty: Ty) -> Ty {
    match ty {
        Ty::Option(_) => ty,
        other => Ty::Option(Box::new(other)),
    }
}

/// The path template split into segments, with parameters named by their field.
fn segments(template: &str, params: &[Param]) -> Vec<Segment> {
    let field = |name: &str| {
        params
            .iter()
            .find(|p| p.location == ParamLocation::Path && p.name == name)
            .map(|p| p.rust_name.clone())
            .unwrap_or_else(|| snake_ident(name))
    };
    template
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|segment| {
            let names = rest::template_names(segment);
            if names.is_empty() {
                return Segment::Literal(segment.to_owned());
            }
            if names.len() == 1 && segment == format!("{{{}}}", names[0]) {
                return Segment::Param(field(names[0]));
            }
            let mut pieces = Vec::new();
            let mut rest = segment;
            while let Some(open) = rest.find('{') {
                let Some(close) = rest[open..].find('}') else {
                    break;
                };
                if open > 0 {
                    pieces.push(Piece::Literal(rest[..open].to_owned()));
                }
                pieces.push(Piece::Param(field(&rest[open + 1..open + close])));
                rest = &rest[open + close + 1..];
            }
            if !rest.is_empty() {
                pieces.push(Piece::Literal(rest.to_owned()));
            }
            Segment::Mixed(pieces)
        })
        .collect()
}

/// The `error.type` values of fal's error envelope
/// (`{error: {type: enum, message, …}}`), when `schema` has that shape.
fn envelope_types(schema: &Schema) -> Vec<String> {
    let property = |obj: &SchemaObject, name: &str| -> Option<SchemaObject> {
        match obj.object.as_deref()?.properties.get(name)? {
            Schema::Object(o) => Some(o.clone()),
            Schema::Bool(_) => None,
        }
    };
    let Schema::Object(obj) = schema else {
        return Vec::new();
    };
    let Some(error) = property(obj, "error") else {
        return Vec::new();
    };
    let Some(kind) = property(&error, "type") else {
        return Vec::new();
    };
    let is_string = matches!(&kind.instance_type, Some(SingleOrVec::Single(t)) if **t == schemars::schema::InstanceType::String);
    if !is_string || property(&error, "message").is_none() {
        return Vec::new();
    }
    kind.enum_values
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param(name: &str, field: &str) -> Param {
        Param {
            name: name.into(),
            rust_name: field.into(),
            location: ParamLocation::Path,
            explode: false,
            required: true,
        }
    }

    #[test]
    fn templates_split_into_segments() {
        let params = [param("owner", "owner"), param("type", "r#type")];
        assert_eq!(
            segments("/v1/apps/{owner}/{type}.json", &params),
            vec![
                Segment::Literal("v1".into()),
                Segment::Literal("apps".into()),
                Segment::Param("owner".into()),
                Segment::Mixed(vec![
                    Piece::Param("r#type".into()),
                    Piece::Literal(".json".into())
                ]),
            ]
        );
    }

    #[test]
    fn the_error_envelope_gives_its_types() {
        let schema: Schema = serde_json::from_value(serde_json::json!({
            "type": "object",
            "properties": {"error": {"type": "object", "properties": {
                "type": {"type": "string", "enum": ["not_found", "server_error"]},
                "message": {"type": "string"}
            }}}
        }))
        .unwrap_or(Schema::Bool(false));
        assert_eq!(envelope_types(&schema), vec!["not_found", "server_error"]);
        assert!(envelope_types(&Schema::Bool(true)).is_empty());
    }
}
