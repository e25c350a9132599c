//! The table `eval` prints on stdout: the scores, the run-wide figures, the types, the
//! documents and the worst examples.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::score::{EvalReport, Score};
use crate::prompt::GENERIC_RELATION;

/// A figure with three decimals, `-` when not measured.
fn f(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

/// One score row: P, R, F1 and the counts they come from.
fn row(s: &mut String, label: &str, sc: &Score) {
    let _ = writeln!(
        s,
        "  {label:<22} {:>6} {:>6} {:>6}   {}/{}/{}",
        f(sc.precision),
        f(sc.recall),
        f(sc.f1),
        sc.tp,
        sc.predicted,
        sc.gold
    );
}

impl EvalReport {
    /// The table printed on stdout.
    pub fn table(&self, examples: usize) -> String {
        let mut s = String::new();
        if self.gold.is_empty() {
            let _ = writeln!(
                s,
                "eval of {} without a gold file (--gold): entity and relation scores not measured",
                self.out
            );
            self.run_table(&mut s);
            self.communities_table(&mut s);
            return s;
        }
        self.scores_table(&mut s);
        self.run_table(&mut s);
        self.communities_table(&mut s);
        types_table(&mut s, "entity types (exact)", &self.entity_types);
        types_table(&mut s, "relation types (labeled)", &self.relation_types);
        self.documents_table(&mut s);
        self.examples_table(&mut s, examples);
        if !self.unknown_documents.is_empty() {
            let _ = writeln!(
                s,
                "\nnot scored (not in the run's corpus): {}",
                self.unknown_documents.join(", ")
            );
        }
        s
    }

    /// What was scored, and the entity and relation scores.
    fn scores_table(&self, s: &mut String) {
        let gold_ents: u64 = self.entities.exact_typed.gold;
        let gold_rels: u64 = self.relations.labeled.gold;
        let _ = writeln!(
            s,
            "eval of {} against {}: {} documents, {} gold entities, {} gold relations",
            self.out, self.gold, self.documents, gold_ents, gold_rels
        );
        let _ = writeln!(
            s,
            "\n{:<24} {:>6} {:>6} {:>6}   matched/predicted/gold",
            "entities", "P", "R", "F1"
        );
        row(s, "exact, typed", &self.entities.exact_typed);
        row(s, "exact, untyped", &self.entities.exact_untyped);
        row(s, "partial, typed", &self.entities.partial_typed);
        row(s, "partial, untyped", &self.entities.partial_untyped);
        let _ = writeln!(s, "relations");
        row(s, "labeled", &self.relations.labeled);
        row(s, "unlabeled", &self.relations.unlabeled);
    }

    /// The figures that need no gold.
    fn run_table(&self, s: &mut String) {
        let r = &self.run;
        let _ = writeln!(s, "\nthe whole run");
        let _ = writeln!(
            s,
            "  {:<22} {:>6}   {} of {} entity mentions found in their chunk's text{}",
            "grounded share",
            f(r.grounding.share),
            r.grounding.grounded,
            r.grounding.checked,
            if r.grounding.unverifiable > 0 {
                format!(
                    " ({} not checked: document changed or gone)",
                    r.grounding.unverifiable
                )
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            s,
            "  {:<22} {:>6}   {} of {} relations are {GENERIC_RELATION}",
            "generic share",
            f(r.generic_share),
            r.generic_relations,
            r.relations
        );
        let _ = writeln!(
            s,
            "  {:<22} {:>6}   {} relation mentions in {} answered chunks",
            "relations per chunk",
            f(r.relations_per_chunk),
            r.relation_mentions,
            r.chunks
        );
    }

    /// The finishing step's communities and reports, when it has run.
    fn communities_table(&self, s: &mut String) {
        let Some(c) = &self.communities else { return };
        let _ = writeln!(
            s,
            "\ncommunities: {} over {} entities ({} in none, {} without a relation)",
            c.communities, c.entities, c.unassigned_entities, c.isolated_entities
        );
        if c.unknown_members > 0 {
            let _ = writeln!(
                s,
                "  {} members are no entity of the outputs: the communities are older than the \
                 outputs (rerun `aegis-ingest communities`)",
                c.unknown_members
            );
        }
        let _ = writeln!(
            s,
            "  {:<8} {:>11} {:>10} {:>20} {:>10}",
            "level", "communities", "modularity", "size min/median/max", "singletons"
        );
        for l in &c.levels {
            let _ = writeln!(
                s,
                "  {:<8} {:>11} {:>10} {:>20} {:>10}",
                l.level,
                l.communities,
                f(l.modularity),
                format!("{}/{}/{}", l.min_size, l.median_size, l.max_size),
                l.singletons
            );
        }
        let Some(r) = &c.reports else {
            let _ = writeln!(s, "  no community reports");
            return;
        };
        let _ = writeln!(
            s,
            "reports: {} for {} of {} communities (top {} entities by relations){}",
            r.reports,
            r.communities_with_report,
            c.communities,
            r.top_k,
            if r.stale_reports > 0 {
                format!(
                    "; {} written for an earlier state of their community",
                    r.stale_reports
                )
            } else {
                String::new()
            }
        );
        for (label, value, detail) in [
            (
                "entity coverage",
                r.entity_coverage,
                format!(
                    "{} of {} top entities named or cited",
                    r.covered_entities, r.top_entities
                ),
            ),
            (
                "citation precision",
                r.citation_precision,
                format!(
                    "{} citations in their community, {} outside, {} dropped",
                    r.citations_in_community, r.citations_outside, r.dropped_citations
                ),
            ),
            (
                "citation recall",
                r.citation_recall,
                format!(
                    "{} of {} top entities cited",
                    r.cited_top_entities, r.top_entities
                ),
            ),
            (
                "cited findings",
                r.cited_findings_share,
                format!("{} of {} findings cite an id", r.cited_findings, r.findings),
            ),
            (
                "schema compliance",
                r.schema_compliance,
                format!("{} of {} reports complete", r.compliant_reports, r.reports),
            ),
        ] {
            let _ = writeln!(s, "  {label:<22} {:>6}   {detail}", f(value));
        }
    }

    /// One row per gold document.
    fn documents_table(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "\n{:<32} {:>9} {:>6} {:>9} {:>6} {:>9}\n{:<32} {:>9} {:>6} {:>9} {:>6} {:>9}",
            "document",
            "entities",
            "F1",
            "relations",
            "F1",
            "grounded",
            "",
            "pred/gold",
            "typed",
            "pred/gold",
            "labeled",
            "share"
        );
        for d in &self.per_document {
            let e = &d.entities.exact_typed;
            let r = &d.relations.labeled;
            let _ = writeln!(
                s,
                "{:<32} {:>9} {:>6} {:>9} {:>6} {:>9}",
                d.doc,
                format!("{}/{}", e.predicted, e.gold),
                f(e.f1),
                format!("{}/{}", r.predicted, r.gold),
                f(r.f1),
                f(d.grounded_share)
            );
        }
    }

    /// The first `examples` of each list, worst first.
    fn examples_table(&self, s: &mut String, examples: usize) {
        let ex = &self.examples;
        for (title, list) in [
            ("missed entities", &ex.missed_entities),
            ("false positive entities", &ex.false_entities),
            ("wrong entity types", &ex.wrong_types),
            ("missed relations", &ex.missed_relations),
            ("false positive relations", &ex.false_relations),
        ] {
            if list.is_empty() || examples == 0 {
                continue;
            }
            let _ = writeln!(s, "\n{title} ({} in all, worst first):", list.len());
            for e in list.iter().take(examples) {
                let _ = writeln!(
                    s,
                    "  {}: {}{}",
                    e.doc,
                    e.what,
                    e.detail
                        .as_ref()
                        .map_or_else(String::new, |d| format!(" [{d}]"))
                );
            }
        }
    }
}

/// Scores per type, when there are any.
fn types_table(s: &mut String, title: &str, map: &BTreeMap<String, Score>) {
    if map.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\n{title:<24} {:>6} {:>6} {:>6}   matched/predicted/gold",
        "P", "R", "F1"
    );
    for (k, sc) in map {
        row(s, k, sc);
    }
}
