//! What `eval` measures of the finishing step (`aegis-ingest communities`), without gold:
//! how well the communities partition the graph, and how well the reports speak of and cite
//! their communities.
//!
//! The graph: entities are nodes; relations are undirected edges weighted by their
//! `weight`, or their `mentions` when the weight is 0 (1 when both are 0); self-loops and
//! relations whose ends are not entities are left out (as the detector leaves them out).
//!
//! Detection, per level L (0 the coarsest):
//! - the partition at L: an entity's community at level L; an entity that does not reach
//!   level L (its community was small enough not to be split) keeps its deepest community
//!   above L; an entity in no community is alone in its own. Every level is then a
//!   partition of all the entities, and its modularity (resolution 1) is
//!   Q = sum over communities c of (w_in(c) / m - (d(c) / 2m)^2), with m the total edge
//!   weight, w_in(c) the weight of the edges inside c and d(c) the sum of its nodes'
//!   weighted degrees; none when the graph has no edge;
//! - the communities at L: how many, their smallest, median and largest member count, and
//!   how many have one member.
//!
//! Reports, summed over the reports (micro averages); a community's *top entities* are
//! its `TOP_K` members with the most relations in the whole graph (ties: more mentions,
//! then the smaller id):
//! - entity coverage: share of the top entities that the report names (the entity's name,
//!   ignoring case, in the title, summary, or a finding's summary or explanation) or cites
//!   (its id in a finding);
//! - citation precision: cited ids (entities and relations, each finding's list counted)
//!   that belong to the community (a member, or a relation with both ends among the
//!   members), over all cited ids including those the finishing step dropped
//!   (`dropped_citations`);
//! - citation recall: share of the top entities cited by id in a finding;
//! - cited findings: share of findings citing at least one id;
//! - schema compliance: share of report lines that read as a report of a known community
//!   with a non-empty title, summary, rating explanation and findings (each with a summary
//!   and explanation) and a rating from 0 to 10.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::error::RunError;
use crate::outdir::communities::{Community, CommunityReport};
use crate::outdir::finished::{read_records, Entity, FinishedRun, RecordKind, Relation};
use crate::outdir::COMMUNITY_REPORTS_FILE;

/// Four decimals, as the other figures.
fn round(x: f64) -> f64 {
    (x * 10000.0).round() / 10000.0
}

/// How many of a community's members the report measures look at.
pub const TOP_K: usize = 5;

/// One level of the hierarchy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LevelFigures {
    pub level: u32,
    pub communities: u64,
    pub modularity: Option<f64>,
    pub min_size: u64,
    pub median_size: f64,
    pub max_size: u64,
    /// Communities of one member.
    pub singletons: u64,
}

/// What the reports were measured to be; shares are none when there was nothing to take
/// them of.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReportFigures {
    /// Report lines in `community_reports.jsonl`.
    pub reports: u64,
    /// Communities that have a report.
    pub communities_with_report: u64,
    /// Reports whose fingerprint is not their community's any more (written for other
    /// members or descriptions).
    pub stale_reports: u64,
    pub top_k: usize,
    pub top_entities: u64,
    pub covered_entities: u64,
    pub entity_coverage: Option<f64>,
    pub citations_in_community: u64,
    pub citations_outside: u64,
    pub dropped_citations: u64,
    pub citation_precision: Option<f64>,
    pub cited_top_entities: u64,
    pub citation_recall: Option<f64>,
    pub findings: u64,
    pub cited_findings: u64,
    pub cited_findings_share: Option<f64>,
    pub compliant_reports: u64,
    pub schema_compliance: Option<f64>,
}

/// Everything measured of the finishing step; in `eval.json` as `communities`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CommunityFigures {
    pub communities: u64,
    pub entities: u64,
    /// Entities in no community.
    pub unassigned_entities: u64,
    /// Entities without any relation.
    pub isolated_entities: u64,
    /// Member ids that name no entity of the outputs (communities older than the outputs).
    pub unknown_members: u64,
    pub levels: Vec<LevelFigures>,
    /// None when there is no `community_reports.jsonl`.
    pub reports: Option<ReportFigures>,
}

impl CommunityFigures {
    /// The coarsest level's modularity: the gate's figure.
    pub fn modularity(&self) -> Option<f64> {
        self.levels.first().and_then(|l| l.modularity)
    }
}

/// A report line as it is, so one that does not read as a report counts against the
/// schema compliance instead of stopping `eval`.
#[derive(Deserialize)]
#[serde(transparent)]
struct RawReport(serde_json::Value);

impl RecordKind for RawReport {
    const WHAT: &'static str = "community report";
}

/// The run's community figures, or none when the finishing step has not run.
pub fn measure(
    run: &FinishedRun,
    entities: &[Entity],
    relations: &[Relation],
) -> Result<Option<CommunityFigures>, RunError> {
    let Some(communities) = run.communities()? else {
        return Ok(None);
    };
    let path = run.out.join(COMMUNITY_REPORTS_FILE);
    let raw: Option<Vec<serde_json::Value>> = if path.is_file() {
        Some(
            read_records::<RawReport>(&path)?
                .into_iter()
                .map(|r| r.0)
                .collect(),
        )
    } else {
        None
    };
    let g = RunGraph::new(entities, relations);
    let mut figures = detection(&g, &communities);
    figures.reports = raw.map(|raw| reports(&g, &communities, &raw));
    Ok(Some(figures))
}

/// The run's graph, by entity index.
pub struct RunGraph<'a> {
    entities: &'a [Entity],
    index: HashMap<&'a str, u32>,
    /// (a, b, weight), a != b.
    edges: Vec<(u32, u32, f64)>,
    /// Relations per entity (self-loops counted once).
    degree: Vec<u64>,
    /// Relation id -> its two ends.
    ends: HashMap<&'a str, (&'a str, &'a str)>,
}

impl<'a> RunGraph<'a> {
    pub fn new(entities: &'a [Entity], relations: &'a [Relation]) -> Self {
        let index: HashMap<&str, u32> = entities
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.as_str(), i as u32))
            .collect();
        let mut edges = Vec::new();
        let mut degree = vec![0u64; entities.len()];
        let mut ends = HashMap::new();
        for r in relations {
            ends.insert(r.id.as_str(), (r.source.as_str(), r.target.as_str()));
            let (Some(&a), Some(&b)) = (index.get(r.source.as_str()), index.get(r.target.as_str()))
            else {
                continue;
            };
            degree[a as usize] += 1;
            if a == b {
                continue;
            }
            degree[b as usize] += 1;
            edges.push((a, b, edge_weight(r)));
        }
        RunGraph {
            entities,
            index,
            edges,
            degree,
            ends,
        }
    }
}

/// A relation's weight for modularity: `weight`, else `mentions`, else 1.
fn edge_weight(r: &Relation) -> f64 {
    if r.weight.is_finite() && r.weight > 0.0 {
        r.weight
    } else if r.mentions > 0 {
        r.mentions as f64
    } else {
        1.0
    }
}

/// Modularity of the partition `labels` (one label per node) of the undirected weighted
/// graph `edges` over `labels.len()` nodes, at `resolution` (detection's own measure);
/// none without edge weight.
pub fn modularity(edges: &[(u32, u32, f64)], labels: &[u32], resolution: f64) -> Option<f64> {
    if !edges.iter().any(|&(a, b, w)| a != b && w > 0.0) {
        return None;
    }
    let g = crate::community::Graph {
        nodes: labels.len(),
        edges: edges.to_vec(),
    };
    Some(crate::community::modularity(&g, labels, resolution))
}

/// Modularity and sizes per level, unassigned and isolated entities.
fn detection(g: &RunGraph, communities: &[Community]) -> CommunityFigures {
    let n = g.entities.len();
    let levels = communities.iter().map(|c| c.level + 1).max().unwrap_or(0);
    // Per entity: (level, community index) of each membership.
    let mut member_of: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n];
    let mut unknown = 0;
    for (ci, c) in communities.iter().enumerate() {
        for m in &c.members {
            match g.index.get(m.as_str()) {
                Some(&i) => member_of[i as usize].push((c.level, ci as u32)),
                None => unknown += 1,
            }
        }
    }
    let mut out = CommunityFigures {
        communities: communities.len() as u64,
        entities: n as u64,
        unassigned_entities: member_of.iter().filter(|m| m.is_empty()).count() as u64,
        isolated_entities: g.degree.iter().filter(|&&d| d == 0).count() as u64,
        unknown_members: unknown,
        ..CommunityFigures::default()
    };
    for level in 0..levels {
        let singles = communities.len() as u32;
        let labels: Vec<u32> = member_of
            .iter()
            .enumerate()
            .map(|(i, ms)| {
                ms.iter()
                    .filter(|(l, _)| *l <= level)
                    .max_by_key(|(l, _)| *l)
                    .map_or(singles + i as u32, |(_, c)| *c)
            })
            .collect();
        let mut sizes: Vec<u64> = communities
            .iter()
            .filter(|c| c.level == level)
            .map(|c| c.members.len() as u64)
            .collect();
        sizes.sort_unstable();
        let median = match sizes.len() {
            0 => 0.0,
            k if k % 2 == 1 => sizes[k / 2] as f64,
            k => (sizes[k / 2 - 1] + sizes[k / 2]) as f64 / 2.0,
        };
        out.levels.push(LevelFigures {
            level,
            communities: sizes.len() as u64,
            modularity: modularity(&g.edges, &labels, 1.0).map(round),
            min_size: sizes.first().copied().unwrap_or(0),
            median_size: median,
            max_size: sizes.last().copied().unwrap_or(0),
            singletons: sizes.iter().filter(|&&s| s == 1).count() as u64,
        });
    }
    out
}

/// A community's top entities: its `TOP_K` members with the most relations.
fn top_entities<'a>(g: &RunGraph<'a>, c: &'a Community) -> Vec<&'a Entity> {
    let mut members: Vec<&Entity> = c
        .members
        .iter()
        .filter_map(|m| g.index.get(m.as_str()))
        .map(|&i| &g.entities[i as usize])
        .collect();
    members.sort_by(|a, b| {
        let d = |e: &Entity| g.degree[g.index[e.id.as_str()] as usize];
        d(b).cmp(&d(a))
            .then(b.mentions.cmp(&a.mentions))
            .then(a.id.cmp(&b.id))
    });
    members.truncate(TOP_K);
    members
}

/// A report reads as a report of a known community with every field filled in.
fn compliant(r: &CommunityReport, known: bool) -> bool {
    let filled = |s: &str| !s.trim().is_empty();
    known
        && filled(&r.title)
        && filled(&r.summary)
        && filled(&r.rating_explanation)
        && !r.findings.is_empty()
        && r.findings
            .iter()
            .all(|f| filled(&f.summary) && filled(&f.explanation))
        && r.rating.is_finite()
        && (0.0..=10.0).contains(&r.rating)
}

/// The report measures, summed over the reports.
fn reports(g: &RunGraph, communities: &[Community], raw: &[serde_json::Value]) -> ReportFigures {
    let by_id: HashMap<&str, &Community> = communities.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut f = ReportFigures {
        reports: raw.len() as u64,
        top_k: TOP_K,
        ..ReportFigures::default()
    };
    let mut with_report: HashSet<&str> = HashSet::new();
    for value in raw {
        let Ok(r) = serde_json::from_value::<CommunityReport>(value.clone()) else {
            continue;
        };
        let community = by_id.get(r.community.as_str()).copied();
        if compliant(&r, community.is_some()) {
            f.compliant_reports += 1;
        }
        let Some(c) = community else { continue };
        with_report.insert(c.id.as_str());
        if r.fingerprint != c.fingerprint {
            f.stale_reports += 1;
        }
        measure_report(g, c, &r, &mut f);
    }
    f.communities_with_report = with_report.len() as u64;
    let share = |a: u64, b: u64| (b > 0).then(|| round(a as f64 / b as f64));
    f.entity_coverage = share(f.covered_entities, f.top_entities);
    let cited = f.citations_in_community + f.citations_outside + f.dropped_citations;
    f.citation_precision = share(f.citations_in_community, cited);
    f.citation_recall = share(f.cited_top_entities, f.top_entities);
    f.cited_findings_share = share(f.cited_findings, f.findings);
    f.schema_compliance = share(f.compliant_reports, f.reports);
    f
}

/// Adds one report's counts.
fn measure_report(g: &RunGraph, c: &Community, r: &CommunityReport, f: &mut ReportFigures) {
    let members: HashSet<&str> = c.members.iter().map(String::as_str).collect();
    let internal = |id: &str| {
        c.relations.iter().any(|x| x == id)
            || g.ends
                .get(id)
                .is_some_and(|(a, b)| members.contains(a) && members.contains(b))
    };
    let mut cited_entities: HashSet<&str> = HashSet::new();
    for finding in &r.findings {
        f.findings += 1;
        if !finding.entities.is_empty() || !finding.relations.is_empty() {
            f.cited_findings += 1;
        }
        for e in &finding.entities {
            cited_entities.insert(e);
            if members.contains(e.as_str()) {
                f.citations_in_community += 1;
            } else {
                f.citations_outside += 1;
            }
        }
        for rel in &finding.relations {
            if internal(rel) {
                f.citations_in_community += 1;
            } else {
                f.citations_outside += 1;
            }
        }
    }
    f.dropped_citations += r.dropped_citations;
    let mut text = format!("{}\n{}", r.title, r.summary);
    for finding in &r.findings {
        text.push('\n');
        text.push_str(&finding.summary);
        text.push('\n');
        text.push_str(&finding.explanation);
    }
    let text = text.to_lowercase();
    for e in top_entities(g, c) {
        f.top_entities += 1;
        let cited = cited_entities.contains(e.id.as_str());
        if cited {
            f.cited_top_entities += 1;
        }
        let named = !e.name.trim().is_empty() && text.contains(&e.name.to_lowercase());
        if cited || named {
            f.covered_entities += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modularity_of_two_triangles() {
        // Two triangles joined by one edge: the classic example.
        let edges = [
            (0, 1, 1.0),
            (1, 2, 1.0),
            (0, 2, 1.0),
            (3, 4, 1.0),
            (4, 5, 1.0),
            (3, 5, 1.0),
            (2, 3, 1.0),
        ];
        let q = modularity(&edges, &[0, 0, 0, 1, 1, 1], 1.0).unwrap();
        // m = 7; each side: 3 inside, degree 7: 2 * (3/7 - (7/14)^2).
        assert!((q - (6.0 / 7.0 - 0.5)).abs() < 1e-12, "{q}");
        let one = modularity(&edges, &[0; 6], 1.0).unwrap();
        assert!(one.abs() < 1e-12, "one community: 0, got {one}");
        let alone = modularity(&edges, &[0, 1, 2, 3, 4, 5], 1.0).unwrap();
        assert!(alone < 0.0, "{alone}");
        assert_eq!(modularity(&[], &[0, 1], 1.0), None);
    }
}
