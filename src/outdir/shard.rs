//! A shard's own files in its `--out`: `shard.json` (which shard, its settings fingerprint,
//! its counts; written last, so a folder with it is a finished shard) and `manifest.jsonl`
//! (its documents and where each chunk's result is in its checkpoint), read by `merge`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::outdir::manifest::Manifest;
use crate::read::shard::Shard;

pub const SHARD_FILE: &str = "shard.json";
pub const MANIFEST_FILE: &str = "manifest.jsonl";

/// `shard.json`: which shard a folder holds and with which settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardInfo {
    pub version: u32,
    pub shard: Shard,
    /// Everything that must agree between shards for their results to be joined: the
    /// chunk keys' fingerprint, the chunking, the merge's resolution setting, the model.
    pub fingerprint: String,
    pub resolve: bool,
    pub documents: u64,
    pub chunks: u64,
    pub exit_code: i32,
}

/// The settings fingerprint of a run (see `ShardInfo::fingerprint`).
pub fn settings_fingerprint(
    key_fp: &str,
    tokens: usize,
    overlap: usize,
    resolve: bool,
    models: &str,
) -> String {
    let h = blake3::hash(format!("{key_fp}\0{tokens}\0{overlap}\0{resolve}\0{models}").as_bytes());
    h.to_hex()[..32].to_string()
}

/// A chunk's result in a shard's manifest: `[index, section, offset, length]`.
pub type ChunkPlace = (u32, Option<String>, u64, u32);

/// One document of a shard's manifest.
#[derive(Serialize, Deserialize)]
pub struct ManifestLine {
    pub doc: String,
    pub chunks: Vec<ChunkPlace>,
}

/// Writes `manifest.jsonl` for a shard's run.
pub fn write_manifest(out: &Path, manifest: &Manifest) -> std::io::Result<()> {
    crate::outdir::atomic::write_atomic(&out.join(MANIFEST_FILE), |w| {
        for d in &manifest.docs {
            let line = ManifestLine {
                doc: d.rel.to_string(),
                chunks: d
                    .chunks
                    .iter()
                    .map(|c| {
                        (
                            c.index,
                            manifest.sections.get(c.section).map(str::to_string),
                            c.record.offset,
                            c.record.len,
                        )
                    })
                    .collect(),
            };
            serde_json::to_writer(&mut *w, &line).map_err(std::io::Error::other)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// Writes `shard.json` for a shard's run (last: a folder with it is a finished shard).
pub fn write_info(out: &Path, info: &ShardInfo) -> std::io::Result<()> {
    crate::outdir::atomic::write_atomic(&out.join(SHARD_FILE), |w| {
        serde_json::to_writer_pretty(&mut *w, info).map_err(std::io::Error::other)
    })
}
