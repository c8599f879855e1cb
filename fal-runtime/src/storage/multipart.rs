//! Multipart upload (spec 7.2): parts PUT to `<upload_url path>/<n>` several
//! at a time, each retried on its own, then one `complete` call listing every
//! part's ETag in order.
//!
//! Memory stays bounded: parts are read one at a time, and a new part is read
//! only when fewer than `part_concurrency` are in flight, so at most
//! `(part_concurrency + 1) * part_size` bytes are held, whatever the size.

use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{stream, StreamExt, TryStreamExt};
use http::header::{CONTENT_LENGTH, ETAG};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;
use url::Url;

use super::error::{signed_attempt, UploadError, UploadFailure};
use super::source::PartReader;
use super::upload::{initiate, Described, Flow};
use super::UploadOptions;
use crate::http::{retrying, Failed, Operation};
use crate::Client;

/// Part numbers run from 1 to 10,000 (the usual object-store limit).
pub(crate) const MAX_PARTS: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompletedPart {
    pub(crate) part_number: u32,
    pub(crate) etag: String,
}

/// Where the parts come from.
pub(crate) enum Parts {
    /// Read one after another (bytes, readers) and held while in flight.
    Sequential {
        reader: PartReader,
        /// A part already read while deciding between single and multipart.
        first: Option<Bytes>,
    },
    /// Ranges of a file of known length, each streamed from disk when sent
    /// (and re-read for a retry), so no part is ever held in memory.
    File { path: PathBuf, len: u64 },
}

/// One part's content, re-creatable for every attempt.
#[derive(Clone, Debug)]
enum PartBody {
    Memory(Bytes),
    FileRange {
        path: Arc<PathBuf>,
        offset: u64,
        len: u64,
    },
}

/// A planned part of a file: its number and byte range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PartRange {
    pub(crate) number: u32,
    pub(crate) offset: u64,
    pub(crate) len: u64,
}

/// Cuts `len` bytes into numbered parts of `part_size` (the last one shorter).
pub(crate) fn plan(len: u64, part_size: usize) -> Result<Vec<PartRange>, UploadError> {
    let size = part_size.max(1) as u64;
    let count = len.div_ceil(size);
    if count > u64::from(MAX_PARTS) {
        return Err(UploadError::TooManyParts {
            size: len,
            part_size,
            max: MAX_PARTS,
        });
    }
    Ok((0..count)
        .map(|i| PartRange {
            // count <= MAX_PARTS, so the number fits.
            number: u32::try_from(i + 1).unwrap_or(MAX_PARTS),
            offset: i * size,
            len: size.min(len - i * size),
        })
        .collect())
}

struct Producer {
    reader: PartReader,
    pending_first: Option<Bytes>,
    next_number: u32,
    read_so_far: u64,
}

/// Runs a multipart upload: initiate, parts (bounded concurrency, per-part
/// retries), complete. The file URL is returned only after `complete`
/// succeeded.
pub(crate) async fn upload(
    client: &Client,
    described: &Described,
    options: &UploadOptions,
    parts: Parts,
) -> Result<String, UploadError> {
    let part_size = options.part_size.max(1);
    let bodies: BoxStream<'static, Result<(u32, PartBody), UploadError>> = match parts {
        Parts::File { path, len } => {
            let path = Arc::new(path);
            let planned = plan(len, part_size)?;
            stream::iter(planned.into_iter().map(move |range| {
                Ok((
                    range.number,
                    PartBody::FileRange {
                        path: path.clone(),
                        offset: range.offset,
                        len: range.len,
                    },
                ))
            }))
            .boxed()
        }
        Parts::Sequential { reader, first } => sequential(reader, first, part_size).boxed(),
    };
    let initiated = initiate(client, Flow::Multipart, described, options).await?;
    let upload_url = &initiated.upload_url;
    let mut completed: Vec<CompletedPart> = bodies
        .map_ok(|(number, body)| put_part(client, upload_url, number, body))
        .try_buffer_unordered(options.part_concurrency.max(1))
        .try_collect()
        .await?;
    if completed.is_empty() {
        // Empty content: one empty part, so the upload still has an object.
        let empty = PartBody::Memory(Bytes::new());
        completed.push(put_part(client, upload_url, 1, empty).await?);
    }
    completed.sort_by_key(|part| part.part_number);
    complete(client, upload_url, &completed).await?;
    Ok(initiated.file_url)
}

/// Parts read one after another; a part is read only when the consumer asks,
/// which `try_buffer_unordered` does only while below its concurrency.
fn sequential(
    reader: PartReader,
    first: Option<Bytes>,
    part_size: usize,
) -> impl futures_util::Stream<Item = Result<(u32, PartBody), UploadError>> + Send + 'static {
    let producer = Producer {
        reader,
        pending_first: first.filter(|f| !f.is_empty()),
        next_number: 1,
        read_so_far: 0,
    };
    stream::try_unfold(producer, move |mut p| async move {
        let chunk = match p.pending_first.take() {
            Some(first) => Some(first),
            None => p
                .reader
                .next(part_size)
                .await
                .map_err(|source| UploadError::Read { path: None, source })?,
        };
        let Some(chunk) = chunk else {
            return Ok(None);
        };
        p.read_so_far += chunk.len() as u64;
        let number = p.next_number;
        if number > MAX_PARTS {
            return Err(UploadError::TooManyParts {
                size: p.read_so_far,
                part_size,
                max: MAX_PARTS,
            });
        }
        p.next_number += 1;
        Ok(Some(((number, PartBody::Memory(chunk)), p)))
    })
}

impl PartBody {
    async fn body(&self) -> Result<(reqwest::Body, u64), UploadFailure> {
        match self {
            Self::Memory(data) => Ok((reqwest::Body::from(data.clone()), data.len() as u64)),
            Self::FileRange { path, offset, len } => {
                let mut file = tokio::fs::File::open(path.as_ref())
                    .await
                    .map_err(UploadFailure::Local)?;
                file.seek(SeekFrom::Start(*offset))
                    .await
                    .map_err(UploadFailure::Local)?;
                let stream = ReaderStream::with_capacity(file.take(*len), FILE_READ_CHUNK);
                Ok((reqwest::Body::wrap_stream(stream), *len))
            }
        }
    }
}

/// Read size when streaming a part from disk.
const FILE_READ_CHUNK: usize = 256 * 1024;

/// `<origin><path>/<suffix><query>`: the upload URL with one more path segment.
pub(crate) fn child_url(upload_url: &Url, suffix: &str) -> Result<Url, UploadFailure> {
    let mut url = upload_url.clone();
    url.path_segments_mut()
        .map_err(|()| {
            UploadFailure::Protocol(format!("upload_url {upload_url} cannot take a path"))
        })?
        .pop_if_empty()
        .push(suffix);
    Ok(url)
}

/// One part, retried on its own through the client's retry loop.
async fn put_part(
    client: &Client,
    upload_url: &Url,
    number: u32,
    body: PartBody,
) -> Result<CompletedPart, UploadError> {
    let failed = |attempts, failure| UploadError::Part {
        part: number,
        attempts,
        failure,
    };
    let url = child_url(upload_url, &number.to_string()).map_err(|f| failed(0, f))?;
    let (url, body) = (&url, &body);
    retrying(
        client.retry_policy(),
        Operation::Upload,
        |attempt| async move {
            try_part(client, url, number, body)
                .await
                .map_err(|f| f.map(|failure| failed(attempt, failure)))
        },
    )
    .await
}

#[derive(Deserialize)]
struct PartAnswer {
    #[serde(default)]
    etag: Option<String>,
}

/// One attempt; success only with a complete 2xx answer naming an ETag.
async fn try_part(
    client: &Client,
    url: &Url,
    number: u32,
    body: &PartBody,
) -> Result<CompletedPart, Failed<UploadFailure>> {
    let (body, len) = body.body().await?;
    let put = client
        .with_total(
            client.http().put(url.clone()),
            client.timeouts().upload_part,
        )
        .header(CONTENT_LENGTH, len)
        .body(body);
    let response = signed_attempt(client, put).await?;
    let header_etag = response
        .headers()
        .get(ETAG)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    // fal's JS flow answers with JSON {partNumber, etag}; S3-style stores send
    // an ETag header. Reading the body to its end also proves the answer was
    // not cut; a cut one is sent again (a part PUT may be repeated).
    let limit = crate::body::SMALL_BODY_LIMIT;
    let body = match crate::body::read_capped(response, limit, client.timeouts().idle_body).await {
        Ok(body) => body,
        Err(crate::body::BodyError::Transport(err)) => {
            return Err(Failed::retry(UploadFailure::Transport(err)))
        }
        Err(crate::body::BodyError::Idle { after }) => {
            return Err(Failed::retry(UploadFailure::Protocol(format!(
                "part {number} answer stalled: no bytes within {after:?}"
            ))))
        }
        Err(crate::body::BodyError::TooLarge { limit }) => {
            return Err(Failed::fatal(UploadFailure::Protocol(format!(
                "part {number} answer is over {limit} bytes"
            ))))
        }
    };
    let json_etag = serde_json::from_slice::<PartAnswer>(&body)
        .ok()
        .and_then(|answer| answer.etag);
    let etag = json_etag.or(header_etag).ok_or_else(|| {
        UploadFailure::Protocol(format!("part {number} answer has no etag (JSON or header)"))
    })?;
    Ok(CompletedPart {
        part_number: number,
        etag,
    })
}

async fn complete(
    client: &Client,
    upload_url: &Url,
    parts: &[CompletedPart],
) -> Result<(), UploadError> {
    let url = child_url(upload_url, "complete").map_err(UploadError::Complete)?;
    let body = json!({ "parts": parts });
    let (url, body) = (&url, &body);
    retrying(client.retry_policy(), Operation::Upload, |_| async move {
        let post = client.http().post(url.clone());
        let request = client
            .with_total(post, client.timeouts().upload_complete)
            .json(body);
        signed_attempt(client, request)
            .await
            .map_err(|f| f.map(UploadError::Complete))?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_urls_insert_a_segment_before_the_query() {
        let base = Url::parse("https://up.example/u/abc?sig=x%2By").unwrap();
        assert_eq!(
            child_url(&base, "3").unwrap().as_str(),
            "https://up.example/u/abc/3?sig=x%2By"
        );
        let slash = Url::parse("https://up.example/u/abc/").unwrap();
        assert_eq!(
            child_url(&slash, "complete").unwrap().as_str(),
            "https://up.example/u/abc/complete"
        );
        assert!(child_url(&Url::parse("data:text/plain,hi").unwrap(), "1").is_err());
    }

    #[test]
    fn plans_cover_the_file_exactly() {
        let parts = plan(25, 10).unwrap();
        let ranges: Vec<(u32, u64, u64)> =
            parts.iter().map(|p| (p.number, p.offset, p.len)).collect();
        assert_eq!(ranges, [(1, 0, 10), (2, 10, 10), (3, 20, 5)]);
        assert_eq!(plan(20, 10).unwrap().len(), 2);
        assert!(plan(0, 10).unwrap().is_empty());
        assert_eq!(plan(10_000, 1).unwrap().len(), 10_000);
        assert!(matches!(
            plan(10_001, 1),
            Err(UploadError::TooManyParts { .. })
        ));
        // A zero part size is treated as one byte, never a division by zero.
        assert_eq!(plan(3, 0).unwrap().len(), 3);
    }

    #[test]
    fn completed_parts_use_fal_field_names() {
        let part = CompletedPart {
            part_number: 2,
            etag: "\"e\"".into(),
        };
        assert_eq!(
            serde_json::to_string(&part).unwrap(),
            r#"{"partNumber":2,"etag":"\"e\""}"#
        );
    }
}
