//! Identical definitions across endpoints become one type.
//!
//! Every endpoint's module names all its types, but a definition that several
//! endpoints' documents spell identically (fal's `ImageSize`, `LoraWeight`, an
//! `OutputFormat` enum; identical down to the types they refer to) is defined
//! once, in the module of the first of those endpoints in id order (its
//! *home*), and the others re-export it under the same name. So a value from
//! one endpoint's bindings can be passed to another's, and a crate holding a
//! thousand endpoints compiles each shape once. The home is a real endpoint
//! module: no generated name carries a hash or a counter, and adding an
//! endpoint that does not define the same type changes nothing.
//!
//! The operations of a REST document are shared the same way, in document
//! order: each is a module ([`Scope`]) like an endpoint.

use std::collections::BTreeMap;

use super::{Endpoint, Field, Kind, Tagged, TaggedArm, Ty, TypeDef, UnionArm};

/// A module of generated types: an endpoint, or a REST operation.
pub(super) trait Scope {
    /// What makes the module unique (an endpoint id, an operation id).
    fn id(&self) -> &str;
    /// Its module path.
    fn module(&self) -> &[String];
    /// The types it defines, by name.
    fn types(&self) -> &BTreeMap<String, TypeDef>;
    /// Its types, and its re-exports of types defined in another module.
    fn types_and_shared(
        &mut self,
    ) -> (
        &mut BTreeMap<String, TypeDef>,
        &mut BTreeMap<String, Vec<String>>,
    );
}

impl Scope for Endpoint {
    fn id(&self) -> &str {
        &self.id
    }
    fn module(&self) -> &[String] {
        &self.module
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

/// Moves every definition shared with a scope earlier in `endpoints`
/// (endpoints sorted by id, operations in document order) out of its module,
/// recording where it lives instead.
pub(super) fn share<S: Scope>(endpoints: &mut [S]) {
    let mut canon = Canon::default();
    let mut homes: BTreeMap<String, usize> = BTreeMap::new();
    let mut moves: Vec<(usize, String, usize)> = Vec::new();
    for (index, endpoint) in endpoints.iter().enumerate() {
        for name in endpoint.types().keys() {
            let key = canon.key(endpoints, index, name);
            match homes.get(&key) {
                Some(&home) => moves.push((index, name.clone(), home)),
                None => {
                    homes.insert(key, index);
                }
            }
        }
    }
    for (index, name, home) in moves {
        let module = endpoints[home].module().to_vec();
        let (types, shared) = endpoints[index].types_and_shared();
        types.remove(&name);
        shared.insert(name, module);
    }
}

/// A key per definition, equal for two definitions only when they and all
/// they refer to are equal: the canonical text of a definition, with every
/// type it refers to replaced by that type's key, numbered in the order first
/// seen. Numbering (rather than nesting the texts of the types referred to)
/// keeps every text as long as its own definition: a document whose types
/// each refer to the next one twice would otherwise double the text at every
/// level. The input type is never shared: its key names its endpoint.
#[derive(Default)]
struct Canon {
    keys: BTreeMap<(usize, String), String>,
    numbers: BTreeMap<String, usize>,
}

impl Canon {
    fn key(&mut self, endpoints: &[impl Scope], index: usize, name: &str) -> String {
        if let Some(key) = self.keys.get(&(index, name.to_owned())) {
            return key.clone();
        }
        let endpoint = &endpoints[index];
        let key = match endpoint.types().get(name) {
            Some(def) => {
                let def = TypeDef {
                    name: def.name.clone(),
                    docs: def.docs.clone(),
                    role: def.role,
                    kind: self.kind(endpoints, index, &def.kind),
                };
                let text = format!("{def:?}");
                let next = self.numbers.len();
                format!("#{}", self.numbers.entry(text).or_insert(next))
            }
            // The input type (or an unknown name): unique to the endpoint.
            None => format!("{}#{name}", endpoint.id()),
        };
        self.keys.insert((index, name.to_owned()), key.clone());
        key
    }

    fn kind(&mut self, endpoints: &[impl Scope], index: usize, kind: &Kind) -> Kind {
        match kind {
            Kind::Struct(fields) => Kind::Struct(
                fields
                    .iter()
                    .map(|f| Field {
                        ty: self.ty(endpoints, index, &f.ty),
                        ..f.clone()
                    })
                    .collect(),
            ),
            Kind::Union(arms) => Kind::Union(
                arms.iter()
                    .map(|a| UnionArm {
                        rust_name: a.rust_name.clone(),
                        ty: self.ty(endpoints, index, &a.ty),
                    })
                    .collect(),
            ),
            Kind::Newtype(ty) => Kind::Newtype(self.ty(endpoints, index, ty)),
            Kind::Enum(variants) => Kind::Enum(variants.clone()),
            Kind::Tagged(tagged) => Kind::Tagged(Tagged {
                tag: tagged.tag.clone(),
                arms: tagged
                    .arms
                    .iter()
                    .map(|a| TaggedArm {
                        ty: a.ty.as_ref().map(|ty| self.ty(endpoints, index, ty)),
                        ..a.clone()
                    })
                    .collect(),
            }),
        }
    }

    fn ty(&mut self, endpoints: &[impl Scope], index: usize, ty: &Ty) -> Ty {
        match ty {
            Ty::Named(name) => Ty::Named(self.key(endpoints, index, name)),
            Ty::List(inner) => Ty::List(Box::new(self.ty(endpoints, index, inner))),
            Ty::Map(inner) => Ty::Map(Box::new(self.ty(endpoints, index, inner))),
            Ty::Option(inner) => Ty::Option(Box::new(self.ty(endpoints, index, inner))),
            other => other.clone(),
        }
    }
}
