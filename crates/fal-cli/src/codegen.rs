//! `fal codegen generate|check`. Owned by the codegen work.
use crate::{CodegenArgs, Failure};
pub fn generate(_args: CodegenArgs) -> Result<(), Failure> {
    Err(crate::Failure::Usage(
        "this verb is being built (see the open issues)".into(),
    ))
}
pub fn check(_args: CodegenArgs) -> Result<(), Failure> {
    Err(crate::Failure::Usage(
        "this verb is being built (see the open issues)".into(),
    ))
}
