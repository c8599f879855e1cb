//! Writing fetched documents: the file naming shared with
//! `../shared/fal-schemas` and `schemas/`, one format for every source (pretty
//! JSON, trailing newline, mode 0644), and atomic replacement so an
//! interrupted fetch never leaves half a document behind.

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

    /// Writes `document` as `id`'s file via a temporary file in the same
    /// directory, then renames it into place. The temporary file is created
    /// private (0600), so it gets the mode of an ordinary document before the
    /// rename: 0644, as `schemas/` and `git checkout` have them.
    pub fn write(&self, id: &EndpointId, document: &Value) -> std::io::Result<PathBuf> {
        let path = self.dir.join(file_name(id));
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        serde_json::to_writer_pretty(&mut temp, document)?;
        temp.write_all(b"\n")?;
        set_document_mode(temp.as_file())?;
        temp.as_file().sync_all()?;
        temp.persist(&path).map_err(|e| e.error)?;
        Ok(path)
    }
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
