//! Community detection over the extracted graph: entities are nodes, relations undirected
//! weighted edges. `detect` gives the hierarchy the finishing step summarizes: level 0 is
//! the coarsest partition; a community larger than `max_cluster_size` is partitioned again
//! on its own subgraph, giving its children at the next level.
//!
//! The public surface (used by `commands::communities`) is `Graph`, `Params`, `Cluster`,
//! `detect` and `modularity`. `csr.rs` holds the canonical graph (compressed sparse rows),
//! `leiden.rs` the partitioner (the Leiden algorithm behind the `Partitioner` trait).

mod csr;
mod leiden;

use csr::Csr;
use leiden::{Leiden, Partitioner};

/// An undirected weighted graph over nodes `0..nodes`. Each edge is listed once; parallel
/// edges are summed and self-loops ignored by the detector.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    pub nodes: usize,
    pub edges: Vec<(u32, u32, f64)>,
}

/// Detection settings.
#[derive(Debug, Clone)]
pub struct Params {
    /// Modularity resolution (1.0: standard modularity).
    pub resolution: f64,
    /// Seed of the randomized steps: the same graph and seed give the same partition.
    pub seed: u64,
    /// A community with more members is clustered again on its own subgraph.
    pub max_cluster_size: usize,
    /// The most levels the hierarchy may have (at least 1).
    pub max_levels: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            resolution: 1.0,
            seed: 0xAE615,
            max_cluster_size: 10,
            max_levels: 8,
        }
    }
}

/// One community of the hierarchy. Indices refer to the `Vec<Cluster>` that `detect`
/// returns; members are node indices, sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub level: u32,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    pub members: Vec<u32>,
}

/// The hierarchy of communities of `g`. `warm`, when given, is a previous level-0
/// assignment (a community label per node, `u32::MAX` for a node that is new) to start
/// from. Every node is in exactly one community per level it reaches; the result is
/// ordered by level, then by smallest member.
///
/// Level 0 is Leiden on the whole graph (an isolated node is a community of its own, every
/// connected component is kept). A community with more than `max_cluster_size` members,
/// at a level below `max_levels - 1`, is partitioned again with Leiden on the subgraph its
/// members induce; when that gives two or more parts they are its children at the next
/// level, otherwise it stays a leaf. The graph is made canonical first (parallel edges
/// summed, self-loops dropped), so the edge order does not matter.
pub fn detect(g: &Graph, params: &Params, warm: Option<&[u32]>) -> Vec<Cluster> {
    let csr = Csr::from_edges(g.nodes, &g.edges);
    hierarchy(&csr, &Leiden::default(), params, warm)
}

/// Modularity of the partition `labels` (a label per node, any `u32`; `labels.len()` must
/// be `g.nodes`) of `g` with `resolution`, on the canonical graph: Σ_c [in_c / 2m −
/// resolution · (K_c / 2m)²]. 0 for a graph without edges.
pub fn modularity(g: &Graph, labels: &[u32], resolution: f64) -> f64 {
    assert_eq!(labels.len(), g.nodes, "one label per node");
    csr::modularity(&Csr::from_edges(g.nodes, &g.edges), labels, resolution)
}

/// The hierarchy over a canonical graph with any partitioner.
fn hierarchy(g: &Csr, p: &dyn Partitioner, params: &Params, warm: Option<&[u32]>) -> Vec<Cluster> {
    let labels = p.partition(g, params.resolution, params.seed, warm);
    let mut out: Vec<Cluster> = groups(&labels, None)
        .into_iter()
        .map(|members| Cluster {
            level: 0,
            parent: None,
            children: Vec::new(),
            members,
        })
        .collect();
    let mut frontier: Vec<usize> = (0..out.len()).collect();
    let mut map = vec![u32::MAX; g.n()];
    for level in 1..params.max_levels.max(1) as u32 {
        let mut next: Vec<(usize, Vec<u32>)> = Vec::new();
        for &i in &frontier {
            let members = &out[i].members;
            if members.len() <= params.max_cluster_size {
                continue;
            }
            let sub = g.induced(members, &mut map);
            let parts = p.partition(&sub, params.resolution, params.seed, None);
            if parts.iter().any(|&l| l != 0) {
                next.extend(groups(&parts, Some(members)).into_iter().map(|m| (i, m)));
            }
        }
        next.sort_by_key(|(_, m)| m[0]);
        frontier.clear();
        for (parent, members) in next {
            let idx = out.len();
            out[parent].children.push(idx);
            frontier.push(idx);
            out.push(Cluster {
                level,
                parent: Some(parent),
                children: Vec::new(),
                members,
            });
        }
        if frontier.is_empty() {
            break;
        }
    }
    out
}

/// The members of each label (compact, numbered by smallest node), as node ids of `of`
/// (node `i` is `of[i]`) or as they are; sorted, the groups by smallest member.
fn groups(labels: &[u32], of: Option<&[u32]>) -> Vec<Vec<u32>> {
    let count = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); count];
    for (i, &l) in labels.iter().enumerate() {
        out[l as usize].push(of.map_or(i as u32, |of| of[i]));
    }
    out.retain(|m| !m.is_empty());
    out.sort_by_key(|m| m[0]);
    out
}

#[cfg(test)]
mod tests;
