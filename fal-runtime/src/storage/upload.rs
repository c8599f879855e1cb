//! The upload entry point: initiate (authenticated, on the REST host), then
//! one signed PUT, or multipart for large content.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde::Deserialize;
use serde_json::json;
use tokio_util::io::ReaderStream;
use url::Url;

use super::error::{signed_attempt, UploadError};
use super::lifecycle::{LIFECYCLE_HEADER, LIFECYCLE_PREFERENCE_HEADER};
use super::multipart::{self, Parts};
use super::source::{PartReader, UploadSource};
use super::UploadOptions;
use crate::http::{exchange, join, retrying, Operation};
use crate::Client;

/// Which initiate call to make.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Flow {
    Single,
    Multipart,
}

/// The name and type the object is stored under.
#[derive(Clone, Debug)]
pub(crate) struct Described {
    pub(crate) content_type: String,
    pub(crate) file_name: String,
}

/// The initiate answer: where to PUT, and the URL to hand out afterwards.
#[derive(Debug)]
pub(crate) struct Initiated {
    pub(crate) upload_url: Url,
    pub(crate) file_url: String,
}

#[derive(Deserialize)]
struct InitiateResponse {
    upload_url: String,
    file_url: String,
}

const FILE_READ_CHUNK: usize = 256 * 1024;

/// Uploads `source` and returns the public URL fal serves it at.
pub(crate) async fn upload(
    client: &Client,
    source: UploadSource,
    options: &UploadOptions,
) -> Result<String, UploadError> {
    let path = match &source {
        UploadSource::File(path) => Some(path.clone()),
        _ => None,
    };
    let described = describe(options, path.as_deref());
    match source {
        UploadSource::Bytes(data) if data.len() as u64 <= options.multipart_threshold => {
            single(client, &described, options, SingleBody::Bytes(data)).await
        }
        UploadSource::Bytes(data) => {
            let parts = Parts::Sequential {
                reader: PartReader::Memory { data },
                first: None,
            };
            multipart::upload(client, &described, options, parts).await
        }
        UploadSource::File(path) => {
            let read_error = |source| UploadError::Read {
                path: Some(path.clone()),
                source,
            };
            let file = tokio::fs::File::open(&path).await.map_err(read_error)?;
            let len = file.metadata().await.map_err(read_error)?.len();
            drop(file);
            if len <= options.multipart_threshold {
                single(client, &described, options, SingleBody::File { path, len }).await
            } else {
                let parts = Parts::File { path, len };
                multipart::upload(client, &described, options, parts).await
            }
        }
        UploadSource::Reader(reader) => {
            // The length is unknown: read one part; if the content ends within
            // it (and under the threshold) a single PUT suffices.
            let mut reader = PartReader::Stream(reader);
            let read_error = |source| UploadError::Read { path: None, source };
            let part_size = options.part_size.max(1);
            let first = reader
                .next(part_size)
                .await
                .map_err(read_error)?
                .unwrap_or_default();
            let ended = first.len() < part_size;
            if ended && first.len() as u64 <= options.multipart_threshold {
                single(client, &described, options, SingleBody::Bytes(first)).await
            } else {
                let parts = Parts::Sequential {
                    reader,
                    first: Some(first),
                };
                multipart::upload(client, &described, options, parts).await
            }
        }
    }
}

/// Fills in the name and type as fal's JS client does.
pub(crate) fn describe(options: &UploadOptions, path: Option<&Path>) -> Described {
    let path_name = path
        .and_then(Path::file_name)
        .map(|name| name.to_string_lossy().into_owned());
    let named = options.file_name.clone().or(path_name);
    let content_type = options
        .content_type
        .clone()
        .or_else(|| {
            named
                .as_deref()
                .and_then(|name| mime_guess::from_path(name).first_raw())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let file_name = named.unwrap_or_else(|| {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        format!("{millis}.{}", extension_of(&content_type))
    });
    Described {
        content_type,
        file_name,
    }
}

/// `image/png` → `png`, `application/octet-stream` → `octet` (fal JS's rule).
fn extension_of(content_type: &str) -> &str {
    let subtype = content_type
        .split_once('/')
        .map_or(content_type, |(_, sub)| sub);
    let end = subtype.find(['-', ';']).unwrap_or(subtype.len());
    let ext = subtype[..end].trim();
    if ext.is_empty() {
        "bin"
    } else {
        ext
    }
}

/// Calls `initiate` or `initiate-multipart` on the REST host.
pub(crate) async fn initiate(
    client: &Client,
    flow: Flow,
    described: &Described,
    options: &UploadOptions,
) -> Result<Initiated, UploadError> {
    let path = match flow {
        Flow::Single => "storage/upload/initiate",
        Flow::Multipart => "storage/upload/initiate-multipart",
    };
    let mut url = join(client.rest_base(), path);
    url.query_pairs_mut()
        .append_pair("storage_type", "fal-cdn-v3");
    let lifecycle = options.lifecycle.as_ref().and_then(|l| l.to_json());
    let body = json!({
        "content_type": described.content_type,
        "file_name": described.file_name,
    });
    // The answer's body is read inside the attempt: a cut one is asked for
    // again like any transport failure (initiating twice only leaves an unused
    // signed URL).
    let read = |response: reqwest::Response| {
        crate::http::read_body(
            client,
            response,
            Operation::Upload,
            crate::body::SMALL_BODY_LIMIT,
        )
    };
    let make = || {
        let mut request = client
            .http()
            .post(url.clone())
            .header(http::header::ACCEPT, "application/json")
            .json(&body);
        if let Some(lifecycle) = &lifecycle {
            request = request
                .header(LIFECYCLE_HEADER, lifecycle)
                .header(LIFECYCLE_PREFERENCE_HEADER, lifecycle);
        }
        request
    };
    let answer = exchange(client, Operation::Upload, make, read)
        .await
        .map_err(|err| UploadError::Initiate(Box::new(err)))?;
    let protocol = |message: String| UploadError::InitiateAnswer {
        url: url.to_string(),
        message,
    };
    let answer: InitiateResponse = serde_json::from_slice(&answer)
        .map_err(|err| protocol(format!("not JSON {{upload_url, file_url}}: {err}")))?;
    let upload_url = Url::parse(&answer.upload_url).map_err(|err| {
        protocol(format!(
            "upload_url {:?} is not a URL: {err}",
            answer.upload_url
        ))
    })?;
    Ok(Initiated {
        upload_url,
        file_url: answer.file_url,
    })
}

/// Content of a single PUT, re-creatable for each attempt.
enum SingleBody {
    Bytes(Bytes),
    File { path: PathBuf, len: u64 },
}

impl SingleBody {
    async fn body(&self) -> Result<(reqwest::Body, u64), UploadError> {
        match self {
            Self::Bytes(data) => Ok((reqwest::Body::from(data.clone()), data.len() as u64)),
            Self::File { path, len } => {
                let file =
                    tokio::fs::File::open(path)
                        .await
                        .map_err(|source| UploadError::Read {
                            path: Some(path.clone()),
                            source,
                        })?;
                let stream = ReaderStream::with_capacity(file, FILE_READ_CHUNK);
                Ok((reqwest::Body::wrap_stream(stream), *len))
            }
        }
    }
}

async fn single(
    client: &Client,
    described: &Described,
    options: &UploadOptions,
    content: SingleBody,
) -> Result<String, UploadError> {
    let initiated = initiate(client, Flow::Single, described, options).await?;
    let (upload_url, content) = (&initiated.upload_url, &content);
    retrying(
        client.retry_policy(),
        Operation::Upload,
        |attempt| async move {
            let (body, len) = content.body().await?;
            // No credentials: the signed URL is the authorization.
            let put = client
                .with_total(
                    client.http().put(upload_url.clone()),
                    client.timeouts().upload_part,
                )
                .header(CONTENT_TYPE, &described.content_type)
                .header(CONTENT_LENGTH, len)
                .body(body);
            signed_attempt(client, put).await.map_err(|failed| {
                failed.map(|failure| UploadError::Put {
                    attempts: attempt,
                    failure,
                })
            })?;
            Ok(())
        },
    )
    .await?;
    Ok(initiated.file_url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types_follow_fal_js() {
        let options = UploadOptions::default();
        let d = describe(&options, Some(Path::new("/tmp/cat.png")));
        assert_eq!(
            (d.content_type.as_str(), d.file_name.as_str()),
            ("image/png", "cat.png")
        );
        let d = describe(&options, None);
        assert_eq!(d.content_type, "application/octet-stream");
        assert!(d.file_name.ends_with(".octet"), "{}", d.file_name);
        let d = describe(&options.clone().content_type("image/svg+xml; q=1"), None);
        assert!(d.file_name.ends_with(".svg+xml"), "{}", d.file_name);
        assert_eq!(extension_of("weird"), "weird");
        assert_eq!(extension_of("a/"), "bin");
    }
}
