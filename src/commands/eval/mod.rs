//! `aegis-ingest eval`: how good is a finished run's graph? Scores the outputs in `--out`
//! (`entities.jsonl`, `relations.jsonl`, `report.json`, `run.json`) against a gold file
//! and measures what needs no gold: the grounded share (predicted names found in the text
//! of the chunk they came from, re-read with the project's own readers and chunker), the
//! share of generic `RELATES_TO` relations, and relations per chunk.
//!
//! Without a gold file (`--gold` left out) only what needs no gold is measured; the
//! scores are left empty.
//!
//! Gold file: JSONL, one line per document:
//! `{"doc": <path relative to the corpus>, "entities": [{"name", "type", "aliases"?}],
//!   "relations": [{"source", "type", "target"}]}`; relation ends name gold entities of the
//! same line (by name or alias).
//!
//! Matching, per document, one to one (each gold item matches at most one predicted item;
//! greedy in gold order, exact matches before partial ones):
//! - names are compared by their resolved keys (`resolve`: Unicode, case, punctuation,
//!   possessive, article, legal suffix), against the gold name and its aliases;
//! - *exact*: equal keys; *partial*: one key's words are a run of the other's words;
//! - *typed*: the predicted entity's type equals the gold type; *untyped*: any type;
//! - relations: *labeled*: source and target match (exact keys) and the type is equal;
//!   *unlabeled*: the two ends match in either direction, any type.
//!
//! Overall figures are micro-averaged over the gold documents (sums of matches, predicted
//! and gold items). Predicted items of documents that are not in the gold file are not
//! scored (the run-wide figures still count them).

mod communities;
mod gold;
mod matching;
mod outputs;
mod score;
mod table;

use std::path::Path;

use crate::cli::{EvalArgs, EvalFormat};
use crate::error::{ExitCode, RunError};
use crate::outdir::finished::FinishedRun;
use crate::quality::gates::{check_communities, CommunityLimits};
use crate::quality::grounding::measure_grounding;
use crate::quality::Limits;

pub use communities::{CommunityFigures, LevelFigures, ReportFigures};
pub use gold::{read_gold, GoldDoc, GoldEntity, GoldRelation};
pub use matching::{evaluate, without_gold};
pub use outputs::RunOutputs;
pub use score::{
    DocScores, EntityScores, EvalReport, Example, Examples, RelationScores, RunFigures, Score,
};

/// The output file, beside the run's outputs.
pub const EVAL_FILE: &str = "eval.json";

/// `aegis-ingest eval`.
pub fn eval(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let limits = Limits {
        min_entity_f1: args.min_entity_f1,
        min_relation_f1: args.min_relation_f1,
        max_generic_share: args.max_generic_share,
        min_grounded: args.min_grounded,
    };
    limits.validate().map_err(RunError::usage)?;
    let community_limits = CommunityLimits {
        min_modularity: args.min_modularity,
        min_report_coverage: args.min_report_coverage,
        min_citation_precision: args.min_citation_precision,
        min_citation_recall: args.min_citation_recall,
        min_schema_compliance: args.min_schema_compliance,
    };
    community_limits.validate().map_err(RunError::usage)?;
    let out = &args.output.out;
    let run = RunOutputs::open(out)?;
    let mut rep = match &args.gold {
        Some(path) => scored(&run, path)?,
        None => without_gold(&run),
    };
    add_grounding(&mut rep, &run.run)?;
    rep.communities = communities::measure(&run.run, &run.entities, &run.relations)?;
    rep.gates_failed = crate::quality::check(&rep.figures(), &limits);
    rep.gates_failed.extend(check_communities(
        &rep.community_measures(),
        &community_limits,
    ));
    write_eval(out, &rep)?;
    match args.format {
        EvalFormat::Text => crate::out!("{}", rep.table(args.examples)),
        EvalFormat::Json => crate::outln!(
            "{}",
            serde_json::to_string_pretty(&rep).map_err(|e| anyhow::anyhow!("{e}"))?
        ),
    }
    for m in &rep.gates_failed {
        crate::errln!("aegis-ingest: {m}");
    }
    Ok(if rep.gates_failed.is_empty() {
        ExitCode::Done
    } else {
        ExitCode::SomeFailed
    })
}

/// The run scored against the gold file at `path`.
fn scored(run: &RunOutputs, path: &Path) -> Result<EvalReport, RunError> {
    let taxonomy = run.taxonomy()?;
    let gold = read_gold(path, &taxonomy)?;
    let rep = evaluate(run, &gold, path);
    // The wrong run is said first, alone: a warning per gold document would bury it.
    if rep.documents == 0 {
        return Err(RunError::usage(format!(
            "none of the gold file's documents is in the run's corpus {}: is --out the run of the right corpus?",
            rep.corpus
        )));
    }
    warn_unscored(run, &gold, &rep);
    Ok(rep)
}

/// Warns about gold documents the run did not (fully) extract, and those not in its corpus.
fn warn_unscored(run: &RunOutputs, gold: &[GoldDoc], rep: &EvalReport) {
    let documents = &run.run.report.documents;
    let missed: Vec<(&str, String)> = documents
        .skipped_list
        .iter()
        .chain(&documents.failed_list)
        .filter(|issue| gold.iter().any(|g| g.doc == issue.doc))
        .map(|issue| {
            let line = format!(
                "gold document {:?} was not (fully) extracted by the run ({}): its gold items count as missed",
                issue.doc, issue.reason
            );
            (issue.doc.as_str(), line)
        })
        .collect();
    warn_folded(&missed, |n| {
        format!("{n} gold documents were not (fully) extracted by the run: their gold items count as missed")
    });
    let unknown: Vec<(&str, String)> = rep
        .unknown_documents
        .iter()
        .map(|d| {
            let line = format!(
                "gold document {d:?} is not in the run's corpus ({}): not scored",
                rep.corpus
            );
            (d.as_str(), line)
        })
        .collect();
    warn_folded(&unknown, |n| {
        format!(
            "{n} gold documents are not in the run's corpus ({}): not scored",
            rep.corpus
        )
    });
}

/// How many documents a warning names one by one; more (a gold file of a larger corpus)
/// are one line with the count and the first names.
const WARN_EACH_UP_TO: usize = 3;

/// One warning per `(document, line)`, or, for many, `many(count)` and the first names.
fn warn_folded(docs: &[(&str, String)], many: impl Fn(usize) -> String) {
    if docs.len() <= WARN_EACH_UP_TO {
        for (_, line) in docs {
            tracing::warn!("{line}");
        }
        return;
    }
    let first: Vec<String> = docs[..WARN_EACH_UP_TO]
        .iter()
        .map(|(d, _)| format!("{d:?}"))
        .collect();
    tracing::warn!("{} ({}, ...)", many(docs.len()), first.join(", "));
}

/// The grounded share, overall and per document, measured on the corpus read again.
fn add_grounding(rep: &mut EvalReport, run: &FinishedRun) -> Result<(), RunError> {
    rep.run.grounding = measure_grounding(run)?;
    for d in &mut rep.per_document {
        d.grounded_share = rep
            .run
            .grounding
            .per_doc
            .get(&d.doc)
            .filter(|(n, _)| *n > 0)
            .map(|(n, ok)| score::round(*ok as f64 / *n as f64));
    }
    rep.run.grounding.share = rep.run.grounding.share.map(score::round);
    Ok(())
}

/// `eval.json`, beside the run's outputs.
fn write_eval(out: &Path, rep: &EvalReport) -> Result<(), RunError> {
    let path = out.join(EVAL_FILE);
    crate::outdir::atomic::write_atomic(&path, |w| {
        serde_json::to_writer_pretty(&mut *w, rep).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .map_err(|e| RunError::io(&path, &e, format!("cannot write {}: {e}", path.display())))
}
