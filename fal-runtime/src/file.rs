//! File and image types shared by every generated binding.
//!
//! fal's schemas declare the same `File`/`Image`/`ImageFile` shapes in every
//! document (sometimes under registry-qualified names). The code generator maps
//! any schema of that shape to these types, so an image from one endpoint can be
//! passed to another without conversion and the shapes compile once.

use std::path::PathBuf;

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A file produced by fal (fal's `File` schema).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct File {
    /// Where the file can be downloaded from.
    pub url: String,
    /// MIME type, when fal reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// File name, when fal reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Size in bytes, when fal reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// Inline file content, present only for endpoints that return it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<String>,
}

/// An image produced by fal (fal's `Image` and `ImageFile` schemas).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// Where the image can be downloaded from (an `https` URL, or a `data:` URI in sync mode).
    pub url: String,
    /// Width in pixels, when fal reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels, when fal reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// MIME type, when fal reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// File name, when fal reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Size in bytes, when fal reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    /// Inline image content, present only for endpoints that return it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<String>,
}

/// A file given to an endpoint: a URL fal can fetch, or local content that is
/// uploaded to fal storage before the request is sent.
///
/// Generated input types use this for every file-URL field, so the same field
/// takes `"https://…"`, a `data:` URI, bytes in memory or a path on disk.
/// Local content needs the `storage` feature (on by default); without it a
/// call whose input holds bytes or a path fails before anything is sent, with
/// an error of kind [`ErrorKind::Input`](crate::ErrorKind::Input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileInput {
    /// An `http(s)` URL or `data:` URI, sent as is.
    Url(String),
    /// Bytes in memory.
    Bytes {
        /// The content.
        data: Bytes,
        /// MIME type; guessed from the file name when absent.
        content_type: Option<String>,
        /// File name to store the upload under.
        file_name: Option<String>,
    },
    /// A file on the local disk.
    Path(PathBuf),
}

impl FileInput {
    /// A URL (or `data:` URI) fal fetches itself.
    pub fn url(url: impl Into<String>) -> Self {
        Self::Url(url.into())
    }

    /// Local bytes, uploaded before the request.
    pub fn bytes(data: impl Into<Bytes>, content_type: impl Into<String>) -> Self {
        Self::Bytes {
            data: data.into(),
            content_type: Some(content_type.into()),
            file_name: None,
        }
    }

    /// A local file, uploaded before the request.
    pub fn path(path: impl Into<PathBuf>) -> Self {
        Self::Path(path.into())
    }

    /// The URL, once this input is (or has been turned into) one.
    pub fn as_url(&self) -> Option<&str> {
        match self {
            Self::Url(url) => Some(url),
            _ => None,
        }
    }

    /// Whether this input needs an upload before it can be sent.
    pub fn is_local(&self) -> bool {
        !matches!(self, Self::Url(_))
    }
}

// No `From<&str>` / `From<String>`: a generated constructor often takes a
// prompt and a file side by side, and a bare string converting into either
// would let the two be swapped silently. Say `FileInput::url(..)` (or pass a
// `url::Url`, a path, or a `File`/`Image` from an earlier result).
impl From<url::Url> for FileInput {
    fn from(url: url::Url) -> Self {
        Self::Url(url.into())
    }
}

impl From<PathBuf> for FileInput {
    fn from(path: PathBuf) -> Self {
        Self::Path(path)
    }
}

impl From<&std::path::Path> for FileInput {
    fn from(path: &std::path::Path) -> Self {
        Self::Path(path.to_owned())
    }
}

impl From<File> for FileInput {
    fn from(file: File) -> Self {
        Self::Url(file.url)
    }
}

impl From<Image> for FileInput {
    fn from(image: Image) -> Self {
        Self::Url(image.url)
    }
}

impl From<&File> for FileInput {
    fn from(file: &File) -> Self {
        Self::Url(file.url.clone())
    }
}

impl From<&Image> for FileInput {
    fn from(image: &Image) -> Self {
        Self::Url(image.url.clone())
    }
}

impl Serialize for FileInput {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Url(url) => serializer.serialize_str(url),
            // The client's input preparation collects local files here and
            // uploads them; anywhere else this is an error.
            #[cfg(feature = "storage")]
            Self::Bytes { .. } | Self::Path(_) => {
                crate::storage::auto::serialize_local(self, serializer)
            }
            #[cfg(not(feature = "storage"))]
            Self::Bytes { .. } | Self::Path(_) => Err(serde::ser::Error::custom(
                "a local file input is uploaded to fal storage before the call, which needs \
                 fal-runtime's `storage` feature; enable it or pass a URL",
            )),
        }
    }
}

impl crate::Client {
    /// Downloads a file fal produced (the `url` of a [`File`] or [`Image`]).
    ///
    /// The request carries no credentials, whatever host the URL names: file URLs
    /// are public or signed, and the key goes only to fal's API hosts. It is
    /// retried like a result fetch.
    pub async fn download(&self, url: &str) -> crate::Result<Bytes> {
        let url = url::Url::parse(url).map_err(|err| {
            crate::Error::config_because(format!("{url:?} is not a URL to download"), err)
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(crate::Error::config(format!(
                "only http and https URLs can be downloaded, not {}:",
                url.scheme()
            )));
        }
        let operation = crate::http::Operation::Download;
        let limit = self.max_response_bytes();
        let read =
            |response: reqwest::Response| crate::http::read_body(self, response, operation, limit);
        let traffic = crate::destination::Traffic::Public;
        crate::http::exchange_as(
            self,
            traffic,
            operation,
            || self.http().get(url.clone()),
            read,
        )
        .await
    }
}

impl<'de> Deserialize<'de> for FileInput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::Url)
    }
}
