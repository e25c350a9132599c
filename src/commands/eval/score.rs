//! What `eval` measures, as `eval.json` holds it: precision, recall and F1 per kind of
//! match, per type and per document, the run-wide figures, and examples of what went wrong.

use std::collections::BTreeMap;

use serde::Serialize;

use super::communities::CommunityFigures;
use crate::quality::gates::{CommunityMeasures, Missing};
use crate::quality::grounding::Grounding;
use crate::quality::Figures;

/// Matches, predicted and gold counts, and the scores they make.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Score {
    pub tp: u64,
    pub predicted: u64,
    pub gold: u64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

impl Score {
    pub(super) fn add(&mut self, tp: u64, predicted: u64, gold: u64) {
        self.tp += tp;
        self.predicted += predicted;
        self.gold += gold;
    }

    /// P = tp/predicted (none when nothing was predicted), R = tp/gold (none when the gold
    /// has nothing), F1 their harmonic mean (0 when one of them is 0 or missing, none when
    /// both are missing).
    pub(super) fn finish(mut self) -> Self {
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        let (p, r) = (ratio(self.tp, self.predicted), ratio(self.tp, self.gold));
        self.precision = p.map(round);
        self.recall = r.map(round);
        self.f1 = match (p, r) {
            (None, None) => None,
            (Some(p), Some(r)) if p + r > 0.0 => Some(round(2.0 * p * r / (p + r))),
            _ => Some(0.0),
        };
        self
    }
}

pub(super) fn round(x: f64) -> f64 {
    (x * 10000.0).round() / 10000.0
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EntityScores {
    pub exact_typed: Score,
    pub exact_untyped: Score,
    pub partial_typed: Score,
    pub partial_untyped: Score,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RelationScores {
    pub labeled: Score,
    pub unlabeled: Score,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DocScores {
    pub doc: String,
    pub entities: EntityScores,
    pub relations: RelationScores,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grounded_share: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub doc: String,
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip)]
    pub(super) rank: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Examples {
    /// Gold entities no predicted name matches even partially (most related first).
    pub missed_entities: Vec<Example>,
    /// Predicted entities no gold name matches even partially (most mentioned first).
    pub false_entities: Vec<Example>,
    /// Names found with another type than the gold one.
    pub wrong_types: Vec<Example>,
    /// Gold relations not found with their type and direction.
    pub missed_relations: Vec<Example>,
    /// Predicted relations not in the gold (labeled).
    pub false_relations: Vec<Example>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunFigures {
    pub entities: u64,
    pub relations: u64,
    pub chunks: u64,
    pub generic_relations: u64,
    pub generic_share: Option<f64>,
    pub relation_mentions: u64,
    pub relations_per_chunk: Option<f64>,
    pub grounding: Grounding,
}

/// Everything `eval` measured; written as `eval.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    pub gold: String,
    pub out: String,
    pub corpus: String,
    pub documents: u64,
    pub unknown_documents: Vec<String>,
    pub entities: EntityScores,
    pub relations: RelationScores,
    pub entity_types: BTreeMap<String, Score>,
    pub relation_types: BTreeMap<String, Score>,
    pub per_document: Vec<DocScores>,
    pub run: RunFigures,
    pub examples: Examples,
    /// The finishing step's communities and reports, when it has run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub communities: Option<CommunityFigures>,
    pub gates_failed: Vec<String>,
}

pub(super) fn finish_entities(e: EntityScores) -> EntityScores {
    EntityScores {
        exact_typed: e.exact_typed.finish(),
        exact_untyped: e.exact_untyped.finish(),
        partial_typed: e.partial_typed.finish(),
        partial_untyped: e.partial_untyped.finish(),
    }
}

pub(super) fn finish_relations(r: RelationScores) -> RelationScores {
    RelationScores {
        labeled: r.labeled.finish(),
        unlabeled: r.unlabeled.finish(),
    }
}

impl EvalReport {
    /// The figures the gates look at: entity F1 exact and typed, relation F1 labeled.
    pub fn figures(&self) -> Figures {
        Figures {
            entity_f1: self.entities.exact_typed.f1,
            relation_f1: self.relations.labeled.f1,
            generic_share: self.run.generic_share,
            grounded: self.run.grounding.share,
        }
    }

    /// The figures the community gates look at.
    pub fn community_measures(&self) -> CommunityMeasures {
        let Some(c) = &self.communities else {
            return CommunityMeasures {
                missing: Missing::Communities,
                ..CommunityMeasures::default()
            };
        };
        let Some(r) = &c.reports else {
            return CommunityMeasures {
                missing: Missing::Reports,
                modularity: c.modularity(),
                ..CommunityMeasures::default()
            };
        };
        CommunityMeasures {
            missing: Missing::Nothing,
            modularity: c.modularity(),
            report_coverage: r.entity_coverage,
            citation_precision: r.citation_precision,
            citation_recall: r.citation_recall,
            schema_compliance: r.schema_compliance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_their_definitions() {
        let s = Score::default();
        let mut a = s;
        a.add(2, 4, 8);
        let a = a.finish();
        assert_eq!(a.precision, Some(0.5));
        assert_eq!(a.recall, Some(0.25));
        assert_eq!(a.f1, Some(0.3333));
        let none = Score::default().finish();
        assert_eq!((none.precision, none.recall, none.f1), (None, None, None));
        let mut nothing_found = Score::default();
        nothing_found.add(0, 0, 3);
        assert_eq!(nothing_found.finish().f1, Some(0.0));
    }
}
