//! The one reader of a finished run's `--out` folder: its state (`run.json`), its report
//! and its output records, with one sentence for each way a folder can fail to hold one
//! (not there, unfinished, damaged). `eval`, `export`, `status`, `merge` and the quality
//! gates read a run through it.

use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

use crate::outdir::{RunState, STATE_FILE};

#[derive(Debug, Clone, Deserialize)]
pub struct SourceRec {
    pub doc: String,
    pub chunk: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EntityRec {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub mentions: u64,
    #[serde(default)]
    pub sources: Vec<SourceRec>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RelationRec {
    pub source: String,
    pub target: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub mentions: u64,
    #[serde(default)]
    pub sources: Vec<SourceRec>,
}

/// Reads the JSONL records of one output file; an unreadable line names file and line.
pub fn read_records<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(&line).map_err(|e| {
            format!(
                "{}:{}: not an output record ({e}); rerun `aegis-ingest run` to rewrite it",
                path.display(),
                i + 1
            )
        })?);
    }
    Ok(out)
}

/// The run's state file and report; says what is missing when the run did not finish.
pub fn read_run_meta(out: &Path) -> Result<(RunState, serde_json::Value), String> {
    let needed = [
        STATE_FILE,
        "report.json",
        "entities.jsonl",
        "relations.jsonl",
    ];
    let missing: Vec<&str> = needed
        .iter()
        .copied()
        .filter(|f| !out.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        let started = out.join(crate::outdir::journal::FILE_NAME).exists();
        return Err(format!(
            "no finished run in {}: {} missing{}; run `aegis-ingest run <CORPUS> --out {}` to the end first",
            out.display(),
            missing.join(", "),
            if started {
                " (a checkpoint is there: a run was started but has not finished)"
            } else {
                ""
            },
            out.display()
        ));
    }
    let state: RunState = serde_json::from_slice(
        &std::fs::read(out.join(STATE_FILE))
            .map_err(|e| format!("cannot read {}: {e}", out.join(STATE_FILE).display()))?,
    )
    .map_err(|e| format!("{} is unreadable: {e}", out.join(STATE_FILE).display()))?;
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("report.json"))
            .map_err(|e| format!("cannot read {}: {e}", out.join("report.json").display()))?,
    )
    .map_err(|e| format!("{} is unreadable: {e}", out.join("report.json").display()))?;
    Ok((state, report))
}
