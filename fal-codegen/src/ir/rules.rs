//! The value rules of a schema position, read once from the schema.
//!
//! One reading for everyone: generated `validate()` is emitted from these
//! (checked by `fal_runtime::__private::Rules`), and fal-testkit's request
//! validation reads a schema's rules with [`Limits::of`] and checks them with
//! the same runtime code, so the client and the test server cannot disagree
//! about what a schema allows.

use schemars::schema::{Schema, SchemaObject, SingleOrVec};
use serde_json::Value;

use super::MAX_DEPTH;
use crate::parse::COMPONENTS;

/// A document's components, which `$ref`s name.
type Components = std::collections::BTreeMap<String, Schema>;

/// The rules a schema states about its own value (not its parts).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `exclusiveMinimum` (the OpenAPI 3.0 boolean form is normalized to this
    /// numeric form by the parser).
    pub exclusive_minimum: Option<f64>,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// `exclusiveMaximum`.
    pub exclusive_maximum: Option<f64>,
    /// `multipleOf`.
    pub multiple_of: Option<f64>,
    /// `minLength`.
    pub min_length: Option<u64>,
    /// `maxLength`.
    pub max_length: Option<u64>,
    /// `pattern`.
    pub pattern: Option<String>,
    /// `minItems`.
    pub min_items: Option<u64>,
    /// `maxItems`.
    pub max_items: Option<u64>,
    /// The values of a numeric `enum` or `const` (string enums are typed).
    pub listed: Option<Vec<f64>>,
    /// Whether `listed` is a `const` (pydantic reports `literal_error` for
    /// it, `enum` for an `enum`).
    pub literal: bool,
    /// The value of a string `const` (string `enum`s are typed).
    pub text: Option<String>,
}

impl Limits {
    /// The rules `schema` states about its own value.
    pub fn of(schema: &SchemaObject) -> Limits {
        let number = schema.number.as_deref();
        let string = schema.string.as_deref();
        let array = schema.array.as_deref();
        let numbers = |values: &[Value]| -> Option<Vec<f64>> {
            let listed: Option<Vec<f64>> = values
                .iter()
                .filter(|v| !v.is_null())
                .map(Value::as_f64)
                .collect();
            listed.filter(|l| !l.is_empty())
        };
        let listed = match (&schema.enum_values, &schema.const_value) {
            (Some(values), _) => numbers(values),
            (None, Some(value)) => numbers(std::slice::from_ref(value)),
            (None, None) => None,
        };
        let literal = schema.enum_values.is_none() && listed.is_some();
        let text = match (&schema.enum_values, &schema.const_value) {
            (None, Some(Value::String(text))) => Some(text.clone()),
            _ => None,
        };
        Limits {
            minimum: number.and_then(|n| n.minimum),
            exclusive_minimum: number.and_then(|n| n.exclusive_minimum),
            maximum: number.and_then(|n| n.maximum),
            exclusive_maximum: number.and_then(|n| n.exclusive_maximum),
            multiple_of: number.and_then(|n| n.multiple_of),
            min_length: string.and_then(|s| s.min_length).map(u64::from),
            max_length: string.and_then(|s| s.max_length).map(u64::from),
            pattern: string.and_then(|s| s.pattern.clone()),
            min_items: array.and_then(|a| a.min_items).map(u64::from),
            max_items: array.and_then(|a| a.max_items).map(u64::from),
            listed,
            literal,
            text,
        }
    }

    /// Whether no rule is stated.
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }

    /// Fills every rule `self` lacks from `other` (`allOf` parts, the one
    /// real arm of an `Optional`).
    fn merge(&mut self, other: Limits) {
        macro_rules! fill {
            ($($field:ident),*) => { $( if self.$field.is_none() { self.$field = other.$field; } )* };
        }
        fill!(
            minimum,
            exclusive_minimum,
            maximum,
            exclusive_maximum,
            multiple_of,
            min_length,
            max_length,
            pattern,
            min_items,
            max_items,
            text
        );
        if self.listed.is_none() {
            self.listed = other.listed;
            self.literal = other.literal;
        }
    }
}

/// The rules of a position and of the positions below it (list items, map
/// values), mirroring the Rust type of the position.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rules {
    /// The position's own rules.
    pub own: Limits,
    /// The rules of each list item.
    pub items: Option<Box<Rules>>,
    /// The rules of each map value.
    pub values: Option<Box<Rules>>,
    /// The rules of a plain string arm beside listed strings (`anyOf:
    /// [{enum: [..]}, {type: string}]`, lowered to the enum alone): a value
    /// the enum does not list is valid when it keeps these.
    pub any_text: Option<Box<Rules>>,
}

impl Rules {
    /// Whether no rule applies here or below.
    pub fn is_empty(&self) -> bool {
        self.own.is_empty()
            && self.items.is_none()
            && self.values.is_none()
            && self.any_text.is_none()
    }

    fn merge(&mut self, other: Rules) {
        self.own.merge(other.own);
        if self.items.is_none() {
            self.items = other.items;
        }
        if self.values.is_none() {
            self.values = other.values;
        }
        if self.any_text.is_none() {
            self.any_text = other.any_text;
        }
    }
}

// `$ref`s, `allOf` parts and items are followed for rules within the bound
// lowering enforces (`super::MAX_DEPTH`), so only a recursive schema (whose
// recursive part lowering cuts) reaches it; it keeps the rules found so far.

/// The rules of the value at `schema`: its own limits, those of a `$ref`
/// target, of `allOf` parts, of the single non-null arm of an `anyOf`/`oneOf`
/// (pydantic's `Optional[X]`), and below it those of list items and map values.
/// The arms of a real union keep their rules in their own types, if named.
pub fn rules_of(components: &Components, schema: &Schema) -> Rules {
    rules_at(components, schema, 0)
}

fn rules_at(doc: &Components, schema: &Schema, depth: usize) -> Rules {
    let Schema::Object(obj) = schema else {
        return Rules::default();
    };
    if depth > MAX_DEPTH {
        return Rules::default();
    }
    if let Some(reference) = &obj.reference {
        return match reference
            .strip_prefix(COMPONENTS)
            .and_then(|key| doc.get(key))
        {
            Some(target) => rules_at(doc, target, depth + 1),
            None => Rules::default(),
        };
    }
    let mut rules = Rules {
        own: Limits::of(obj),
        ..Rules::default()
    };
    if let Some(sub) = obj.subschemas.as_deref() {
        for part in sub.all_of.iter().flatten() {
            rules.merge(rules_at(doc, part, depth + 1));
        }
        if let Some(arms) = sub.any_of.as_ref().or(sub.one_of.as_ref()) {
            let real: Vec<&Schema> = arms.iter().filter(|a| !is_null(a)).collect();
            if let [only] = real.as_slice() {
                rules.merge(rules_at(doc, only, depth + 1));
            } else if let Some(text) = real.iter().find_map(|arm| plain_text(doc, arm)) {
                rules.any_text = Some(Box::new(Rules {
                    own: Limits::of(text),
                    ..Rules::default()
                }));
            }
        }
    }
    if let Some(array) = obj.array.as_deref() {
        if let Some(SingleOrVec::Single(item)) = &array.items {
            let items = rules_at(doc, item, depth + 1);
            if !items.is_empty() {
                rules.items = Some(Box::new(items));
            }
        }
    }
    if let Some(Schema::Object(value)) = obj
        .object
        .as_deref()
        .and_then(|o| o.additional_properties.as_deref())
    {
        let values = rules_at(doc, &Schema::Object(value.clone()), depth + 1);
        if !values.is_empty() {
            rules.values = Some(Box::new(values));
        }
    }
    rules
}

/// A union arm taking any string (its own limits aside): `type: string`
/// without `enum` or `const`, through one `$ref`.
fn plain_text<'d>(doc: &'d Components, arm: &'d Schema) -> Option<&'d SchemaObject> {
    let Schema::Object(obj) = arm else {
        return None;
    };
    let obj = match obj
        .reference
        .as_deref()
        .and_then(|r| r.strip_prefix(COMPONENTS))
    {
        Some(key) => match doc.get(key)? {
            Schema::Object(target) => target,
            Schema::Bool(_) => return None,
        },
        None => obj,
    };
    let string = Some(SingleOrVec::Single(Box::new(
        schemars::schema::InstanceType::String,
    )));
    (obj.instance_type == string
        && obj.enum_values.is_none()
        && obj.const_value.is_none()
        && obj.subschemas.is_none())
    .then_some(obj)
}

fn is_null(schema: &Schema) -> bool {
    matches!(schema, Schema::Object(o)
        if o.instance_type == Some(SingleOrVec::Single(Box::new(schemars::schema::InstanceType::Null))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_arms_and_items_carry_their_rules() {
        let schema: Schema = serde_json::from_value(serde_json::json!({
            "anyOf": [
                {"type": "array", "maxItems": 4, "items": {"type": "integer", "minimum": 1}},
                {"type": "null"}
            ]
        }))
        .unwrap_or(Schema::Bool(true));
        let rules = rules_of(&Components::new(), &schema);
        assert_eq!(rules.own.max_items, Some(4));
        assert_eq!(rules.items.map(|i| i.own.minimum), Some(Some(1.0)));
        let listed: SchemaObject =
            serde_json::from_value(serde_json::json!({"type": "integer", "enum": [1, 2, 4]}))
                .unwrap_or_default();
        assert_eq!(Limits::of(&listed).listed, Some(vec![1.0, 2.0, 4.0]));
    }
}
