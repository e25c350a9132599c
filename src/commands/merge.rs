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

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{ExitCode, RunError};
use crate::merge::{MergeStats, Records};
use crate::outdir::finished::FinishedRun;
use crate::outdir::journal::{Journal, JournalError, RecordRef};
use crate::outdir::manifest::{ChunkRef, DocManifest, Manifest, Sections};
use crate::outdir::report::{generic_share, ChunkCounts, FailedChunk, Report};
use crate::outdir::shard::{ChunkPlace, ManifestLine, ShardInfo, MANIFEST_FILE, SHARD_FILE};
use crate::outdir::{ENTITIES_FILE, REPORT_FILE, STATE_FILE};
use crate::read::issue::DocIssue;
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

/// One shard's folder: its `shard.json` and its finished run.
struct ShardDir {
    dir: PathBuf,
    info: ShardInfo,
    run: FinishedRun,
}

/// `aegis-ingest merge SHARD_DIR... --out DIR`.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    allow_partial: bool,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    if dirs.is_empty() {
        return Err(RunError::usage("merge: name the shards' output folders, e.g. `aegis-ingest merge out-0 out-1 out-2 out-3 --out merged`").into());
    }
    if dirs.len() > 1 << SHARD_BITS {
        return Err(RunError::usage(format!(
            "merge: at most {} shard folders at once",
            1 << SHARD_BITS
        ))
        .into());
    }
    let shards = open_shards(dirs, out)?;
    check_settings(&shards)?;
    let missing = check_complete(&shards, allow_partial)?;
    let manifest = gather_manifest(&shards)?;
    let journals = shards
        .iter()
        .map(|s| Journal::open(&s.dir).map_err(|e| RunError::checkpoint(e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::create_dir_all(out)
        .map_err(|e| RunError::out_dir(format!("cannot create --out {}: {e}", out.display())))?;
    let _lock = crate::outdir::lock::OutLock::acquire(out)?;
    let resolve = shards[0].info.resolve;
    let merged =
        crate::merge::merge_and_write_with(&manifest, &ShardJournals(journals), out, resolve)
            .map_err(|e| RunError::checkpoint(e.to_string()))?;
    let report = merged_report(&shards, &merged);
    write_report(out, &report, &shards[0].dir)?;
    if !quiet {
        crate::errln!(
            "merged {} shard{} of {}{}: {} entities, {} relations -> {}",
            shards.len(),
            if shards.len() > 1 { "s" } else { "" },
            shards[0].info.shard.count,
            if missing.is_empty() {
                String::new()
            } else {
                format!(" (missing: {})", missing.join(", "))
            },
            merged.entities,
            merged.relations,
            out.join(ENTITIES_FILE).display()
        );
    }
    let failed = report.chunks.failed + report.documents.failed;
    Ok(if failed > 0 || !missing.is_empty() {
        ExitCode::SomeFailed
    } else {
        ExitCode::Done
    })
}

/// Each folder's `shard.json` and finished run; `--out` must not be one of them.
fn open_shards(dirs: &[PathBuf], out: &Path) -> Result<Vec<ShardDir>, RunError> {
    let mut shards = Vec::new();
    for d in dirs {
        if std::fs::canonicalize(d).ok() == std::fs::canonicalize(out).ok() {
            return Err(RunError::out_dir(format!(
                "merge: --out {} is one of the shard folders; choose another folder",
                out.display()
            )));
        }
        let p = d.join(SHARD_FILE);
        let bytes = std::fs::read(&p).map_err(|e| {
            RunError::out_dir(format!(
                "{} is not a shard's output folder ({}: {e}); run each shard with --shard I/N --out FOLDER first",
                d.display(),
                p.display()
            ))
        })?;
        let info: ShardInfo = serde_json::from_slice(&bytes)
            .map_err(|e| RunError::checkpoint(format!("{} is not readable: {e}", p.display())))?;
        // `shard.json` is written last: a folder with it holds a finished run.
        let run = FinishedRun::open(d)?;
        shards.push(ShardDir {
            dir: d.clone(),
            info,
            run,
        });
    }
    Ok(shards)
}

/// Every shard must have been run with the first one's settings, and each shard named once.
fn check_settings(shards: &[ShardDir]) -> Result<(), RunError> {
    let first = &shards[0].info;
    for s in shards {
        let i = &s.info;
        if i.shard.count != first.shard.count
            || i.fingerprint != first.fingerprint
            || i.resolve != first.resolve
        {
            return Err(RunError::usage(format!(
                "merge: {} was run with other settings than {} (shard {} vs {}; settings {} vs {}): shards must share prompts, model, chunking and --no-resolve; rerun it with the same command line",
                s.dir.display(),
                shards[0].dir.display(),
                i.shard,
                first.shard,
                i.fingerprint,
                first.fingerprint
            )));
        }
    }
    let mut seen = vec![None::<&Path>; first.shard.count as usize];
    for s in shards {
        if let Some(other) = seen[s.info.shard.index as usize].replace(&s.dir) {
            return Err(RunError::usage(format!(
                "merge: {} and {} both hold shard {}; name each shard once",
                other.display(),
                s.dir.display(),
                s.info.shard
            )));
        }
    }
    Ok(())
}

/// The shards not named (`I/N`), refused unless `--allow-partial`, as are shards that
/// did not finish.
fn check_complete(shards: &[ShardDir], allow_partial: bool) -> Result<Vec<String>, RunError> {
    let count = shards[0].info.shard.count;
    let missing: Vec<String> = (0..count)
        .filter(|i| !shards.iter().any(|s| s.info.shard.index == *i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() && !allow_partial {
        return Err(RunError::usage(format!(
            "merge: shard{} {} missing (its folder was not named, or its run has not finished); run it, or pass --allow-partial to merge the others",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        )));
    }
    let unfinished: Vec<String> = shards
        .iter()
        .filter(|s| s.info.exit_code != 0 && s.info.exit_code != 1)
        .map(|s| format!("{} (exit {})", s.dir.display(), s.info.exit_code))
        .collect();
    if !unfinished.is_empty() && !allow_partial {
        return Err(RunError::usage(format!(
            "merge: these shards did not finish: {}; rerun them (a rerun resumes), or pass --allow-partial",
            unfinished.join(", ")
        )));
    }
    Ok(missing)
}

/// Every shard's documents, in walk order, with their results' places (the shard in the
/// top bits of each offset).
fn gather_manifest(shards: &[ShardDir]) -> Result<Manifest, RunError> {
    let mut docs: Vec<(String, usize, Vec<ChunkPlace>)> = Vec::new();
    for (k, s) in shards.iter().enumerate() {
        for m in read_manifest(&s.dir)? {
            docs.push((m.doc, k, m.chunks));
        }
    }
    docs.sort_by(|a, b| walk_order(&a.0, &b.0));
    let mut sections = Sections::default();
    let docs = docs
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
        .collect();
    Ok(Manifest { docs, sections })
}

/// A shard's `manifest.jsonl`.
fn read_manifest(dir: &Path) -> Result<Vec<ManifestLine>, RunError> {
    let p = dir.join(MANIFEST_FILE);
    let file = std::fs::File::open(&p)
        .map_err(|e| RunError::io(&p, &e, format!("{}: {e}; rerun that shard", p.display())))?;
    let mut lines = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| RunError::io(&p, &e, format!("{}: {e}", p.display())))?;
        lines.push(serde_json::from_str(&line).map_err(|e| {
            RunError::checkpoint(format!(
                "{} line {}: {e}; rerun that shard",
                p.display(),
                n + 1
            ))
        })?);
    }
    Ok(lines)
}

/// The merged `report.json`: the counts of the shards' reports, summed by
/// [`Report::absorb`], and the merge's own figures (records, types, resolution). It holds
/// what a merge can vouch for: no engine figures, times or settings (each shard has its
/// own, in its folder), and of the documents only the counts and lists.
#[derive(Serialize)]
struct MergedReport {
    chunks: ChunkCounts,
    documents: MergedDocuments,
    dropped_items: u64,
    entities: u64,
    entity_types: BTreeMap<String, u64>,
    failed_chunks: Vec<FailedChunk>,
    generic_relation_share: f64,
    relation_types: BTreeMap<String, u64>,
    relations: u64,
    resolution: Option<BTreeMap<String, u64>>,
    shards: Vec<ShardRef>,
    status: String,
}

#[derive(Serialize)]
struct MergedDocuments {
    seen: u64,
    extracted: u64,
    skipped: u64,
    failed: u64,
    skipped_list: Vec<DocIssue>,
    failed_list: Vec<DocIssue>,
}

#[derive(Serialize)]
struct ShardRef {
    shard: String,
    out: String,
}

/// The shards' reports summed, with the merge's own figures (entities, relations, types).
fn merged_report(shards: &[ShardDir], merged: &MergeStats) -> MergedReport {
    let mut sum = Report {
        status: "done".to_string(),
        ..Report::default()
    };
    for s in shards {
        sum.absorb(&s.run.report);
    }
    let mut d = sum.documents;
    for list in [&mut d.skipped_list, &mut d.failed_list] {
        list.sort_by(|x, y| walk_order(&x.doc, &y.doc));
    }
    MergedReport {
        chunks: sum.chunks,
        documents: MergedDocuments {
            seen: d.seen,
            extracted: d.extracted,
            skipped: d.skipped,
            failed: d.failed,
            skipped_list: d.skipped_list,
            failed_list: d.failed_list,
        },
        dropped_items: merged.dropped,
        entities: merged.entities,
        entity_types: merged.entity_types.clone(),
        failed_chunks: sum.failed_chunks,
        generic_relation_share: generic_share(&merged.relation_types, merged.relations),
        relation_types: merged.relation_types.clone(),
        relations: merged.relations,
        resolution: merged.resolution.clone(),
        shards: shards
            .iter()
            .map(|s| ShardRef {
                shard: s.info.shard.to_string(),
                out: s.dir.display().to_string(),
            })
            .collect(),
        status: sum.status,
    }
}

/// Writes the merged report, and the first shard's `run.json` so that eval and export read
/// the merged folder as a run.
fn write_report(out: &Path, report: &MergedReport, first: &Path) -> Result<(), RunError> {
    let io = |e: std::io::Error| {
        RunError::io(out, &e, format!("cannot write in {}: {e}", out.display()))
    };
    // Through a JSON value: its objects sort their keys, as the merged report always has.
    let value = serde_json::to_value(report).map_err(|e| io(std::io::Error::other(e)))?;
    crate::outdir::atomic::write_atomic(&out.join(REPORT_FILE), |w| {
        serde_json::to_writer_pretty(&mut *w, &value).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .map_err(io)?;
    if let Ok(state) = std::fs::read(first.join(STATE_FILE)) {
        crate::outdir::atomic::write_atomic(&out.join(STATE_FILE), |w| w.write_all(&state))
            .map_err(io)?;
    }
    Ok(())
}
