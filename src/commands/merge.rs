//! Shards: one corpus split across processes or machines (a Kubernetes Indexed Job, a
//! Slurm array), each run writing its own `--out`, then `aegis-ingest merge` joining them
//! into the outputs a single run over the whole corpus writes, byte for byte.
//!
//! A document belongs to shard `blake3(path relative to CORPUS) mod N`: the split depends on
//! neither the listing order nor the machine. A shard's run writes, besides its outputs,
//! `shard.json` (which shard, its settings fingerprint, its counts) and `manifest.jsonl` (its
//! documents and where each chunk's result is in its checkpoint). The merge orders the
//! documents of all shards as the walk would (sorted by name at every level) and runs the
//! same merge as a run, reading each result from its shard's checkpoint: same ids, same
//! order, memory flat in the number of records.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::error::{ExitCode, RunError};
use crate::merge::Records;
use crate::outdir::journal::{Journal, JournalError, RecordRef};
use crate::outdir::manifest::{ChunkRef, DocManifest, Manifest, Sections};
use crate::outdir::shard::{ChunkPlace, ManifestLine, ShardInfo, MANIFEST_FILE, SHARD_FILE};
use crate::read::walk::walk_order;

/// The checkpoints of all shards: a record's offset carries its shard in the top 8 bits.
struct ShardJournals(Vec<Journal>);

const SHARD_BITS: u32 = 8;
const OFFSET_MASK: u64 = (1 << (64 - SHARD_BITS)) - 1;

impl Records for ShardJournals {
    fn read_record<R>(
        &self,
        at: RecordRef,
        buf: &mut Vec<u8>,
        f: impl FnOnce(&[u8]) -> Result<R, serde_json::Error>,
    ) -> Result<Option<R>, JournalError> {
        let shard = (at.offset >> (64 - SHARD_BITS)) as usize;
        let local = RecordRef {
            offset: at.offset & OFFSET_MASK,
            len: at.len,
        };
        match self.0.get(shard) {
            Some(j) => j.read_record(local, buf, f),
            None => Ok(None),
        }
    }
}

/// `aegis-ingest merge SHARD_DIR... --out DIR`.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    allow_partial: bool,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    if dirs.is_empty() {
        return Err(RunError::config("merge: name the shards' output folders, e.g. `aegis-ingest merge out-0 out-1 out-2 out-3 --out merged`").into());
    }
    if dirs.len() > 1 << SHARD_BITS {
        return Err(RunError::config(format!(
            "merge: at most {} shard folders at once",
            1 << SHARD_BITS
        ))
        .into());
    }
    let mut infos: Vec<(PathBuf, ShardInfo)> = Vec::new();
    for d in dirs {
        if std::fs::canonicalize(d).ok() == std::fs::canonicalize(out).ok() {
            return Err(RunError::config(format!(
                "merge: --out {} is one of the shard folders; choose another folder",
                out.display()
            ))
            .into());
        }
        let p = d.join(SHARD_FILE);
        let bytes = std::fs::read(&p).map_err(|e| {
            RunError::config(format!(
                "{} is not a shard's output folder ({}: {e}); run each shard with --shard I/N --out FOLDER first",
                d.display(),
                p.display()
            ))
        })?;
        let info: ShardInfo = serde_json::from_slice(&bytes)
            .map_err(|e| RunError::config(format!("{} is not readable: {e}", p.display())))?;
        infos.push((d.clone(), info));
    }
    let first = infos[0].1.clone();
    for (d, i) in &infos {
        if i.shard.count != first.shard.count
            || i.fingerprint != first.fingerprint
            || i.resolve != first.resolve
        {
            return Err(RunError::config(format!(
                "merge: {} was run with other settings than {} (shard {} vs {}; settings {} vs {}): shards must share prompts, model, chunking and --no-resolve; rerun it with the same command line",
                d.display(),
                infos[0].0.display(),
                i.shard,
                first.shard,
                i.fingerprint,
                first.fingerprint
            ))
            .into());
        }
    }
    let mut seen = vec![None::<&Path>; first.shard.count as usize];
    for (d, i) in &infos {
        if let Some(other) = seen[i.shard.index as usize].replace(d) {
            return Err(RunError::config(format!(
                "merge: {} and {} both hold shard {}; name each shard once",
                other.display(),
                d.display(),
                i.shard
            ))
            .into());
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| format!("{i}/{}", first.shard.count))
        .collect();
    if !missing.is_empty() && !allow_partial {
        return Err(RunError::config(format!(
            "merge: shard{} {} missing (its folder was not named, or its run has not finished); run it, or pass --allow-partial to merge the others",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        ))
        .into());
    }
    let unfinished: Vec<String> = infos
        .iter()
        .filter(|(_, i)| i.exit_code != 0 && i.exit_code != 1)
        .map(|(d, i)| format!("{} (exit {})", d.display(), i.exit_code))
        .collect();
    if !unfinished.is_empty() && !allow_partial {
        return Err(RunError::config(format!(
            "merge: these shards did not finish: {}; rerun them (a rerun resumes), or pass --allow-partial",
            unfinished.join(", ")
        ))
        .into());
    }

    // Every shard's documents, in walk order, with their results' places.
    let mut docs: Vec<(String, usize, Vec<ChunkPlace>)> = Vec::new();
    let mut journals = Vec::new();
    for (k, (d, _)) in infos.iter().enumerate() {
        journals.push(Journal::open(d).map_err(|e| RunError::config(e.to_string()))?);
        let p = d.join(MANIFEST_FILE);
        let file = std::fs::File::open(&p)
            .map_err(|e| RunError::config(format!("{}: {e}; rerun that shard", p.display())))?;
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| RunError::config(format!("{}: {e}", p.display())))?;
            let m: ManifestLine = serde_json::from_str(&line).map_err(|e| {
                RunError::config(format!(
                    "{} line {}: {e}; rerun that shard",
                    p.display(),
                    n + 1
                ))
            })?;
            docs.push((m.doc, k, m.chunks));
        }
    }
    docs.sort_by(|a, b| walk_order(&a.0, &b.0));
    let mut sections = Sections::default();
    let manifest = Manifest {
        docs: docs
            .into_iter()
            .map(|(rel, k, chunks)| DocManifest {
                rel: rel.into(),
                chunks: chunks
                    .into_iter()
                    .map(|(index, section, offset, len)| ChunkRef {
                        index,
                        section: sections.intern(section.as_deref()),
                        record: RecordRef {
                            offset: ((k as u64) << (64 - SHARD_BITS)) | offset,
                            len,
                        },
                    })
                    .collect(),
            })
            .collect(),
        sections,
    };
    std::fs::create_dir_all(out)
        .map_err(|e| RunError::config(format!("cannot create --out {}: {e}", out.display())))?;
    let _lock = crate::outdir::lock::OutLock::acquire(out)?;
    let merged =
        crate::merge::merge_and_write_with(&manifest, &ShardJournals(journals), out, first.resolve)
            .map_err(|e| RunError::config(e.to_string()))?;
    let report = merged_report(&infos, &merged)?;
    let io =
        |e: std::io::Error| RunError::config(format!("cannot write in {}: {e}", out.display()));
    crate::outdir::atomic::write_atomic(&out.join("report.json"), |w| {
        serde_json::to_writer_pretty(&mut *w, &report).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .map_err(io)?;
    // `run.json` of the first shard, so that eval and export read the merged folder as a run.
    if let Ok(state) = std::fs::read(infos[0].0.join(crate::outdir::STATE_FILE)) {
        crate::outdir::atomic::write_atomic(&out.join(crate::outdir::STATE_FILE), |w| {
            w.write_all(&state)
        })
        .map_err(io)?;
    }
    if !quiet {
        eprintln!(
            "merged {} shard{} of {}{}: {} entities, {} relations -> {}",
            infos.len(),
            if infos.len() > 1 { "s" } else { "" },
            first.shard.count,
            if missing.is_empty() {
                String::new()
            } else {
                format!(" (missing: {})", missing.join(", "))
            },
            merged.entities,
            merged.relations,
            out.join("entities.jsonl").display()
        );
    }
    let failed = report["chunks"]["failed"].as_u64().unwrap_or(0)
        + report["documents"]["failed"].as_u64().unwrap_or(0);
    Ok(if failed > 0 || !missing.is_empty() {
        ExitCode::SomeFailed
    } else {
        ExitCode::Done
    })
}

/// The shards' reports summed, with the merge's own figures (entities, relations, types).
fn merged_report(
    infos: &[(PathBuf, ShardInfo)],
    merged: &crate::merge::MergeStats,
) -> anyhow::Result<serde_json::Value> {
    use serde_json::{json, Value};
    let mut sums = json!({
        "documents": {"seen": 0, "extracted": 0, "skipped": 0, "failed": 0, "skipped_list": [], "failed_list": []},
        "chunks": {"total": 0, "extracted_now": 0, "resumed": 0, "failed": 0, "split": 0, "empty": 0, "partial": 0, "bounds_shrunk": 0},
        "failed_chunks": [],
    });
    let mut status = "done";
    for (d, _) in infos {
        let p = d.join("report.json");
        let rep: Value = std::fs::read(&p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                RunError::config(format!(
                    "{} is missing or unreadable; rerun that shard",
                    p.display()
                ))
            })?;
        for section in ["documents", "chunks"] {
            let Some(obj) = rep[section].as_object() else {
                continue;
            };
            for (k, v) in obj {
                if let (Some(n), Some(acc)) = (v.as_u64(), sums[section].get_mut(k)) {
                    *acc = json!(acc.as_u64().unwrap_or(0) + n);
                } else if let (Some(list), Some(Value::Array(acc))) =
                    (v.as_array(), sums[section].get_mut(k))
                {
                    acc.extend(list.iter().cloned());
                }
            }
        }
        if let (Some(list), Some(Value::Array(acc))) = (
            rep["failed_chunks"].as_array(),
            sums.get_mut("failed_chunks"),
        ) {
            acc.extend(list.iter().cloned());
        }
        if rep["status"] != "done" {
            status = "finished with failures";
        }
    }
    for list in ["skipped_list", "failed_list"] {
        if let Some(Value::Array(a)) = sums["documents"].get_mut(list) {
            a.sort_by(|x, y| {
                walk_order(
                    x["doc"].as_str().unwrap_or(""),
                    y["doc"].as_str().unwrap_or(""),
                )
            });
        }
    }
    let generic = merged
        .relation_types
        .get(crate::prompt::GENERIC_RELATION)
        .copied()
        .unwrap_or(0);
    sums["status"] = json!(status);
    sums["shards"] = json!(infos
        .iter()
        .map(|(d, i)| json!({"shard": i.shard.to_string(), "out": d.display().to_string()}))
        .collect::<Vec<_>>());
    sums["entities"] = json!(merged.entities);
    sums["relations"] = json!(merged.relations);
    sums["relation_types"] = json!(merged.relation_types);
    sums["entity_types"] = json!(merged.entity_types);
    sums["generic_relation_share"] = json!(if merged.relations > 0 {
        generic as f64 / merged.relations as f64
    } else {
        0.0
    });
    sums["dropped_items"] = json!(merged.dropped);
    sums["resolution"] = json!(merged.resolution);
    Ok(sums)
}
