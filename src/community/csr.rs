//! The graph the detector works on: undirected, weighted, in compressed sparse rows (every
//! edge listed under both its ends, neighbours sorted), built from an edge list in a
//! canonical way so that the same graph in any edge order gives the same arrays.

/// An undirected weighted graph in compressed sparse rows. Self-loops are kept apart (an
/// aggregated graph has them: the weight inside a merged node) and counted twice in the
/// node's degree, as modularity wants.
#[derive(Debug, Clone, Default)]
pub struct Csr {
    /// Node `v`'s neighbours are `adj[offs[v]..offs[v + 1]]`.
    pub offs: Vec<usize>,
    pub adj: Vec<u32>,
    pub w: Vec<f64>,
    /// Weighted degree: the weights of the edges at the node, its self-loop twice.
    pub k: Vec<f64>,
    /// Self-loop weight of each node.
    pub self_w: Vec<f64>,
    /// Sum of the degrees (twice the total edge weight).
    pub total: f64,
}

impl Csr {
    /// The canonical graph of an edge list over nodes `0..n`: self-loops, edges to nodes
    /// out of range and weights that are not finite and positive are dropped, each edge is
    /// turned to (smaller, larger) and parallel edges are summed in sorted order.
    pub fn from_edges(n: usize, edges: &[(u32, u32, f64)]) -> Csr {
        let mut es: Vec<(u32, u32, f64)> = edges
            .iter()
            .filter(|&&(a, b, w)| {
                a != b && (a as usize) < n && (b as usize) < n && w.is_finite() && w > 0.0
            })
            .map(|&(a, b, w)| (a.min(b), a.max(b), w))
            .collect();
        es.sort_unstable_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(x.2.total_cmp(&y.2)));
        // Parallel edges summed in place, in sorted order.
        es.dedup_by(|next, kept| {
            let same = (next.0, next.1) == (kept.0, kept.1);
            if same {
                kept.2 += next.2;
            }
            same
        });
        Self::from_canonical(n, &es)
    }

    /// Rows from edges that are already sorted, merged and without self-loops, each given
    /// once as (smaller, larger).
    fn from_canonical(n: usize, es: &[(u32, u32, f64)]) -> Csr {
        let mut deg = vec![0usize; n + 1];
        for &(a, b, _) in es {
            deg[a as usize] += 1;
            deg[b as usize] += 1;
        }
        let mut offs = Vec::with_capacity(n + 1);
        let mut acc = 0;
        offs.push(0);
        for d in &deg[..n] {
            acc += d;
            offs.push(acc);
        }
        let mut fill: Vec<usize> = offs[..n].to_vec();
        let mut adj = vec![0u32; acc];
        let mut w = vec![0f64; acc];
        let mut k = vec![0f64; n];
        // Smaller neighbours first (edges come sorted by their smaller end), then larger
        // ones: every row ends up sorted.
        for &(a, b, x) in es {
            let i = fill[b as usize];
            adj[i] = a;
            w[i] = x;
            fill[b as usize] += 1;
        }
        for &(a, b, x) in es {
            let i = fill[a as usize];
            adj[i] = b;
            w[i] = x;
            fill[a as usize] += 1;
            k[a as usize] += x;
            k[b as usize] += x;
        }
        let total = k.iter().sum();
        Csr {
            offs,
            adj,
            w,
            k,
            self_w: vec![0.0; n],
            total,
        }
    }

    pub fn n(&self) -> usize {
        self.k.len()
    }

    /// The neighbours of `v` and the weights of the edges to them.
    #[inline]
    pub fn row(&self, v: usize) -> (&[u32], &[f64]) {
        let (s, e) = (self.offs[v], self.offs[v + 1]);
        (&self.adj[s..e], &self.w[s..e])
    }

    /// The subgraph induced by `members` (sorted node ids), its node `i` being
    /// `members[i]`. `map` is scratch of `n()` entries, all `u32::MAX`, and is left so.
    pub fn induced(&self, members: &[u32], map: &mut [u32]) -> Csr {
        for (i, &v) in members.iter().enumerate() {
            map[v as usize] = i as u32;
        }
        let mut es = Vec::new();
        for (i, &v) in members.iter().enumerate() {
            let (nb, ws) = self.row(v as usize);
            for (&u, &x) in nb.iter().zip(ws) {
                let j = map[u as usize];
                if j != u32::MAX && (i as u32) < j {
                    es.push((i as u32, j, x));
                }
            }
        }
        for &v in members {
            map[v as usize] = u32::MAX;
        }
        // Members are sorted, so the local ids keep the global order and the edges come out
        // sorted by (smaller, larger) already.
        Self::from_canonical(members.len(), &es)
    }

    /// The graph of the communities of `labels` (compact, `0..count`): one node per
    /// community, the weights between communities summed, the weight inside each a
    /// self-loop. Degrees are carried over, so modularity is the same on both graphs.
    pub fn aggregate(&self, labels: &[u32], count: usize) -> Csr {
        let n = self.n();
        let mut start = vec![0usize; count + 1];
        for &l in labels {
            start[l as usize + 1] += 1;
        }
        for c in 0..count {
            start[c + 1] += start[c];
        }
        let mut order = vec![0u32; n];
        let mut fill = start.clone();
        for (v, &l) in labels.iter().enumerate() {
            order[fill[l as usize]] = v as u32;
            fill[l as usize] += 1;
        }
        let mut acc = vec![0f64; count];
        let mut touched: Vec<u32> = Vec::new();
        let mut offs = Vec::with_capacity(count + 1);
        offs.push(0);
        let (mut adj, mut w) = (Vec::new(), Vec::new());
        let mut k = vec![0f64; count];
        let mut self_w = vec![0f64; count];
        for c in 0..count {
            let mut inside = 0.0;
            for &v in &order[start[c]..start[c + 1]] {
                let v = v as usize;
                k[c] += self.k[v];
                inside += self.self_w[v];
                let (nb, ws) = self.row(v);
                for (&u, &x) in nb.iter().zip(ws) {
                    let d = labels[u as usize];
                    if d as usize == c {
                        inside += x / 2.0;
                    } else {
                        if acc[d as usize] == 0.0 {
                            touched.push(d);
                        }
                        acc[d as usize] += x;
                    }
                }
            }
            self_w[c] = inside;
            touched.sort_unstable();
            for &d in &touched {
                adj.push(d);
                w.push(acc[d as usize]);
                acc[d as usize] = 0.0;
            }
            touched.clear();
            offs.push(adj.len());
        }
        Csr {
            offs,
            adj,
            w,
            k,
            self_w,
            total: self.total,
        }
    }
}

/// Modularity of `labels` (any `u32` per node) on `g` with `resolution`:
/// Σ_c [ in_c / 2m − resolution · (K_c / 2m)² ], `in_c` the weight inside `c` counted
/// from both ends, `K_c` its degree sum. 0 for a graph without edges.
pub fn modularity(g: &Csr, labels: &[u32], resolution: f64) -> f64 {
    if g.total <= 0.0 {
        return 0.0;
    }
    let (compact, count) = compact_labels(labels);
    let mut inside = vec![0f64; count];
    let mut deg = vec![0f64; count];
    for v in 0..g.n() {
        let c = compact[v] as usize;
        deg[c] += g.k[v];
        inside[c] += 2.0 * g.self_w[v];
        let (nb, ws) = g.row(v);
        for (&u, &x) in nb.iter().zip(ws) {
            if compact[u as usize] as usize == c {
                inside[c] += x;
            }
        }
    }
    let m2 = g.total;
    inside
        .iter()
        .zip(&deg)
        .map(|(i, d)| i / m2 - resolution * (d / m2) * (d / m2))
        .sum()
}

/// Labels renumbered `0..count` in the order of their first node; any `u32` is a label.
pub fn compact_labels(labels: &[u32]) -> (Vec<u32>, usize) {
    let mut sorted: Vec<(u32, u32)> = labels
        .iter()
        .enumerate()
        .map(|(v, &l)| (l, v as u32))
        .collect();
    sorted.sort_unstable();
    // The first node of each label, then labels ranked by that node.
    let mut firsts: Vec<(u32, u32)> = Vec::new();
    for (i, &(l, v)) in sorted.iter().enumerate() {
        if i == 0 || sorted[i - 1].0 != l {
            firsts.push((v, l));
        }
    }
    firsts.sort_unstable();
    let mut rank: Vec<(u32, u32)> = firsts
        .iter()
        .enumerate()
        .map(|(r, &(_, l))| (l, r as u32))
        .collect();
    rank.sort_unstable();
    let out = labels
        .iter()
        .map(|l| {
            let i = rank.binary_search_by_key(l, |&(x, _)| x).unwrap_or(0);
            rank[i].1
        })
        .collect();
    (out, firsts.len())
}
