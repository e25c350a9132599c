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

use serde::{Deserialize, Serialize};

use crate::error::{ExitCode, RunError};
use crate::journal::{Journal, JournalError, RecordRef};
use crate::merge::{ChunkRef, DocManifest, Manifest, Records, Sections};

/// `--shard I/N`: this run is shard `I` (from 0) of `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    fn new(index: i64, count: i64, what: &str) -> Result<Shard, String> {
        if !(1..=65_536).contains(&count) {
            return Err(format!(
                "{what}: the shard count must be 1 to 65536, not {count}"
            ));
        }
        if index < 0 || index >= count {
            return Err(format!(
                "{what}: shard {index} of {count} does not exist (shards are numbered 0 to {})",
                count - 1
            ));
        }
        Ok(Shard {
            index: index as u32,
            count: count as u32,
        })
    }

    /// `I/N`, shards numbered from 0.
    pub fn parse(s: &str, what: &str) -> Result<Shard, String> {
        let (i, n) = s.split_once('/').ok_or_else(|| {
            format!("{what} {s:?}: write it I/N, e.g. 0/4 (shards numbered from 0)")
        })?;
        let num = |t: &str| {
            t.trim()
                .parse::<i64>()
                .map_err(|_| format!("{what} {s:?}: {t:?} is not a number; write it I/N, e.g. 0/4"))
        };
        Shard::new(num(i)?, num(n)?, &format!("{what} {s}"))
    }

    /// The shard from the flag, else from the environment: `AEGIS_SHARD` (`I/N`);
    /// Kubernetes' `JOB_COMPLETION_INDEX` with `AEGIS_SHARD_COUNT` (Kubernetes does not
    /// give the count); Slurm's `SLURM_ARRAY_TASK_ID` with `_MIN`, `_MAX`, `_STEP`, `_COUNT`
    /// (plain ranges only). None: no sharding.
    pub fn resolve(
        flag: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Shard>, String> {
        if let Some(f) = flag {
            return Shard::parse(f, "--shard").map(Some);
        }
        if let Some(v) = env("AEGIS_SHARD").filter(|v| !v.is_empty()) {
            return Shard::parse(&v, "AEGIS_SHARD").map(Some);
        }
        let int = |name: &str| -> Result<Option<i64>, String> {
            match env(name).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{name}={v:?} is not a number")),
            }
        };
        if let Some(i) = int("JOB_COMPLETION_INDEX")? {
            let n = int("AEGIS_SHARD_COUNT")?.ok_or(
                "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but AEGIS_SHARD_COUNT is not: set it to the Job's completions, or pass --shard I/N",
            )?;
            return Shard::new(i, n, "JOB_COMPLETION_INDEX/AEGIS_SHARD_COUNT").map(Some);
        }
        if let Some(task) = int("SLURM_ARRAY_TASK_ID")? {
            let min = int("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let max = int("SLURM_ARRAY_TASK_MAX")?
                .ok_or("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MAX is not")?;
            let step = int("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1);
            let count = int("SLURM_ARRAY_TASK_COUNT")?.unwrap_or(max - min + 1);
            if step != 1 || count != max - min + 1 {
                return Err(format!(
                    "the Slurm array is not a plain range (tasks {min}-{max}, step {step}, {count} tasks): shards must be numbered without gaps, so submit it as --array={min}-{max} (a throttle such as %4 is fine), or pass --shard I/N"
                ));
            }
            return Shard::new(task - min, count, "SLURM_ARRAY_TASK_ID").map(Some);
        }
        Ok(None)
    }

    /// Whether the document at `rel` (relative to CORPUS) belongs to this shard.
    pub fn holds(&self, rel: &str) -> bool {
        let h = blake3::hash(rel.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h.as_bytes()[..8]);
        u64::from_le_bytes(b) % u64::from(self.count) == u64::from(self.index)
    }
}

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
type ChunkPlace = (u32, Option<String>, u64, u32);

/// One document of a shard's manifest.
#[derive(Serialize, Deserialize)]
struct ManifestLine {
    doc: String,
    chunks: Vec<ChunkPlace>,
}

/// Writes `manifest.jsonl` for a shard's run.
pub fn write_manifest(out: &Path, manifest: &Manifest) -> std::io::Result<()> {
    crate::atomic::write_atomic(&out.join(MANIFEST_FILE), |w| {
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
    crate::atomic::write_atomic(&out.join(SHARD_FILE), |w| {
        serde_json::to_writer_pretty(&mut *w, info).map_err(std::io::Error::other)
    })
}

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

/// The order the walk lists documents in: sorted by name at every level.
pub fn walk_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
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
    let _lock = crate::lock::OutLock::acquire(out)?;
    let merged =
        crate::merge::merge_and_write_with(&manifest, &ShardJournals(journals), out, first.resolve)
            .map_err(|e| RunError::config(e.to_string()))?;
    let report = merged_report(&infos, &merged)?;
    let io =
        |e: std::io::Error| RunError::config(format!("cannot write in {}: {e}", out.display()));
    crate::atomic::write_atomic(&out.join("report.json"), |w| {
        serde_json::to_writer_pretty(&mut *w, &report).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .map_err(io)?;
    // `run.json` of the first shard, so that eval and export read the merged folder as a run.
    if let Ok(state) = std::fs::read(infos[0].0.join(crate::pipeline::STATE_FILE)) {
        crate::atomic::write_atomic(&out.join(crate::pipeline::STATE_FILE), |w| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_specs_and_their_errors() {
        assert_eq!(
            Shard::parse("2/4", "--shard"),
            Ok(Shard { index: 2, count: 4 })
        );
        for bad in ["3/2", "0/0", "4/4", "-1/4", "x/4", "4"] {
            let e = Shard::parse(bad, "--shard").unwrap_err();
            assert!(e.contains("--shard"), "{bad}: {e}");
        }
    }

    #[test]
    fn shards_from_kubernetes_and_slurm_environments() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Shard::resolve(None, env(&[])), Ok(None));
        assert_eq!(
            Shard::resolve(Some("1/3"), env(&[("AEGIS_SHARD", "0/2")])),
            Ok(Some(Shard { index: 1, count: 3 }))
        );
        assert_eq!(
            Shard::resolve(None, env(&[("AEGIS_SHARD", "0/2")])),
            Ok(Some(Shard { index: 0, count: 2 }))
        );
        assert_eq!(
            Shard::resolve(
                None,
                env(&[("JOB_COMPLETION_INDEX", "3"), ("AEGIS_SHARD_COUNT", "5")])
            ),
            Ok(Some(Shard { index: 3, count: 5 }))
        );
        let e = Shard::resolve(None, env(&[("JOB_COMPLETION_INDEX", "3")])).unwrap_err();
        assert!(e.contains("AEGIS_SHARD_COUNT"), "{e}");
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "12"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_MAX", "13"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(
            Shard::resolve(None, slurm),
            Ok(Some(Shard { index: 2, count: 4 }))
        );
        let sparse = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        let e = Shard::resolve(None, sparse).unwrap_err();
        assert!(e.contains("not a plain range"), "{e}");
    }

    #[test]
    fn every_document_is_in_exactly_one_shard_and_the_walk_order_is_by_name() {
        for rel in ["a.md", "b/c.txt", "notes/2026/x.pdf", "ü.md"] {
            let n = (0..4)
                .filter(|i| {
                    Shard {
                        index: *i,
                        count: 4,
                    }
                    .holds(rel)
                })
                .count();
            assert_eq!(n, 1, "{rel}");
        }
        let mut v = vec!["a.txt", "a/b.md", "B.md", "a/a.md"];
        v.sort_by(|a, b| walk_order(a, b));
        assert_eq!(v, ["B.md", "a/a.md", "a/b.md", "a.txt"]);
    }
}
