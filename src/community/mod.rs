//! Community detection over the extracted graph: entities are nodes, relations undirected
//! weighted edges. `detect` gives the hierarchy the finishing step summarizes: level 0 is
//! the coarsest partition; a community larger than `max_cluster_size` is partitioned again
//! on its own subgraph, giving its children at the next level.
//!
//! The public surface (used by `commands::communities`) is `Graph`, `Params`, `Cluster`
//! and `detect`.

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
            max_levels: 4,
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
pub fn detect(g: &Graph, params: &Params, warm: Option<&[u32]>) -> Vec<Cluster> {
    let _ = (params, warm);
    // Connected components, one level: the stand-in until Leiden lands.
    let mut parent: Vec<u32> = (0..g.nodes as u32).collect();
    fn find(p: &mut [u32], mut x: u32) -> u32 {
        while p[x as usize] != x {
            p[x as usize] = p[p[x as usize] as usize];
            x = p[x as usize];
        }
        x
    }
    for &(a, b, _) in &g.edges {
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb) as usize] = ra.min(rb);
        }
    }
    let mut groups: std::collections::BTreeMap<u32, Vec<u32>> = Default::default();
    for n in 0..g.nodes as u32 {
        let r = find(&mut parent, n);
        groups.entry(r).or_default().push(n);
    }
    groups
        .into_values()
        .map(|members| Cluster {
            level: 0,
            parent: None,
            children: Vec::new(),
            members,
        })
        .collect()
}
