//! Parsed documents → IR: every typing and naming decision lives here.
//!
//! Choices (documented for users in the crate docs):
//! - A `$ref` to a component the document does not contain becomes
//!   `serde_json::Value` with a doc note; a reference cycle is cut the same way.
//! - File-URL inputs (`x-fal-file-input`, `format: uri`, or a `*_url`/`*_urls`
//!   string) become `fal_runtime::FileInput`; only in request types.
//! - Objects shaped like fal's File / Image become `fal_runtime::File` / `Image`.
//! - `anyOf`/`oneOf` drop `null` arms into `Option`, fold arms a sibling arm
//!   already accepts (a plain string next to a string enum, an integer next to a
//!   number) and become an untagged enum otherwise.
//! - Local type names come from component keys (never titles), then from
//!   property names; collisions are resolved within the endpoint only, so adding
//!   another endpoint never renames anything.

use std::collections::{BTreeMap, BTreeSet};

use schemars::schema::{InstanceType, Schema, SchemaObject, SingleOrVec};
use serde_json::Value;

use super::docs::{docs_of, type_docs};
use super::hash::stable_hash;
use super::naming::{snake_ident, type_name, unique, variant_name};
use super::{
    Docs, Endpoint, Field, Ir, Kind, Role, Tagged, TaggedArm, Ty, TypeDef, TypeKey, UnionArm,
    Variant, MAX_DEPTH,
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
        let endpoint = EndpointLowering::new(&doc.components, &mut ir.types).run(doc)?;
        ir.endpoints.push(endpoint);
    }
    Ok(ir)
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
    /// The preferred local name for an inline definition.
    base: String,
    /// A `*_url`/`*_urls` property: its strings are file inputs.
    file_url: bool,
    /// Set when lowering a component, so its reserved name applies.
    component: Option<String>,
    /// JSON pointer of the schema being lowered.
    pointer: String,
}

impl Ctx {
    /// The context of a nested schema at `pointer` + `/part`.
    fn child(&self, base: String, part: &str) -> Self {
        Self {
            role: self.role,
            base,
            file_url: self.file_url,
            component: None,
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

/// The lowering of one naming scope (an endpoint, or one REST operation):
/// local names are unique inside it, definitions are shared through `types`.
pub(super) struct EndpointLowering<'a> {
    /// The document's components, which `$ref`s name.
    components: &'a BTreeMap<String, Schema>,
    /// Whether URL strings in request types become `fal_runtime::FileInput`
    /// (queue inputs, where the client uploads local files), or stay strings.
    file_inputs: bool,
    types: &'a mut BTreeMap<TypeKey, TypeDef>,
    /// Local names reserved for components (name → component key).
    reserved: BTreeMap<String, String>,
    /// Component key → its reserved local name.
    component_names: BTreeMap<String, String>,
    /// Local names in use (name → structural hash of the definition).
    claimed: BTreeMap<String, u64>,
    exports: BTreeMap<String, TypeKey>,
    done: BTreeMap<(String, Role), Ty>,
    in_progress: BTreeSet<(String, Role)>,
    /// Doc notes raised while lowering the current field.
    notes: Vec<String>,
    /// How many schemas are being lowered, one inside the other.
    depth: usize,
    /// The pointer of the first schema nested deeper than [`MAX_DEPTH`].
    too_deep: Option<String>,
}

impl<'a> EndpointLowering<'a> {
    pub(super) fn new(
        components: &'a BTreeMap<String, Schema>,
        types: &'a mut BTreeMap<TypeKey, TypeDef>,
    ) -> Self {
        let mut reserved = BTreeMap::new();
        let mut component_names = BTreeMap::new();
        for key in components.keys() {
            let name = unique(type_name(key), "", |n| reserved.contains_key(n));
            reserved.insert(name.clone(), key.clone());
            component_names.insert(key.clone(), name);
        }
        Self {
            components,
            file_inputs: true,
            types,
            reserved,
            component_names,
            claimed: BTreeMap::new(),
            exports: BTreeMap::new(),
            done: BTreeMap::new(),
            in_progress: BTreeSet::new(),
            notes: Vec::new(),
            depth: 0,
            too_deep: None,
        }
    }

    /// The error for a schema nested deeper than [`MAX_DEPTH`] in `file`, if
    /// lowering met one (what is deeper was not read).
    pub(super) fn depth_error(&self, file: &std::path::Path) -> Result<(), Error> {
        match &self.too_deep {
            None => Ok(()),
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

        // Input: always a local, nominal type (the endpoint trait is implemented on it).
        let (input_key, input_schema) = self.resolve_root(&doc.input);
        let input_name = match &input_key {
            Some(key) => self.component_names.get(key).cloned().unwrap_or_default(),
            None => {
                let name = unique(format!("{pascal}Input"), "", |n| {
                    self.reserved.contains_key(n)
                });
                self.reserved.insert(name.clone(), String::new());
                name
            }
        };
        let ctx = Ctx {
            role: Role::Input,
            base: input_name.clone(),
            file_url: false,
            component: None,
            pointer: input_key
                .as_deref()
                .map(component_pointer)
                .unwrap_or_else(|| doc.input_pointer.clone()),
        };
        let input = match input_schema {
            Some(schema) => {
                if let Some(key) = &input_key {
                    self.in_progress.insert((key.clone(), Role::Input));
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
        self.claimed.insert(input_name.clone(), 0);
        let mut input = input;
        if input.docs.description.is_none() {
            input.docs.description = Some(format!("The request body of `{}`.", doc.endpoint_id));
        }

        // Output: any type, re-exported or aliased under its local name.
        let (output_key, _) = match &doc.output {
            Some(schema) => self.resolve_root(schema),
            None => (None, None),
        };
        let output_name = match &output_key {
            Some(key) if Some(key) != input_key.as_ref() => {
                self.component_names.get(key).cloned().unwrap_or_default()
            }
            _ => {
                let name = unique(format!("{pascal}Output"), "", |n| {
                    self.reserved.contains_key(n) || self.claimed.contains_key(n)
                });
                self.reserved.insert(name.clone(), String::new());
                name
            }
        };
        let output = match &doc.output {
            Some(schema) => {
                let ctx = Ctx {
                    role: Role::Output,
                    base: output_name.clone(),
                    file_url: false,
                    component: None,
                    pointer: String::new(),
                };
                self.lower(schema, &ctx)
            }
            None => Ty::Json,
        };
        self.notes.clear();
        self.depth_error(&doc.file)?;
        Ok(Endpoint {
            id: doc.endpoint_id.clone(),
            file: doc.file.clone(),
            category: doc.category.clone(),
            module,
            input,
            output_name,
            output,
            exports: self.exports,
        })
    }

    /// Keeps URL strings in request types as strings: REST APIs take URLs, and
    /// the client has nothing to upload for them.
    pub(super) fn without_file_inputs(mut self) -> Self {
        self.file_inputs = false;
        self
    }

    /// Claims a local name for a type defined outside the lowering (a REST
    /// operation's request struct), made unique in the scope; returns it.
    pub(super) fn reserve(&mut self, name: &str) -> String {
        let name = unique(name.to_owned(), "", |n| {
            self.reserved.contains_key(n) || self.claimed.contains_key(n)
        });
        self.reserved.insert(name.clone(), String::new());
        self.claimed.insert(name.clone(), 0);
        name
    }

    /// Lowers a root schema found at `pointer`; an inline definition is named
    /// `base` (or a unique variant of it).
    pub(super) fn lower_root(
        &mut self,
        schema: &Schema,
        role: Role,
        base: &str,
        pointer: &str,
    ) -> Ty {
        let ctx = Ctx {
            role,
            base: base.to_owned(),
            file_url: false,
            component: None,
            pointer: pointer.to_owned(),
        };
        self.lower(schema, &ctx)
    }

    /// The doc notes raised since the last call (missing refs, cycles, …).
    pub(super) fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    /// A definition lowered so far, by key.
    pub(super) fn definition(&self, key: &str) -> Option<&TypeDef> {
        self.types.get(key)
    }

    /// The key a local name stands for, if a shared definition took it.
    pub(super) fn exported(&self, name: &str) -> Option<&str> {
        self.exports.get(name).map(String::as_str)
    }

    /// The shared types visible in the scope, by local name.
    pub(super) fn into_exports(self) -> BTreeMap<String, TypeKey> {
        self.exports
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

    fn lower_ref(&mut self, reference: &str, ctx: &Ctx) -> Ty {
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
        let memo = (key.to_owned(), ctx.role);
        if let Some(ty) = self.done.get(&memo) {
            return ty.clone();
        }
        if !self.in_progress.insert(memo.clone()) {
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
        let component_ctx = Ctx {
            role: ctx.role,
            base: name,
            file_url: false,
            component: Some(key.to_owned()),
            pointer: component_pointer(key),
        };
        let ty = self.lower(target, &component_ctx);
        self.in_progress.remove(&memo);
        self.done.insert(memo, ty.clone());
        ty
    }

    /// Gives a definition its local name and its shared key.
    fn define(&mut self, kind: Kind, docs: Docs, ctx: &Ctx) -> Ty {
        let structural = stable_hash(&(ctx.role, &kind, &docs));
        let suffix = match (&kind, ctx.role, &ctx.component) {
            (_, Role::Output, Some(_)) => "Output",
            (Kind::Union(_) | Kind::Tagged(_), _, _) => "Choice",
            _ => "",
        };
        let available = |this: &Self, name: &str| {
            let reserved_ok = match this.reserved.get(name) {
                None => true,
                Some(owner) => Some(owner) == ctx.component.as_ref(),
            };
            let claim_ok = this.claimed.get(name).is_none_or(|h| *h == structural);
            reserved_ok && claim_ok
        };
        let name = if available(self, &ctx.base) {
            ctx.base.clone()
        } else {
            unique(format!("{}{suffix}", ctx.base), "", |n| !available(self, n))
        };
        self.claimed.insert(name.clone(), structural);
        let def = TypeDef {
            name: name.clone(),
            docs,
            role: ctx.role,
            kind,
        };
        let full = stable_hash(&def);
        let mut key = format!("{name}{:08x}", full >> 32);
        if self
            .types
            .get(&key)
            .is_some_and(|existing| *existing != def)
        {
            key = format!("{name}{full:016x}");
        }
        self.types.entry(key.clone()).or_insert(def);
        self.exports.insert(name, key.clone());
        Ty::Named(key)
    }

    /// Every nested schema passes through here, so this is where the depth is
    /// bounded: past [`MAX_DEPTH`] the first pointer is kept (reported by
    /// [`Self::depth_error`]) and nothing deeper is read, so no document can
    /// exhaust the stack.
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
            return Shape::Ty(self.lower_ref(reference, ctx));
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
                    return Shape::Def(Kind::Enum(variants(&values)), type_docs(schema));
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
                file_url: json_name.ends_with("_url") || json_name.ends_with("_urls"),
                component: None,
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
            let rust_name = unique(snake_ident(json_name), "_", |n| names.contains(n));
            names.insert(rust_name.clone());
            fields.push(Field {
                json_name: json_name.to_owned(),
                rust_name,
                ty,
                required: is_required,
                docs,
                pointer: field_ctx.pointer,
                additional: false,
            });
        }
        // `additionalProperties` next to `properties`: the other members are
        // kept in a map flattened into the object, never dropped.
        let others = match object.and_then(|o| o.additional_properties.as_deref()) {
            Some(Schema::Bool(true)) => Some(Ty::JsonObject),
            Some(Schema::Object(value)) => {
                let value_ctx = ctx.child(format!("{}Value", ctx.base), "additionalProperties");
                match self.lower(&Schema::Object(value.clone()), &value_ctx) {
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
            fields.push(Field {
                json_name: String::new(),
                rust_name: unique("extra".to_owned(), "_", |n| names.contains(n)),
                ty,
                required: false,
                docs,
                pointer: format!("{}/additionalProperties", ctx.pointer),
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
        let mut tys: Vec<Ty> = Vec::new();
        let list_pointer = ctx.pointer.clone();
        for (index, arm) in arms.iter().enumerate() {
            if is_null(arm) {
                nullable = true;
                continue;
            }
            let ctx = &Ctx {
                pointer: format!("{list_pointer}/{index}"),
                ..ctx.clone()
            };
            let ty = match (arm, &parent_values) {
                // `enum` next to `anyOf: [string, null]` constrains the string arm.
                (Schema::Object(obj), Some(values))
                    if obj.instance_type
                        == Some(SingleOrVec::Single(Box::new(InstanceType::String))) =>
                {
                    self.define(Kind::Enum(variants(values)), type_docs(parent), ctx)
                }
                (Schema::Object(obj), _) => match self.shape(obj, ctx) {
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
                            component: None,
                            ..ctx.clone()
                        };
                        self.define(kind, docs, &arm_ctx)
                    }
                },
                (Schema::Bool(_), _) => Ty::Json,
            };
            match ty {
                Ty::Option(inner) => {
                    nullable = true;
                    tys.push(*inner);
                }
                other => tys.push(other),
            }
        }
        let mut unique_tys: Vec<Ty> = Vec::new();
        for ty in tys {
            if !unique_tys.contains(&ty) {
                unique_tys.push(ty);
            }
        }
        let has_enum = unique_tys.iter().any(|t| self.is_enum(t));
        if has_enum {
            unique_tys.retain(|t| *t != Ty::String);
        }
        if unique_tys.contains(&Ty::Number) {
            unique_tys.retain(|t| *t != Ty::Integer);
        }
        if unique_tys.contains(&Ty::Json) {
            unique_tys = vec![Ty::Json];
        }
        let ty = match unique_tys.len() {
            0 => Ty::Json,
            1 => unique_tys.remove(0),
            _ => {
                unique_tys.sort_by_key(|t| self.rank(t));
                let mut arms: Vec<UnionArm> = Vec::new();
                for ty in unique_tys {
                    let base = self.arm_name(&ty);
                    let rust_name = unique(base, "", |n| arms.iter().any(|a| a.rust_name == n));
                    arms.push(UnionArm { rust_name, ty });
                }
                return self.finish_union(arms, type_docs(parent), nullable, ctx);
            }
        };
        Shape::Ty(if nullable { option(ty) } else { ty })
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
                Schema::Object(p) => match string_values(p)?.as_slice() {
                    [only] => Some(only.clone()),
                    _ => None,
                },
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
        for (arm, value) in objects.into_iter().zip(values) {
            let rust_name = unique(variant_name(&value), "Alt", |n| {
                out.iter().any(|a: &TaggedArm| a.rust_name == n)
            });
            let arm_ctx = Ctx {
                role: ctx.role,
                base: type_name(&value),
                file_url: false,
                component: None,
                pointer: format!("{list_pointer}/{}", arm.index),
            };
            let (ty, carries_tag) = match &arm.reference {
                Some(reference) => (Some(self.lower_ref(reference, &arm_ctx)), true),
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
                    kind: Kind::Union(_),
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

/// The string values of an `enum` whose values are all strings (nulls aside),
/// or the one value of a string `const` (JSON Schema 2019+, OpenAPI 3.1), which
/// is an `enum` of one.
fn string_values(schema: &SchemaObject) -> Option<Vec<String>> {
    let values = match (&schema.enum_values, &schema.const_value) {
        (Some(values), _) => values.as_slice(),
        (None, Some(value)) => std::slice::from_ref(value),
        (None, None) => return None,
    };
    let mut out = Vec::new();
    for value in values {
        match value {
            Value::String(s) => {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
            Value::Null => {}
            _ => return None,
        }
    }
    (!out.is_empty()).then_some(out)
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

fn variants(values: &[String]) -> Vec<Variant> {
    let mut out: Vec<Variant> = Vec::with_capacity(values.len());
    for value in values {
        let rust_name = unique(variant_name(value), "Alt", |n| {
            out.iter().any(|v| v.rust_name == n)
        });
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
    if let Some(Value::Array(listed)) = schema.extensions.get("x-fal-order-properties") {
        for name in listed.iter().filter_map(Value::as_str) {
            if properties.contains_key(name) && !order.contains(&name) {
                order.push(name);
            }
        }
    }
    for name in properties.keys() {
        if !order.contains(&name.as_str()) {
            order.push(name);
        }
    }
    order
}
