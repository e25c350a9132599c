use std::collections::{BTreeSet, HashMap};

use super::leiden::Rng;
use super::*;

/// Zachary's karate club, 34 members, 78 friendships (numbered from 1 as published).
const KARATE: [(u32, u32); 78] = [
    (1, 2),
    (1, 3),
    (1, 4),
    (1, 5),
    (1, 6),
    (1, 7),
    (1, 8),
    (1, 9),
    (1, 11),
    (1, 12),
    (1, 13),
    (1, 14),
    (1, 18),
    (1, 20),
    (1, 22),
    (1, 32),
    (2, 3),
    (2, 4),
    (2, 8),
    (2, 14),
    (2, 18),
    (2, 20),
    (2, 22),
    (2, 31),
    (3, 4),
    (3, 8),
    (3, 9),
    (3, 10),
    (3, 14),
    (3, 28),
    (3, 29),
    (3, 33),
    (4, 8),
    (4, 13),
    (4, 14),
    (5, 7),
    (5, 11),
    (6, 7),
    (6, 11),
    (6, 17),
    (7, 17),
    (9, 31),
    (9, 33),
    (9, 34),
    (10, 34),
    (14, 34),
    (15, 33),
    (15, 34),
    (16, 33),
    (16, 34),
    (19, 33),
    (19, 34),
    (20, 34),
    (21, 33),
    (21, 34),
    (23, 33),
    (23, 34),
    (24, 26),
    (24, 28),
    (24, 30),
    (24, 33),
    (24, 34),
    (25, 26),
    (25, 28),
    (25, 32),
    (26, 32),
    (27, 30),
    (27, 34),
    (28, 34),
    (29, 32),
    (29, 34),
    (30, 33),
    (30, 34),
    (31, 33),
    (31, 34),
    (32, 33),
    (32, 34),
    (33, 34),
];

fn karate() -> Graph {
    Graph {
        nodes: 34,
        edges: KARATE.iter().map(|&(a, b)| (a - 1, b - 1, 1.0)).collect(),
    }
}

/// A planted partition: `sizes` blocks, each pair inside a block linked with `p_in`,
/// across blocks with `p_out`. Gives the graph and each node's block.
fn planted(sizes: &[usize], p_in: f64, p_out: f64, seed: u64) -> (Graph, Vec<u32>) {
    let block: Vec<u32> = sizes
        .iter()
        .enumerate()
        .flat_map(|(b, &s)| std::iter::repeat_n(b as u32, s))
        .collect();
    let n = block.len();
    let mut rng = Rng::new(seed);
    let mut edges = Vec::new();
    for a in 0..n {
        for b in a + 1..n {
            let p = if block[a] == block[b] { p_in } else { p_out };
            if rng.f64() < p {
                edges.push((a as u32, b as u32, 1.0));
            }
        }
    }
    (Graph { nodes: n, edges }, block)
}

/// `k` cliques of `s` nodes, clique `i` joined to clique `i + 1` by one edge.
fn ring_of_cliques(k: u32, s: u32) -> Graph {
    let mut edges = Vec::new();
    for c in 0..k {
        for a in 0..s {
            for b in a + 1..s {
                edges.push((c * s + a, c * s + b, 1.0));
            }
        }
        edges.push((c * s, ((c + 1) % k) * s + 1, 1.0));
    }
    Graph {
        nodes: (k * s) as usize,
        edges,
    }
}

/// The level-0 label of every node.
fn level0(g: &Graph, cs: &[Cluster]) -> Vec<u32> {
    let mut l = vec![u32::MAX; g.nodes];
    for (i, c) in cs.iter().enumerate().filter(|(_, c)| c.level == 0) {
        for &v in &c.members {
            l[v as usize] = i as u32;
        }
    }
    l
}

/// A partition as a set of sets, to compare partitions whatever their labels.
fn as_sets(labels: &[u32]) -> BTreeSet<BTreeSet<u32>> {
    let mut m: HashMap<u32, BTreeSet<u32>> = HashMap::new();
    for (v, &l) in labels.iter().enumerate() {
        m.entry(l).or_default().insert(v as u32);
    }
    m.into_values().collect()
}

/// Normalized mutual information, I(X;Y) / ((H(X) + H(Y)) / 2).
fn nmi(x: &[u32], y: &[u32]) -> f64 {
    let n = x.len() as f64;
    let (mut px, mut py, mut pxy) = (HashMap::new(), HashMap::new(), HashMap::new());
    for (&a, &b) in x.iter().zip(y) {
        *px.entry(a).or_insert(0.0) += 1.0 / n;
        *py.entry(b).or_insert(0.0) += 1.0 / n;
        *pxy.entry((a, b)).or_insert(0.0) += 1.0 / n;
    }
    let h = |p: &HashMap<u32, f64>| -p.values().map(|q| q * q.ln()).sum::<f64>();
    let i: f64 = pxy
        .iter()
        .map(|(&(a, b), &p)| p * (p / (px[&a] * py[&b])).ln())
        .sum();
    let (hx, hy) = (h(&px), h(&py));
    if hx + hy == 0.0 {
        1.0
    } else {
        2.0 * i / (hx + hy)
    }
}

/// Every structural promise of `detect`'s output, for `g` and `p`.
fn check_hierarchy(g: &Graph, p: &Params, cs: &[Cluster]) {
    // Ordered by level, then smallest member; members sorted and distinct.
    for w in cs.windows(2) {
        assert!((w[0].level, w[0].members[0]) < (w[1].level, w[1].members[0]));
    }
    for c in cs {
        assert!(c.members.windows(2).all(|m| m[0] < m[1]), "members sorted");
        assert!((c.level as usize) < p.max_levels.max(1));
        assert!(
            connected(&induced(g, &c.members)),
            "{:?} is connected",
            c.members
        );
    }
    // Level 0 holds every node exactly once.
    let mut seen = vec![0; g.nodes];
    for c in cs.iter().filter(|c| c.level == 0) {
        assert!(c.parent.is_none());
        for &v in &c.members {
            seen[v as usize] += 1;
        }
    }
    assert!(seen.iter().all(|&s| s == 1), "level 0 is a partition");
    for (i, c) in cs.iter().enumerate() {
        if let Some(par) = c.parent {
            assert_eq!(cs[par].level + 1, c.level);
            assert!(cs[par].children.contains(&i));
        } else {
            assert_eq!(c.level, 0);
        }
        if c.children.is_empty() {
            // A leaf larger than the limit is at the last level, or does not split.
            if c.members.len() > p.max_cluster_size && (c.level as usize) + 1 < p.max_levels {
                let sub = induced(g, &c.members);
                let one = Params {
                    max_levels: 1,
                    ..p.clone()
                };
                assert_eq!(detect(&sub, &one, None).len(), 1, "leaf {i} would split");
            }
            continue;
        }
        // The children partition the parent: a node of a split community reaches the next
        // level in exactly one child; a leaf's nodes reach no deeper level through it.
        assert!(
            c.members.len() > p.max_cluster_size,
            "only large ones split"
        );
        assert!(c.children.len() >= 2);
        let mut union: Vec<u32> = Vec::new();
        for &ch in &c.children {
            assert_eq!(cs[ch].parent, Some(i));
            union.extend(&cs[ch].members);
        }
        union.sort_unstable();
        assert_eq!(union, c.members, "children of {i} partition it");
    }
}

/// Whether every node of `g` is reachable from node 0.
fn connected(g: &Graph) -> bool {
    let mut adj = vec![Vec::new(); g.nodes];
    for &(a, b, _) in &g.edges {
        adj[a as usize].push(b);
        adj[b as usize].push(a);
    }
    let mut seen = vec![false; g.nodes];
    let mut stack = vec![0u32];
    seen[0] = true;
    while let Some(v) = stack.pop() {
        for &u in &adj[v as usize] {
            if !seen[u as usize] {
                seen[u as usize] = true;
                stack.push(u);
            }
        }
    }
    seen.iter().all(|&s| s)
}

/// The subgraph induced by sorted `members`, renumbered 0.. in their order.
fn induced(g: &Graph, members: &[u32]) -> Graph {
    let idx = |v: u32| members.binary_search(&v).ok().map(|i| i as u32);
    let edges = g
        .edges
        .iter()
        .filter_map(|&(a, b, w)| Some((idx(a)?, idx(b)?, w)))
        .collect();
    Graph {
        nodes: members.len(),
        edges,
    }
}

#[test]
fn two_separate_triangles_are_two_communities() {
    let g = Graph {
        nodes: 6,
        edges: vec![
            (0, 1, 1.0),
            (1, 2, 1.0),
            (2, 0, 1.0),
            (3, 4, 1.0),
            (4, 5, 1.0),
            (5, 3, 1.0),
        ],
    };
    let cs = detect(&g, &Params::default(), None);
    let members: Vec<Vec<u32>> = cs.iter().map(|c| c.members.clone()).collect();
    assert_eq!(members, vec![vec![0, 1, 2], vec![3, 4, 5]]);
    assert!(cs.iter().all(|c| c.level == 0 && c.children.is_empty()));
    assert!((modularity(&g, &level0(&g, &cs), 1.0) - 0.5).abs() < 1e-12);
}

#[test]
fn ring_of_cliques_gives_one_community_per_clique() {
    let g = ring_of_cliques(12, 6);
    let cs = detect(&g, &Params::default(), None);
    let want: Vec<Vec<u32>> = (0..12).map(|c| (c * 6..c * 6 + 6).collect()).collect();
    let got: Vec<Vec<u32>> = cs.iter().map(|c| c.members.clone()).collect();
    assert_eq!(got, want);
}

#[test]
fn isolated_nodes_are_communities_of_their_own_and_components_are_kept() {
    let g = Graph {
        nodes: 7,
        edges: vec![
            (0, 1, 1.0),
            (1, 2, 1.0),
            (0, 2, 1.0),
            (5, 6, 2.0),
            (4, 4, 1.0),
        ],
    };
    let cs = detect(&g, &Params::default(), None);
    let got: Vec<Vec<u32>> = cs.iter().map(|c| c.members.clone()).collect();
    assert_eq!(got, vec![vec![0, 1, 2], vec![3], vec![4], vec![5, 6]]);
    assert!(detect(&Graph::default(), &Params::default(), None).is_empty());
}

#[test]
fn karate_club_modularity_at_least_0_40() {
    let g = karate();
    let cs = detect(&g, &Params::default(), None);
    let q = modularity(&g, &level0(&g, &cs), 1.0);
    assert!(q >= 0.40, "modularity {q}");
    check_hierarchy(&g, &Params::default(), &cs);
}

#[test]
fn planted_partition_of_1000_nodes_is_found_nmi_at_least_0_95() {
    let (g, truth) = planted(&[100; 10], 0.12, 0.004, 1);
    let p = Params {
        max_cluster_size: 1000,
        ..Params::default()
    };
    let cs = detect(&g, &p, None);
    let score = nmi(&level0(&g, &cs), &truth);
    assert!(score >= 0.95, "NMI {score}");
}

#[test]
fn hierarchy_children_partition_their_parents_and_respect_the_size_limit() {
    let sizes = [12, 80, 35, 150, 9, 60, 200, 24, 45, 1];
    let (g, _) = planted(&sizes, 0.2, 0.004, 7);
    for p in [
        Params::default(),
        Params {
            max_cluster_size: 25,
            max_levels: 2,
            ..Params::default()
        },
        Params {
            max_levels: 1,
            ..Params::default()
        },
    ] {
        let cs = detect(&g, &p, None);
        check_hierarchy(&g, &p, &cs);
        if p.max_levels > 1 {
            assert!(cs.iter().any(|c| c.level == 1), "large blocks are split");
        } else {
            assert!(cs.iter().all(|c| c.level == 0));
        }
    }
    let g = karate();
    check_hierarchy(
        &g,
        &Params::default(),
        &detect(&g, &Params::default(), None),
    );
}

#[test]
fn edge_order_direction_and_split_parallel_edges_do_not_change_the_output() {
    let (g, _) = planted(&[40, 70, 25, 90, 15], 0.2, 0.01, 3);
    let want = detect(&g, &Params::default(), None);
    let mut rng = Rng::new(99);
    let mut edges = Vec::new();
    for &(a, b, w) in &g.edges {
        match rng.below(3) {
            0 => edges.push((b, a, w)),
            1 => edges.extend([(a, b, w / 2.0), (b, a, w / 2.0)]),
            _ => edges.push((a, b, w)),
        }
    }
    edges.push((5, 5, 3.0));
    let perm = rng.permutation(edges.len());
    let shuffled = Graph {
        nodes: g.nodes,
        edges: perm.iter().map(|&i| edges[i as usize]).collect(),
    };
    assert_eq!(detect(&shuffled, &Params::default(), None), want);
}

#[test]
fn relabelled_graph_mapped_back_gives_the_same_communities() {
    for (g, p) in [
        (ring_of_cliques(9, 5), Params::default()),
        (
            planted(&[100; 10], 0.12, 0.004, 1).0,
            Params {
                max_cluster_size: 1000,
                ..Params::default()
            },
        ),
    ] {
        let want = as_sets(&level0(&g, &detect(&g, &p, None)));
        let perm = Rng::new(5).permutation(g.nodes);
        let relabelled = Graph {
            nodes: g.nodes,
            edges: g
                .edges
                .iter()
                .map(|&(a, b, w)| (perm[a as usize], perm[b as usize], w))
                .collect(),
        };
        let l = level0(&relabelled, &detect(&relabelled, &p, None));
        let back: Vec<u32> = (0..g.nodes).map(|v| l[perm[v] as usize]).collect();
        assert_eq!(as_sets(&back), want);
    }
}

#[test]
fn same_seed_gives_the_same_output() {
    let (g, _) = planted(&[30, 50, 70, 20, 100], 0.15, 0.01, 11);
    let p = Params::default();
    assert_eq!(detect(&g, &p, None), detect(&g, &p, None));
    let other = Params { seed: 42, ..p };
    check_hierarchy(&g, &other, &detect(&g, &other, None));
}

#[test]
fn warm_start_from_the_previous_result_is_no_worse() {
    for (g, _) in [
        (karate(), vec![]),
        planted(&[30, 50, 70, 20, 100, 40], 0.1, 0.02, 4),
    ] {
        let p = Params::default();
        let cold = level0(&g, &detect(&g, &p, None));
        let q_cold = modularity(&g, &cold, 1.0);
        let warm_cs = detect(&g, &p, Some(&cold));
        check_hierarchy(&g, &p, &warm_cs);
        let q_warm = modularity(&g, &level0(&g, &warm_cs), 1.0);
        assert!(q_warm >= q_cold - 1e-9, "{q_warm} < {q_cold}");
    }
}

#[test]
fn warm_start_takes_new_nodes_and_stays_no_worse_than_its_start() {
    let (g, _) = planted(&[30, 50, 70, 20, 100, 40], 0.15, 0.01, 8);
    let p = Params::default();
    let old = level0(&g, &detect(&g, &p, None));
    // Ten new nodes, each tied to three nodes of block 0.
    let mut g2 = g.clone();
    g2.nodes += 10;
    for i in 0..10u32 {
        let v = g.nodes as u32 + i;
        g2.edges
            .extend([(v, i, 1.0), (v, i + 1, 1.0), (v, i + 2, 1.0)]);
    }
    let mut warm = old.clone();
    warm.resize(g2.nodes, u32::MAX);
    let start: Vec<u32> = (0..g2.nodes as u32)
        .map(|v| {
            if warm[v as usize] == u32::MAX {
                1_000_000 + v
            } else {
                warm[v as usize]
            }
        })
        .collect();
    let cs = detect(&g2, &p, Some(&warm));
    check_hierarchy(&g2, &p, &cs);
    let l = level0(&g2, &cs);
    assert!(modularity(&g2, &l, 1.0) >= modularity(&g2, &start, 1.0));
    // The new nodes joined block 0's community.
    for i in 0..10 {
        assert_eq!(l[g.nodes + i], l[0]);
    }
}

#[test]
fn modularity_matches_hand_computed_values() {
    let g = Graph {
        nodes: 6,
        edges: vec![
            (0, 1, 1.0),
            (1, 2, 1.0),
            (2, 0, 1.0),
            (3, 4, 1.0),
            (4, 5, 1.0),
            (5, 3, 1.0),
            (2, 3, 1.0),
        ],
    };
    // m = 7; each triangle: 6 inside (both ends), degree sum 7.
    let q = modularity(&g, &[9, 9, 9, 4, 4, 4], 1.0);
    assert!((q - 2.0 * (6.0 / 14.0 - 0.25)).abs() < 1e-12, "{q}");
    let all = modularity(&g, &[0; 6], 1.0);
    assert!(all.abs() < 1e-12);
    let half = modularity(&g, &[9, 9, 9, 4, 4, 4], 0.5);
    assert!((half - 2.0 * (6.0 / 14.0 - 0.125)).abs() < 1e-12);
    assert_eq!(
        modularity(
            &Graph {
                nodes: 2,
                edges: vec![]
            },
            &[0, 1],
            1.0
        ),
        0.0
    );
}

#[test]
fn warm_start_without_any_label_is_the_cold_start() {
    let (g, _) = planted(&[30, 50, 70, 20, 100, 40], 0.1, 0.02, 4);
    let p = Params::default();
    let none = vec![u32::MAX; g.nodes];
    assert_eq!(detect(&g, &p, Some(&none)), detect(&g, &p, None));
}

#[test]
fn higher_resolution_gives_more_level_0_communities() {
    let g = ring_of_cliques(16, 5);
    let count = |resolution: f64| {
        let p = Params {
            resolution,
            ..Params::default()
        };
        let cs = detect(&g, &p, None);
        check_hierarchy(&g, &p, &cs);
        cs.iter().filter(|c| c.level == 0).count()
    };
    let (low, mid, high) = (count(0.05), count(1.0), count(20.0));
    assert!(low < mid && mid < high, "{low} {mid} {high}");
    assert_eq!(mid, 16);
}
