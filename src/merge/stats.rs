//! What the merge produced, as `report.json` shows it. Apart from the merge's steps so that
//! each of them (reading the chunks, writing the outputs) adds to it, and so that a merge
//! skipped because the outputs are already its bytes (`outputs`) can report it again.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::outdir::report::ValidationTotals;

/// What the merge produced, for the report.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct MergeStats {
    pub entities: u64,
    pub relations: u64,
    pub relation_types: BTreeMap<String, u64>,
    pub entity_types: BTreeMap<String, u64>,
    pub dropped: u64,
    pub empty_chunks: u64,
    /// What validation kept and dropped, over every chunk the outputs hold (resumed ones
    /// too: the counts travel with each checkpoint record).
    pub validation: ValidationTotals,
    /// Entities folded into another by each resolution rule (None: resolution off).
    pub resolution: Option<BTreeMap<String, u64>>,
}

impl MergeStats {
    /// Counts the entities and relations written, and each of their types.
    pub(super) fn count_written<'a>(
        &mut self,
        entity_types: impl ExactSizeIterator<Item = &'a str>,
        relation_types: impl ExactSizeIterator<Item = &'a str>,
    ) {
        self.entities = entity_types.len() as u64;
        self.relations = relation_types.len() as u64;
        for t in entity_types {
            *self.entity_types.entry(t.to_string()).or_default() += 1;
        }
        for t in relation_types {
            *self.relation_types.entry(t.to_string()).or_default() += 1;
        }
    }
}
