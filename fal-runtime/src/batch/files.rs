//! The files an output names, downloaded into the batch directory.
//!
//! fal returns generated media as objects with a `url` (its `File` and
//! `Image` models: `url` plus `content_type`, `file_name`, `file_size`,
//! `width`, `height`…). Every object in the output whose `url` is `http(s)`
//! or a `data:` URI is saved as `files/<line>-<n>.<ext>`, written to a
//! temporary name, synced and renamed, so a file on disk under its final name
//! is always whole. The URL is fetched without the API key: file hosts are not
//! fal's API hosts.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::BatchError;
use crate::destination::Traffic;
use crate::http::{self, Failed, Operation};
use crate::Client;

/// The directory (inside the batch directory) files go to.
pub const FILES_DIR: &str = "files";

/// One downloaded file, as the result line records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SavedFile {
    /// JSON pointer of the object in the output, e.g. `/images/0`.
    pub(crate) pointer: String,
    /// Where it was fetched from (a `data:` URI is shown as `data:`).
    pub(crate) url: String,
    /// Path relative to the batch directory.
    pub(crate) path: String,
    /// Bytes written.
    pub(crate) size: u64,
    /// Hex SHA-256 of the bytes.
    pub(crate) sha256: String,
}

/// A file reference found in an output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileRef {
    pub(crate) pointer: String,
    pub(crate) url: String,
    pub(crate) file_name: Option<String>,
    pub(crate) content_type: Option<String>,
}

/// Every file reference in `output`, in document order.
pub(crate) fn find(output: &Value) -> Vec<FileRef> {
    let mut found = Vec::new();
    walk(output, &mut String::new(), &mut found);
    found
}

fn walk(value: &Value, pointer: &mut String, found: &mut Vec<FileRef>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(url)) = map.get("url") {
                let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
                if lower.starts_with("http://")
                    || lower.starts_with("https://")
                    || lower.starts_with("data:")
                {
                    found.push(FileRef {
                        pointer: if pointer.is_empty() {
                            String::new()
                        } else {
                            pointer.clone()
                        },
                        url: url.clone(),
                        file_name: map
                            .get("file_name")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        content_type: map
                            .get("content_type")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    });
                    return;
                }
            }
            for (key, child) in map {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                walk(child, pointer, found);
                pointer.truncate(len);
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&index.to_string());
                walk(child, pointer, found);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

/// A file name extension: from `file_name`, else the content type, else the
/// URL's last segment; only short alphanumeric ones, so nothing from the
/// output can shape a path.
fn extension(file: &FileRef) -> Option<String> {
    let from_name = |name: &str| {
        name.rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .filter(|ext| {
                !ext.is_empty() && ext.len() <= 8 && ext.chars().all(|c| c.is_ascii_alphanumeric())
            })
    };
    if let Some(ext) = file.file_name.as_deref().and_then(from_name) {
        return Some(ext);
    }
    let content_type = file.content_type.clone().or_else(|| {
        file.url
            .strip_prefix("data:")
            .and_then(|rest| rest.split([';', ',']).next())
            .map(str::to_owned)
    });
    if let Some(ext) = content_type
        .as_deref()
        .and_then(|ct| {
            mime_guess::get_mime_extensions_str(ct.split(';').next().unwrap_or(ct).trim())
        })
        .and_then(|exts| exts.first())
    {
        return Some((*ext).to_owned());
    }
    url::Url::parse(&file.url)
        .ok()
        .filter(|u| u.scheme() != "data")
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next_back())
                .and_then(from_name)
        })
}

/// Downloads every file of `output` for job `line`. Files already saved
/// whole by an earlier attempt are fetched again (their content may differ
/// only if fal changed it; the record describes what is on disk now).
pub(crate) async fn save_all(
    client: &Client,
    dir: &Path,
    line: u64,
    output: &Value,
) -> Result<Vec<SavedFile>, FileError> {
    let refs = find(output);
    let mut saved = Vec::with_capacity(refs.len());
    if refs.is_empty() {
        return Ok(saved);
    }
    let files_dir = dir.join(FILES_DIR);
    tokio::fs::create_dir_all(&files_dir)
        .await
        .map_err(|e| FileError::Local(BatchError::io(&files_dir, "create", e)))?;
    for (index, file) in refs.iter().enumerate() {
        let name = match extension(file) {
            Some(ext) => format!("{line}-{index}.{ext}"),
            None => format!("{line}-{index}"),
        };
        let target = files_dir.join(&name);
        let (size, sha256) = if file
            .url
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("data:"))
        {
            save_data_uri(&file.url, &target).await?
        } else {
            download(client, &file.url, &target).await?
        };
        saved.push(SavedFile {
            pointer: file.pointer.clone(),
            url: if file.url.starts_with("data:") {
                "data:".to_owned()
            } else {
                file.url.clone()
            },
            path: format!("{FILES_DIR}/{name}"),
            size,
            sha256,
        });
    }
    // The renames are durable only once the directory itself is synced.
    sync_dir(&files_dir)
        .await
        .map_err(|e| FileError::Local(BatchError::io(&files_dir, "sync", e)))?;
    Ok(saved)
}

/// Why a file was not saved.
#[derive(Debug)]
pub(crate) enum FileError {
    /// The batch directory could not be written (full disk…): stop the batch.
    Local(BatchError),
    /// The file could not be fetched after retries: the job's result says so.
    Remote { url: String, message: String },
}

fn temp_path(target: &Path) -> PathBuf {
    let mut name = target
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".part");
    target.with_file_name(name)
}

async fn save_data_uri(uri: &str, target: &Path) -> Result<(u64, String), FileError> {
    let bad = |message: &str| FileError::Remote {
        url: "data:".to_owned(),
        message: message.to_owned(),
    };
    let (header, payload) = uri
        .split_once(',')
        .ok_or_else(|| bad("a data: URI without a comma"))?;
    let bytes = if header.ends_with(";base64") {
        base64::engine::general_purpose::STANDARD
            .decode(payload.trim())
            .map_err(|e| bad(&format!("bad base64: {e}")))?
    } else {
        percent_decode(payload)
    };
    let temp = temp_path(target);
    let local = |e| FileError::Local(BatchError::io(target, "write", e));
    let mut out = tokio::fs::File::create(&temp).await.map_err(local)?;
    let written = async {
        out.write_all(&bytes).await?;
        // tokio writes in the background: only flush reports the last
        // write's error (a full disk); sync_all would swallow it.
        out.flush().await?;
        out.sync_all().await?;
        tokio::fs::rename(&temp, target).await
    }
    .await;
    if let Err(err) = written {
        let _ = tokio::fs::remove_file(&temp).await;
        return Err(local(err));
    }
    Ok((bytes.len() as u64, hex::encode(Sha256::digest(&bytes))))
}

fn percent_decode(text: &str) -> Vec<u8> {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())
        .unwrap_or_default()
}

/// Fetches `url` into `target`, hashing as it writes. The client's one retry
/// loop covers the whole exchange: a failed request and a body cut short (or
/// shorter than its `content-length`) are each one attempt.
async fn download(client: &Client, url: &str, target: &Path) -> Result<(u64, String), FileError> {
    let remote = |message: String| FileError::Remote {
        url: url.to_owned(),
        message,
    };
    let parsed = url::Url::parse(url).map_err(|e| remote(format!("not a URL: {e}")))?;
    let temp = temp_path(target);
    let (parsed, temp, remote) = (&parsed, &temp, &remote);
    http::retrying(client.retry_policy(), Operation::Download, |_| async move {
        // A public file: no key, whatever host the output names.
        let response = http::attempt_as(client, Traffic::Public, Operation::Download, || {
            client.http().get(parsed.clone())
        })
        .await
        .map_err(|failed| failed.map(|e| remote(e.to_string())))?;
        let expected = response.content_length();
        match write_body(response, temp, client.timeouts().idle_body).await {
            Ok((size, sha)) if expected.is_none_or(|n| n == size) => {
                tokio::fs::rename(temp, target)
                    .await
                    .map_err(|e| FileError::Local(BatchError::io(target, "rename into", e)))?;
                Ok((size, sha))
            }
            Ok((size, _)) => {
                let _ = tokio::fs::remove_file(temp).await;
                Err(Failed::retry(remote(format!(
                    "got {size} bytes of {}",
                    expected.unwrap_or_default()
                ))))
            }
            Err(BodyError::Local(err)) => {
                let _ = tokio::fs::remove_file(temp).await;
                Err(Failed::fatal(FileError::Local(BatchError::io(
                    target, "write", err,
                ))))
            }
            Err(BodyError::Remote(err)) => {
                let _ = tokio::fs::remove_file(temp).await;
                Err(Failed::retry(remote(format!("the download broke: {err}"))))
            }
            Err(BodyError::Stalled(after)) => {
                let _ = tokio::fs::remove_file(temp).await;
                Err(Failed::retry(remote(format!(
                    "the download stalled: no bytes within {after:?}"
                ))))
            }
        }
    })
    .await
}

enum BodyError {
    Local(std::io::Error),
    Remote(reqwest::Error),
    /// No bytes for this long ([`crate::Timeouts::idle_body`]).
    Stalled(std::time::Duration),
}

async fn write_body(
    mut response: reqwest::Response,
    temp: &Path,
    idle: std::time::Duration,
) -> Result<(u64, String), BodyError> {
    let mut out = tokio::fs::File::create(temp)
        .await
        .map_err(BodyError::Local)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) =
        crate::body::next_chunk(&mut response, idle)
            .await
            .map_err(|e| match e {
                crate::body::ChunkError::Transport(e) => BodyError::Remote(e.without_url()),
                crate::body::ChunkError::Idle(after) => BodyError::Stalled(after),
            })?
    {
        hasher.update(&chunk);
        size += chunk.len() as u64;
        out.write_all(&chunk).await.map_err(BodyError::Local)?;
    }
    // tokio writes in the background: only flush reports the last write's
    // error (a full disk); sync_all alone would swallow it and leave a short
    // file recorded with the hash of the whole body.
    out.flush().await.map_err(BodyError::Local)?;
    out.sync_all().await.map_err(BodyError::Local)?;
    Ok((size, hex::encode(hasher.finalize())))
}

async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all())
        .await
        .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn files_are_found_with_their_pointers() {
        let output = json!({
            "images": [
                {"url": "https://cdn.example/a.png", "content_type": "image/png"},
                {"url": "http://cdn.example/b", "file_name": "b.JPG"}
            ],
            "video": {"url": "data:video/mp4;base64,AAAA"},
            "seed": 3,
            "text": {"url": "not a file"},
            "a/b": {"url": "https://cdn.example/c.wav"}
        });
        let found = find(&output);
        let pointers: Vec<&str> = found.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(pointers, ["/images/0", "/images/1", "/video", "/a~1b"]);
        let exts: Vec<Option<String>> = found.iter().map(extension).collect();
        assert_eq!(
            exts,
            [
                Some("png".to_owned()),
                Some("jpg".to_owned()),
                Some("mp4".to_owned()),
                Some("wav".to_owned())
            ]
        );
    }

    #[test]
    fn extensions_from_outputs_cannot_shape_paths() {
        let file = FileRef {
            pointer: String::new(),
            url: "https://cdn.example/x".into(),
            file_name: Some("evil./../../etc".into()),
            content_type: None,
        };
        assert_eq!(extension(&file), None);
    }
}
