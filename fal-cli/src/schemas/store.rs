//! Writing fetched documents: the file naming shared with
//! `../shared/fal-schemas` and `schemas/`, and atomic replacement so an
//! interrupted fetch never leaves half a document behind.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use fal_runtime::EndpointId;

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

    /// Writes `bytes` as `id`'s document via a temporary file in the same
    /// directory, then renames it into place.
    pub fn write(&self, id: &EndpointId, bytes: &[u8]) -> std::io::Result<PathBuf> {
        self.write_named(&file_name(id), bytes)
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

    fn write_named(&self, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.dir.join(name);
        let mut temp = tempfile::NamedTempFile::new_in(&self.dir)?;
        temp.write_all(bytes)?;
        temp.as_file().sync_all()?;
        temp.persist(&path).map_err(|e| e.error)?;
        Ok(path)
    }
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
        let path = out.write(&id, b"{\"a\":1}").expect("first write");
        out.write(&id, b"{\"a\":2}").expect("second write");
        assert_eq!(std::fs::read(&path).expect("read back"), b"{\"a\":2}");
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
