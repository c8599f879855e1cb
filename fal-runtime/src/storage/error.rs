//! What can go wrong during an upload, with enough detail to tell where.

use std::fmt;
use std::path::PathBuf;

use crate::http::{Failed, Operation};
use crate::ErrorKind;

/// One failed HTTP exchange with storage.
#[derive(Debug)]
#[non_exhaustive]
pub enum UploadFailure {
    /// No usable response (connection refused or cut, body not fully sent).
    Transport(reqwest::Error),
    /// Storage answered with a non-2xx status.
    Status {
        /// The status code.
        status: u16,
        /// The start of the response body, for diagnosis.
        body: String,
    },
    /// The part's local content could not be read.
    Local(std::io::Error),
    /// A 2xx answer that lacks what the protocol promises (e.g. no ETag).
    Protocol(String),
}

/// Why an upload did not complete. An upload that returns this was not
/// completed: no URL was handed out for it.
#[derive(Debug)]
#[non_exhaustive]
pub enum UploadError {
    /// The local content could not be read.
    Read {
        /// The file, when the source was one.
        path: Option<PathBuf>,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The authenticated `initiate` call failed (after the client's retries).
    Initiate(Box<crate::Error>),
    /// `initiate` answered 2xx with something other than `{upload_url, file_url}`.
    InitiateAnswer {
        /// The initiate URL.
        url: String,
        /// What was wrong with the answer.
        message: String,
    },
    /// The single PUT to the signed URL failed.
    Put {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        failure: UploadFailure,
    },
    /// A multipart part failed on every attempt; the upload was abandoned.
    Part {
        /// The 1-based part number.
        part: u32,
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        failure: UploadFailure,
    },
    /// Completing the multipart upload failed.
    Complete(UploadFailure),
    /// The content needs more parts than fal numbers (10,000).
    TooManyParts {
        /// Bytes read so far.
        size: u64,
        /// The part size in use.
        part_size: usize,
        /// The part limit.
        max: u32,
    },
}

// Display and Error are written out, not derived: uploads are a default
// feature, and a derive macro of our own would be the only one the default
// client builds (docs/architecture.md, "What the client costs to compile").
impl fmt::Display for UploadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Transport(_) => f.write_str("the connection failed"),
            Self::Status { status, body } => write!(f, "HTTP {status}: {body}"),
            Self::Local(_) => f.write_str("reading the local content failed"),
            Self::Protocol(what) => write!(f, "unexpected response: {what}"),
        }
    }
}

impl std::error::Error for UploadFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Transport(err) => Some(err),
            Self::Local(err) => Some(err),
            Self::Status { .. } | Self::Protocol(_) => None,
        }
    }
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path: Some(path), .. } => write!(f, "could not read {}", path.display()),
            Self::Read { path: None, .. } => f.write_str("could not read the upload source"),
            Self::Initiate(_) => f.write_str("storage upload initiation failed"),
            Self::InitiateAnswer { url, message } => write!(
                f,
                "storage upload initiation at {url} answered unexpectedly: {message}"
            ),
            Self::Put { attempts, .. } => {
                write!(f, "upload PUT failed after {attempts} attempt(s)")
            }
            Self::Part { part, attempts, .. } => {
                write!(f, "upload part {part} failed after {attempts} attempt(s)")
            }
            Self::Complete(_) => f.write_str("completing the multipart upload failed"),
            Self::TooManyParts {
                size,
                part_size,
                max,
            } => write!(
                f,
                "upload of {size} bytes needs more than {max} parts of {part_size} bytes; raise part_size"
            ),
        }
    }
}

impl std::error::Error for UploadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } => Some(source),
            Self::Initiate(inner) => Some(inner.as_ref()),
            Self::Put { failure, .. } | Self::Part { failure, .. } | Self::Complete(failure) => {
                Some(failure)
            }
            Self::InitiateAnswer { .. } | Self::TooManyParts { .. } => None,
        }
    }
}

impl UploadFailure {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Transport(err) if err.is_timeout() => ErrorKind::Timeout,
            Self::Transport(_) => ErrorKind::Transport,
            Self::Status { .. } => ErrorKind::Api,
            Self::Local(_) => ErrorKind::Input,
            Self::Protocol(_) => ErrorKind::Decode,
        }
    }

    fn status(&self) -> Option<http::StatusCode> {
        match self {
            Self::Status { status, .. } => http::StatusCode::from_u16(*status).ok(),
            _ => None,
        }
    }
}

impl UploadError {
    pub(crate) fn kind(&self) -> ErrorKind {
        match self {
            Self::Read { .. } | Self::TooManyParts { .. } => ErrorKind::Input,
            Self::Initiate(inner) => inner.kind(),
            Self::InitiateAnswer { .. } => ErrorKind::Decode,
            Self::Put { failure, .. } | Self::Part { failure, .. } | Self::Complete(failure) => {
                failure.kind()
            }
        }
    }

    pub(crate) fn status(&self) -> Option<http::StatusCode> {
        match self {
            Self::Initiate(inner) => inner.status(),
            Self::Put { failure, .. } | Self::Part { failure, .. } | Self::Complete(failure) => {
                failure.status()
            }
            _ => None,
        }
    }
}

/// One request to a signed storage URL (no key): a 2xx response, or the
/// failure and whether an upload call retries it ([`crate::RetryPolicy`] has
/// the table). The retry loop itself is [`crate::http::retrying`].
pub(crate) async fn signed_attempt(
    client: &crate::Client,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, Failed<UploadFailure>> {
    let operation = Operation::Upload;
    match client.execute_signed(request).await {
        Ok(response) if response.status().is_success() => Ok(response),
        Ok(response) => {
            let retryable = operation.retries_status(response.status());
            let failure = status_failure(response, client.timeouts().idle_body).await;
            Err(Failed {
                err: failure,
                retryable,
                retry_after: None,
            })
        }
        Err(err) => Err(Failed {
            retryable: operation.retries_transport(&err),
            err: UploadFailure::Transport(err),
            retry_after: None,
        }),
    }
}

/// Reads a failing response into an [`UploadFailure::Status`].
pub(crate) async fn status_failure(
    response: reqwest::Response,
    idle: std::time::Duration,
) -> UploadFailure {
    let status = response.status().as_u16();
    let body = crate::error::preview(&crate::body::error_text(response, idle).await);
    UploadFailure::Status { status, body }
}
