//! The finishing step's records as export writes them (`aegis-ingest communities`): the
//! communities with their reports, who is in which community at each level, and the
//! summarized descriptions that replace the records' own. Read once, whole: they are
//! small next to the records (one community per handful of entities, one description per
//! record at most).

use std::collections::HashMap;

use super::records::{CleanRecord, Community, CommunityReport};
use crate::error::RunError;
use crate::outdir::finished::FinishedRun;

/// The communities of a run, with their reports.
#[derive(Debug, Default)]
pub struct Communities {
    /// In file order (the finishing step writes them by level).
    pub list: Vec<Community>,
    reports: HashMap<String, CommunityReport>,
    /// Entity id -> indices into `list` of the communities it is a member of, by level.
    by_entity: HashMap<String, Vec<usize>>,
    /// How many levels there are (the deepest level + 1).
    pub levels: u32,
}

impl Communities {
    /// The run's communities, or `None` when the finishing step has not run.
    pub fn load(run: &FinishedRun) -> Result<Option<Self>, RunError> {
        let Some(mut list) = run.communities()? else {
            return Ok(None);
        };
        list.iter_mut().for_each(CleanRecord::clean_record);
        let mut reports = HashMap::new();
        for mut r in run.community_reports()?.unwrap_or_default() {
            r.clean_record();
            reports.insert(r.community.clone(), r);
        }
        let mut by_entity: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, c) in list.iter().enumerate() {
            for m in &c.members {
                by_entity.entry(m.clone()).or_default().push(i);
            }
        }
        for v in by_entity.values_mut() {
            v.sort_by_key(|&i| (list[i].level, i));
            v.dedup();
        }
        let levels = list.iter().map(|c| c.level + 1).max().unwrap_or(0);
        Ok(Some(Communities {
            list,
            reports,
            by_entity,
            levels,
        }))
    }

    /// The report of the community `id`, when it has one.
    pub fn report(&self, id: &str) -> Option<&CommunityReport> {
        self.reports.get(id)
    }

    /// The communities `entity` is a member of, coarsest level first.
    pub fn of_entity<'a>(&'a self, entity: &str) -> impl Iterator<Item = &'a Community> + 'a {
        self.by_entity
            .get(entity)
            .into_iter()
            .flatten()
            .map(|&i| &self.list[i])
    }

    /// Every (entity, community) membership, community by community.
    pub fn memberships(&self) -> impl Iterator<Item = (&str, &Community)> + '_ {
        self.list
            .iter()
            .flat_map(|c| c.members.iter().map(move |m| (m.as_str(), c)))
    }

    /// Every (parent, child) pair, from the children's `parent`.
    pub fn parents(&self) -> impl Iterator<Item = (&str, &Community)> + '_ {
        self.list
            .iter()
            .filter_map(|c| c.parent.as_deref().map(|p| (p, c)))
    }
}

/// The summarized descriptions, by entity or relation id (empty when there are none).
pub fn descriptions(run: &FinishedRun) -> Result<HashMap<String, String>, RunError> {
    Ok(run
        .descriptions()?
        .unwrap_or_default()
        .into_iter()
        .filter(|d| !d.description.trim().is_empty())
        .map(|d| (d.id, d.description))
        .collect())
}

/// A report's findings as one JSON array (`[{summary, explanation, entities, relations}]`).
pub fn findings_json(r: &CommunityReport) -> String {
    serde_json::to_string(&r.findings).unwrap_or_else(|_| "[]".to_string())
}
