//! The `--out` folder: the only module that knows its file names and how each is written
//! (atomically, or appended with a torn-tail rule), locked and read. A finished run is read
//! through `finished`, by every command.

pub mod atomic;
pub mod communities;
pub mod community_journal;
pub mod filecache;
pub mod finished;
pub mod journal;
pub mod lock;
pub mod manifest;
pub mod names;
pub mod report;
pub mod shard;

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::RunError;
use journal::Journal;
pub use names::*;

/// Previous run's identity, to say at start what will be redone.
#[derive(serde::Serialize, serde::Deserialize, Default)]
pub struct RunState {
    pub corpus: String,
    pub prompt_fingerprint: String,
    pub prompts_dir: String,
    pub chunk_tokens: usize,
    pub chunk_overlap: usize,
    /// The answer bounds and template the plan chose (small contexts change them).
    #[serde(default)]
    pub limits: Option<crate::prompt::Limits>,
    #[serde(default)]
    pub compact: bool,
    #[serde(default)]
    pub include: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub max_file_size: Option<u64>,
    /// `--gleaning` rounds (part of the chunk keys when not 0).
    #[serde(default)]
    pub gleaning: u32,
    /// `--relations` (part of the chunk keys when two-pass); absent in older runs: joint.
    #[serde(default)]
    pub relations: crate::prompt::RelationsMode,
    pub models: BTreeMap<String, String>,
    pub command: Vec<String>,
    pub finished_at: u64,
    pub exit_code: i32,
}

pub(crate) fn discard_previous(out: &Path) -> std::io::Result<Vec<String>> {
    let mut gone = Vec::new();
    for name in [
        crate::outdir::journal::FILE_NAME,
        crate::outdir::filecache::FILE_NAME,
        OUTPUTS_FILE,
        ENTITIES_FILE,
        RELATIONS_FILE,
        REPORT_FILE,
        SKIPPED_FILE,
        STATE_FILE,
        crate::outdir::shard::SHARD_FILE,
        crate::outdir::shard::MANIFEST_FILE,
        COMMUNITIES_FILE,
        COMMUNITY_REPORTS_FILE,
        DESCRIPTIONS_FILE,
        crate::outdir::community_journal::FILE_NAME,
    ] {
        let p = out.join(name);
        if p.exists() {
            std::fs::remove_file(&p)?;
            gone.push(name.to_string());
        }
    }
    Ok(gone)
}

/// Creates and locks `--out` (for as long as the lock lives), clears it with `--fresh`,
/// and opens its checkpoint.
pub(crate) fn open_out(
    out: &Path,
    fresh: bool,
) -> Result<(crate::outdir::lock::OutLock, Journal), RunError> {
    std::fs::create_dir_all(out).map_err(|e| {
        RunError::io(
            out,
            &e,
            format!(
            "cannot create --out {}: {e}; pass a folder you can write to (permissions, free space)",
            out.display()
        ),
        )
    })?;
    let lock = crate::outdir::lock::OutLock::acquire(out)?;
    if fresh {
        let gone = discard_previous(out).map_err(|e| {
            RunError::io(
                out,
                &e,
                format!(
                "--fresh: cannot clear {}: {e}; remove the files yourself or pass another --out",
                out.display()
            ),
            )
        })?;
        if !gone.is_empty() {
            crate::errln!(
                "aegis-ingest: --fresh: discarded {} in {}",
                gone.join(", "),
                out.display()
            );
        }
    }
    let journal = Journal::open(out).map_err(RunError::from)?;
    if journal.opened.torn_bytes_dropped > 0 {
        tracing::warn!("checkpoint: dropped a torn tail of {} bytes left by an interrupted run; everything before it is kept", journal.opened.torn_bytes_dropped);
    }
    Ok((lock, journal))
}
