//! What can go wrong with the checkpoint, and what kind of problem each is for the user: a
//! damaged or foreign file (`RunError::Checkpoint`: move it away or start over), or I/O on
//! it that failed (`RunError::Io`: permissions, free space, a failing disk).

use std::path::PathBuf;

use crate::error::RunError;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("checkpoint {path}: {source}; make --out readable and writable (permissions, free space) or pass another --out")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("checkpoint {path} is corrupt at line {line} (byte {offset}): {detail}. Good records follow it, so it is not a torn tail; move the file away or rerun with --fresh to start over")]
    Corrupt {
        path: PathBuf,
        line: u64,
        offset: u64,
        detail: String,
    },
    #[error("checkpoint {path} is not an aegis-ingest checkpoint (first line {first:?}): pass another --out, or move the file away")]
    Foreign { path: PathBuf, first: String },
    /// `kind`: that of the write or sync that failed.
    #[error("checkpoint {path}: an earlier sync failed, so nothing more is written (disk full or failing?): make room or fix the disk, then rerun to resume")]
    Poisoned {
        path: PathBuf,
        kind: std::io::ErrorKind,
    },
}

impl JournalError {
    /// This error as the `RunError` of its kind, with `msg` as its sentence: this error's
    /// own text, or that text with more advice (`status` adds where to read about resuming).
    pub fn run_error(&self, msg: impl std::fmt::Display) -> RunError {
        match self {
            JournalError::Io { path, source } => RunError::io(path, source, msg),
            JournalError::Poisoned { path, kind } => RunError::Io {
                path: path.clone(),
                kind: *kind,
                msg: msg.to_string(),
            },
            JournalError::Corrupt { .. } | JournalError::Foreign { .. } => {
                RunError::checkpoint(msg)
            }
        }
    }
}

impl From<JournalError> for RunError {
    fn from(e: JournalError) -> Self {
        e.run_error(&e)
    }
}
