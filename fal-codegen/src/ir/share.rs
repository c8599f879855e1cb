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

use std::collections::BTreeMap;

use super::{Endpoint, Field, Kind, Ty, TypeDef, UnionArm};

/// Moves every definition shared with an endpoint earlier in `endpoints`
/// (sorted by id) out of its module, recording where it lives instead.
pub(super) fn share(endpoints: &mut [Endpoint]) {
    let mut canon = Canon::default();
    let mut homes: BTreeMap<String, usize> = BTreeMap::new();
    let mut moves: Vec<(usize, String, usize)> = Vec::new();
    for (index, endpoint) in endpoints.iter().enumerate() {
        for name in endpoint.types.keys() {
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
        let module = endpoints[home].module.clone();
        let endpoint = &mut endpoints[index];
        endpoint.types.remove(&name);
        endpoint.shared.insert(name, module);
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
    fn key(&mut self, endpoints: &[Endpoint], index: usize, name: &str) -> String {
        if let Some(key) = self.keys.get(&(index, name.to_owned())) {
            return key.clone();
        }
        let endpoint = &endpoints[index];
        let key = match endpoint.types.get(name) {
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
            None => format!("{}#{name}", endpoint.id),
        };
        self.keys.insert((index, name.to_owned()), key.clone());
        key
    }

    fn kind(&mut self, endpoints: &[Endpoint], index: usize, kind: &Kind) -> Kind {
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
        }
    }

    fn ty(&mut self, endpoints: &[Endpoint], index: usize, ty: &Ty) -> Ty {
        match ty {
            Ty::Named(name) => Ty::Named(self.key(endpoints, index, name)),
            Ty::List(inner) => Ty::List(Box::new(self.ty(endpoints, index, inner))),
            Ty::Map(inner) => Ty::Map(Box::new(self.ty(endpoints, index, inner))),
            Ty::Option(inner) => Ty::Option(Box::new(self.ty(endpoints, index, inner))),
            other => other.clone(),
        }
    }
}
