//! Uploading local content to fal storage (spec 7), so endpoints can fetch
//! it by URL.
//!
//! The flow is fal's JS client's (spec 7.1/7.2), chosen over the Python
//! client's CDN-token flow because it needs nothing but the REST host and the
//! key the client already has: an authenticated `initiate` call returns a
//! signed `upload_url` and the public `file_url`; the content is then PUT to
//! the signed URL without credentials. Content above
//! [`UploadOptions::multipart_threshold`] goes in parts, several at a time,
//! each retried on its own, and is only reported done after fal confirmed the
//! completed upload.

mod error;
mod lifecycle;
mod multipart;
mod source;
mod upload;

pub(crate) mod auto;

use std::path::Path;

use bytes::Bytes;

use crate::{Client, ObjectLifecycle, Result};

pub use error::{UploadError, UploadFailure};
pub use lifecycle::{InvalidExpiration, LIFECYCLE_HEADER, LIFECYCLE_PREFERENCE_HEADER};
pub use source::UploadSource;

/// fal's JS client switches to multipart above 90 MiB.
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 90 * 1024 * 1024;
/// fal's clients upload 10 MiB parts.
pub const DEFAULT_PART_SIZE: usize = 10 * 1024 * 1024;
/// Parts in flight at once: enough to fill a fast link. File parts stream
/// from disk; parts of bytes and readers are held while in flight, so for
/// those memory stays near `(concurrency + 1) * part_size`.
pub const DEFAULT_PART_CONCURRENCY: usize = 4;

/// How to upload: name, type, lifecycle and multipart tuning.
#[derive(Clone, Debug)]
pub struct UploadOptions {
    /// MIME type; guessed from the file name when absent, else
    /// `application/octet-stream`.
    pub content_type: Option<String>,
    /// Name to store the object under; the path's file name when absent,
    /// else `<unix ms>.<subtype>` as fal's JS client does.
    pub file_name: Option<String>,
    /// Expiration and access settings sent with the upload.
    pub lifecycle: Option<ObjectLifecycle>,
    /// Content larger than this many bytes goes multipart.
    pub multipart_threshold: u64,
    /// Size of each multipart part, in bytes (at least 1).
    pub part_size: usize,
    /// Parts uploaded at once (at least 1).
    pub part_concurrency: usize,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            content_type: None,
            file_name: None,
            lifecycle: None,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
            part_concurrency: DEFAULT_PART_CONCURRENCY,
        }
    }
}

impl UploadOptions {
    /// Sets the MIME type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Sets the stored file name.
    pub fn file_name(mut self, file_name: impl Into<String>) -> Self {
        self.file_name = Some(file_name.into());
        self
    }

    /// Sets lifecycle settings.
    pub fn lifecycle(mut self, lifecycle: ObjectLifecycle) -> Self {
        self.lifecycle = Some(lifecycle);
        self
    }

    /// Sets the size above which content goes multipart.
    pub fn multipart_threshold(mut self, bytes: u64) -> Self {
        self.multipart_threshold = bytes;
        self
    }

    /// Sets the part size (clamped to at least 1 byte).
    pub fn part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(1);
        self
    }

    /// Sets how many parts are in flight at once (at least 1).
    pub fn part_concurrency(mut self, parts: usize) -> Self {
        self.part_concurrency = parts.max(1);
        self
    }
}

impl Client {
    /// Uploads `source` to fal storage and returns the URL fal serves it at.
    ///
    /// Content up to [`UploadOptions::multipart_threshold`] goes in one PUT;
    /// larger content (or a reader longer than one part) goes multipart with
    /// bounded memory. The URL is returned only once storage confirmed the
    /// whole upload.
    pub async fn upload(&self, source: UploadSource, options: &UploadOptions) -> Result<String> {
        Ok(upload::upload(self, source, options).await?)
    }

    /// Uploads bytes from memory with the given MIME type.
    pub async fn upload_bytes(
        &self,
        data: impl Into<Bytes>,
        content_type: impl Into<String>,
    ) -> Result<String> {
        let options = UploadOptions::default().content_type(content_type);
        self.upload(UploadSource::Bytes(data.into()), &options)
            .await
    }

    /// Uploads a local file, streamed from disk; the type is guessed from its name.
    pub async fn upload_file(&self, path: impl AsRef<Path>) -> Result<String> {
        let source = UploadSource::File(path.as_ref().to_owned());
        self.upload(source, &UploadOptions::default()).await
    }
}
