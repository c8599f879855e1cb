//! Checking an input against its schema's rules before anything is sent.
//!
//! None of fal's own clients does this: a wrong value costs a round trip and
//! comes back as a 422. Generated inputs know their schema's rules (bounds and
//! their exclusive forms, `multipleOf`, string lengths, patterns, item counts,
//! listed values) and their `validate()` reports every broken rule at once, in
//! the shape of fal's 422 (`loc`, `msg`, `type`), so code handling a refused
//! request handles both the same way.

use std::fmt;

use crate::error::FieldError;
use crate::options::RequestOptions;
use crate::{Client, Endpoint};

/// Every rule an input breaks, found before sending.
///
/// The same [`FieldError`]s a 422 from fal carries: `path` is the `loc`
/// joined with dots (`body.num_images`), `message` pydantic's message and
/// `kind` its error type (`less_than_equal`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    errors: Vec<FieldError>,
}

impl ValidationError {
    pub(crate) fn new(errors: Vec<FieldError>) -> Self {
        Self { errors }
    }

    /// Each broken rule, in field order.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.len();
        write!(
            f,
            "the input breaks {count} rule{} of its schema (nothing was sent): ",
            if count == 1 { "" } else { "s" }
        )?;
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
            if let Some(kind) = &error.kind {
                write!(f, " [{kind}]")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ValidationError {}

/// An input the client can check before sending: every [`Endpoint`] input
/// (through [`Endpoint::validate`]) and untyped JSON (which has no schema
/// here, so nothing to check).
pub trait Checkable {
    /// Every rule this input breaks.
    fn check(&self) -> Result<(), ValidationError>;
}

impl<E: Endpoint> Checkable for E {
    fn check(&self) -> Result<(), ValidationError> {
        self.validate()
    }
}

impl Checkable for serde_json::Value {
    fn check(&self) -> Result<(), ValidationError> {
        Ok(())
    }
}

/// The check every call runs before any network traffic: the call's choice,
/// else the client's (on by default).
pub(crate) fn before_sending(
    client: &Client,
    options: &RequestOptions,
    input: &impl Checkable,
) -> crate::Result<()> {
    if options
        .validate_choice()
        .unwrap_or(client.validates_inputs())
    {
        input.check().map_err(crate::Error::validation)?;
    }
    Ok(())
}
