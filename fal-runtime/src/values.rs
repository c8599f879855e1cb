//! What generated string enums are built from: strict parsing, and a raw
//! value only by an explicitly named constructor.
//!
//! A generated enum (say `OutputFormat`) has one variant per value its schema
//! lists and an `Other(UnlistedValue)` arm for values fal adds later, so
//! results keep deserializing and round-trip unchanged. Users cannot slip a
//! typo into a request by accident: `"jpg".parse::<OutputFormat>()` and
//! `OutputFormat::try_from("jpg")` fail with [`UnknownEnumValue`], there is no
//! `From<&str>`, and the only way to send an unlisted value is the explicit
//! `OutputFormat::from_wire("jpg")`. Because `from_wire("png")` returns the
//! `Png` variant, `Other` never holds a listed value, so equality and hashing
//! follow the wire value.

use std::fmt;

/// A wire value a generated enum does not list (the payload of its `Other`
/// arm). Read it with [`UnlistedValue::as_str`]; build one through the enum's
/// `from_wire` constructor.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnlistedValue(String);

impl UnlistedValue {
    /// Only `__private::unlisted` (used by generated `from_wire`) builds one,
    /// after checking that the value is not listed.
    pub(crate) fn new(value: String) -> Self {
        Self(value)
    }

    /// The value as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnlistedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A string that is not one of a generated enum's listed values (from its
/// `FromStr` or `TryFrom<&str>`).
// Display and Error written out: thiserror is only a dependency of the
// opt-in feature families, and this type is always compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownEnumValue {
    /// The enum, e.g. `OutputFormat`.
    pub type_name: &'static str,
    /// The rejected string.
    pub value: String,
    /// The values the enum lists, in schema order.
    pub expected: &'static [&'static str],
}

impl UnknownEnumValue {
    /// The error for `value` (called by generated `FromStr` impls).
    pub fn new(type_name: &'static str, value: &str, expected: &'static [&'static str]) -> Self {
        Self {
            type_name,
            value: value.to_owned(),
            expected,
        }
    }
}

impl fmt::Display for UnknownEnumValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a {} value (expected one of: ",
            self.value, self.type_name
        )?;
        for (i, value) in self.expected.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{value:?}")?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for UnknownEnumValue {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_type_value_and_choices() {
        let err = UnknownEnumValue::new("OutputFormat", "jpg", &["jpeg", "png"]);
        assert_eq!(
            err.to_string(),
            r#""jpg" is not a OutputFormat value (expected one of: "jpeg", "png")"#
        );
        assert_eq!(UnlistedValue::new("x".into()).as_str(), "x");
    }
}
