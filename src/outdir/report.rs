//! The report: what a run saw, did, skipped and failed, as `report.json` (and `skipped.csv`)
//! and as a short human summary on stderr. Counters are plain data filled by the writer,
//! read back by `outdir::finished` and summed across shards by [`Report::absorb`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::router::EngineStats;
use crate::read::issue::{DocIssue, IssueKind};

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

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
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
    #[serde(deserialize_with = "skipped_issues")]
    pub skipped_list: Vec<DocIssue>,
    #[serde(deserialize_with = "failed_issues")]
    pub failed_list: Vec<DocIssue>,
    /// Notes worth knowing (e.g. legacy encodings decoded), per document.
    pub notes: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
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
    /// `--relations repair`: chunks whose joint answer lost relations to an endpoint
    /// outside its entities and got a relations pass answered (absent when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub repaired: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What validation kept and dropped, over every chunk the outputs hold (each checkpoint
/// record carries its counts, so resumed chunks count too).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct GleaningCounts {
    /// Rounds allowed per chunk.
    pub rounds: u32,
    /// Follow-up requests answered in this run.
    pub requests: u64,
    /// Entities and relations they added (after validation and de-duplication).
    pub records_added: u64,
}

/// A chunk that failed, with the reason and a bit of the raw answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FailedChunk {
    pub doc: String,
    pub chunk: u32,
    pub class: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
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
    /// Not read back: an engine's figures belong to the process that ran it (its failure
    /// classes are the router's names), and nothing that reads a finished run uses them.
    #[serde(skip_deserializing)]
    pub engines: BTreeMap<String, EngineStats>,
    pub retries: u64,
    pub fallbacks: u64,
    pub failed_chunks: Vec<FailedChunk>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub wall_seconds: f64,
    /// The process's peak resident memory so far (`getrusage`'s `ru_maxrss`), in MB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rss_mb: Option<f64>,
    pub settings: serde_json::Value,
    /// The grounding counters of reports written by earlier versions: read, never written.
    #[serde(skip_serializing)]
    pub grounding: Option<EarlierGrounding>,
    /// The finishing step (`aegis-ingest communities`), once it has run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub communities: Option<CommunitiesSection>,
}

/// `report.json`'s `communities`: what the finishing step detected, reused and asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommunitiesSection {
    /// Per level (0 the coarsest).
    pub levels: Vec<CommunityLevelCounts>,
    /// Entities with no relation: in no community.
    pub isolated_entities: u64,
    pub summaries_generated: u64,
    pub summaries_reused: u64,
    pub summaries_failed: u64,
    /// Cited ids that were not in their community, dropped from the reports.
    pub dropped_citations: u64,
    /// Reports built from their children's reports (the members did not fit the context).
    pub from_children: u64,
    pub requests: u64,
    pub retries: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub wall_seconds: f64,
    /// "done", "partial" (some reports failed: a rerun asks for them) or "interrupted".
    pub status: String,
}

/// One level's communities and what became of their reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommunityLevelCounts {
    pub level: u32,
    pub detected: u64,
    /// Below `--min-community-size`: no report.
    pub too_small: u64,
    pub reports_reused: u64,
    pub reports_generated: u64,
    pub reports_failed: u64,
}

/// `grounding` in the reports of earlier versions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EarlierGrounding {
    pub share: Option<f64>,
    pub grounded: Option<u64>,
    pub checked: Option<u64>,
    pub total: Option<u64>,
}

/// Whether the finishing step's `communities.jsonl` in `out` was made from the outputs
/// there now: it exists, and neither `entities.jsonl` nor `relations.jsonl` was written
/// after it.
pub fn communities_current(out: &std::path::Path) -> bool {
    use super::names::{COMMUNITIES_FILE, ENTITIES_FILE, RELATIONS_FILE};
    let mtime = |name: &str| std::fs::metadata(out.join(name)).and_then(|m| m.modified());
    let Ok(made) = mtime(COMMUNITIES_FILE) else {
        return false;
    };
    [ENTITIES_FILE, RELATIONS_FILE]
        .iter()
        .all(|f| mtime(f).map_or(true, |t| t <= made))
}

/// Peak resident memory of this process (`ru_maxrss` of `getrusage`, in KiB on Linux), in
/// MB with one decimal; None where the system does not say.
pub fn peak_rss_mb() -> Option<f64> {
    // SAFETY: getrusage only writes the struct it is given, which is zeroed and ours.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 || usage.ru_maxrss <= 0 {
        return None;
    }
    let kb = usage.ru_maxrss as f64;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}

/// At most this many failed chunks are listed one by one (all are counted).
pub const MAX_LISTED_FAILURES: usize = 1000;

impl Report {
    /// The human summary for stderr.
    pub fn summary(&self) -> String {
        let mut s = self.summary_head();
        s.push_str(&self.summary_validation());
        s.push_str(&self.summary_engines());
        s.push_str(&self.summary_issues());
        s
    }

    /// The first line: documents, chunks, records, generic share, time.
    fn summary_head(&self) -> String {
        let d = &self.documents;
        let c = &self.chunks;
        format!(
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
        )
    }

    /// What validation kept and dropped, when an answer was validated.
    fn summary_validation(&self) -> String {
        let v = &self.validation;
        if v.answers == 0 {
            return String::new();
        }
        let mut reasons: Vec<String> = serde_json::to_value(v.dropped)
            .ok()
            .and_then(|d| d.as_object().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, n)| n.as_u64().is_some_and(|n| n > 0))
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        reasons.sort();
        format!(
            "  answers: {} validated{}{}; dropped: {}\n",
            v.answers,
            v.grounded_share
                .map(|g| format!(", {:.1}% of entity names found in their chunk", g * 100.0))
                .unwrap_or_default(),
            if self.chunks.partial > 0 {
                format!(
                    ", {} partial (cut off, complete records kept)",
                    self.chunks.partial
                )
            } else {
                String::new()
            },
            if reasons.is_empty() {
                "nothing".to_string()
            } else {
                reasons.join(", ")
            },
        )
    }

    /// One line per engine that was sent a request.
    fn summary_engines(&self) -> String {
        let mut s = String::new();
        for (name, e) in &self.engines {
            if e.requests > 0 {
                s.push_str(&format!(
                    "  {name}: {} requests, {} ok, {} retries, {} prompt{} + {} completion tokens{}\n",
                    e.requests,
                    e.successes,
                    e.retries,
                    e.prompt_tokens,
                    if e.cached_prompt_tokens > 0 {
                        format!(" ({} cached)", e.cached_prompt_tokens)
                    } else {
                        String::new()
                    },
                    e.completion_tokens,
                    if e.failures.is_empty() {
                        String::new()
                    } else {
                        format!(", failures {:?}", e.failures)
                    }
                ));
            }
        }
        s
    }

    /// Skipped and failed documents, one line per reason with the first three named.
    fn summary_issues(&self) -> String {
        let d = &self.documents;
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
        let mut s = String::new();
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

impl Report {
    /// Adds the counts of `other` (another shard's report) to this one: every count is
    /// summed and every list extended. The fields that are not counts are combined as
    /// said at each; a field added to `Report` must be added here (the destructuring
    /// below does not compile until it is).
    pub fn absorb(&mut self, other: &Report) {
        let Report {
            // The run's identity: the first report's is kept.
            corpus: _,
            out: _,
            settings: _,
            // "done" only when every report says so.
            status,
            // The highest code: a failure or a stop in one shard is the merge's.
            exit_code,
            documents,
            chunks,
            entities,
            relations,
            relation_types,
            // A share, not a count: recomputed from the summed relation types.
            generic_relation_share: _,
            entity_types,
            dropped_items,
            validation,
            gleaning,
            resolution,
            // Not read back from a report (see the field).
            engines: _,
            retries,
            fallbacks,
            failed_chunks,
            prompt_tokens,
            completion_tokens,
            // The shards ran side by side: the longest is the merge's.
            wall_seconds,
            // Each shard's own process: the largest.
            peak_rss_mb,
            // Only in reports of earlier versions, which shards of this one never are.
            grounding: _,
            // The finishing step runs on the merged outputs, not on a shard's.
            communities: _,
        } = other;
        if status != "done" {
            self.status = "finished with failures".to_string();
        } else if self.status.is_empty() {
            self.status = status.clone();
        }
        self.exit_code = self.exit_code.max(*exit_code);
        self.documents.absorb(documents);
        self.chunks.absorb(chunks);
        self.entities += entities;
        self.relations += relations;
        add_counts(&mut self.relation_types, relation_types);
        add_counts(&mut self.entity_types, entity_types);
        self.generic_relation_share = generic_share(&self.relation_types, self.relations);
        self.dropped_items += dropped_items;
        self.validation.absorb(validation);
        self.gleaning.absorb(gleaning);
        if let Some(r) = resolution {
            add_counts(self.resolution.get_or_insert_with(BTreeMap::new), r);
        }
        self.retries += retries;
        self.fallbacks += fallbacks;
        self.failed_chunks.extend(failed_chunks.iter().cloned());
        self.prompt_tokens += prompt_tokens;
        self.completion_tokens += completion_tokens;
        self.wall_seconds = self.wall_seconds.max(*wall_seconds);
        self.peak_rss_mb = match (self.peak_rss_mb, *peak_rss_mb) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

impl DocumentCounts {
    fn absorb(&mut self, o: &DocumentCounts) {
        let DocumentCounts {
            seen,
            extracted,
            skipped,
            failed,
            unchanged_not_read,
            unchanged_same_bytes,
            skipped_list,
            failed_list,
            notes,
        } = o;
        self.seen += seen;
        self.extracted += extracted;
        self.skipped += skipped;
        self.failed += failed;
        self.unchanged_not_read += unchanged_not_read;
        self.unchanged_same_bytes += unchanged_same_bytes;
        self.skipped_list.extend(skipped_list.iter().cloned());
        self.failed_list.extend(failed_list.iter().cloned());
        for (doc, list) in notes {
            self.notes
                .entry(doc.clone())
                .or_default()
                .extend(list.iter().cloned());
        }
    }
}

impl ChunkCounts {
    fn absorb(&mut self, o: &ChunkCounts) {
        let ChunkCounts {
            total,
            extracted_now,
            resumed,
            failed,
            split,
            empty,
            partial,
            bounds_shrunk,
            repaired,
        } = o;
        self.total += total;
        self.extracted_now += extracted_now;
        self.resumed += resumed;
        self.failed += failed;
        self.split += split;
        self.empty += empty;
        self.partial += partial;
        self.bounds_shrunk += bounds_shrunk;
        self.repaired += repaired;
    }
}

impl ValidationCounts {
    fn absorb(&mut self, o: &ValidationCounts) {
        let ValidationCounts {
            answers,
            entities_kept,
            relations_kept,
            dropped,
            // The same setting in every shard (merge refuses other settings).
            grounding,
            // A share: recomputed from the sums by `close`.
            grounded_share: _,
            flagged_ungrounded,
        } = o;
        self.answers += answers;
        self.entities_kept += entities_kept;
        self.relations_kept += relations_kept;
        self.dropped.add(dropped);
        self.grounding = *grounding;
        self.flagged_ungrounded += flagged_ungrounded;
        self.close();
    }
}

impl GleaningCounts {
    fn absorb(&mut self, o: &GleaningCounts) {
        let GleaningCounts {
            // The same setting in every shard.
            rounds,
            requests,
            records_added,
        } = o;
        self.rounds = *rounds;
        self.requests += requests;
        self.records_added += records_added;
    }
}

fn add_counts(to: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, n) in from {
        *to.entry(k.clone()).or_default() += n;
    }
}

/// Share of relations typed RELATES_TO, the last-resort type.
pub fn generic_share(relation_types: &BTreeMap<String, u64>, relations: u64) -> f64 {
    let generic = relation_types
        .get(crate::prompt::GENERIC_RELATION)
        .copied()
        .unwrap_or(0);
    if relations > 0 {
        generic as f64 / relations as f64
    } else {
        0.0
    }
}

/// A listed document as `report.json` writes it (its kind is the list it is in).
#[derive(Deserialize)]
struct IssueRow {
    doc: String,
    reason: String,
    #[serde(default)]
    detail: String,
}

fn skipped_issues<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<DocIssue>, D::Error> {
    issues(d, IssueKind::Skipped)
}

fn failed_issues<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<DocIssue>, D::Error> {
    issues(d, IssueKind::Failed)
}

fn issues<'de, D: serde::Deserializer<'de>>(
    d: D,
    kind: IssueKind,
) -> Result<Vec<DocIssue>, D::Error> {
    let rows = Vec::<IssueRow>::deserialize(d)?;
    Ok(rows
        .into_iter()
        .map(|r| DocIssue::new(r.doc, kind, reason_code(&r.reason), r.detail))
        .collect())
}

/// A reason code as the `&'static str` a `DocIssue` holds. The codes are a small closed
/// set (`binary`, `empty`, ...), so each distinct one read back is kept once for the
/// process's life.
fn reason_code(reason: &str) -> &'static str {
    static CODES: std::sync::Mutex<std::collections::BTreeSet<&'static str>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut codes = CODES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&code) = codes.get(reason) {
        return code;
    }
    let code: &'static str = Box::leak(reason.to_string().into_boxed_str());
    codes.insert(code);
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_back_and_absorbs_every_count() {
        let mut a = Report {
            status: "done".into(),
            ..Report::default()
        };
        a.documents.seen = 2;
        a.documents
            .skipped_list
            .push(DocIssue::new("x.bin", IssueKind::Skipped, "binary", "d"));
        a.chunks.total = 3;
        a.relations = 2;
        a.relation_types
            .insert(crate::prompt::GENERIC_RELATION.into(), 1);
        let text = serde_json::to_string(&a).unwrap();
        let back: Report = serde_json::from_str(&text).unwrap();
        assert_eq!(back.documents.skipped_list, a.documents.skipped_list);
        let mut b = back.clone();
        b.status = "finished with failures".into();
        b.chunks.failed = 1;
        let mut sum = Report::default();
        sum.absorb(&back);
        assert_eq!(sum.status, "done");
        sum.absorb(&b);
        assert_eq!(sum.status, "finished with failures");
        assert_eq!((sum.documents.seen, sum.chunks.total), (4, 6));
        assert_eq!(
            (sum.chunks.failed, sum.documents.skipped_list.len()),
            (1, 2)
        );
        assert_eq!(sum.generic_relation_share, 0.5);
        // A report of an older version, with fields missing, still reads.
        let old: Report = serde_json::from_str(r#"{"status": "done"}"#).unwrap();
        assert_eq!(old.chunks.total, 0);
    }

    #[test]
    fn peak_memory_is_measured() {
        assert!(peak_rss_mb().is_some_and(|mb| mb > 0.0));
    }
}
