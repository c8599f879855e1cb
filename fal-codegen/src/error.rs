//! The one error type of the generator: every failure names the file and, when
//! the problem is inside a document, the JSON pointer (or line) where it is.

use std::fmt;
use std::path::PathBuf;

/// Where in a file a problem is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole (e.g. it could not be read).
    File,
    /// A JSON syntax error, at 1-based line and column.
    Line {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A JSON pointer (RFC 6901) into the document, e.g. `/components/schemas/Foo`.
    Pointer(String),
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A schema file or directory could not be read, or the output not written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying failure.
        source: std::io::Error,
    },
    /// A document is not a fal queue OpenAPI document we can generate from.
    #[error("{}{location}: {message}", file.display())]
    Document {
        /// The document's file (or the name it was given).
        file: PathBuf,
        /// Where in it.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// Two documents describe the same endpoint id.
    #[error("endpoint {id} is described by both {} and {}", first.display(), second.display())]
    DuplicateEndpoint {
        /// The endpoint id.
        id: String,
        /// The file read first.
        first: PathBuf,
        /// The file read second.
        second: PathBuf,
    },
    /// An endpoint filter names an endpoint none of the documents describe.
    #[error("endpoint {0} was requested but no schema describes it")]
    UnknownEndpoint(String),
    /// Endpoints cannot be laid out as a crate of bundled bindings (a name they
    /// would get is invalid or taken), or the crate's manifest lacks its marker.
    #[error("{}: {message}", file.display())]
    Bundle {
        /// The document of the endpoint, or the manifest.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The emitted code did not parse back (a bug in the generator, reported
    /// instead of writing broken code).
    #[error("internal error: generated code does not parse: {0}")]
    Internal(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File => Ok(()),
            Self::Line { line, column } => write!(f, ":{line}:{column}"),
            Self::Pointer(pointer) => write!(f, "#{pointer}"),
        }
    }
}

/// Escapes one JSON-pointer reference token (RFC 6901: `~` → `~0`, `/` → `~1`).
pub(crate) fn pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
