//! The walk behind a generated input's `validate()`: each generated input
//! type implements [`Validate`], calling [`Validator::field`] for every field
//! that has rules or holds a type that has; the walk keeps fal's `loc` path
//! (`body`, property names, list indices, map keys) and collects every
//! violation, as fal's 422 lists them all.

use std::collections::BTreeMap;

use super::rules::{not_listed, Rules, Violation};
use crate::error::FieldError;
use crate::validation::ValidationError;

/// A value that can be checked against the rules of its position.
pub trait Validate {
    /// Pushes every rule this value breaks (at `v`'s current path).
    fn validate_at(&self, v: &mut Validator, rules: &Rules<'_>);
}

/// Collects violations with their `loc` path.
#[derive(Debug)]
pub struct Validator {
    loc: Vec<String>,
    errors: Vec<FieldError>,
}

impl Validator {
    fn push(&mut self, violation: Violation) {
        self.errors.push(FieldError::from_violation(
            self.loc.join("."),
            violation.msg,
            violation.kind,
        ));
    }

    fn push_all(&mut self, violations: Vec<Violation>) {
        for violation in violations {
            self.push(violation);
        }
    }

    fn at(&mut self, part: String, f: impl FnOnce(&mut Self)) {
        self.loc.push(part);
        f(self);
        self.loc.pop();
    }

    /// Checks the field `name` of the struct being validated.
    pub fn field<T: Validate + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
        rules: &Rules<'_>,
    ) {
        self.at(name.to_owned(), |v| value.validate_at(v, rules));
    }

    /// A string enum holding `value`, which its schema does not list: refused,
    /// unless the position also takes any string (`rules.any_text`), whose
    /// rules it is checked against then.
    pub fn unlisted(&mut self, value: &str, values: &[&str], rules: &Rules<'_>) {
        match rules.any_text {
            Some(text) => {
                let mut out = Vec::new();
                text.string(value, &mut out);
                self.push_all(out);
            }
            None => {
                let values: Vec<serde_json::Value> = values.iter().map(|v| (*v).into()).collect();
                self.push(not_listed(&values));
            }
        }
    }
}

/// Every violation of `input` (an input type), located under `body` like
/// fal's 422.
pub fn validate<T: Validate + ?Sized>(input: &T) -> Result<(), ValidationError> {
    let mut v = Validator {
        loc: vec!["body".to_owned()],
        errors: Vec::new(),
    };
    input.validate_at(&mut v, &Rules::NONE);
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationError::new(v.errors))
    }
}

impl Validate for bool {
    fn validate_at(&self, _: &mut Validator, _: &Rules<'_>) {}
}

impl Validate for i64 {
    fn validate_at(&self, v: &mut Validator, rules: &Rules<'_>) {
        let mut out = Vec::new();
        rules.number(*self as f64, &mut out);
        v.push_all(out);
    }
}

impl Validate for f64 {
    fn validate_at(&self, v: &mut Validator, rules: &Rules<'_>) {
        let mut out = Vec::new();
        rules.number(*self, &mut out);
        v.push_all(out);
    }
}

impl Validate for String {
    fn validate_at(&self, v: &mut Validator, rules: &Rules<'_>) {
        let mut out = Vec::new();
        rules.string(self, &mut out);
        v.push_all(out);
    }
}

/// A URL is checked like the string it is sent as; local content becomes a
/// URL only when uploaded, so it has nothing to check yet.
impl Validate for crate::FileInput {
    fn validate_at(&self, v: &mut Validator, rules: &Rules<'_>) {
        if let Some(url) = self.as_url() {
            let mut out = Vec::new();
            rules.string(url, &mut out);
            v.push_all(out);
        }
    }
}

impl Validate for crate::File {
    fn validate_at(&self, _: &mut Validator, _: &Rules<'_>) {}
}

impl Validate for crate::Image {
    fn validate_at(&self, _: &mut Validator, _: &Rules<'_>) {}
}

impl Validate for serde_json::Value {
    fn validate_at(&self, _: &mut Validator, _: &Rules<'_>) {}
}

impl Validate for serde_json::Map<String, serde_json::Value> {
    fn validate_at(&self, _: &mut Validator, _: &Rules<'_>) {}
}

impl<T: Validate> Validate for Option<T> {
    fn validate_at(&self, v: &mut Validator, rules: &Rules<'_>) {
        if let Some(value) = self {
            value.validate_at(v, rules);
        }
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate_at(&self, v: &mut Validator, rules: &Rules<'_>) {
        let mut out = Vec::new();
        rules.list(self.len(), &mut out);
        v.push_all(out);
        let items = rules.items.unwrap_or(&Rules::NONE);
        for (index, item) in self.iter().enumerate() {
            v.at(index.to_string(), |v| item.validate_at(v, items));
        }
    }
}

impl<T: Validate> Validate for BTreeMap<String, T> {
    fn validate_at(&self, v: &mut Validator, rules: &Rules<'_>) {
        let values = rules.values.unwrap_or(&Rules::NONE);
        for (key, value) in self {
            v.at(key.clone(), |v| value.validate_at(v, values));
        }
    }
}
