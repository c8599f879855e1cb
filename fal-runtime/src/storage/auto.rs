//! Auto-upload of local [`FileInput`]s found anywhere in an input.
//!
//! Inputs are arbitrary `Serialize` types, so the files inside them are found
//! by serialising: while [`collect`] runs, `FileInput`'s `Serialize` impl hands
//! each local variant (bytes or path) to a thread-local collector and writes a
//! placeholder string instead. The placeholders are then replaced by the URLs
//! of the uploaded files.
//!
//! A placeholder is `fal-upload://<nonce>/<index>`, where the nonce is 128
//! random bits drawn for this one call and the index is the file's position in
//! the collector. Only strings equal to a placeholder the collector itself
//! emitted are replaced, so a user's own string cannot be mistaken for a file
//! unless it guesses the nonce. `Url` variants (including `data:` URIs) are
//! written as they are and never uploaded.
//!
//! The collector is thread-local, not task-local: serialisation is synchronous,
//! so the whole `to_value` call runs on one thread with no await in between.

use std::cell::RefCell;

use futures_util::{stream, StreamExt, TryStreamExt};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::source::UploadSource;
use super::upload::upload;
use super::UploadOptions;
use crate::file::FileInput;
use crate::{Client, Error, Result};

/// Files uploaded at once while preparing one input.
const CONCURRENT_UPLOADS: usize = 4;

struct Collector {
    nonce: String,
    files: Vec<FileInput>,
}

thread_local! {
    static COLLECTOR: RefCell<Option<Collector>> = const { RefCell::new(None) };
}

/// Serialises a local `FileInput`: a placeholder while [`collect`] runs, an
/// error otherwise (the value would be meaningless to fal).
pub(crate) fn serialize_local<S: Serializer>(
    input: &FileInput,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let placeholder = COLLECTOR.with(|cell| {
        cell.borrow_mut().as_mut().map(|collector| {
            let index = collector.files.len();
            collector.files.push(input.clone());
            placeholder(&collector.nonce, index)
        })
    });
    match placeholder {
        Some(placeholder) => serializer.serialize_str(&placeholder),
        None => Err(serde::ser::Error::custom(
            "a local file input must be uploaded before it is serialized; \
             send it through the client (which uploads it) or upload it first",
        )),
    }
}

fn placeholder(nonce: &str, index: usize) -> String {
    format!("fal-upload://{nonce}/{index}")
}

/// Removes the collector when dropped, even if serialisation panics.
struct Active;

impl Drop for Active {
    fn drop(&mut self) {
        COLLECTOR.with(|cell| cell.borrow_mut().take());
    }
}

/// An input serialised with placeholders, and the files they stand for.
pub(crate) struct Collected {
    pub(crate) value: Value,
    nonce: String,
    pub(crate) files: Vec<FileInput>,
}

/// Serialises `input`, collecting its local files; a failure names the field.
pub(crate) fn collect(input: &(impl Serialize + ?Sized)) -> Result<Collected> {
    let nonce = format!("{:032x}", u128::from_le_bytes(crate::random::bytes()?));
    COLLECTOR.with(|cell| {
        *cell.borrow_mut() = Some(Collector {
            nonce: nonce.clone(),
            files: Vec::new(),
        });
    });
    let guard = Active;
    let value = serde_path_to_error::serialize(input, serde_json::value::Serializer);
    let files = COLLECTOR
        .with(|cell| cell.borrow_mut().take())
        .map(|collector| collector.files)
        .unwrap_or_default();
    drop(guard);
    let value = value.map_err(|err| {
        let path = err.path().to_string();
        Error::input(path, err.into_inner())
    })?;
    Ok(Collected {
        value,
        nonce,
        files,
    })
}

impl Collected {
    /// Replaces each placeholder with `urls[index]`.
    pub(crate) fn substitute(mut self, urls: &[String]) -> Value {
        let prefix = format!("fal-upload://{}/", self.nonce);
        replace(&mut self.value, &prefix, urls);
        self.value
    }
}

fn replace(value: &mut Value, prefix: &str, urls: &[String]) {
    match value {
        Value::String(text) => {
            let url = text
                .strip_prefix(prefix)
                .and_then(|index| index.parse::<usize>().ok())
                .and_then(|index| urls.get(index));
            if let Some(url) = url {
                *text = url.clone();
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| replace(item, prefix, urls)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|item| replace(item, prefix, urls)),
        _ => {}
    }
}

/// Serialises `input`, uploading every local file in it and putting its URL
/// in its place.
pub(crate) async fn prepare(client: &Client, input: &(impl Serialize + ?Sized)) -> Result<Value> {
    let collected = collect(input)?;
    if collected.files.is_empty() {
        return Ok(collected.value);
    }
    let urls: Vec<String> = stream::iter(collected.files.iter().cloned())
        .map(|file| async move {
            let (source, options) = source_of(file);
            upload(client, source, &options).await
        })
        .buffered(CONCURRENT_UPLOADS)
        .try_collect()
        .await?;
    Ok(collected.substitute(&urls))
}

fn source_of(file: FileInput) -> (UploadSource, UploadOptions) {
    let options = UploadOptions::default();
    match file {
        FileInput::Bytes {
            data,
            content_type,
            file_name,
        } => (
            UploadSource::Bytes(data),
            UploadOptions {
                content_type,
                file_name,
                ..options
            },
        ),
        FileInput::Path(path) => (UploadSource::File(path), options),
        // Never collected: URLs serialise as themselves.
        FileInput::Url(url) => (UploadSource::Bytes(url.into()), options),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize)]
    struct Input {
        prompt: String,
        image: FileInput,
        extra: Vec<FileInput>,
    }

    #[test]
    fn local_files_become_placeholders_only_inside_collect() {
        let input = Input {
            prompt: "fal-upload://0/0".into(),
            image: FileInput::bytes(vec![1, 2, 3], "image/png"),
            extra: vec![
                FileInput::url("data:text/plain;base64,aGk="),
                FileInput::path("/tmp/x.bin"),
            ],
        };
        assert!(serde_json::to_value(&input).is_err());
        let collected = collect(&input).unwrap();
        assert_eq!(collected.files.len(), 2);
        assert!(collected.files[1] == FileInput::path("/tmp/x.bin"));
        let value = collected.substitute(&["https://a/1".into(), "https://a/2".into()]);
        assert_eq!(
            value,
            json!({
                "prompt": "fal-upload://0/0",
                "image": "https://a/1",
                "extra": ["data:text/plain;base64,aGk=", "https://a/2"],
            })
        );
        // The collector is gone afterwards.
        assert!(serde_json::to_value(&input).is_err());
    }

    #[test]
    fn a_user_string_shaped_like_a_placeholder_is_left_alone() {
        let first = collect(&Input {
            prompt: String::new(),
            image: FileInput::path("/a"),
            extra: vec![],
        })
        .unwrap();
        let leaked = first.value["image"].as_str().unwrap().to_owned();
        // A later call draws a new nonce, so an old placeholder is just text.
        let second = collect(&Input {
            prompt: leaked.clone(),
            image: FileInput::path("/b"),
            extra: vec![],
        })
        .unwrap();
        let value = second.substitute(&["https://new".into()]);
        assert_eq!(value["prompt"], json!(leaked));
        assert_eq!(value["image"], json!("https://new"));
    }
}
