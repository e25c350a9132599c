//! The finishing step's files: `communities.jsonl`, `community_reports.jsonl` and
//! `descriptions.jsonl`, each written atomically and sorted (byte-identical for the same
//! inputs), and its section of `report.json`.

use std::path::Path;

use serde::Serialize;

use crate::error::RunError;
use crate::outdir::atomic::write_atomic;
use crate::outdir::report::CommunitiesSection;
use crate::outdir::REPORT_FILE;

fn io_error(path: &Path, e: std::io::Error) -> RunError {
    RunError::io(
        path,
        &e,
        format!(
            "cannot write {}: {e}; finished reports are in the journal: make room on the disk (or fix the folder's permissions) and rerun",
            path.display()
        ),
    )
}

/// Writes `records` one a line to `out/name`, atomically.
pub fn write_jsonl<T: Serialize>(out: &Path, name: &str, records: &[T]) -> Result<(), RunError> {
    let path = out.join(name);
    write_atomic(&path, |w| {
        for r in records {
            serde_json::to_writer(&mut *w, r).map_err(std::io::Error::other)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    })
    .map_err(|e| io_error(&path, e))
}

/// Sets `communities` in `report.json`, keeping every other field as it is.
pub fn write_section(out: &Path, section: &CommunitiesSection) -> Result<(), RunError> {
    let path = out.join(REPORT_FILE);
    let bytes = std::fs::read(&path).map_err(|e| io_error(&path, e))?;
    let mut report: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        RunError::checkpoint(format!(
            "{} is unreadable: {e}; rerun `aegis-ingest run` on the same --out to rewrite it",
            path.display()
        ))
    })?;
    let Some(obj) = report.as_object_mut() else {
        return Err(RunError::checkpoint(format!(
            "{} is not a JSON object; rerun `aegis-ingest run` on the same --out to rewrite it",
            path.display()
        )));
    };
    obj.insert(
        "communities".to_string(),
        serde_json::to_value(section).map_err(|e| RunError::checkpoint(e.to_string()))?,
    );
    write_atomic(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, &report).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .map_err(|e| io_error(&path, e))
}
