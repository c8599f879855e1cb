//! Where upload content comes from, and reading it one part at a time so
//! large uploads never sit in memory whole.

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Content to upload.
pub enum UploadSource {
    /// Bytes already in memory (sliced into parts without copying).
    Bytes(Bytes),
    /// A file on disk, streamed from disk.
    File(PathBuf),
    /// Any async reader of unknown length, read one part at a time.
    Reader(Pin<Box<dyn AsyncRead + Send>>),
}

impl UploadSource {
    /// Content from memory.
    pub fn bytes(data: impl Into<Bytes>) -> Self {
        Self::Bytes(data.into())
    }

    /// Content of a local file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Self::File(path.into())
    }

    /// Content of an async reader (a socket, a decompressor, a child's stdout…).
    pub fn reader(reader: impl AsyncRead + Send + 'static) -> Self {
        Self::Reader(Box::pin(reader))
    }
}

impl fmt::Debug for UploadSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes(data) => write!(f, "UploadSource::Bytes({} bytes)", data.len()),
            Self::File(path) => write!(f, "UploadSource::File({})", path.display()),
            Self::Reader(_) => f.write_str("UploadSource::Reader(..)"),
        }
    }
}

/// Yields consecutive chunks of at most one part each.
pub(crate) enum PartReader {
    Memory { data: Bytes },
    Stream(Pin<Box<dyn AsyncRead + Send>>),
}

impl PartReader {
    /// The next chunk of up to `size` bytes, or `None` at the end. A chunk is
    /// shorter than `size` only when the content ends with it.
    pub(crate) async fn next(&mut self, size: usize) -> std::io::Result<Option<Bytes>> {
        match self {
            Self::Memory { data } => {
                if data.is_empty() {
                    return Ok(None);
                }
                let take = size.min(data.len());
                Ok(Some(data.split_to(take)))
            }
            Self::Stream(reader) => {
                let mut buffer = BytesMut::with_capacity(size);
                while buffer.len() < size {
                    let remaining = size - buffer.len();
                    let read = (&mut *reader)
                        .take(remaining as u64)
                        .read_buf(&mut buffer)
                        .await?;
                    if read == 0 {
                        break;
                    }
                }
                Ok((!buffer.is_empty()).then(|| buffer.freeze()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn both_readers_cut_the_same_parts() {
        let data: Vec<u8> = (0..=255u8).cycle().take(2500).collect();
        for mut reader in [
            PartReader::Memory {
                data: Bytes::from(data.clone()),
            },
            PartReader::Stream(Box::pin(std::io::Cursor::new(data.clone()))),
        ] {
            let mut parts = Vec::new();
            while let Some(part) = reader.next(1000).await.unwrap() {
                parts.push(part);
            }
            let sizes: Vec<usize> = parts.iter().map(Bytes::len).collect();
            assert_eq!(sizes, [1000, 1000, 500]);
            assert_eq!(parts.concat(), data);
        }
    }
}
