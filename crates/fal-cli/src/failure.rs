//! The two ways a command fails, and the exit status each maps to.

use std::fmt;
use std::process::ExitCode;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or bad input (exit 2); the message names the flag, file or JSON pointer.
    Usage(String),
    /// fal (or the model) reported a failure (exit 1); the message names status and request id.
    Api(String),
}

impl Failure {
    /// The process exit status DESIGN.md assigns to this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Api(_) => ExitCode::from(1),
            Self::Usage(_) => ExitCode::from(2),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(message) | Self::Api(message) => f.write_str(message),
        }
    }
}
