//! Writing fetched documents: the file naming shared with
//! `../shared/fal-schemas` and `schemas/`, one format for every source (pretty
//! JSON, trailing newline, mode 0644), and atomic replacement so an
//! interrupted fetch never leaves half a document behind.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use fal_runtime::EndpointId;
use serde_json::Value;

use crate::Failure;

/// The output directory, known to exist.
#[derive(Debug)]
pub struct OutDir {
    dir: PathBuf,
}

impl OutDir {
    /// Creates the directory (and parents) when missing.
    pub fn create(dir: &Path) -> Result<Self, Failure> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Failure::Usage(format!("--out {}: {e}", dir.display())))?;
        if !dir.is_dir() {
            return Err(Failure::Usage(format!(
                "--out {}: not a directory",
                dir.display()
            )));
        }
        Ok(Self {
            dir: dir.to_owned(),
        })
    }

    /// Writes `document` as `id`'s file, in the one format every source gets.
    pub fn write(&self, id: &EndpointId, document: &Value) -> std::io::Result<PathBuf> {
        self.write_named(&file_name(id), &document_bytes(document)?)
    }

    /// The directory as it is, possibly missing (for comparing, not writing).
    pub fn existing(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    /// Whether the file `name` holds exactly `bytes` (false when missing).
    pub fn holds(&self, name: &str, bytes: &[u8]) -> std::io::Result<bool> {
        match std::fs::read(self.dir.join(name)) {
            Ok(existing) => Ok(existing == bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes `bytes` as the file `name` unless it already holds exactly
    /// them (an unchanged file keeps its timestamp, so builds do not rerun);
    /// returns whether it wrote.
    pub fn write_if_changed(&self, name: &str, bytes: &[u8]) -> std::io::Result<bool> {
        if self.holds(name, bytes)? {
            return Ok(false);
        }
        self.write_named(name, bytes)?;
        Ok(true)
    }

    /// Every `*.json` file directly in the directory whose name is not in
    /// `keep`, deleted when `delete` is set; a missing directory has none.
    pub fn json_except(
        &self,
        keep: &BTreeSet<&str>,
        delete: bool,
    ) -> std::io::Result<Vec<PathBuf>> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut found = Vec::new();
        for entry in entries {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name.ends_with(".json") && path.is_file() && !keep.contains(name) {
                if delete {
                    std::fs::remove_file(&path)?;
                }
                found.push(path);
            }
        }
        found.sort();
        Ok(found)
    }

    /// Writes via a temporary file in the same directory, then renames it into
    /// place. The temporary file is created private (0600), so it gets the mode
    /// of an ordinary document before the rename: 0644, as `schemas/` and
    /// `git checkout` have them.
    fn write_named(&self, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.dir.join(name);
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        temp.write_all(bytes)?;
        set_document_mode(temp.as_file())?;
        temp.as_file().sync_all()?;
        temp.persist(&path).map_err(|e| e.error)?;
        Ok(path)
    }
}

/// A document as written to disk: pretty JSON with a trailing newline.
pub fn document_bytes(document: &Value) -> std::io::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(document)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// rw-r--r--: written by its owner, readable by the build that reads it.
#[cfg(unix)]
fn set_document_mode(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(0o644))
}

/// Elsewhere the temporary file already has the platform's ordinary permissions.
#[cfg(not(unix))]
fn set_document_mode(_file: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// `fal-ai/flux/dev` -> `fal-ai__flux__dev.json`.
pub fn file_name(id: &EndpointId) -> String {
    format!("{}.json", id.to_string().replace('/', "__"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_shared_convention() {
        let id = |s| EndpointId::parse(s).expect("valid id");
        assert_eq!(file_name(&id("fal-ai/flux/dev")), "fal-ai__flux__dev.json");
        assert_eq!(
            file_name(&id("fal-ai/flux-pro/v1.1-ultra")),
            "fal-ai__flux-pro__v1.1-ultra.json"
        );
        assert_eq!(file_name(&id("12345-my-app")), "12345__my-app.json");
    }

    #[test]
    fn writes_replace_previous_documents() {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = OutDir::create(&dir.path().join("nested/out")).expect("create");
        let id = EndpointId::parse("fal-ai/flux/dev").expect("valid id");
        let path = out
            .write(&id, &serde_json::json!({"a": 1}))
            .expect("first write");
        out.write(&id, &serde_json::json!({"a": {"b": [2]}}))
            .expect("second write");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read back"),
            "{\n  \"a\": {\n    \"b\": [\n      2\n    ]\n  }\n}\n",
            "pretty JSON with a trailing newline"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
        let entries = std::fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .count();
        assert_eq!(entries, 1, "no temporary files left behind");
    }

    #[test]
    fn a_file_in_the_way_is_a_usage_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("f");
        std::fs::write(&file, b"").expect("write");
        assert!(matches!(OutDir::create(&file), Err(Failure::Usage(_))));
    }
}
