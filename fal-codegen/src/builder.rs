//! The front end for build scripts (and the CLI): which documents, which
//! endpoints, where the bindings go.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::parse::{parse_document, Document};

/// The file name used in `OUT_DIR` when none is given.
pub const DEFAULT_OUT_FILE: &str = "fal_endpoints.rs";

/// Configures a generation run.
///
/// In `build.rs`:
///
/// ```no_run
/// if let Err(e) = fal_codegen::Builder::new()
///     .schema_dir("schemas")
///     .endpoint("fal-ai/flux/dev")
///     .build()
/// {
///     panic!("{e}");
/// }
/// ```
///
/// and in the crate: `pub mod fal { include!(concat!(env!("OUT_DIR"), "/fal_endpoints.rs")); }`.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
    endpoints: BTreeSet<String>,
    out_file: Option<PathBuf>,
}

/// The result of [`Builder::generate`].
#[derive(Clone, Debug)]
pub struct Generated {
    /// The formatted bindings.
    pub code: String,
    /// Every directory and file that was read, in the order read.
    pub inputs: Vec<PathBuf>,
    /// The endpoint ids generated, sorted.
    pub endpoints: Vec<String>,
}

impl Builder {
    /// An empty configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every `*.json` file directly inside `dir` (not recursive).
    pub fn schema_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dirs.push(dir.into());
        self
    }

    /// Adds one document.
    pub fn schema_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.files.push(file.into());
        self
    }

    /// Generates only this endpoint (call again for more); by default every
    /// endpoint found is generated.
    pub fn endpoint(mut self, id: impl Into<String>) -> Self {
        self.endpoints.insert(id.into());
        self
    }

    /// Where [`Builder::build`] writes: a path relative to `OUT_DIR` (or
    /// absolute). Defaults to [`DEFAULT_OUT_FILE`].
    pub fn out_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.out_file = Some(path.into());
        self
    }

    /// Reads, parses and renders, without writing anything.
    pub fn generate(&self) -> Result<Generated, Error> {
        self.generate_with(|_| {})
    }

    /// For build scripts: generates, prints `cargo:rerun-if-changed` for every
    /// directory and file read (also when generation fails, so fixing a file
    /// reruns the script), and writes the bindings into `OUT_DIR` unless they are
    /// already identical there. Returns the written path.
    pub fn build(&self) -> Result<PathBuf, Error> {
        let generated = self.generate_with(|path| {
            println!("cargo:rerun-if-changed={}", path.display());
        })?;
        let out_dir = std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or_else(|| Error::Io {
            path: PathBuf::from("$OUT_DIR"),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "OUT_DIR is not set (Builder::build is meant for build scripts; use generate or write_to)",
            ),
        })?;
        let path = out_dir.join(
            self.out_file
                .as_deref()
                .unwrap_or(Path::new(DEFAULT_OUT_FILE)),
        );
        write_if_changed(&path, &generated.code)?;
        Ok(path)
    }

    /// Generates and writes to `path` unless it already holds the same bindings.
    pub fn write_to(&self, path: &Path) -> Result<Generated, Error> {
        let generated = self.generate()?;
        write_if_changed(path, &generated.code)?;
        Ok(generated)
    }

    fn generate_with(&self, mut on_read: impl FnMut(&Path)) -> Result<Generated, Error> {
        let mut inputs = Vec::new();
        let mut files: Vec<PathBuf> = Vec::new();
        for dir in &self.dirs {
            on_read(dir);
            inputs.push(dir.clone());
            files.extend(json_files(dir)?);
        }
        files.extend(self.files.iter().cloned());
        let mut texts: Vec<String> = Vec::with_capacity(files.len());
        for file in &files {
            on_read(file);
            inputs.push(file.clone());
            let text = fs::read_to_string(file).map_err(|source| Error::Io {
                path: file.clone(),
                source,
            })?;
            texts.push(text);
        }
        let mut documents = parse_all(&files, &texts)?;
        if !self.endpoints.is_empty() {
            for wanted in &self.endpoints {
                if !documents.iter().any(|d| &d.endpoint_id == wanted) {
                    return Err(Error::UnknownEndpoint(wanted.clone()));
                }
            }
            documents.retain(|d| self.endpoints.contains(&d.endpoint_id));
        }
        let code = crate::generate(&documents)?;
        let mut endpoints: Vec<String> = documents.into_iter().map(|d| d.endpoint_id).collect();
        endpoints.sort();
        Ok(Generated {
            code,
            inputs,
            endpoints,
        })
    }
}

/// Parses documents on all cores; the first error (in file order) wins.
fn parse_all(files: &[PathBuf], texts: &[String]) -> Result<Vec<Document>, Error> {
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = files.len().div_ceil(threads).max(1);
    let parsed: Vec<Result<Document, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .zip(texts.chunks(chunk))
            .map(|(files, texts)| {
                scope.spawn(move || {
                    files
                        .iter()
                        .zip(texts)
                        .map(|(file, text)| parse_document(file, text))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![Err(Error::Internal("a parsing thread panicked".into()))]
                })
            })
            .collect()
    });
    parsed.into_iter().collect()
}

/// The `*.json` files directly in `dir`, sorted by name.
pub(crate) fn json_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_file() && path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

pub(crate) fn write_if_changed(path: &Path, code: &str) -> Result<(), Error> {
    if fs::read_to_string(path).is_ok_and(|existing| existing == code) {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|source| Error::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    fs::write(path, code).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}
