//! Multipart upload (spec 7.2): parts PUT to `<upload_url path>/<n>` several
//! at a time, each retried on its own, then one `complete` call listing every
//! part's ETag in order.
//!
//! Memory stays bounded: parts are read one at a time, and a new part is read
//! only when fewer than `part_concurrency` are in flight, so at most
//! `(part_concurrency + 1) * part_size` bytes are held, whatever the size.

use std::path::PathBuf;

use bytes::Bytes;
use futures::{stream, TryStreamExt};
use http::header::ETAG;
use serde::{Deserialize, Serialize};
use serde_json::json;
use url::Url;

use super::error::{status_failure, UploadError, UploadFailure};
use super::source::PartReader;
use super::upload::{backoff, initiate, Described, Flow};
use super::UploadOptions;
use crate::Client;

/// Part numbers run from 1 to 10,000 (the usual object-store limit).
pub(crate) const MAX_PARTS: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompletedPart {
    pub(crate) part_number: u32,
    pub(crate) etag: String,
}

/// Uploads everything `reader` yields as a multipart upload.
pub(crate) async fn upload(
    client: &Client,
    described: &Described,
    options: &UploadOptions,
    reader: PartReader,
    path: Option<PathBuf>,
) -> Result<String, UploadError> {
    run(client, described, options, None, reader, path).await
}

/// Same, when the first part was already read (to decide single vs multipart).
pub(crate) async fn upload_with_first(
    client: &Client,
    described: &Described,
    options: &UploadOptions,
    first: Bytes,
    reader: PartReader,
) -> Result<String, UploadError> {
    run(client, described, options, Some(first), reader, None).await
}

struct Producer {
    reader: PartReader,
    pending_first: Option<Bytes>,
    next_number: u32,
    read_so_far: u64,
    path: Option<PathBuf>,
}

async fn run(
    client: &Client,
    described: &Described,
    options: &UploadOptions,
    first: Option<Bytes>,
    reader: PartReader,
    path: Option<PathBuf>,
) -> Result<String, UploadError> {
    let initiated = initiate(client, Flow::Multipart, described, options).await?;
    let part_size = options.part_size.max(1);
    let producer = Producer {
        reader,
        pending_first: first.filter(|f| !f.is_empty()),
        next_number: 1,
        read_so_far: 0,
        path,
    };
    let parts = stream::try_unfold(producer, move |mut p| async move {
        let chunk = match p.pending_first.take() {
            Some(first) => Some(first),
            None => p
                .reader
                .next(part_size)
                .await
                .map_err(|source| UploadError::Read {
                    path: p.path.clone(),
                    source,
                })?,
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
        Ok(Some(((number, chunk), p)))
    });
    let upload_url = &initiated.upload_url;
    let attempts = options.part_attempts.max(1);
    let mut completed: Vec<CompletedPart> = parts
        .map_ok(|(number, chunk)| put_part(client.http(), upload_url, number, chunk, attempts))
        .try_buffer_unordered(options.part_concurrency.max(1))
        .try_collect()
        .await?;
    if completed.is_empty() {
        // Empty content: one empty part, so the upload still has an object.
        completed.push(put_part(client.http(), upload_url, 1, Bytes::new(), attempts).await?);
    }
    completed.sort_by_key(|part| part.part_number);
    complete(client.http(), upload_url, &completed, attempts).await?;
    Ok(initiated.file_url)
}

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

async fn put_part(
    http: &reqwest::Client,
    upload_url: &Url,
    number: u32,
    chunk: Bytes,
    attempts: u32,
) -> Result<CompletedPart, UploadError> {
    let failed = |attempts, failure| UploadError::Part {
        part: number,
        attempts,
        failure,
    };
    let url = child_url(upload_url, &number.to_string()).map_err(|f| failed(0, f))?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match try_part(http, &url, number, chunk.clone()).await {
            Ok(part) => return Ok(part),
            Err(failure) if attempt >= attempts => return Err(failed(attempt, failure)),
            Err(failure) => {
                tracing::debug!(part = number, attempt, %failure, "retrying upload part");
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
    }
}

#[derive(Deserialize)]
struct PartAnswer {
    #[serde(default)]
    etag: Option<String>,
}

/// One attempt; success only with a complete 2xx answer naming an ETag.
async fn try_part(
    http: &reqwest::Client,
    url: &Url,
    number: u32,
    chunk: Bytes,
) -> Result<CompletedPart, UploadFailure> {
    let response = http
        .put(url.clone())
        .body(chunk)
        .send()
        .await
        .map_err(UploadFailure::Transport)?;
    if !response.status().is_success() {
        return Err(status_failure(response).await);
    }
    let header_etag = response
        .headers()
        .get(ETAG)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    // fal's JS flow answers with JSON {partNumber, etag}; S3-style stores send
    // an ETag header. Reading the body to its end also proves the answer was
    // not cut.
    let body = response.bytes().await.map_err(UploadFailure::Transport)?;
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
    http: &reqwest::Client,
    upload_url: &Url,
    parts: &[CompletedPart],
    attempts: u32,
) -> Result<(), UploadError> {
    let url = child_url(upload_url, "complete").map_err(UploadError::Complete)?;
    let body = json!({ "parts": parts });
    let mut attempt = 0;
    loop {
        attempt += 1;
        let failure = match http.post(url.clone()).json(&body).send().await {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => {
                let retryable = response.status().is_server_error();
                let failure = status_failure(response).await;
                if !retryable {
                    return Err(UploadError::Complete(failure));
                }
                failure
            }
            Err(err) => UploadFailure::Transport(err),
        };
        if attempt >= attempts {
            return Err(UploadError::Complete(failure));
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
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
