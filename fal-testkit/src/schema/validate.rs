//! Checks a JSON value against a schema the way pydantic v2 (lax mode) checks
//! a request body, collecting every error (see the module docs of `schema`).

use fal_codegen::ir::Limits;
use fal_codegen::parse::Document;
use fal_runtime::__private::{not_listed, not_literal, Rules, Violation};
use schemars::schema::{InstanceType, Schema, SchemaObject};
use serde_json::{Map, Value};

use super::resolve::{self, MAX_DEPTH};
use super::FieldError;

/// The schema's rules as the runtime checks them: the limits are read by
/// fal-codegen (the reading generated `validate()` is emitted from) and
/// checked by fal-runtime (the code generated `validate()` calls), so the
/// testkit and the client agree on every value.
pub(super) fn rules(limits: &Limits) -> Rules<'_> {
    Rules {
        minimum: limits.minimum,
        exclusive_minimum: limits.exclusive_minimum,
        maximum: limits.maximum,
        exclusive_maximum: limits.exclusive_maximum,
        multiple_of: limits.multiple_of,
        min_length: limits.min_length,
        max_length: limits.max_length,
        pattern: limits.pattern.as_deref(),
        min_items: limits.min_items,
        max_items: limits.max_items,
        // Listed values and constants are checked for any JSON value below
        // (with the same violations, `not_listed`/`not_literal`); unions too.
        ..Rules::NONE
    }
}

/// Every error for `value` against `schema`, with `loc` starting at `root`.
pub(super) fn validate(
    doc: &Document,
    schema: &Schema,
    value: &Value,
    root: &str,
) -> Vec<FieldError> {
    let mut checker = Checker {
        doc,
        errors: Vec::new(),
        loc: vec![Value::from(root)],
    };
    checker.check(schema, value, 0, true);
    checker.errors
}

struct Checker<'a> {
    doc: &'a Document,
    errors: Vec<FieldError>,
    loc: Vec<Value>,
}

impl Checker<'_> {
    fn push(&mut self, kind: &'static str, msg: impl Into<String>) {
        self.errors.push(FieldError {
            loc: self.loc.clone(),
            msg: msg.into(),
            kind,
        });
    }

    fn violations(&mut self, violations: Vec<Violation>) {
        for violation in violations {
            self.push(violation.kind, violation.msg);
        }
    }

    fn at<T>(&mut self, part: Value, f: impl FnOnce(&mut Self) -> T) -> T {
        self.loc.push(part);
        let out = f(self);
        self.loc.pop();
        out
    }

    /// `top` marks the request body itself (FastAPI's wording differs there).
    fn check(&mut self, schema: &Schema, value: &Value, depth: usize, top: bool) {
        if depth > MAX_DEPTH {
            return;
        }
        let Some(o) = resolve::object(self.doc, schema) else {
            return;
        };
        if let Some(parts) = resolve::all_of(o) {
            for part in parts {
                self.check(part, value, depth + 1, top);
            }
        }
        if let Some(arms) = resolve::union_arms(o) {
            self.union(arms, value, depth);
        }
        if let Some(allowed) = &o.enum_values {
            if !allowed.iter().any(|a| same(a, value)) {
                self.violations(vec![not_listed(allowed)]);
            }
            return;
        }
        if let Some(constant) = &o.const_value {
            if !same(constant, value) {
                self.violations(vec![not_literal(std::slice::from_ref(constant))]);
            }
            return;
        }
        let mut declared = resolve::types(o);
        if declared.is_empty() {
            if o.object.is_some() {
                declared.push(InstanceType::Object);
            } else if o.array.is_some() {
                declared.push(InstanceType::Array);
            }
        }
        if declared.is_empty() || (value.is_null() && declared.contains(&InstanceType::Null)) {
            return;
        }
        if declared.len() == 1 {
            self.typed(o, declared[0], value, depth, top);
            return;
        }
        // Several types: valid when one of them accepts the value; else report the first.
        let before = self.errors.len();
        for t in &declared {
            let mut trial = Checker {
                doc: self.doc,
                errors: Vec::new(),
                loc: self.loc.clone(),
            };
            trial.typed(o, *t, value, depth, top);
            if trial.errors.is_empty() {
                return;
            }
        }
        self.typed(o, declared[0], value, depth, top);
        debug_assert!(self.errors.len() >= before);
    }

    fn union(&mut self, arms: &[Schema], value: &Value, depth: usize) {
        let has_null = arms.iter().any(|a| resolve::is_null(self.doc, a));
        if value.is_null() && has_null {
            return;
        }
        let real: Vec<&Schema> = arms
            .iter()
            .filter(|a| !resolve::is_null(self.doc, a))
            .collect();
        if let [only] = real.as_slice() {
            self.check(only, value, depth + 1, false);
            return;
        }
        let mut failures = Vec::new();
        for arm in &real {
            let mut trial = Checker {
                doc: self.doc,
                errors: Vec::new(),
                loc: self.loc.clone(),
            };
            trial.loc.push(Value::from(self.arm_tag(arm)));
            trial.check(arm, value, depth + 1, false);
            if trial.errors.is_empty() {
                return;
            }
            failures.extend(trial.errors);
        }
        self.errors.extend(failures);
    }

    /// The name pydantic gives a union arm in `loc`.
    fn arm_tag(&self, arm: &Schema) -> String {
        if let Some(name) = resolve::ref_name(arm) {
            return resolve::object(self.doc, arm)
                .and_then(resolve::title)
                .unwrap_or(name)
                .to_owned();
        }
        let Some(o) = resolve::object(self.doc, arm) else {
            return "any".into();
        };
        if let Some(values) = &o.enum_values {
            let listed: Vec<String> = values.iter().map(literal).collect();
            return format!("literal[{}]", listed.join(","));
        }
        match resolve::types(o).first() {
            Some(InstanceType::String) => "str".into(),
            Some(InstanceType::Integer) => "int".into(),
            Some(InstanceType::Number) => "float".into(),
            Some(InstanceType::Boolean) => "bool".into(),
            Some(InstanceType::Array) => "list".into(),
            Some(InstanceType::Object) => "dict".into(),
            Some(InstanceType::Null) => "none".into(),
            None => "any".into(),
        }
    }

    fn typed(&mut self, o: &SchemaObject, t: InstanceType, value: &Value, depth: usize, top: bool) {
        match t {
            InstanceType::Null => {
                if !value.is_null() {
                    self.push("none_required", "Input should be None");
                }
            }
            InstanceType::Boolean => self.boolean(value),
            InstanceType::String => self.string(o, value),
            InstanceType::Integer => {
                if let Some(n) = self.integer(value) {
                    self.bounds(o, n);
                }
            }
            InstanceType::Number => {
                if let Some(n) = self.float(value) {
                    self.bounds(o, n);
                }
            }
            InstanceType::Array => self.array(o, value, depth),
            InstanceType::Object => self.object(o, value, depth, top),
        }
    }

    fn boolean(&mut self, value: &Value) {
        match value {
            Value::Bool(_) => {}
            Value::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {}
            Value::String(s) => {
                let word = s.to_ascii_lowercase();
                let known = [
                    "0", "off", "f", "false", "n", "no", "1", "on", "t", "true", "y", "yes",
                ];
                if !known.contains(&word.as_str()) {
                    self.push(
                        "bool_parsing",
                        "Input should be a valid boolean, unable to interpret input",
                    );
                }
            }
            _ => self.push("bool_type", "Input should be a valid boolean"),
        }
    }

    fn string(&mut self, o: &SchemaObject, value: &Value) {
        let Value::String(s) = value else {
            self.push("string_type", "Input should be a valid string");
            return;
        };
        let limits = Limits::of(o);
        let mut out = Vec::new();
        rules(&limits).string(s, &mut out);
        self.violations(out);
    }

    fn integer(&mut self, value: &Value) -> Option<f64> {
        match value {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    return Some(i as f64);
                }
                if let Some(u) = n.as_u64() {
                    return Some(u as f64);
                }
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.is_finite() && f.fract() == 0.0 {
                    Some(f)
                } else {
                    self.push(
                        "int_from_float",
                        "Input should be a valid integer, got a number with a fractional part",
                    );
                    None
                }
            }
            Value::String(s) => match s.trim().parse::<i64>() {
                Ok(i) => Some(i as f64),
                Err(_) => {
                    self.push(
                        "int_parsing",
                        "Input should be a valid integer, unable to parse string as an integer",
                    );
                    None
                }
            },
            _ => {
                self.push("int_type", "Input should be a valid integer");
                None
            }
        }
    }

    fn float(&mut self, value: &Value) -> Option<f64> {
        match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => Some(f),
                _ => {
                    self.push(
                        "float_parsing",
                        "Input should be a valid number, unable to parse string as a number",
                    );
                    None
                }
            },
            _ => {
                self.push("float_type", "Input should be a valid number");
                None
            }
        }
    }

    fn bounds(&mut self, o: &SchemaObject, n: f64) {
        let limits = Limits::of(o);
        let mut out = Vec::new();
        rules(&limits).number(n, &mut out);
        self.violations(out);
    }

    fn array(&mut self, o: &SchemaObject, value: &Value, depth: usize) {
        let Value::Array(items) = value else {
            self.push("list_type", "Input should be a valid list");
            return;
        };
        let limits = Limits::of(o);
        let mut out = Vec::new();
        rules(&limits).list(items.len(), &mut out);
        self.violations(out);
        if let Some(item) = resolve::items(o) {
            for (i, v) in items.iter().enumerate() {
                self.at(Value::from(i), |c| c.check(item, v, depth + 1, false));
            }
        }
    }

    fn object(&mut self, o: &SchemaObject, value: &Value, depth: usize, top: bool) {
        let Value::Object(map) = value else {
            if top {
                self.push(
                    "model_attributes_type",
                    "Input should be a valid dictionary or object to extract fields from",
                );
            } else if resolve::is_model(o) {
                let name = resolve::title(o).unwrap_or("model");
                self.push(
                    "model_type",
                    format!("Input should be a valid dictionary or instance of {name}"),
                );
            } else {
                self.push("dict_type", "Input should be a valid dictionary");
            }
            return;
        };
        let Some(v) = o.object.as_deref() else {
            return;
        };
        for (name, schema) in resolve::properties(o) {
            let required = v.required.contains(name);
            self.at(Value::from(name.as_str()), |c| match map.get(name) {
                None if required => c.push("missing", "Field required"),
                None => {}
                Some(Value::Null) if !required => {}
                Some(value) => c.check(schema, value, depth + 1, false),
            });
        }
        for name in v.required.iter().filter(|n| !v.properties.contains_key(*n)) {
            if !map.contains_key(name) {
                self.at(Value::from(name.as_str()), |c| {
                    c.push("missing", "Field required")
                });
            }
        }
        self.extra(v, map, depth);
    }

    fn extra(
        &mut self,
        v: &schemars::schema::ObjectValidation,
        map: &Map<String, Value>,
        depth: usize,
    ) {
        let Some(extra) = v.additional_properties.as_deref() else {
            return;
        };
        for (name, value) in map.iter().filter(|(k, _)| !v.properties.contains_key(*k)) {
            self.at(Value::from(name.as_str()), |c| match extra {
                Schema::Bool(false) => c.push("extra_forbidden", "Extra inputs are not permitted"),
                Schema::Bool(true) => {}
                schema => c.check(schema, value, depth + 1, false),
            });
        }
    }
}

/// Enum membership: numbers compare by value (`1` matches `1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn literal(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    }
}
