//! The intermediate representation between parsing and emitting.
//!
//! It says what Rust to write, not how: endpoints with their module path and
//! the type definitions each one's module holds. Lowering decides every naming
//! and typing question (so emitting is mechanical and other tools can read the
//! same model); emitting only turns it into tokens.
//!
//! One schema definition is one Rust type: a component is lowered once per
//! endpoint, whether the input, the output or both use it, and every type is
//! named in its endpoint's module under its schema name. Names depend only on
//! the endpoint's own document (see [`naming`] for the collision rule), so
//! adding an endpoint never renames a type of another. Definitions that
//! several endpoints spell identically are defined once and re-exported by the
//! others (see `share`).

mod docs;
mod lower;
pub mod naming;
pub mod rest;
pub mod rules;
mod share;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use lower::lower;

/// How deep schemas may nest, one inside the other, counting every `$ref`
/// followed, `allOf`/`anyOf`/`oneOf` part, list item, map value and property
/// on the way. A deeper document is refused with an error naming its file and
/// the JSON pointer where the limit was crossed, so no document (a `$ref`
/// chain thousands long, say) can exhaust the stack. fal's own documents nest
/// at most 16 deep; the rules of a value ([`rules_of`]) are read within the
/// same bound.
pub const MAX_DEPTH: usize = 48;
pub use rules::{rules_of, Limits, Rules};

/// Everything to generate: endpoints, sorted by id.
#[derive(Clone, Debug, Default)]
pub struct Ir {
    /// Endpoints, sorted by id.
    pub endpoints: Vec<Endpoint>,
}

/// One endpoint: where its bindings live and the types they define.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The endpoint id, e.g. `fal-ai/flux/dev`.
    pub id: String,
    /// The document it came from.
    pub file: PathBuf,
    /// fal's category, e.g. `text-to-image`.
    pub category: Option<String>,
    /// The module path, one Rust identifier per id segment (`fal_ai`, `flux`, `dev`).
    pub module: Vec<String>,
    /// The input type (the endpoint trait is implemented on it).
    pub input: TypeDef,
    /// The name of the output type (always present, e.g. `FluxDevOutput`):
    /// either a type in [`Endpoint::types`] or an alias of [`Endpoint::output`].
    pub output_name: String,
    /// The output type.
    pub output: Ty,
    /// Every other type defined in the endpoint's module, by name.
    pub types: BTreeMap<String, TypeDef>,
    /// Types of the endpoint's schemas defined identically (down to what they
    /// refer to) by an endpoint earlier in id order, whose module holds them:
    /// name → that module's path. Re-exported here under the same name.
    pub shared: BTreeMap<String, Vec<String>>,
}

/// A Rust type, as used in a field, union arm, list or map.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    /// `bool`.
    Bool,
    /// `i64` (JSON Schema `integer`).
    Integer,
    /// `f64` (JSON Schema `number`).
    Number,
    /// `String`.
    String,
    /// `fal_runtime::FileInput`: a file-URL input that may also be local content.
    FileInput,
    /// `fal_runtime::File`.
    File,
    /// `fal_runtime::Image`.
    Image,
    /// `serde_json::Value`: any JSON.
    Json,
    /// `serde_json::Map<String, Value>`: a free-form object, kept whole.
    JsonObject,
    /// `Vec<T>`.
    List(Box<Ty>),
    /// `BTreeMap<String, T>`.
    Map(Box<Ty>),
    /// `Option<T>`.
    Option(Box<Ty>),
    /// A type defined in the endpoint's module, by name.
    Named(String),
}

/// A generated type definition.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeDef {
    /// The name in the endpoint's module.
    pub name: String,
    /// Documentation.
    pub docs: Docs,
    /// Whether the type is built by users (constructors and `with_` setters are
    /// generated, file-URL strings take local files too) or only read from fal.
    /// A type both sent and received is an input type.
    pub role: Role,
    /// What it is.
    pub kind: Kind,
}

/// Whether a type is sent to fal or received from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Part of a request body.
    Input,
    /// Part of a result.
    Output,
}

/// The shape of a generated type.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A struct with named fields.
    Struct(Vec<Field>),
    /// A string enum; unknown values are kept in an `Other(String)` variant.
    Enum(Vec<Variant>),
    /// An untagged union of distinct JSON shapes, tried in order.
    Union(Vec<UnionArm>),
    /// A struct wrapping one value transparently (input types that are not objects).
    Newtype(Ty),
    /// Objects told apart by the string value of one property: OpenAPI's
    /// `discriminator`, or a property every arm requires and fixes to one value
    /// (`const`, or an `enum` of one).
    Tagged(Tagged),
}

/// A union of objects told apart by one property (an internally tagged enum).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tagged {
    /// The JSON name of the property holding the tag.
    pub tag: String,
    /// One arm per tag value, in the document's order.
    pub arms: Vec<TaggedArm>,
}

/// One arm of a [`Tagged`] union.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TaggedArm {
    /// The tag value on the wire.
    pub value: String,
    /// The Rust variant name, unique in the enum and never `Other`.
    pub rust_name: String,
    /// The arm's object type; `None` when the arm has no property but the tag.
    pub ty: Option<Ty>,
    /// Whether `ty` holds the tag property itself (an arm that is a `$ref` to a
    /// component keeps that definition whole); otherwise the tag is written
    /// and read by the union.
    pub carries_tag: bool,
}

/// A struct field.
#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    /// The JSON property name.
    pub json_name: String,
    /// The Rust field name (snake case, keywords raw), unique in the struct.
    pub rust_name: String,
    /// The field's type (already `Option` when the field may be absent or null).
    pub ty: Ty,
    /// Whether the schema lists the property as required.
    pub required: bool,
    /// Documentation.
    pub docs: Docs,
    /// JSON pointer of the property's schema in the document it was read from
    /// (for tools that check values against the original schema).
    pub pointer: String,
    /// The schema's value rules at this field (checked by `validate()`).
    pub rules: Rules,
    /// This field holds the object's other members: `additionalProperties`
    /// next to `properties`. Its type is a map (`Map` or `JsonObject`), it is
    /// the struct's last field, its `json_name` is empty, and it is flattened
    /// into the object on the wire.
    pub additional: bool,
}

/// A string enum value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Variant {
    /// The value on the wire.
    pub value: String,
    /// The Rust variant name, unique in the enum and never `Other`.
    pub rust_name: String,
}

/// An arm of a union.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UnionArm {
    /// The Rust variant name.
    pub rust_name: String,
    /// The arm's type.
    pub ty: Ty,
}

/// Documentation gathered from a schema; every part is already text, so the IR
/// can be hashed and compared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Docs {
    /// The schema's description (or title), dedented.
    pub description: Option<String>,
    /// fal's default, as JSON text. Documented only: an unset field is left out
    /// of the request so the server applies its own default.
    pub default: Option<String>,
    /// Up to three example values, as JSON text.
    pub examples: Vec<String>,
    /// Limits the server enforces (`1 ≤ value ≤ 4`, length, item counts, pattern).
    pub constraints: Vec<String>,
    /// Notes from code generation (e.g. a missing `$ref` target).
    pub notes: Vec<String>,
}
