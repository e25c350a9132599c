//! `aegis-ingest status`: what the checkpoint in `--out` holds against the corpus as it is
//! now (documents and chunks done, failed, pending), the engines used, the last activity,
//! the time left at the last run's rate, and the exact command that resumes. It reads; it
//! never changes the checkpoint. `--format json` prints the same as one object
//! ([`StatusReport`], README: "Machine-readable output").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::HumanDuration;
use serde::Serialize;

use super::shell::shell_quote;
use crate::chunk::{ChunkSettings, Chunker};
use crate::cli::{OutputFormat, StatusArgs};
use crate::error::{ExitCode, RunError};
use crate::outdir::finished::{read_report, read_state};
use crate::outdir::journal::{BaseIndex, Journal};
use crate::outdir::{RunState, STATE_FILE};
use crate::prompt::PromptSet;
use crate::read::walk::{walk, PathFilter, WalkItem};
use crate::run::producer::chunk_key;

/// Shape of `status --format json`; raised when a field changes meaning or goes away
/// (new fields may be added without raising it).
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct CheckpointInfo {
    pub path: String,
    /// Chunk records in the journal.
    pub records: usize,
    pub bytes: u64,
    /// Unix time of the newest record, and how long ago that was.
    pub last_activity_unix: Option<u64>,
    pub last_activity_secs_ago: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentStatus {
    pub total: u64,
    pub done: u64,
    pub skipped_or_unreadable: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChunkStatus {
    pub total: u64,
    pub done: u64,
    pub failed: u64,
    pub pending: u64,
}

/// The last finished run, from `run.json` and `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct LastRun {
    pub finished_at_unix: u64,
    pub exit_code: i32,
    /// Chunks the run extracted (not resumed from the checkpoint) and its wall time.
    pub chunks_extracted: Option<u64>,
    pub wall_seconds: Option<f64>,
    /// `chunks_extracted / wall_seconds`; null when the run extracted nothing.
    pub chunks_per_second: Option<f64>,
}

/// `status --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub schema_version: u32,
    pub out: String,
    pub checkpoint: CheckpointInfo,
    /// Chunks done per model.
    pub models: BTreeMap<String, u64>,
    /// Null until a run has finished (run.json).
    pub corpus: Option<String>,
    pub documents: Option<DocumentStatus>,
    pub chunks: Option<ChunkStatus>,
    /// Every chunk of the corpus as it is now is extracted.
    pub complete: bool,
    pub last_run: Option<LastRun>,
    /// Seconds to extract what is pending or failed at the last run's rate; null when
    /// nothing is left or the rate is unknown.
    pub eta_seconds: Option<f64>,
    /// The command that resumes (shell-quoted); null when complete.
    pub resume_command: Option<String>,
    /// The finishing step (`aegis-ingest communities`) as report.json records it; null
    /// until it has run on the current outputs.
    pub communities: Option<crate::outdir::report::CommunitiesSection>,
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The rate of the last run, from its report (read loosely: a damaged report only leaves
/// the rate unknown).
fn last_run(out: &Path, state: &RunState) -> Option<LastRun> {
    if state.finished_at == 0 {
        return None;
    }
    let report = read_report(out).ok().flatten();
    let extracted = report.as_ref().map(|r| r.chunks.extracted_now);
    let wall = report.as_ref().map(|r| r.wall_seconds);
    let rate = match (extracted, wall) {
        (Some(n), Some(w)) if n > 0 && w > 0.0 => Some((n as f64 / w * 1000.0).round() / 1000.0),
        _ => None,
    };
    Some(LastRun {
        finished_at_unix: state.finished_at,
        exit_code: state.exit_code,
        chunks_extracted: extracted,
        wall_seconds: wall,
        chunks_per_second: rate,
    })
}

/// Reads the checkpoint and walks the corpus; the answer of `status`.
pub fn collect(args: &StatusArgs) -> Result<StatusReport, RunError> {
    let out = &args.output.out;
    let state = match read_state(out)? {
        Some(state) => state,
        None if !out.join(crate::outdir::journal::FILE_NAME).exists() => {
            return Err(RunError::out_dir(format!(
                "no checkpoint in {}: start one with `aegis-ingest run <CORPUS> --out {}`",
                out.display(),
                out.display()
            )));
        }
        // A run in progress, or one that never finished: the checkpoint alone.
        None => RunState::default(),
    };
    // Opening recovers a torn tail, as a run would; status takes no lock, so it only reads
    // when no run holds the folder.
    let journal = Journal::open(out).map_err(|e| {
        RunError::checkpoint(format!(
            "{e}; see README \"Resume and the checkpoint\" (or start over with `aegis-ingest run <CORPUS> --out {} --fresh`)",
            out.display()
        ))
    })?;
    let at_open = journal.at_open();
    let mut report = checkpoint_report(out, &journal, &state);
    if state.corpus.is_empty() {
        return Ok(report);
    }
    report.corpus = Some(PathBuf::from(&state.corpus).display().to_string());
    let counts = count_corpus(out, &state, &at_open)?;
    fill_counts(&mut report, &counts, &state);
    Ok(report)
}

/// What the checkpoint alone says: its records, models and last activity.
fn checkpoint_report(out: &Path, journal: &Journal, state: &RunState) -> StatusReport {
    let last = journal.opened.last_activity;
    StatusReport {
        schema_version: SCHEMA_VERSION,
        out: out.display().to_string(),
        checkpoint: CheckpointInfo {
            path: journal.path().display().to_string(),
            records: journal.len(),
            bytes: std::fs::metadata(journal.path())
                .map(|m| m.len())
                .unwrap_or(0),
            last_activity_unix: (last > 0).then_some(last),
            last_activity_secs_ago: (last > 0).then(|| now_unix().saturating_sub(last)),
        },
        models: journal.at_open().done_by_model(),
        corpus: None,
        documents: None,
        chunks: None,
        complete: false,
        last_run: last_run(out, state),
        eta_seconds: None,
        resume_command: None,
        communities: read_report(out).ok().flatten().and_then(|r| r.communities),
    }
}

/// Documents and chunks of the corpus as it is now, against the checkpoint.
#[derive(Default)]
struct Counts {
    docs: u64,
    docs_done: u64,
    skipped: u64,
    chunks: u64,
    chunks_done: u64,
    chunks_failed: u64,
}

/// Walks, reads and chunks the corpus with the last run's settings (from `run.json`) and
/// looks each chunk's key up in the checkpoint.
fn count_corpus(out: &Path, state: &RunState, at_open: &BaseIndex) -> Result<Counts, RunError> {
    let prompts = run_prompts(out, state)?;
    let settings = ChunkSettings {
        tokens: state.chunk_tokens,
        overlap: state.chunk_overlap,
    };
    let chunker = Chunker::new(settings).map_err(RunError::checkpoint)?;
    let filter = PathFilter::new(&state.include, &state.exclude).map_err(|e| {
        RunError::checkpoint(format!(
            "{e}; fix --include/--exclude in {} (or start over with --fresh)",
            out.join(STATE_FILE).display()
        ))
    })?;
    let fingerprint = crate::run::producer::key_fingerprint(
        &prompts.fingerprint,
        state.gleaning,
        state.relations,
    );
    let mut c = Counts::default();
    for item in walk(Path::new(&state.corpus), filter) {
        let WalkItem::Doc(entry) = item else {
            c.skipped += 1;
            continue;
        };
        let Ok(doc) = crate::read::read_document(&entry, state.max_file_size.unwrap_or(u64::MAX))
        else {
            c.skipped += 1;
            continue;
        };
        c.docs += 1;
        let mut all = true;
        for ch in chunker.chunk(&doc) {
            c.chunks += 1;
            let user = prompts.user_message(&ch.text, &entry.rel, ch.section.as_deref());
            match at_open.get(&chunk_key(&fingerprint, settings, &user)) {
                Some(e) if e.ok => c.chunks_done += 1,
                Some(_) => {
                    c.chunks_failed += 1;
                    all = false;
                }
                None => all = false,
            }
        }
        c.docs_done += u64::from(all);
    }
    Ok(c)
}

/// The prompts the last run used, with the bounds and template its plan chose.
fn run_prompts(out: &Path, state: &RunState) -> Result<PromptSet, RunError> {
    let prompts_error = |e: crate::prompt::PromptError| {
        RunError::usage(format!(
            "{e}; the run in {} used the prompts in {}: restore them, or start over with --fresh",
            out.display(),
            state.prompts_dir
        ))
    };
    let loaded = PromptSet::load_dir(Path::new(&state.prompts_dir)).map_err(prompts_error)?;
    // The run's plan may have used other bounds or the compact template (small contexts).
    match state.limits {
        Some(l) => loaded.variant(l, state.compact).map_err(prompts_error),
        None => Ok(loaded),
    }
}

/// The counts, what is left, its time at the last run's rate, and the resume command.
fn fill_counts(report: &mut StatusReport, c: &Counts, state: &RunState) {
    let pending = c.chunks - c.chunks_done - c.chunks_failed;
    report.documents = Some(DocumentStatus {
        total: c.docs,
        done: c.docs_done,
        skipped_or_unreadable: c.skipped,
    });
    report.chunks = Some(ChunkStatus {
        total: c.chunks,
        done: c.chunks_done,
        failed: c.chunks_failed,
        pending,
    });
    let left = pending + c.chunks_failed;
    report.complete = left == 0;
    if left > 0 {
        report.eta_seconds = report
            .last_run
            .as_ref()
            .and_then(|r| r.chunks_per_second)
            .map(|rate| (left as f64 / rate * 100.0).round() / 100.0);
    }
    if state.exit_code != 0 || !report.complete {
        let cmd: Vec<String> = state.command.iter().map(|a| shell_quote(a)).collect();
        report.resume_command = Some(cmd.join(" "));
    }
}

/// `45 seconds`, `3 minutes`, `2 hours` (the largest unit, as an estimate deserves).
fn human_secs(s: f64) -> String {
    if s < 0.5 {
        return "less than a second".into();
    }
    HumanDuration(Duration::from_secs(s.round() as u64)).to_string()
}

fn render_text(r: &StatusReport) -> String {
    let mut s = format!("checkpoint: {}\n", r.checkpoint.path);
    s += &format!(
        "  records:        {} chunks ({} bytes)\n",
        r.checkpoint.records, r.checkpoint.bytes
    );
    if let Some(ago) = r.checkpoint.last_activity_secs_ago {
        s += &format!("  last activity:  {ago} s ago\n");
    }
    for (model, n) in &r.models {
        s += &format!("  model {model}: {n} chunks\n");
    }
    let (Some(corpus), Some(d), Some(c)) = (&r.corpus, &r.documents, &r.chunks) else {
        s += "no finished run recorded yet (run.json missing): the corpus is unknown\n";
        return s;
    };
    s += &format!("corpus: {corpus}\n");
    s += &format!(
        "  documents:      {}/{} done, {} skipped or unreadable\n",
        d.done, d.total, d.skipped_or_unreadable
    );
    s += &format!(
        "  chunks:         {}/{} done, {} failed, {} pending\n",
        c.done, c.total, c.failed, c.pending
    );
    if let Some(rate) = r.last_run.as_ref().and_then(|l| l.chunks_per_second) {
        s += &format!("  last run rate:  {}\n", crate::progress::rate_text(rate));
    }
    if !r.complete {
        match r.eta_seconds {
            Some(eta) => {
                s += &format!(
                    "  time left:      about {} at the last run's rate\n",
                    human_secs(eta)
                )
            }
            None => s += "  time left:      unknown (the last run extracted nothing to time)\n",
        }
    }
    s += &communities_line(r);
    match &r.resume_command {
        Some(cmd) => s += &format!("resume with:      {cmd}\n"),
        None => s += &format!("complete: outputs in {} match the corpus\n", r.out),
    }
    s
}

/// The finishing step's stage: its counts, or the command that runs it.
fn communities_line(r: &StatusReport) -> String {
    let Some(c) = &r.communities else {
        return format!(
            "  communities:    not run on these outputs (`aegis-ingest communities --out {}`)\n",
            shell_quote(&r.out)
        );
    };
    let sum = |f: fn(&crate::outdir::report::CommunityLevelCounts) -> u64| -> u64 {
        c.levels.iter().map(f).sum()
    };
    format!(
        "  communities:    {} on {} level(s), {} reports ({} written, {} reused, {} failed), {} summaries: {}\n",
        sum(|l| l.detected),
        c.levels.len(),
        sum(|l| l.reports_generated + l.reports_reused),
        sum(|l| l.reports_generated),
        sum(|l| l.reports_reused),
        sum(|l| l.reports_failed),
        c.summaries_generated + c.summaries_reused,
        c.status
    )
}

pub async fn status(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let report = collect(args)?;
    let text = match args.format {
        OutputFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        OutputFormat::Text => render_text(&report),
    };
    crate::progress::print_stdout(text)?;
    Ok(if report.complete {
        ExitCode::Done
    } else {
        ExitCode::SomeFailed
    })
}

#[cfg(test)]
mod tests {
    use super::human_secs;

    #[test]
    fn time_left_reads_naturally() {
        assert_eq!(human_secs(0.07), "less than a second");
        assert_eq!(human_secs(44.6), "45 seconds");
        assert_eq!(human_secs(200.0), "3 minutes");
        assert_eq!(human_secs(3720.0), "62 minutes");
        assert_eq!(human_secs(4.0 * 3600.0), "4 hours");
    }
}
