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
    /// The user pressed Ctrl-C (exit 130); the message names the request id when known.
    Interrupted(String),
}

impl Failure {
    /// The process exit status DESIGN.md assigns to this failure.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Api(_) => ExitCode::from(1),
            Self::Usage(_) => ExitCode::from(2),
            Self::Interrupted(_) => ExitCode::from(crate::interrupt::INTERRUPTED_EXIT),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(message) | Self::Api(message) | Self::Interrupted(message) => {
                f.write_str(message)
            }
        }
    }
}

/// What the user got wrong (endpoint id, input, configuration) is usage (exit 2);
/// everything fal or the network reported is an API failure (exit 1). The runtime's
/// messages already name the HTTP status and request id.
impl From<fal_runtime::Error> for Failure {
    fn from(err: fal_runtime::Error) -> Self {
        use fal_runtime::Error;
        match &err {
            Error::EndpointId(_) | Error::Input { .. } | Error::Config(_) => {
                Failure::Usage(err.to_string())
            }
            _ => Failure::Api(err.to_string()),
        }
    }
}
