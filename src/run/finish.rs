//! The end of a run: the merge into the outputs, the report, the run state, the shard
//! info, the quality gates and the exit status.

use std::sync::Arc;
use std::time::Instant;

use crate::engine::router::Router;
use crate::error::{ExitCode, RunError};
use crate::outdir::journal::Journal;
use crate::outdir::manifest::{DocManifest, Manifest, Sections};
use crate::outdir::report::Report;
use crate::progress::Snapshot;
use crate::prompt::GENERIC_RELATION;
use crate::read::issue::{DocIssue, IssueKind};
use crate::run::settings::RunSettings;

use super::producer::*;
use super::stop::*;
use super::writer::*;
use crate::outdir::{RunState, ENTITIES_FILE, REPORT_FILE, SKIPPED_FILE, STATE_FILE};

pub(crate) fn finish(
    s: &RunSettings,
    writer: Writer,
    router: Arc<Router>,
    stop: Option<Stop>,
    stale: u64,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let Writer {
        mut journal,
        mut docs,
        sections,
        mut report,
        snapshot,
        ..
    } = writer;
    if let Some(Stop::Journal(m)) = &stop {
        return Err(RunError::Io {
            path: journal.path().to_path_buf(),
            kind: std::io::ErrorKind::Other,
            msg: format!("{m}; finished work up to the failure is in the checkpoint: make room on the disk (or fix it) and rerun the same command to resume"),
        }
        .into());
    }
    let merged = write_outputs(s, &mut journal, &mut docs, sections)?;
    fill_report(
        &mut report,
        s,
        &docs,
        &snapshot,
        &merged,
        &router,
        stale,
        started,
    );
    // Outputs left as they were (nothing new to merge): the finishing step's figures still
    // describe them.
    report.communities = crate::outdir::finished::current_communities(&s.out);
    let unfinished = docs.iter().any(|d| d.settled < d.expected) || !snapshot.walk_finished;
    let (code, err) = exit_status(&mut report, &snapshot, stop.as_ref(), unfinished);
    write_run_files(s, &report, code)?;
    if !s.quiet {
        crate::err!("{}", report.summary());
        crate::errln!("outputs: {}", s.out.join(ENTITIES_FILE).display());
    }
    if snapshot.walk_finished && report.documents.seen == 0 {
        warn_nothing_found(s);
    }
    // Quality gates (--max-generic-share, --min-grounded; `quality`): the outputs are
    // written; a failed gate makes the exit code 1.
    if err.is_none() && !s.gates.is_empty() {
        let failed = crate::quality::check_run(&s.out, &report, &s.gates);
        for m in &failed {
            crate::errln!("aegis-ingest: {m}");
        }
        if !failed.is_empty() {
            return Ok(ExitCode::SomeFailed);
        }
    }
    match err {
        Some(e) => Err(e.into()),
        None => Ok(code),
    }
}

/// Says that the walk found no file: "done: 0 documents" alone reads as a success, and the
/// cause is nearly always a wrong path or a filter that matches nothing. The exit code stays
/// 0: an empty folder is a valid corpus (an inbox with nothing new today, a shard that drew
/// no document), and a scheduled job must not fail on it.
pub(crate) fn warn_nothing_found(s: &RunSettings) {
    let mut filters: Vec<String> = Vec::new();
    filters.extend(s.include.iter().map(|g| format!("--include '{g}'")));
    filters.extend(s.exclude.iter().map(|g| format!("--exclude '{g}'")));
    filters.extend(s.shard.map(|sh| format!("--shard {sh}")));
    let filters = if filters.is_empty() {
        "no --include or --exclude filter".to_string()
    } else {
        format!("filters: {}", filters.join(" "))
    };
    tracing::warn!(
        "nothing found under {}: no file to read ({filters}; hidden files and folders are skipped); check the corpus path and the filters",
        s.corpus.display()
    );
}

/// The merge: results arrive in completion order; it reads them in corpus order so that
/// the outputs do not depend on timing (resumed == uninterrupted, byte for byte).
pub(crate) fn write_outputs(
    s: &RunSettings,
    journal: &mut Journal,
    docs: &mut [DocState],
    sections: Sections,
) -> anyhow::Result<crate::merge::MergeStats> {
    // The chunk lists move into the manifest (not copied: they are the run's largest
    // structure).
    let manifest = Manifest {
        docs: docs
            .iter_mut()
            .map(|d| {
                let mut chunks = std::mem::take(&mut d.manifest.chunks);
                chunks.sort_unstable_by_key(|c| c.index);
                DocManifest {
                    rel: d.manifest.rel.clone(),
                    chunks,
                }
            })
            .collect(),
        sections,
    };
    // The merge finds results through the manifest; the index of what the checkpoint held
    // at start is not needed any more (32 bytes a key: 32 MB at a million chunks).
    journal.release_index();
    // Nothing new since the last merge (a rerun that resumed everything): the outputs are
    // already its bytes.
    let fp = crate::merge::outputs::fingerprint(&manifest, s.resolve);
    let checkpoint = journal.path().to_path_buf();
    let merged = match crate::merge::outputs::unchanged(&s.out, &checkpoint, &fp) {
        Some(stats) => stats,
        None => {
            let m = crate::merge::merge_and_write_with(&manifest, journal, &s.out, s.resolve)
                .map_err(RunError::from)?;
            crate::merge::outputs::record(&s.out, &checkpoint, &fp, &m);
            m
        }
    };
    if s.shard.is_some() {
        crate::outdir::shard::write_manifest(&s.out, &manifest).map_err(|e| {
            RunError::io(
                &s.out,
                &e,
                format!(
                    "cannot write the shard manifest in {}: {e}",
                    s.out.display()
                ),
            )
        })?;
    }
    Ok(merged)
}

/// Counts, shares, engine statistics and settings into the report.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fill_report(
    report: &mut Report,
    s: &RunSettings,
    docs: &[DocState],
    snapshot: &Snapshot,
    merged: &crate::merge::MergeStats,
    router: &Router,
    stale: u64,
    started: Instant,
) {
    let d = &mut report.documents;
    d.skipped = d.skipped_list.len() as u64;
    d.failed = d.failed_list.len() as u64;
    for doc in docs {
        if doc.failed || doc.settled < doc.expected {
            if doc.failed {
                d.failed += 1;
                d.failed_list.push(DocIssue::new(
                    doc.manifest.rel.to_string(),
                    IssueKind::Failed,
                    "chunks_failed",
                    "some chunks failed; see failed_chunks; a rerun retries them",
                ));
            }
        } else {
            d.extracted += 1;
        }
    }
    d.seen = snapshot.docs_seen;
    let c = &mut report.chunks;
    c.total = snapshot.chunks_total;
    c.resumed = snapshot.chunks_resumed;
    c.extracted_now = snapshot.chunks_done - snapshot.chunks_resumed;
    c.failed = snapshot.chunks_failed;
    c.empty = merged.empty_chunks;
    c.partial = merged.validation.partial;
    report.entities = merged.entities;
    report.relations = merged.relations;
    let generic = merged
        .relation_types
        .get(GENERIC_RELATION)
        .copied()
        .unwrap_or(0);
    report.generic_relation_share = if merged.relations > 0 {
        generic as f64 / merged.relations as f64
    } else {
        0.0
    };
    report.relation_types = merged.relation_types.clone();
    report.entity_types = merged.entity_types.clone();
    report.dropped_items = merged.dropped;
    report.validation.fill(&merged.validation);
    report.resolution = merged.resolution.clone();
    for (name, st) in router.stats() {
        report.retries += st.retries;
        report.fallbacks += st.fallbacks;
        report.prompt_tokens += st.prompt_tokens;
        report.completion_tokens += st.completion_tokens;
        report.engines.insert(name, st);
    }
    report.corpus = s.corpus.display().to_string();
    report.out = s.out.display().to_string();
    report.wall_seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    report.peak_rss_mb = crate::outdir::report::peak_rss_mb();
    report.settings = serde_json::json!({
        "chunk_tokens": s.chunk.tokens,
        "chunk_overlap": s.chunk.overlap,
        "domain": s.prompts.taxonomy.name,
        "prompts_dir": s.prompts.dir.display().to_string(),
        "prompt_fingerprint": s.prompts.fingerprint,
        "max_output_tokens": s.max_output_tokens,
        "answer_limits": s.prompts.taxonomy.limits,
        "grounding": s.grounding,
        "relations": s.relations,
        "max_requests_per_chunk": s.max_requests_per_chunk,
        "engine_wait_secs": s.engine_wait.as_secs(),
        "stale_results_redone": stale,
    });
}

/// The exit code and the error to print, from why the run stopped and what failed.
pub(crate) fn exit_status(
    report: &mut Report,
    snapshot: &Snapshot,
    stop: Option<&Stop>,
    unfinished: bool,
) -> (ExitCode, Option<RunError>) {
    let (code, status, err): (ExitCode, &str, Option<RunError>) = match stop {
        Some(Stop::Interrupted) => (ExitCode::Interrupted, "interrupted", Some(RunError::Interrupted(format!(
            "interrupted: {} of the {} chunks seen so far are done and in the checkpoint ({} finished this run); rerun the same command to resume",
            snapshot.chunks_done, snapshot.chunks_total, snapshot.chunks_done - snapshot.chunks_resumed
        )))),
        Some(Stop::NoEngine(m)) => (ExitCode::NoEngine, "stopped: no engine", Some(RunError::NoEngine(m.clone()))),
        Some(Stop::Fatal(m)) => (ExitCode::Usage, "stopped: configuration error", Some(RunError::Engine(m.clone()))),
        Some(Stop::Journal(_)) => unreachable!("handled above"),
        None if report.documents.failed > 0 || report.chunks.failed > 0 || unfinished => (ExitCode::SomeFailed, "finished with failures", None),
        None => (ExitCode::Done, "done", None),
    };
    report.status = status.to_string();
    report.exit_code = code as i32;
    (code, err)
}

/// `run.json`: this run's identity, read by the next run and by `status`.
pub(crate) fn write_state(s: &RunSettings, report: &Report, code: ExitCode) -> std::io::Result<()> {
    let state = RunState {
        corpus: std::fs::canonicalize(&s.corpus)
            .unwrap_or_else(|_| s.corpus.clone())
            .display()
            .to_string(),
        prompt_fingerprint: s.prompts.fingerprint.clone(),
        prompts_dir: s.prompts.dir.display().to_string(),
        chunk_tokens: s.chunk.tokens,
        chunk_overlap: s.chunk.overlap,
        limits: Some(s.prompts.taxonomy.limits),
        compact: s.prompts.compact,
        include: s.include.clone(),
        exclude: s.exclude.clone(),
        max_file_size: Some(s.max_file_size),
        gleaning: s.gleaning,
        relations: s.relations,
        models: report
            .engines
            .iter()
            .map(|(k, v)| (k.clone(), v.model.clone()))
            .collect(),
        command: crate::cli::without_secrets(std::env::args()),
        finished_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        exit_code: code as i32,
    };
    crate::outdir::atomic::write_atomic(&s.out.join(STATE_FILE), |w| {
        serde_json::to_writer_pretty(&mut *w, &state).map_err(std::io::Error::other)
    })
}

/// The run's own files besides the outputs: `report.json`, `skipped.csv`, `run.json`, and a
/// shard's `shard.json` (last: a folder with it is a finished shard).
fn write_run_files(s: &RunSettings, report: &Report, code: ExitCode) -> Result<(), RunError> {
    let io = |path: &std::path::Path, e: std::io::Error| {
        RunError::io(path, &e, format!(
            "cannot write the report in {}: {e}; every finished chunk is in the checkpoint: make room on the disk (or fix the folder's permissions) and rerun the same command",
            s.out.display()
        ))
    };
    crate::outdir::atomic::write_atomic(&s.out.join(REPORT_FILE), |w| {
        serde_json::to_writer_pretty(&mut *w, &report).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .map_err(|e| io(&s.out, e))?;
    crate::outdir::atomic::write_atomic(&s.out.join(SKIPPED_FILE), |w| report.write_skipped_csv(w))
        .map_err(|e| io(&s.out, e))?;
    write_state(s, report, code).map_err(|e| io(&s.out, e))?;
    if let Some(shard) = s.shard {
        let info = crate::outdir::shard::ShardInfo {
            version: 1,
            shard,
            fingerprint: crate::outdir::shard::settings_fingerprint(
                &key_fingerprint(&s.prompts.fingerprint, s.gleaning, s.relations),
                s.chunk.tokens,
                s.chunk.overlap,
                s.resolve,
                &report
                    .engines
                    .values()
                    .filter(|e| e.successes > 0)
                    .map(|e| e.model.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            resolve: s.resolve,
            documents: report.documents.seen,
            chunks: report.chunks.total,
            exit_code: code as i32,
        };
        crate::outdir::shard::write_info(&s.out, &info).map_err(|e| io(&s.out, e))?;
    }
    Ok(())
}
