//! The records of the finishing step (`aegis-ingest communities`): `communities.jsonl`,
//! `community_reports.jsonl` and `descriptions.jsonl`. This module owns their shape; the
//! command writes them, `finished` reads them for eval and export (and says which
//! record kind a damaged line is).

use serde::{Deserialize, Serialize};

/// One community at one level of the hierarchy. Level 0 is the coarsest; a community's
/// children are at the next level and their members are a subset of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Community {
    /// `com_` and 16 hex digits; kept across reruns while the community overlaps its
    /// predecessor enough.
    pub id: String,
    pub level: u32,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(default)]
    pub children: Vec<String>,
    /// Entity ids, sorted.
    pub members: Vec<String>,
    /// Ids of the relations with both ends among the members, sorted.
    #[serde(default)]
    pub relations: Vec<String>,
    pub size: usize,
    /// Hash of what its report is made from (members and their descriptions, internal
    /// relations and theirs, the prompt, the model and the settings).
    pub fingerprint: String,
}

/// One finding of a report, with the ids of the entities and relations it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub summary: String,
    pub explanation: String,
    #[serde(default)]
    pub entities: Vec<String>,
    #[serde(default)]
    pub relations: Vec<String>,
}

/// The report of one community, as the model wrote it after validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommunityReport {
    pub community: String,
    pub level: u32,
    pub title: String,
    pub summary: String,
    pub findings: Vec<Finding>,
    pub rating: f64,
    pub rating_explanation: String,
    /// The community's fingerprint when the report was written.
    pub fingerprint: String,
    /// Cited ids that were not in the community, dropped.
    #[serde(default)]
    pub dropped_citations: u64,
    /// The context was built from the children's reports (the members did not fit).
    #[serde(default)]
    pub from_children: bool,
}

/// A summarized description of an entity (`ent_…`) or a relation (`rel_…`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Description {
    pub id: String,
    pub description: String,
    /// How many distinct fragments it was made from.
    pub fragments: usize,
    /// Hash of the sorted fragments: the summary's cache key.
    pub hash: String,
}
