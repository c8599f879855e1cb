//! `results.jsonl`: one line per finished job, appended and synced before the
//! job is marked done.
//!
//! Only one process writes a directory (the directory lock), so the file is
//! a plain append log. A line cut short (killed mid-write, or a full disk) is
//! removed before anything else is appended, and the lines present are the
//! ones a restart must not write again.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::BatchError;

/// The file name inside the batch directory.
pub const RESULTS_FILE: &str = "results.jsonl";

/// The append side of `results.jsonl`.
#[derive(Debug)]
pub(crate) struct ResultsFile {
    path: PathBuf,
    file: File,
    len: u64,
}

#[derive(Deserialize)]
struct LineNumber {
    line: u64,
}

impl ResultsFile {
    /// Opens (or creates) the file, dropping a cut-off last line.
    pub(crate) fn open(dir: &Path) -> Result<ResultsFile, BatchError> {
        let path = dir.join(RESULTS_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|source| BatchError::io(&path, "open", source))?;
        let len = file
            .metadata()
            .map_err(|source| BatchError::io(&path, "read", source))?
            .len();
        let kept = complete_prefix(&mut file, len).map_err(|e| BatchError::io(&path, "read", e))?;
        if kept != len {
            file.set_len(kept)
                .and_then(|()| file.sync_all())
                .map_err(|source| BatchError::io(&path, "truncate a cut-off line of", source))?;
        }
        Ok(ResultsFile {
            path,
            file,
            len: kept,
        })
    }

    /// The job lines already in the file.
    pub(crate) fn written_lines(&self) -> Result<HashSet<u64>, BatchError> {
        let file = File::open(&self.path).map_err(|e| BatchError::io(&self.path, "read", e))?;
        let mut lines = HashSet::new();
        for (index, text) in BufReader::new(file).lines().enumerate() {
            let text = text.map_err(|e| BatchError::io(&self.path, "read", e))?;
            if text.trim().is_empty() {
                continue;
            }
            let parsed: LineNumber = serde_json::from_str(&text).map_err(|err| {
                BatchError::Corrupt(format!(
                    "{} line {}: not a result line: {err}",
                    self.path.display(),
                    index + 1
                ))
            })?;
            lines.insert(parsed.line);
        }
        Ok(lines)
    }

    /// Appends `lines` (each one JSON text without a newline) and syncs. On a
    /// failure the file is cut back to where it was, so it never holds half a line.
    pub(crate) fn append(&mut self, lines: &[&str]) -> Result<(), BatchError> {
        let mut buffer = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in lines {
            buffer.extend_from_slice(line.as_bytes());
            buffer.push(b'\n');
        }
        let written = self
            .file
            .write_all(&buffer)
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += buffer.len() as u64;
                Ok(())
            }
            Err(source) => {
                let _ = self.file.set_len(self.len);
                let _ = self.file.sync_all();
                Err(BatchError::io(&self.path, "append to", source))
            }
        }
    }
}

/// The length of the file up to and including its last newline.
fn complete_prefix(file: &mut File, len: u64) -> std::io::Result<u64> {
    if len == 0 {
        return Ok(0);
    }
    // Read backwards in blocks until a newline is found.
    let mut end = len;
    let mut block = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let size = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..size])?;
        if let Some(pos) = memchr::memrchr(b'\n', &block[..size]) {
            return Ok(start + pos as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_off_last_line_is_dropped_and_lines_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(RESULTS_FILE),
            "{\"line\":1,\"status\":\"ok\"}\n{\"line\":2,\"sta",
        )
        .unwrap();
        let mut results = ResultsFile::open(dir.path()).unwrap();
        assert_eq!(results.written_lines().unwrap(), HashSet::from([1]));
        results.append(&["{\"line\":3}"]).unwrap();
        let text = std::fs::read_to_string(dir.path().join(RESULTS_FILE)).unwrap();
        assert_eq!(text, "{\"line\":1,\"status\":\"ok\"}\n{\"line\":3}\n");
    }

    #[test]
    fn a_file_without_any_newline_is_emptied() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(RESULTS_FILE), "{\"line\":1").unwrap();
        let results = ResultsFile::open(dir.path()).unwrap();
        assert!(results.written_lines().unwrap().is_empty());
    }
}
