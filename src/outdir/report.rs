//! The report: what a run saw, did, skipped and failed, as `report.json` (and `skipped.csv`)
//! and as a short human summary on stderr. Counters are plain data filled by the writer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::router::EngineStats;
use crate::read::issue::DocIssue;

/// Validation counts summed over the chunks merged.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ValidationTotals {
    pub answers: u64,
    pub entities: u64,
    pub relations: u64,
    /// Entities kept although not found in their chunk (`--grounding flag`).
    pub flagged_ungrounded: u64,
    pub partial: u64,
    pub drops: crate::parse::Drops,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DocumentCounts {
    pub seen: u64,
    pub extracted: u64,
    pub skipped: u64,
    pub failed: u64,
    /// Unchanged since the last run (size and modification time) with every chunk in the
    /// checkpoint: taken from the file cache, not read again.
    pub unchanged_not_read: u64,
    /// A new modification time but the same bytes (a fresh checkout, a `touch`), every
    /// chunk in the checkpoint: read and hashed, not chunked again.
    pub unchanged_same_bytes: u64,
    pub skipped_list: Vec<DocIssue>,
    pub failed_list: Vec<DocIssue>,
    /// Notes worth knowing (e.g. legacy encodings decoded), per document.
    pub notes: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ChunkCounts {
    pub total: u64,
    pub extracted_now: u64,
    pub resumed: u64,
    pub failed: u64,
    /// Chunks split in two because the prompt or answer did not fit.
    pub split: u64,
    /// Chunks whose answer had no entity.
    pub empty: u64,
    /// Chunks whose answer was cut off at its output budget even with the smallest answer
    /// bounds (or the chunk's cap): their complete records are kept.
    pub partial: u64,
    /// Chunks asked again with smaller answer bounds after a cut-off answer.
    pub bounds_shrunk: u64,
}

/// What validation kept and dropped, over every chunk the outputs hold (each checkpoint
/// record carries its counts, so resumed chunks count too).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ValidationCounts {
    /// Answers (chunks) whose results the outputs hold.
    pub answers: u64,
    pub entities_kept: u64,
    pub relations_kept: u64,
    /// Items dropped, per reason (see README, "What validation drops").
    pub dropped: crate::parse::Drops,
    /// `--grounding`: drop, flag or off.
    pub grounding: crate::parse::Grounding,
    /// Entities whose name occurs in their chunk's text, of those checked.
    pub grounded_share: Option<f64>,
    /// Entities kept although not found in their chunk (`--grounding flag`).
    pub flagged_ungrounded: u64,
}

impl ValidationCounts {
    /// The merge's totals, and the share they make.
    pub fn fill(&mut self, t: &ValidationTotals) {
        self.answers = t.answers;
        self.entities_kept = t.entities;
        self.relations_kept = t.relations;
        self.flagged_ungrounded = t.flagged_ungrounded;
        self.dropped = t.drops;
        self.close();
    }

    /// Fills the derived share.
    fn close(&mut self) {
        use crate::parse::Grounding;
        let kept = self.entities_kept;
        let (checked, grounded) = match self.grounding {
            Grounding::Off => return,
            // Dropped names were checked too; every kept one passed.
            Grounding::Drop => (kept + u64::from(self.dropped.ungrounded), kept),
            Grounding::Flag => (kept, kept.saturating_sub(self.flagged_ungrounded)),
        };
        self.grounded_share = (checked > 0).then(|| grounded as f64 / checked as f64);
    }
}

/// `--gleaning`: follow-up requests for what an answer missed, and what they added.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GleaningCounts {
    /// Rounds allowed per chunk.
    pub rounds: u32,
    /// Follow-up requests answered in this run.
    pub requests: u64,
    /// Entities and relations they added (after validation and de-duplication).
    pub records_added: u64,
}

/// A chunk that failed, with the reason and a bit of the raw answer.
#[derive(Debug, Clone, Serialize)]
pub struct FailedChunk {
    pub doc: String,
    pub chunk: u32,
    pub class: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub corpus: String,
    pub out: String,
    pub status: String,
    pub exit_code: i32,
    pub documents: DocumentCounts,
    pub chunks: ChunkCounts,
    pub entities: u64,
    pub relations: u64,
    pub relation_types: BTreeMap<String, u64>,
    /// Share of relations typed RELATES_TO, the last-resort type.
    pub generic_relation_share: f64,
    pub entity_types: BTreeMap<String, u64>,
    /// Items the validator dropped (all reasons; `validation.dropped` per reason).
    pub dropped_items: u64,
    pub validation: ValidationCounts,
    pub gleaning: GleaningCounts,
    /// Entities each resolution rule folded into another (absent with `--no-resolve`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<BTreeMap<String, u64>>,
    pub engines: BTreeMap<String, EngineStats>,
    pub retries: u64,
    pub fallbacks: u64,
    pub failed_chunks: Vec<FailedChunk>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub wall_seconds: f64,
    /// The process's peak resident memory so far (Linux `VmHWM`), in MB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_mb: Option<f64>,
    pub settings: serde_json::Value,
}

/// Peak resident memory of this process (`VmHWM` in /proc/self/status), in MB; None where
/// the system does not say.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}

/// At most this many failed chunks are listed one by one (all are counted).
pub const MAX_LISTED_FAILURES: usize = 1000;

impl Report {
    /// The human summary for stderr.
    pub fn summary(&self) -> String {
        let d = &self.documents;
        let c = &self.chunks;
        let mut s = format!(
            "{}: {} documents ({} extracted, {} skipped, {} failed); {} chunks ({} extracted now, {} resumed, {} failed); {} entities, {} relations; {:.1}% {} ; {:.1} s\n",
            self.status,
            d.seen,
            d.extracted,
            d.skipped,
            d.failed,
            c.total,
            c.extracted_now,
            c.resumed,
            c.failed,
            self.entities,
            self.relations,
            self.generic_relation_share * 100.0,
            crate::prompt::GENERIC_RELATION,
            self.wall_seconds,
        );
        let v = &self.validation;
        if v.answers > 0 {
            let mut reasons: Vec<String> = serde_json::to_value(v.dropped)
                .ok()
                .and_then(|d| d.as_object().cloned())
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, n)| n.as_u64().is_some_and(|n| n > 0))
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            reasons.sort();
            s.push_str(&format!(
                "  answers: {} validated{}{}; dropped: {}\n",
                v.answers,
                v.grounded_share
                    .map(|g| format!(", {:.1}% of entity names found in their chunk", g * 100.0))
                    .unwrap_or_default(),
                if c.partial > 0 {
                    format!(", {} partial (cut off, complete records kept)", c.partial)
                } else {
                    String::new()
                },
                if reasons.is_empty() {
                    "nothing".to_string()
                } else {
                    reasons.join(", ")
                },
            ));
        }
        for (name, e) in &self.engines {
            if e.requests > 0 {
                s.push_str(&format!(
                    "  {name}: {} requests, {} ok, {} retries, {} prompt + {} completion tokens{}\n",
                    e.requests,
                    e.successes,
                    e.retries,
                    e.prompt_tokens,
                    e.completion_tokens,
                    if e.failures.is_empty() {
                        String::new()
                    } else {
                        format!(", failures {:?}", e.failures)
                    }
                ));
            }
        }
        let mut groups: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for i in &d.skipped_list {
            groups
                .entry(("skipped", i.reason))
                .or_default()
                .push(&i.doc);
        }
        for i in &d.failed_list {
            groups.entry(("failed", i.reason)).or_default().push(&i.doc);
        }
        for ((kind, reason), docs) in groups {
            let shown: Vec<&str> = docs.iter().take(3).copied().collect();
            s.push_str(&format!(
                "  {kind} ({reason}): {} {}{}\n",
                docs.len(),
                shown.join(", "),
                if docs.len() > 3 { ", ..." } else { "" }
            ));
        }
        s
    }

    /// `skipped.csv`: one row per skipped or failed document.
    pub fn write_skipped_csv(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut csv = csv::Writer::from_writer(w);
        csv.write_record(["doc", "status", "reason", "detail"])?;
        for (status, list) in [
            ("skipped", &self.documents.skipped_list),
            ("failed", &self.documents.failed_list),
        ] {
            for i in list {
                csv.write_record([i.doc.as_str(), status, i.reason, i.detail.as_str()])?;
            }
        }
        csv.flush()?;
        Ok(())
    }
}
