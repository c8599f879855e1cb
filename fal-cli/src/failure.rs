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

/// What the user got wrong (endpoint or request id, input, a local file to upload,
/// configuration) is usage (exit 2); everything fal or the network reported is an API
/// failure (exit 1). The runtime's messages name the HTTP status and request id; the
/// message here adds every cause in the error's source chain, because the top level
/// alone ("upload part 3 failed") does not say why.
impl From<fal_runtime::Error> for Failure {
    fn from(err: fal_runtime::Error) -> Self {
        use fal_runtime::ErrorKind;
        let message = with_causes(&err);
        match err.kind() {
            ErrorKind::InvalidId | ErrorKind::Input | ErrorKind::Config => Failure::Usage(message),
            _ => Failure::Api(message),
        }
    }
}

/// `err` and each of its causes, joined with `: `; a cause whose text the message
/// already holds is skipped, so nothing is said twice.
pub fn with_causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Level(&'static str, Option<Box<Level>>);

    impl fmt::Display for Level {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Level {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1
                .as_deref()
                .map(|l| l as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn every_cause_is_said_once() {
        let err = Level(
            "upload part 3 failed",
            Some(Box::new(Level(
                "the connection failed",
                Some(Box::new(Level("failed", None))),
            ))),
        );
        assert_eq!(
            with_causes(&err),
            "upload part 3 failed: the connection failed"
        );
    }
}
