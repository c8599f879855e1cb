//! Parsed documents → IR: every typing and naming decision lives here.
//!
//! Choices (documented for users in the crate docs):
//! - One type per schema definition: a component is lowered once per endpoint
//!   and shared by the input and the output. It is an input type (builders,
//!   file-URL strings as `FileInput`) when the input reaches it at all.
//! - A `$ref` to a component the document does not contain becomes
//!   `serde_json::Value` with a doc note; a reference cycle is cut the same way.
//! - File-URL inputs (`x-fal-file-input`, `format: uri`, or a `*_url`/`*_urls`
//!   string) become `fal_runtime::FileInput`; only in input types.
//! - Objects shaped like fal's File / Image become `fal_runtime::File` / `Image`.
//! - `anyOf`/`oneOf` drop `null` arms into `Option`, fold arms a sibling arm
//!   already accepts (a plain string next to a string enum, an integer next to a
//!   number) and become an untagged enum otherwise.
//! - Names: see [`super::naming`]; they depend on the endpoint's own document
//!   only, so adding another endpoint never renames anything.

use std::collections::{BTreeMap, BTreeSet};

use schemars::schema::{InstanceType, Schema, SchemaObject, SingleOrVec};
use serde_json::Value;

use super::docs::{docs_of, type_docs};
use super::naming::{
    alternative, alternative_with, snake_ident, type_name, variant_name, TooManyAlike,
};
use super::rules::rules_of;
use super::{
    Docs, Endpoint, Field, Ir, Kind, Role, Tagged, TaggedArm, Ty, TypeDef, UnionArm, Variant,
    MAX_DEPTH,
};
use crate::error::{pointer_token, Error};
use crate::parse::{Document, COMPONENTS};

/// Lowers documents (one endpoint each) into one IR. Endpoint ids must be unique.
pub fn lower(documents: &[Document]) -> Result<Ir, Error> {
    let mut ir = Ir::default();
    let mut seen: BTreeMap<&str, &Document> = BTreeMap::new();
    let mut sorted: Vec<&Document> = documents.iter().collect();
    sorted.sort_by(|a, b| a.endpoint_id.cmp(&b.endpoint_id).then(a.file.cmp(&b.file)));
    for doc in sorted {
        if let Some(first) = seen.insert(&doc.endpoint_id, doc) {
            return Err(Error::DuplicateEndpoint {
                id: doc.endpoint_id.clone(),
                first: first.file.clone(),
                second: doc.file.clone(),
            });
        }
        let scope = EndpointLowering::new(&doc.components, [&doc.input], doc.output.iter());
        let endpoint = scope.run(doc)?;
        ir.endpoints.push(endpoint);
    }
    unique_modules(&mut ir.endpoints);
    super::share::share(&mut ir.endpoints);
    Ok(ir)
}

/// Two ids differing only in punctuation (`v1.1` / `v1-1`) would get the same
/// module; the later id (in sorted order) gets `_alt` on its last segment
/// (never a number).
fn unique_modules(endpoints: &mut [Endpoint]) {
    let mut taken: BTreeSet<Vec<String>> = BTreeSet::new();
    for endpoint in endpoints {
        while taken.contains(&endpoint.module) {
            if let Some(last) = endpoint.module.last_mut() {
                last.push_str("_alt");
            } else {
                break;
            }
        }
        taken.insert(endpoint.module.clone());
    }
}

/// A type shape before it has a name: either a plain Rust type or a definition.
enum Shape {
    Ty(Ty),
    Def(Kind, Docs),
}

/// How the schema being lowered is used.
#[derive(Clone)]
struct Ctx {
    role: Role,
    /// The preferred name for an inline definition (from the property name).
    base: String,
    /// The name of the type holding the schema: an inline definition whose
    /// preferred name is taken is qualified with it (`LoraWeightStyle`).
    owner: String,
    /// A `*_url`/`*_urls` property: its strings are file inputs.
    file_url: bool,
    /// The name the definition must have: a component's reserved name, or
    /// the output type's name for an inline output schema.
    fixed_name: Option<String>,
    /// JSON pointer of the schema being lowered.
    pointer: String,
}

impl Ctx {
    /// The context of a nested schema at `pointer` + `/part`.
    fn child(&self, base: String, part: &str) -> Self {
        Self {
            role: self.role,
            base,
            owner: self.owner.clone(),
            file_url: self.file_url,
            fixed_name: None,
            pointer: format!("{}/{part}", self.pointer),
        }
    }

    /// The same name and use, for a schema at `pointer` + `/part`.
    fn at(&self, part: &str) -> Self {
        Self {
            pointer: format!("{}/{part}", self.pointer),
            ..self.clone()
        }
    }
}

fn component_pointer(key: &str) -> String {
    format!("/components/schemas/{}", pointer_token(key))
}

/// Who holds a name in an endpoint's module.
enum Claim {
    /// A component; only its own definition may use the name.
    Component,
    /// The input or output type.
    Root,
    /// An inline definition; an identical definition elsewhere reuses it.
    Inline,
}

/// The lowering of one naming scope (an endpoint, or one REST operation):
/// names are unique inside it; identical definitions across scopes are
/// shared afterwards (see `share`).
pub(super) struct EndpointLowering<'a> {
    /// The document's components, which `$ref`s name.
    components: &'a BTreeMap<String, Schema>,
    /// Whether URL strings in request types become `fal_runtime::FileInput`
    /// (queue inputs, where the client uploads local files), or stay strings.
    file_inputs: bool,
    /// Every type defined so far, by name.
    types: BTreeMap<String, TypeDef>,
    /// Names taken in the module.
    claims: BTreeMap<String, Claim>,
    /// Component key → its name.
    component_names: BTreeMap<String, String>,
    /// Components the input reaches (lowered as input types).
    input_components: BTreeSet<String>,
    done: BTreeMap<String, Ty>,
    in_progress: BTreeSet<String>,
    /// Doc notes raised while lowering the current field.
    notes: Vec<String>,
    /// How many schemas are being lowered, one inside the other.
    depth: usize,
    /// The pointer of the first schema nested deeper than [`MAX_DEPTH`].
    too_deep: Option<String>,
    /// The first place where too many names spelled alike (see
    /// [`super::naming::MAX_ALTERNATIVES`]), with the name.
    too_alike: Option<(String, TooManyAlike)>,
}

impl<'a> EndpointLowering<'a> {
    /// A scope whose request schemas are `inputs` and whose answers are
    /// `outputs`: every component they reach gets its name here, and those
    /// the inputs reach are input types.
    pub(super) fn new<'s>(
        components: &'a BTreeMap<String, Schema>,
        inputs: impl IntoIterator<Item = &'s Schema>,
        outputs: impl IntoIterator<Item = &'s Schema>,
    ) -> Self
    where
        'a: 's,
    {
        let inputs: Vec<&Schema> = inputs.into_iter().collect();
        let input_components = reachable(components, inputs.iter().copied());
        let all = reachable(components, inputs.into_iter().chain(outputs));
        let mut claims = BTreeMap::new();
        let mut component_names = BTreeMap::new();
        let mut too_alike = None;
        // Key order decides who keeps a name when two keys spell the same one.
        for key in &all {
            let name = alternative(type_name(key), |n| claims.contains_key(n));
            let name = unique(
                name,
                &format!("/components/schemas/{}", pointer_token(key)),
                &mut too_alike,
            );
            claims.insert(name.clone(), Claim::Component);
            component_names.insert(key.clone(), name);
        }
        Self {
            components,
            file_inputs: true,
            types: BTreeMap::new(),
            claims,
            component_names,
            input_components,
            done: BTreeMap::new(),
            in_progress: BTreeSet::new(),
            notes: Vec::new(),
            depth: 0,
            too_deep: None,
            too_alike,
        }
    }

    /// The name of a root type: its component's, else `preferred` (made unique).
    fn root_name(&mut self, key: Option<&String>, preferred: String) -> String {
        if let Some(name) = key.and_then(|k| self.component_names.get(k)) {
            return name.clone();
        }
        let name = alternative(preferred, |n| self.claims.contains_key(n));
        // The names it collides with are the components'.
        let name = unique(name, "/components/schemas", &mut self.too_alike);
        self.claims.insert(name.clone(), Claim::Root);
        name
    }

    fn run(mut self, doc: &Document) -> Result<Endpoint, Error> {
        let parts = fal_id::EndpointId::parse(&doc.endpoint_id).map_err(|err| Error::Document {
            file: doc.file.clone(),
            location: crate::error::Location::Pointer("/paths".into()),
            message: err.to_string(),
        })?;
        let pascal: String = parts
            .segments()
            .skip(usize::from(parts.namespace().is_some()) + 1)
            .map(type_name)
            .collect();
        let module: Vec<String> = parts.segments().map(snake_ident).collect();

        // Input: always a nominal type (the endpoint trait is implemented on it).
        let (input_key, input_schema) = self.resolve_root(&doc.input);
        let input_name = self.root_name(input_key.as_ref(), format!("{pascal}Input"));
        let ctx = Ctx {
            role: Role::Input,
            base: input_name.clone(),
            owner: input_name.clone(),
            file_url: false,
            fixed_name: Some(input_name.clone()),
            pointer: input_key
                .as_deref()
                .map(component_pointer)
                .unwrap_or_else(|| doc.input_pointer.clone()),
        };
        let mut input = match input_schema {
            Some(schema) => {
                if let Some(key) = &input_key {
                    self.in_progress.insert(key.clone());
                }
                let shape = self.shape(&schema, &ctx);
                let base_docs = type_docs(&schema);
                match shape {
                    Shape::Def(kind @ Kind::Struct(_), docs) => TypeDef {
                        name: input_name.clone(),
                        docs,
                        role: Role::Input,
                        kind,
                    },
                    Shape::Def(kind, docs) => {
                        let inner_ctx = ctx.child(format!("{input_name}Value"), "");
                        let ty = self.define(kind, docs, &inner_ctx);
                        newtype(&input_name, ty, base_docs)
                    }
                    Shape::Ty(ty) => newtype(&input_name, ty, base_docs),
                }
            }
            None => {
                let mut docs = Docs::default();
                docs.notes.append(&mut self.notes);
                newtype(&input_name, Ty::Json, docs)
            }
        };
        if let Some(key) = &input_key {
            self.in_progress.remove(key);
            // The input's own component used inside the output (rare) is an
            // alias of the input type rather than a second definition.
            self.done.insert(key.clone(), Ty::Named(input_name.clone()));
        }
        if input.docs.description.is_none() {
            input.docs.description = Some(format!("The request body of `{}`.", doc.endpoint_id));
        }

        // Output: any type, defined under its name or aliased to it.
        let (output_key, _) = match &doc.output {
            Some(schema) => self.resolve_root(schema),
            None => (None, None),
        };
        let output_name = match &output_key {
            Some(key) if Some(key) != input_key.as_ref() => {
                self.root_name(Some(key), String::new())
            }
            _ => self.root_name(None, format!("{pascal}Output")),
        };
        let output = match &doc.output {
            Some(schema) => {
                let ctx = Ctx {
                    role: Role::Output,
                    base: output_name.clone(),
                    owner: output_name.clone(),
                    file_url: false,
                    fixed_name: Some(output_name.clone()),
                    pointer: String::new(),
                };
                self.lower(schema, &ctx)
            }
            None => Ty::Json,
        };
        self.notes.clear();
        self.limit_error(&doc.file)?;
        Ok(Endpoint {
            id: doc.endpoint_id.clone(),
            file: doc.file.clone(),
            category: doc.category.clone(),
            module,
            input,
            output_name,
            output,
            types: self.types,
            shared: BTreeMap::new(),
        })
    }

    /// The error for a schema nested deeper than [`MAX_DEPTH`] in `file`, if
    /// lowering met one (what is deeper was not read), else for too many
    /// names spelled alike.
    pub(super) fn limit_error(&self, file: &std::path::Path) -> Result<(), Error> {
        match &self.too_deep {
            None => match &self.too_alike {
                None => Ok(()),
                Some((pointer, alike)) => Err(alike.at(file, pointer)),
            },
            Some(pointer) => Err(Error::Document {
                file: file.to_owned(),
                location: crate::error::Location::Pointer(pointer.clone()),
                message: format!(
                    "schemas nest more than {MAX_DEPTH} deep here (counting every `$ref`, \
                     `allOf`/`anyOf`/`oneOf` part, list item, map value and property on \
                     the way)"
                ),
            }),
        }
    }

    /// Keeps URL strings in request types as strings: REST APIs take URLs, and
    /// the client has nothing to upload for them.
    pub(super) fn without_file_inputs(mut self) -> Self {
        self.file_inputs = false;
        self
    }

    /// Claims `preferred` (or, when taken, the first free name the collision
    /// rule gives) for a type the caller defines itself: a REST request
    /// struct, or the name of an answer. Returns the name.
    pub(super) fn reserve(&mut self, preferred: &str) -> String {
        self.root_name(None, preferred.to_owned())
    }

    /// Lowers a root schema found at `pointer`. An inline definition there is
    /// named `name` (claimed with [`Self::reserve`] first) when `fixed`, else
    /// it prefers `name` and follows the collision rule, qualified with
    /// `owner`.
    pub(super) fn lower_root(
        &mut self,
        schema: &Schema,
        role: Role,
        name: &str,
        owner: &str,
        fixed: bool,
        pointer: &str,
    ) -> Ty {
        let ctx = Ctx {
            role,
            base: name.to_owned(),
            owner: owner.to_owned(),
            file_url: false,
            fixed_name: fixed.then(|| name.to_owned()),
            pointer: pointer.to_owned(),
        };
        self.lower(schema, &ctx)
    }

    /// The doc notes raised since the last call (missing refs, cycles, …).
    pub(super) fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// A definition lowered so far, by name.
    pub(super) fn definition(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    /// The rules of the value at `schema` (see [`rules_of`]).
    pub(super) fn rules(&self, schema: &Schema) -> super::Rules {
        rules_of(self.components, schema)
    }

    /// Every type defined in the scope, by name.
    pub(super) fn into_types(self) -> BTreeMap<String, TypeDef> {
        self.types
    }

    /// A root schema: the component it names (if a plain `$ref`) and its content.
    fn resolve_root(&mut self, schema: &Schema) -> (Option<String>, Option<SchemaObject>) {
        match schema {
            Schema::Object(obj) => match obj
                .reference
                .as_deref()
                .and_then(|r| r.strip_prefix(COMPONENTS))
            {
                Some(key) => match self.components.get(key) {
                    Some(target) => (Some(key.to_owned()), Some(to_object(target))),
                    None => {
                        self.notes.push(missing_note(key));
                        (None, None)
                    }
                },
                None => (None, Some(obj.clone())),
            },
            Schema::Bool(_) => (None, None),
        }
    }

    /// Lowers a schema to a type, naming any definition it needs.
    fn lower(&mut self, schema: &Schema, ctx: &Ctx) -> Ty {
        match schema {
            Schema::Bool(_) => Ty::Json,
            Schema::Object(obj) => match self.shape(obj, ctx) {
                Shape::Ty(ty) => ty,
                Shape::Def(kind, docs) => self.define(kind, docs, ctx),
            },
        }
    }

    fn lower_ref(&mut self, reference: &str) -> Ty {
        let Some(key) = reference.strip_prefix(COMPONENTS) else {
            self.notes.push(format!(
                "The schema refers to `{reference}`, which is outside this document, so any JSON is accepted."
            ));
            return Ty::Json;
        };
        let Some(target) = self.components.get(key) else {
            self.notes.push(missing_note(key));
            return Ty::Json;
        };
        if let Some(ty) = self.done.get(key) {
            return ty.clone();
        }
        if !self.in_progress.insert(key.to_owned()) {
            self.notes.push(format!(
                "`{key}` refers back to itself; the recursive part is accepted as any JSON."
            ));
            return Ty::Json;
        }
        let name = self
            .component_names
            .get(key)
            .cloned()
            .unwrap_or_else(|| type_name(key));
        let role = if self.input_components.contains(key) {
            Role::Input
        } else {
            Role::Output
        };
        let component_ctx = Ctx {
            role,
            base: name.clone(),
            owner: name.clone(),
            file_url: false,
            fixed_name: Some(name),
            pointer: component_pointer(key),
        };
        let ty = self.lower(target, &component_ctx);
        self.in_progress.remove(key);
        self.done.insert(key.to_owned(), ty.clone());
        ty
    }

    /// Gives a definition its name in the endpoint's module.
    ///
    /// A component keeps its reserved name. An inline definition takes the
    /// first free name of: its preferred name, the same with the kind's suffix
    /// (`Choice` for a union), qualified with its owner's name, then with
    /// `Alt` appended until free. An identical inline definition already
    /// holding one of those names is reused instead.
    fn define(&mut self, kind: Kind, docs: Docs, ctx: &Ctx) -> Ty {
        let def = TypeDef {
            name: String::new(),
            docs,
            role: ctx.role,
            kind,
        };
        if let Some(name) = &ctx.fixed_name {
            return self.insert(name.clone(), def);
        }
        let suffix = match &def.kind {
            Kind::Union(_) | Kind::Tagged(_) => "Choice",
            _ => "",
        };
        let mut candidates = vec![ctx.base.clone()];
        if !suffix.is_empty() {
            candidates.push(format!("{}{suffix}", ctx.base));
        }
        if !ctx.base.starts_with(&ctx.owner) {
            candidates.push(format!("{}{}", ctx.owner, ctx.base));
            if !suffix.is_empty() {
                candidates.push(format!("{}{}{suffix}", ctx.owner, ctx.base));
            }
        }
        for candidate in &candidates {
            match self.claims.get(candidate) {
                None => {
                    self.claims.insert(candidate.clone(), Claim::Inline);
                    return self.insert(candidate.clone(), def);
                }
                Some(Claim::Inline) if self.same(candidate, &def) => {
                    return self.insert(candidate.clone(), def);
                }
                _ => {}
            }
        }
        let last = candidates.pop().unwrap_or_else(|| ctx.base.clone());
        let name = alternative(last, |n| self.claims.contains_key(n) && !self.same(n, &def));
        let name = unique(name, &ctx.pointer, &mut self.too_alike);
        self.claims.entry(name.clone()).or_insert(Claim::Inline);
        self.insert(name, def)
    }

    /// Whether the type named `name` is `def` (same shape).
    ///
    /// Docs are not compared: a name never depends on prose, so a document
    /// with its descriptions removed (`fal_codegen::reduce`) gets the same
    /// types; the first definition's docs are kept.
    fn same(&self, name: &str, def: &TypeDef) -> bool {
        self.types.get(name).is_some_and(|t| t.kind == def.kind)
    }

    /// Stores `def` under `name`; a type both sent and received is an input type.
    fn insert(&mut self, name: String, mut def: TypeDef) -> Ty {
        def.name = name.clone();
        match self.types.get_mut(&name) {
            Some(existing) => {
                if def.role == Role::Input {
                    existing.role = Role::Input;
                }
            }
            None => {
                self.types.insert(name.clone(), def);
            }
        }
        Ty::Named(name)
    }

    /// Every nested schema passes through here, so this is where the depth is
    /// bounded: past [`MAX_DEPTH`] the first pointer is kept (reported by
    /// `run`) and nothing deeper is read, so no document can exhaust the
    /// stack.
    fn shape(&mut self, schema: &SchemaObject, ctx: &Ctx) -> Shape {
        if self.depth >= MAX_DEPTH {
            self.too_deep.get_or_insert_with(|| ctx.pointer.clone());
            return Shape::Ty(Ty::Json);
        }
        self.depth += 1;
        let shape = self.shape_inner(schema, ctx);
        self.depth -= 1;
        let nullable = schema
            .extensions
            .get("nullable")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        match shape {
            Shape::Ty(ty) if nullable => Shape::Ty(option(ty)),
            Shape::Def(kind, docs) if nullable => Shape::Ty(option(self.define(kind, docs, ctx))),
            other => other,
        }
    }

    fn shape_inner(&mut self, schema: &SchemaObject, ctx: &Ctx) -> Shape {
        if let Some(reference) = &schema.reference {
            return Shape::Ty(self.lower_ref(reference));
        }
        if let Some(sub) = schema.subschemas.as_deref() {
            if let Some(all) = &sub.all_of {
                return self.all_of(schema, all, ctx);
            }
            if let Some(arms) = &sub.any_of {
                return self.union(schema, arms, &ctx.at("anyOf"));
            }
            if let Some(arms) = &sub.one_of {
                return self.union(schema, arms, &ctx.at("oneOf"));
            }
        }
        match &schema.instance_type {
            Some(SingleOrVec::Single(t)) => self.typed(schema, **t, ctx),
            Some(SingleOrVec::Vec(types)) => {
                let arms: Vec<Schema> = types
                    .iter()
                    .map(|t| {
                        let mut arm = schema.clone();
                        arm.instance_type = Some(SingleOrVec::Single(Box::new(*t)));
                        Schema::Object(arm)
                    })
                    .collect();
                let outer = SchemaObject {
                    metadata: schema.metadata.clone(),
                    ..SchemaObject::default()
                };
                self.union(&outer, &arms, ctx)
            }
            None => {
                let has_properties = schema
                    .object
                    .as_deref()
                    .is_some_and(|o| !o.properties.is_empty());
                if has_properties {
                    self.typed(schema, InstanceType::Object, ctx)
                } else if string_values(schema).is_some() {
                    self.typed(schema, InstanceType::String, ctx)
                } else if schema
                    .object
                    .as_deref()
                    .is_some_and(|o| o.additional_properties.is_some())
                {
                    self.typed(schema, InstanceType::Object, ctx)
                } else if schema.array.is_some() {
                    self.typed(schema, InstanceType::Array, ctx)
                } else if let Some(t) = schema.const_value.as_ref().and_then(json_type) {
                    self.typed(schema, t, ctx)
                } else {
                    Shape::Ty(Ty::Json)
                }
            }
        }
    }

    fn typed(&mut self, schema: &SchemaObject, t: InstanceType, ctx: &Ctx) -> Shape {
        match t {
            InstanceType::Null => Shape::Ty(option(Ty::Json)),
            InstanceType::Boolean => Shape::Ty(Ty::Bool),
            InstanceType::Integer => Shape::Ty(Ty::Integer),
            InstanceType::Number => Shape::Ty(Ty::Number),
            InstanceType::String => {
                if let Some(values) = string_values(schema) {
                    return Shape::Def(
                        Kind::Enum(variants(&values, &ctx.pointer, &mut self.too_alike)),
                        type_docs(schema),
                    );
                }
                let file_flag = schema
                    .extensions
                    .get("x-fal-file-input")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let uri = schema.format.as_deref() == Some("uri");
                if ctx.role == Role::Input && self.file_inputs && (file_flag || uri || ctx.file_url)
                {
                    Shape::Ty(Ty::FileInput)
                } else {
                    Shape::Ty(Ty::String)
                }
            }
            InstanceType::Array => {
                let items = schema.array.as_deref().and_then(|a| a.items.as_ref());
                let item_ctx = ctx.child(format!("{}Item", ctx.base), "items");
                let ty = match items {
                    Some(SingleOrVec::Single(item)) => self.lower(item, &item_ctx),
                    Some(SingleOrVec::Vec(items)) => self.tuple(items, &item_ctx),
                    None => match schema.extensions.get("prefixItems") {
                        Some(Value::Array(raw)) => {
                            let items: Vec<Schema> = raw
                                .iter()
                                .filter_map(|v| serde_json::from_value(v.clone()).ok())
                                .collect();
                            self.tuple(
                                &items,
                                &ctx.child(format!("{}Item", ctx.base), "prefixItems"),
                            )
                        }
                        _ => Ty::Json,
                    },
                };
                Shape::Ty(Ty::List(Box::new(ty)))
            }
            InstanceType::Object => self.object(schema, ctx),
        }
    }

    /// Tuple-style items: one list type if every position has the same type.
    fn tuple(&mut self, items: &[Schema], ctx: &Ctx) -> Ty {
        let tys: Vec<Ty> = items.iter().map(|item| self.lower(item, ctx)).collect();
        match tys.split_first() {
            Some((first, rest)) if rest.iter().all(|t| t == first) => first.clone(),
            _ => Ty::Json,
        }
    }

    fn object(&mut self, schema: &SchemaObject, ctx: &Ctx) -> Shape {
        let object = schema.object.as_deref();
        let properties = object.map(|o| &o.properties).filter(|p| !p.is_empty());
        let Some(properties) = properties else {
            return match object.and_then(|o| o.additional_properties.as_deref()) {
                Some(Schema::Object(value)) => {
                    let value_ctx = ctx.child(format!("{}Value", ctx.base), "additionalProperties");
                    let ty = self.lower(&Schema::Object(value.clone()), &value_ctx);
                    Shape::Ty(Ty::Map(Box::new(ty)))
                }
                _ => Shape::Ty(Ty::JsonObject),
            };
        };
        let required: BTreeSet<&str> = object
            .map(|o| o.required.iter().map(String::as_str).collect())
            .unwrap_or_default();
        if let Some(ty) = self.file_like(properties, &required) {
            return Shape::Ty(ty);
        }
        let order = order_of(schema, properties);
        let mut fields: Vec<Field> = Vec::with_capacity(order.len());
        let mut names: BTreeSet<String> = BTreeSet::new();
        for json_name in order {
            let Some(property) = properties.get(json_name) else {
                continue;
            };
            let field_ctx = Ctx {
                role: ctx.role,
                base: type_name(json_name),
                owner: ctx.base.clone(),
                file_url: json_name.ends_with("_url") || json_name.ends_with("_urls"),
                fixed_name: None,
                pointer: format!("{}/properties/{}", ctx.pointer, pointer_token(json_name)),
            };
            let ty = self.lower(property, &field_ctx);
            let mut docs = match property {
                Schema::Object(obj) => docs_of(obj),
                Schema::Bool(_) => Docs::default(),
            };
            docs.notes.append(&mut self.notes);
            let is_required = required.contains(json_name);
            let ty = if is_required { ty } else { option(ty) };
            let rust_name = alternative_with(snake_ident(json_name), "_", |n| names.contains(n));
            let rust_name = unique(rust_name, &field_ctx.pointer, &mut self.too_alike);
            names.insert(rust_name.clone());
            fields.push(Field {
                json_name: json_name.to_owned(),
                rust_name,
                ty,
                required: is_required,
                docs,
                pointer: field_ctx.pointer,
                rules: rules_of(self.components, property),
                additional: false,
            });
        }
        // `additionalProperties` next to `properties`: the other members are
        // kept in a map flattened into the object, never dropped.
        let others = match object.and_then(|o| o.additional_properties.as_deref()) {
            Some(Schema::Bool(true)) => Some(Ty::JsonObject),
            Some(value @ Schema::Object(_)) => {
                let value_ctx = ctx.child(format!("{}Value", ctx.base), "additionalProperties");
                match self.lower(value, &value_ctx) {
                    Ty::Json => Some(Ty::JsonObject),
                    ty => Some(Ty::Map(Box::new(ty))),
                }
            }
            Some(Schema::Bool(false)) | None => None,
        };
        if let Some(ty) = others {
            let mut docs = Docs {
                description: Some(
                    "The object's other members (`additionalProperties`), kept as sent.".into(),
                ),
                ..Docs::default()
            };
            docs.notes.append(&mut self.notes);
            let rust_name = alternative_with("extra".to_owned(), "_", |n| names.contains(n));
            let rust_name = unique(rust_name, &ctx.pointer, &mut self.too_alike);
            fields.push(Field {
                json_name: String::new(),
                rust_name,
                ty,
                required: false,
                docs,
                pointer: format!("{}/additionalProperties", ctx.pointer),
                rules: super::Rules::default(),
                additional: true,
            });
        }
        Shape::Def(Kind::Struct(fields), type_docs(schema))
    }

    /// `fal_runtime::File` / `Image` when the object has their shape: a required
    /// string `url` and only fields those types carry, with the same JSON types
    /// (the runtime types read the others as optional, which accepts more).
    fn file_like(
        &self,
        properties: &schemars::Map<String, Schema>,
        required: &BTreeSet<&str>,
    ) -> Option<Ty> {
        const STRINGS: [&str; 4] = ["url", "content_type", "file_name", "file_data"];
        const INTEGERS: [&str; 3] = ["file_size", "width", "height"];
        if !required.contains("url") {
            return None;
        }
        let mut image = false;
        for (name, schema) in properties {
            let expected = if STRINGS.contains(&name.as_str()) {
                InstanceType::String
            } else if INTEGERS.contains(&name.as_str()) {
                image |= name != "file_size";
                InstanceType::Integer
            } else {
                return None;
            };
            if self.scalar_type(schema, 0) != Some(expected) {
                return None;
            }
        }
        Some(if image { Ty::Image } else { Ty::File })
    }

    /// The single JSON type of a (possibly nullable or wrapped) scalar schema.
    fn scalar_type(&self, schema: &Schema, depth: usize) -> Option<InstanceType> {
        let Schema::Object(obj) = schema else {
            return None;
        };
        if depth > 8 || obj.enum_values.is_some() || obj.const_value.is_some() {
            return None;
        }
        if let Some(key) = obj
            .reference
            .as_deref()
            .and_then(|r| r.strip_prefix(COMPONENTS))
        {
            return self.scalar_type(self.components.get(key)?, depth + 1);
        }
        if let Some(sub) = obj.subschemas.as_deref() {
            let arms = sub
                .any_of
                .as_ref()
                .or(sub.all_of.as_ref())
                .or(sub.one_of.as_ref())?;
            let mut found = None;
            for arm in arms {
                if is_null(arm) {
                    continue;
                }
                let t = self.scalar_type(arm, depth + 1)?;
                if found.replace(t).is_some_and(|prev| prev != t) {
                    return None;
                }
            }
            return found;
        }
        match &obj.instance_type {
            Some(SingleOrVec::Single(t)) => Some(**t),
            _ => None,
        }
    }

    fn all_of(&mut self, schema: &SchemaObject, parts: &[Schema], ctx: &Ctx) -> Shape {
        if let [only] = parts {
            return match only {
                Schema::Object(obj) => self.shape(obj, &ctx.at("allOf/0")),
                Schema::Bool(_) => Shape::Ty(Ty::Json),
            };
        }
        // Several parts: merge object properties when every part is an object.
        let mut merged = SchemaObject {
            metadata: schema.metadata.clone(),
            ..SchemaObject::default()
        };
        let object = merged.object();
        for part in parts {
            let resolved = match part {
                Schema::Object(obj) => match obj
                    .reference
                    .as_deref()
                    .and_then(|r| r.strip_prefix(COMPONENTS))
                {
                    Some(key) => self.components.get(key).map(to_object),
                    None => Some(obj.clone()),
                },
                Schema::Bool(_) => None,
            };
            match resolved.and_then(|r| r.object) {
                Some(part_object) => {
                    object.properties.extend(part_object.properties);
                    object.required.extend(part_object.required);
                }
                None => {
                    self.notes.push(
                        "The schema combines parts with `allOf` that are not all objects, so any JSON is accepted."
                            .into(),
                    );
                    return Shape::Ty(Ty::Json);
                }
            }
        }
        self.object(&merged, ctx)
    }

    /// An `anyOf`/`oneOf`. Arm definitions are named only once the arms are
    /// folded: an arm left alone takes the union's own place (and name).
    fn union(&mut self, parent: &SchemaObject, arms: &[Schema], ctx: &Ctx) -> Shape {
        if let Some((kind, nullable)) = self.tagged(parent, arms, ctx) {
            let docs = type_docs(parent);
            return if nullable {
                Shape::Ty(option(self.define(kind, docs, ctx)))
            } else {
                Shape::Def(kind, docs)
            };
        }
        let parent_values = string_values(parent);
        let mut nullable = false;
        let mut shapes: Vec<Shape> = Vec::new();
        let list_pointer = ctx.pointer.clone();
        for (index, arm) in arms.iter().enumerate() {
            if is_null(arm) {
                nullable = true;
                continue;
            }
            let arm_ctx = Ctx {
                pointer: format!("{list_pointer}/{index}"),
                fixed_name: None,
                ..ctx.clone()
            };
            let shape = match (arm, &parent_values) {
                // `enum` next to `anyOf: [string, null]` constrains the string arm.
                (Schema::Object(obj), Some(values))
                    if obj.instance_type
                        == Some(SingleOrVec::Single(Box::new(InstanceType::String))) =>
                {
                    Shape::Def(
                        Kind::Enum(variants(values, &ctx.pointer, &mut self.too_alike)),
                        type_docs(parent),
                    )
                }
                (Schema::Object(obj), _) => self.shape(obj, &arm_ctx),
                (Schema::Bool(_), _) => Shape::Ty(Ty::Json),
            };
            let shape = match shape {
                Shape::Ty(Ty::Option(inner)) => {
                    nullable = true;
                    Shape::Ty(*inner)
                }
                other => other,
            };
            if !shapes.iter().any(|s| same_shape(s, &shape)) {
                shapes.push(shape);
            }
        }
        let has_enum = shapes.iter().any(|s| match s {
            Shape::Def(kind, _) => matches!(kind, Kind::Enum(_)),
            Shape::Ty(ty) => self.is_enum(ty),
        });
        if has_enum {
            shapes.retain(|s| !matches!(s, Shape::Ty(Ty::String)));
        }
        if shapes.iter().any(|s| matches!(s, Shape::Ty(Ty::Number))) {
            shapes.retain(|s| !matches!(s, Shape::Ty(Ty::Integer)));
        }
        if shapes.iter().any(|s| matches!(s, Shape::Ty(Ty::Json))) {
            shapes = vec![Shape::Ty(Ty::Json)];
        }
        if shapes.len() <= 1 {
            return match shapes.pop() {
                None => Shape::Ty(if nullable { option(Ty::Json) } else { Ty::Json }),
                Some(Shape::Ty(ty)) => Shape::Ty(if nullable { option(ty) } else { ty }),
                Some(Shape::Def(kind, docs)) if nullable => {
                    Shape::Ty(option(self.define(kind, docs, ctx)))
                }
                Some(def) => def,
            };
        }
        let mut tys: Vec<Ty> = Vec::with_capacity(shapes.len());
        for shape in shapes {
            tys.push(match shape {
                Shape::Ty(ty) => ty,
                Shape::Def(kind, docs) => {
                    let suffix = match kind {
                        Kind::Enum(_) => "Preset",
                        Kind::Struct(_) => "Object",
                        Kind::Union(_) | Kind::Tagged(_) => "Choice",
                        Kind::Newtype(_) => "Value",
                    };
                    let arm_ctx = Ctx {
                        base: format!("{}{suffix}", ctx.base),
                        fixed_name: None,
                        ..ctx.clone()
                    };
                    self.define(kind, docs, &arm_ctx)
                }
            });
        }
        tys.sort_by_key(|t| self.rank(t));
        let mut arms: Vec<UnionArm> = Vec::new();
        let mut arm_names: BTreeSet<String> = BTreeSet::new();
        for ty in tys {
            let base = self.arm_name(&ty);
            let rust_name = alternative(base, |n| arm_names.contains(n));
            let rust_name = unique(rust_name, &ctx.pointer, &mut self.too_alike);
            arm_names.insert(rust_name.clone());
            arms.push(UnionArm { rust_name, ty });
        }
        self.finish_union(arms, type_docs(parent), nullable, ctx)
    }

    /// A union of objects told apart by one property, when the arms allow it:
    /// every non-null arm is an object (inline or a component) and either the
    /// parent names the property (`discriminator.propertyName`, values from its
    /// `mapping`, the arm's own fixed value, or the component name), or one
    /// property is required by every arm and fixed by each to a distinct string.
    /// Returns the union and whether a `null` arm makes it optional.
    fn tagged(
        &mut self,
        parent: &SchemaObject,
        arms: &[Schema],
        ctx: &Ctx,
    ) -> Option<(Kind, bool)> {
        struct Arm {
            index: usize,
            reference: Option<String>,
            component: Option<String>,
            schema: SchemaObject,
        }
        let mut nullable = false;
        let mut objects: Vec<Arm> = Vec::new();
        for (index, arm) in arms.iter().enumerate() {
            if is_null(arm) {
                nullable = true;
                continue;
            }
            let Schema::Object(obj) = arm else {
                return None;
            };
            let (component, schema) = match obj.reference.as_deref() {
                Some(reference) => {
                    let key = reference.strip_prefix(COMPONENTS)?;
                    (Some(key.to_owned()), to_object(self.components.get(key)?))
                }
                None => (None, obj.clone()),
            };
            let has_properties = schema
                .object
                .as_deref()
                .is_some_and(|o| !o.properties.is_empty());
            if !has_properties || schema.subschemas.is_some() {
                return None;
            }
            objects.push(Arm {
                index,
                reference: obj.reference.clone(),
                component,
                schema,
            });
        }
        if objects.len() < 2 {
            return None;
        }
        let fixed = |arm: &Arm, property: &str| -> Option<String> {
            let object = arm.schema.object.as_deref()?;
            if !object.required.contains(property) {
                return None;
            }
            match object.properties.get(property)? {
                Schema::Object(p) => fixed_string(p),
                Schema::Bool(_) => None,
            }
        };
        let discriminator = parent.extensions.get("discriminator");
        let explicit = discriminator
            .and_then(|d| d.get("propertyName"))
            .and_then(Value::as_str);
        let (tag, values) = match explicit {
            Some(tag) => {
                let mapping = discriminator
                    .and_then(|d| d.get("mapping"))
                    .and_then(Value::as_object);
                let mut values = Vec::with_capacity(objects.len());
                for arm in &objects {
                    let mapped = mapping.and_then(|m| {
                        m.iter()
                            .find(|(_, target)| {
                                target.as_str().is_some()
                                    && target.as_str() == arm.reference.as_deref()
                            })
                            .map(|(value, _)| value.clone())
                    });
                    values.push(
                        mapped
                            .or_else(|| fixed(arm, tag))
                            .or_else(|| arm.component.clone())?,
                    );
                }
                (tag.to_owned(), values)
            }
            None => {
                let first = &objects[0];
                let candidates =
                    order_of(&first.schema, &first.schema.object.as_deref()?.properties);
                let found = candidates.into_iter().find_map(|property| {
                    let values: Option<Vec<String>> =
                        objects.iter().map(|arm| fixed(arm, property)).collect();
                    values.map(|v| (property.to_owned(), v))
                });
                found?
            }
        };
        let distinct: BTreeSet<&String> = values.iter().collect();
        if distinct.len() != values.len() {
            return None;
        }
        let list_pointer = ctx.pointer.clone();
        let mut out: Vec<TaggedArm> = Vec::with_capacity(objects.len());
        let mut taken: BTreeSet<String> = BTreeSet::new();
        for (arm, value) in objects.into_iter().zip(values) {
            let rust_name = alternative(variant_name(&value), |n| taken.contains(n));
            let rust_name = unique(rust_name, &list_pointer, &mut self.too_alike);
            taken.insert(rust_name.clone());
            let arm_ctx = Ctx {
                role: ctx.role,
                base: type_name(&value),
                owner: ctx.base.clone(),
                file_url: false,
                fixed_name: None,
                pointer: format!("{list_pointer}/{}", arm.index),
            };
            let (ty, carries_tag) = match &arm.reference {
                Some(reference) => (Some(self.lower_ref(reference)), true),
                None => {
                    let mut stripped = arm.schema;
                    let object = stripped.object();
                    object.properties.remove(&tag);
                    object.required.remove(&tag);
                    let closed = !matches!(
                        object.additional_properties.as_deref(),
                        Some(Schema::Object(_))
                    );
                    if object.properties.is_empty() && closed {
                        (None, false)
                    } else {
                        (Some(self.lower(&Schema::Object(stripped), &arm_ctx)), false)
                    }
                }
            };
            out.push(TaggedArm {
                value,
                rust_name,
                ty,
                carries_tag,
            });
        }
        Some((Kind::Tagged(Tagged { tag, arms: out }), nullable))
    }

    fn finish_union(
        &mut self,
        arms: Vec<UnionArm>,
        docs: Docs,
        nullable: bool,
        ctx: &Ctx,
    ) -> Shape {
        if nullable {
            Shape::Ty(option(self.define(Kind::Union(arms), docs, ctx)))
        } else {
            Shape::Def(Kind::Union(arms), docs)
        }
    }

    fn is_enum(&self, ty: &Ty) -> bool {
        matches!(ty, Ty::Named(key) if matches!(self.types.get(key).map(|d| &d.kind), Some(Kind::Enum(_))))
    }

    /// Untagged unions try arms in order: the more specific shapes go first.
    fn rank(&self, ty: &Ty) -> u8 {
        match ty {
            Ty::Named(key) => match self.types.get(key).map(|d| &d.kind) {
                Some(Kind::Struct(_) | Kind::Tagged(_)) => 0,
                Some(Kind::Enum(_)) => 2,
                _ => 4,
            },
            Ty::File | Ty::Image => 1,
            Ty::Bool | Ty::Integer | Ty::List(_) => 2,
            Ty::Number | Ty::String | Ty::FileInput => 3,
            Ty::Map(_) => 5,
            Ty::JsonObject => 6,
            Ty::Option(_) => 7,
            Ty::Json => 8,
        }
    }

    fn arm_name(&self, ty: &Ty) -> String {
        match ty {
            Ty::Named(key) => match self.types.get(key) {
                Some(TypeDef {
                    kind: Kind::Enum(_),
                    ..
                }) => "Preset".into(),
                Some(TypeDef {
                    kind: Kind::Union(_) | Kind::Tagged(_),
                    ..
                }) => "Choice".into(),
                Some(def) => def.name.clone(),
                None => "Value".into(),
            },
            Ty::Bool => "Bool".into(),
            Ty::Integer => "Integer".into(),
            Ty::Number => "Number".into(),
            Ty::String => "Text".into(),
            Ty::FileInput | Ty::File => "File".into(),
            Ty::Image => "Image".into(),
            Ty::Json => "Json".into(),
            Ty::JsonObject => "Object".into(),
            Ty::Map(_) => "Map".into(),
            Ty::List(inner) => format!("{}List", self.arm_name(inner)),
            Ty::Option(inner) => self.arm_name(inner),
        }
    }
}

/// Whether two union arms have the same type (or would define the same one).
fn same_shape(a: &Shape, b: &Shape) -> bool {
    match (a, b) {
        (Shape::Ty(x), Shape::Ty(y)) => x == y,
        // Docs aside, as for names (see `same`).
        (Shape::Def(k1, _), Shape::Def(k2, _)) => k1 == k2,
        _ => false,
    }
}

fn newtype(name: &str, ty: Ty, docs: Docs) -> TypeDef {
    TypeDef {
        name: name.to_owned(),
        docs,
        role: Role::Input,
        kind: Kind::Newtype(ty),
    }
}

fn option(ty: Ty) -> Ty {
    match ty {
        Ty::Option(_) => ty,
        other => Ty::Option(Box::new(other)),
    }
}

fn to_object(schema: &Schema) -> SchemaObject {
    match schema {
        Schema::Object(obj) => obj.clone(),
        Schema::Bool(_) => SchemaObject::default(),
    }
}

fn missing_note(key: &str) -> String {
    format!(
        "The schema refers to component `{key}`, which the document does not define, so any JSON is accepted."
    )
}

fn is_null(schema: &Schema) -> bool {
    match schema {
        Schema::Object(obj) => {
            obj.instance_type == Some(SingleOrVec::Single(Box::new(InstanceType::Null)))
                || obj
                    .enum_values
                    .as_ref()
                    .is_some_and(|v| v.iter().all(Value::is_null) && !v.is_empty())
                || obj.const_value == Some(Value::Null)
        }
        Schema::Bool(_) => false,
    }
}

/// The string values of an `enum` whose values are all strings (nulls aside).
fn string_values(schema: &SchemaObject) -> Option<Vec<String>> {
    let values = schema.enum_values.as_ref()?;
    let mut out = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for value in values {
        match value {
            Value::String(s) => {
                if seen.insert(s) {
                    out.push(s.clone());
                }
            }
            Value::Null => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The one string a property is fixed to: a string `const` (JSON Schema
/// 2019+, OpenAPI 3.1) or an `enum` of one string.
fn fixed_string(schema: &SchemaObject) -> Option<String> {
    if let Some(Value::String(value)) = &schema.const_value {
        return Some(value.clone());
    }
    match string_values(schema)?.as_slice() {
        [only] => Some(only.clone()),
        _ => None,
    }
}

/// The JSON Schema type of a value (integers are numbers without a fraction).
fn json_type(value: &Value) -> Option<InstanceType> {
    Some(match value {
        Value::Null => InstanceType::Null,
        Value::Bool(_) => InstanceType::Boolean,
        Value::Number(n) if n.is_i64() || n.is_u64() => InstanceType::Integer,
        Value::Number(_) => InstanceType::Number,
        Value::String(_) => InstanceType::String,
        Value::Array(_) => InstanceType::Array,
        Value::Object(_) => return None,
    })
}

/// The name a collision rule found, or (when it gave up) the unsuffixed name,
/// keeping the first place that happened in `too_alike`: lowering goes on and
/// the document is refused at its end, like a schema nested too deep.
fn unique(
    found: Result<String, TooManyAlike>,
    pointer: &str,
    too_alike: &mut Option<(String, TooManyAlike)>,
) -> String {
    found.unwrap_or_else(|alike| {
        let name = alike.name.clone();
        too_alike.get_or_insert_with(|| (pointer.to_owned(), alike));
        name
    })
}

fn variants(
    values: &[String],
    pointer: &str,
    too_alike: &mut Option<(String, TooManyAlike)>,
) -> Vec<Variant> {
    let mut out: Vec<Variant> = Vec::with_capacity(values.len());
    let mut names: BTreeSet<String> = BTreeSet::new();
    for value in values {
        let rust_name = alternative(variant_name(value), |n| names.contains(n));
        let rust_name = unique(rust_name, pointer, too_alike);
        names.insert(rust_name.clone());
        out.push(Variant {
            value: value.clone(),
            rust_name,
        });
    }
    out
}

/// Property order: `x-fal-order-properties` first (fal's display order), then
/// the rest by name.
fn order_of<'s>(
    schema: &'s SchemaObject,
    properties: &'s schemars::Map<String, Schema>,
) -> Vec<&'s str> {
    let mut order: Vec<&str> = Vec::with_capacity(properties.len());
    // A set beside the list: checking the list itself would be quadratic.
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    if let Some(Value::Array(listed)) = schema.extensions.get("x-fal-order-properties") {
        for name in listed.iter().filter_map(Value::as_str) {
            if properties.contains_key(name) && placed.insert(name) {
                order.push(name);
            }
        }
    }
    for name in properties.keys() {
        if placed.insert(name) {
            order.push(name);
        }
    }
    order
}

/// The component keys `roots` reach through `$ref`s, in key order. Iterative
/// (an explicit stack), so a long chain of references cannot overflow the
/// stack.
fn reachable<'s>(
    doc: &'s BTreeMap<String, Schema>,
    roots: impl IntoIterator<Item = &'s Schema>,
) -> BTreeSet<String> {
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<&Schema> = roots.into_iter().collect();
    while let Some(schema) = stack.pop() {
        let Schema::Object(obj) = schema else {
            continue;
        };
        if let Some(key) = obj
            .reference
            .as_deref()
            .and_then(|r| r.strip_prefix(COMPONENTS))
        {
            if let Some(target) = doc.get(key) {
                if found.insert(key.to_owned()) {
                    stack.push(target);
                }
            }
        }
        if let Some(sub) = obj.subschemas.as_deref() {
            for list in [&sub.all_of, &sub.any_of, &sub.one_of]
                .into_iter()
                .flatten()
            {
                stack.extend(list);
            }
            for one in [&sub.not, &sub.if_schema, &sub.then_schema, &sub.else_schema]
                .into_iter()
                .flatten()
            {
                stack.push(one);
            }
        }
        if let Some(array) = obj.array.as_deref() {
            match &array.items {
                Some(SingleOrVec::Single(item)) => stack.push(item),
                Some(SingleOrVec::Vec(items)) => stack.extend(items),
                None => {}
            }
            stack.extend(array.additional_items.as_deref());
            stack.extend(array.contains.as_deref());
        }
        if let Some(object) = obj.object.as_deref() {
            stack.extend(object.properties.values());
            stack.extend(object.pattern_properties.values());
            stack.extend(object.additional_properties.as_deref());
        }
        if let Some(Value::Array(items)) = obj.extensions.get("prefixItems") {
            // Tuple items kept as raw JSON by schemars: only their `$ref`s matter here.
            for item in items {
                collect_raw_refs(doc, item, &mut found, &mut stack);
            }
        }
    }
    found
}

/// `$ref`s inside raw JSON (schema parts schemars keeps as extensions).
fn collect_raw_refs<'s>(
    doc: &'s BTreeMap<String, Schema>,
    value: &Value,
    found: &mut BTreeSet<String>,
    stack: &mut Vec<&'s Schema>,
) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                if let Some(key) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix(COMPONENTS))
                {
                    if let Some((key, target)) = doc.get_key_value(key) {
                        if found.insert(key.clone()) {
                            stack.push(target);
                        }
                    }
                }
                pending.extend(map.values());
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
}
