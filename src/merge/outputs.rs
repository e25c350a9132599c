//! Whether the outputs in `--out` already are what the merge would write, so that a rerun
//! with nothing new does not read the whole checkpoint back to write the same bytes again
//! (at a million chunks the merge was most of a resume's time).
//!
//! `outputs.json`, written after each merge: a fingerprint of what the merge read (the
//! manifest: every document's chunks and their records' places in the checkpoint, the
//! resolution setting, the build), the checkpoint's identity (device, inode, length, a hash
//! of its last 4 KiB before that length: the journal only grows, so the records the
//! manifest points at are the same bytes while those hold), the outputs' sizes and
//! modification times, and the merge's statistics for the report. A run whose manifest has
//! the same fingerprint, with the checkpoint and both outputs as recorded, keeps the
//! outputs and reports the recorded statistics. Anything else merges as before.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::merge::MergeStats;
use crate::outdir::manifest::Manifest;

use crate::outdir::OUTPUTS_FILE as FILE_NAME;
const VERSION: u32 = 1;
const TAIL: u64 = 4096;

#[derive(Serialize, Deserialize, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime_ns: u128,
}

#[derive(Serialize, Deserialize, PartialEq, Eq)]
struct CheckpointId {
    dev: u64,
    ino: u64,
    len: u64,
    tail: String,
}

#[derive(Serialize, Deserialize)]
struct State {
    version: u32,
    fingerprint: String,
    checkpoint: CheckpointId,
    entities: Stamp,
    relations: Stamp,
    stats: MergeStats,
}

/// What the merge of `manifest` reads, with the settings and the build that decide what it
/// writes.
pub fn fingerprint(manifest: &Manifest, resolve: bool) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"aegis-outputs-v1\0");
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    h.update(crate::cli::version::GIT_COMMIT.unwrap_or("").as_bytes());
    h.update(&[u8::from(resolve)]);
    for d in &manifest.docs {
        h.update(b"\0d");
        h.update(d.rel.as_bytes());
        h.update(&(d.chunks.len() as u64).to_le_bytes());
        for c in &d.chunks {
            h.update(&c.index.to_le_bytes());
            h.update(&c.record.offset.to_le_bytes());
            h.update(&c.record.len.to_le_bytes());
            match manifest.sections.get(c.section) {
                Some(s) => {
                    h.update(&(s.len() as u64 + 1).to_le_bytes());
                    h.update(s.as_bytes());
                }
                None => {
                    h.update(&0u64.to_le_bytes());
                }
            }
        }
    }
    h.finalize().to_hex().to_string()
}

fn stamp(path: &Path) -> Option<Stamp> {
    crate::outdir::filecache::mtime_ns(path).map(|(size, mtime_ns)| Stamp { size, mtime_ns })
}

/// The checkpoint as it is now, taking `len` as its length (None: it is shorter).
fn checkpoint_id(path: &Path, len: Option<u64>) -> Option<CheckpointId> {
    use std::os::unix::fs::MetadataExt;
    let mut f = std::fs::File::open(path).ok()?;
    let m = f.metadata().ok()?;
    let len = len.unwrap_or(m.len());
    if m.len() < len {
        return None;
    }
    let start = len.saturating_sub(TAIL);
    f.seek(SeekFrom::Start(start)).ok()?;
    let mut buf = vec![0u8; (len - start) as usize];
    f.read_exact(&mut buf).ok()?;
    Some(CheckpointId {
        dev: m.dev(),
        ino: m.ino(),
        len,
        tail: blake3::hash(&buf).to_hex().to_string(),
    })
}

/// The recorded statistics, when the outputs in `out` are those a merge with fingerprint
/// `fp` writes.
pub fn unchanged(out: &Path, checkpoint: &Path, fp: &str) -> Option<MergeStats> {
    let bytes = std::fs::read(out.join(FILE_NAME)).ok()?;
    let st: State = serde_json::from_slice(&bytes).ok()?;
    let same = st.version == VERSION
        && st.fingerprint == fp
        && checkpoint_id(checkpoint, Some(st.checkpoint.len)).as_ref() == Some(&st.checkpoint)
        && stamp(&out.join("entities.jsonl")).as_ref() == Some(&st.entities)
        && stamp(&out.join("relations.jsonl")).as_ref() == Some(&st.relations);
    same.then_some(st.stats)
}

/// Records the outputs just written (a failure only costs the next run a merge).
pub fn record(out: &Path, checkpoint: &Path, fp: &str, stats: &MergeStats) {
    let state = (|| {
        Some(State {
            version: VERSION,
            fingerprint: fp.to_string(),
            checkpoint: checkpoint_id(checkpoint, None)?,
            entities: stamp(&out.join("entities.jsonl"))?,
            relations: stamp(&out.join("relations.jsonl"))?,
            stats: stats.clone(),
        })
    })();
    let path = out.join(FILE_NAME);
    let written = state.is_some_and(|st| {
        crate::outdir::atomic::write_atomic(&path, |w| {
            serde_json::to_writer(&mut *w, &st).map_err(std::io::Error::other)
        })
        .is_ok()
    });
    if !written {
        let _ = std::fs::remove_file(&path);
    }
}
