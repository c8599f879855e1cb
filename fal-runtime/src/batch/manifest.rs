//! `batch.json`: what a batch directory holds, so `resume DIR` and
//! `status DIR` need nothing else (but a PostgreSQL password).

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::BatchError;

/// The manifest's file name inside the batch directory.
pub const MANIFEST_FILE: &str = "batch.json";

/// Where the state is, as written down (never with a password).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StateRecord {
    /// `state.sqlite` in the directory.
    Sqlite,
    /// A PostgreSQL database.
    Postgres {
        /// The URL without its password, for messages.
        display: String,
        /// The batch's name in the database.
        batch: String,
    },
}

/// The contents of `batch.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Manifest {
    /// Format version (1).
    pub version: u32,
    /// The endpoint every job calls.
    pub endpoint: String,
    /// The input file, as given when the batch was created.
    pub input: String,
    /// Hex SHA-256 of the input file's bytes.
    pub input_sha256: String,
    /// Number of jobs.
    pub jobs: u64,
    /// The webhook URL submits carry, if any.
    pub webhook: Option<String>,
    /// This directory's id: result lines recorded for it are written here only.
    pub dir_id: String,
    /// Where the state is.
    pub state: StateRecord,
}

impl Manifest {
    /// Reads `dir/batch.json`.
    pub fn read(dir: &Path) -> Result<Manifest, BatchError> {
        let path = dir.join(MANIFEST_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(BatchError::NotABatch(dir.to_owned()))
            }
            Err(err) => return Err(BatchError::io(&path, "read", err)),
        };
        serde_json::from_str(&text).map_err(|err| {
            BatchError::Corrupt(format!("{}: not a batch manifest: {err}", path.display()))
        })
    }

    /// Writes `dir/batch.json` whole or not at all (temporary file, sync, rename).
    pub(crate) fn write(&self, dir: &Path) -> Result<(), BatchError> {
        let path = dir.join(MANIFEST_FILE);
        let temp = dir.join(format!("{MANIFEST_FILE}.part"));
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| BatchError::Corrupt(format!("cannot encode the manifest: {e}")))?;
        let written = (|| {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(text.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)?;
            std::fs::File::open(dir)?.sync_all()
        })();
        written.map_err(|err| {
            let _ = std::fs::remove_file(&temp);
            BatchError::io(&path, "write", err)
        })
    }
}
