//! The Leiden algorithm (Traag, Waltman & van Eck 2019) for modularity with a resolution:
//! fast local moving with a queue, refinement of each community into well-connected
//! subcommunities, aggregation of the refined partition with the unrefined one as the
//! start of the next level, repeated until the moving phase leaves every aggregate node
//! alone. Whole passes are repeated, each from the last one's partition, until one no
//! longer changes it or raises modularity by less than `min_gain`. Flat arrays throughout:
//! no map in any inner loop.

use super::csr::{modularity, Csr};

/// Something that partitions a graph: a community label per node, compact (`0..count`)
/// and numbered in the order of each community's smallest node.
pub trait Partitioner {
    /// `warm`, when given, is a label per node to start from (`u32::MAX`: no label).
    fn partition(&self, g: &Csr, resolution: f64, seed: u64, warm: Option<&[u32]>) -> Vec<u32>;
}

/// Leiden's settings.
#[derive(Debug, Clone)]
pub struct Leiden {
    /// Randomness of the refinement's merges (θ): 0.01, as in the paper.
    pub randomness: f64,
    /// The most whole passes.
    pub max_passes: usize,
    /// Passes stop once one raises modularity by less than this.
    pub min_gain: f64,
}

impl Default for Leiden {
    fn default() -> Self {
        Leiden {
            randomness: 0.01,
            max_passes: 8,
            min_gain: 5e-4,
        }
    }
}

impl Partitioner for Leiden {
    fn partition(&self, g: &Csr, resolution: f64, seed: u64, warm: Option<&[u32]>) -> Vec<u32> {
        let n = g.n();
        let mut rng = Rng::new(seed);
        let mut labels = start_labels(n, warm);
        split_disconnected(g, &mut labels);
        let mut q = modularity(g, &labels, resolution);
        for _ in 0..self.max_passes.max(1) {
            let mut next = self.pass(g, resolution, &mut rng, labels.clone());
            split_disconnected(g, &mut next);
            let q_next = modularity(g, &next, resolution);
            if next == labels || q_next < q {
                break;
            }
            labels = next;
            let gain = q_next - q;
            q = q_next;
            if gain < self.min_gain {
                break;
            }
        }
        labels
    }
}

impl Leiden {
    /// One pass of Leiden from `labels` (compact): the labels it ends with, compact.
    fn pass(&self, g: &Csr, resolution: f64, rng: &mut Rng, mut labels: Vec<u32>) -> Vec<u32> {
        // `node_of[v]`: the aggregate node that holds original node `v`.
        let mut node_of: Vec<u32> = (0..g.n() as u32).collect();
        let mut level: Option<Csr> = None;
        loop {
            let cur = level.as_ref().unwrap_or(g);
            move_nodes(cur, &mut labels, resolution, rng);
            let count = renumber(&mut labels);
            if count == cur.n() {
                break;
            }
            let mut refined = refine(cur, &labels, count, resolution, self.randomness, rng);
            let mut rcount = renumber(&mut refined);
            if rcount == cur.n() {
                // Nothing merged in the refinement: aggregate the moving phase's partition
                // so that the graph still shrinks.
                refined.clone_from(&labels);
                rcount = count;
            }
            let agg = cur.aggregate(&refined, rcount);
            let mut next = vec![0u32; rcount];
            for (v, &r) in refined.iter().enumerate() {
                next[r as usize] = labels[v];
            }
            for x in node_of.iter_mut() {
                *x = refined[*x as usize];
            }
            labels = next;
            level = Some(agg);
        }
        let mut out: Vec<u32> = node_of.iter().map(|&a| labels[a as usize]).collect();
        renumber(&mut out);
        out
    }
}

/// The labels a partition starts from: singletons, or `warm` made compact with every
/// unlabelled node (or node past its end) alone.
fn start_labels(n: usize, warm: Option<&[u32]>) -> Vec<u32> {
    let Some(warm) = warm else {
        return (0..n as u32).collect();
    };
    // Labels may be any u32: rank the distinct ones, then give new nodes ids after them.
    let mut distinct: Vec<u32> = warm.iter().take(n).copied().collect();
    distinct.retain(|&l| l != u32::MAX);
    distinct.sort_unstable();
    distinct.dedup();
    let mut next = distinct.len() as u32;
    let mut labels: Vec<u32> = (0..n)
        .map(|v| match warm.get(v) {
            Some(&l) if l != u32::MAX => distinct.binary_search(&l).unwrap_or(0) as u32,
            _ => {
                next += 1;
                next - 1
            }
        })
        .collect();
    renumber(&mut labels);
    labels
}

/// Renumbers labels (each below `labels.len()`) `0..count` in order of first node.
fn renumber(labels: &mut [u32]) -> usize {
    let mut map = vec![u32::MAX; labels.len()];
    let mut count = 0u32;
    for l in labels.iter_mut() {
        let m = &mut map[*l as usize];
        if *m == u32::MAX {
            *m = count;
            count += 1;
        }
        *l = *m;
    }
    count as usize
}

/// Dense per-community weights with the list of the communities touched, cleared after use.
struct Neighbours {
    w: Vec<f64>,
    touched: Vec<u32>,
}

impl Neighbours {
    fn new(n: usize) -> Self {
        Neighbours {
            w: vec![0.0; n],
            touched: Vec::new(),
        }
    }
    #[inline]
    fn add(&mut self, c: u32, x: f64) {
        if self.w[c as usize] == 0.0 {
            self.touched.push(c);
        }
        self.w[c as usize] += x;
    }
    fn clear(&mut self) {
        for &c in &self.touched {
            self.w[c as usize] = 0.0;
        }
        self.touched.clear();
    }
}

/// Fast local moving: nodes from a queue (all, in random order, first), each moved to the
/// neighbouring community (or an empty one) with the largest modularity gain; a node that
/// moved puts its neighbours outside its new community back in the queue. True when a
/// node moved.
fn move_nodes(g: &Csr, labels: &mut [u32], resolution: f64, rng: &mut Rng) -> bool {
    let n = g.n();
    if g.total <= 0.0 {
        return false;
    }
    let scale = resolution / g.total;
    let mut deg = vec![0f64; n];
    let mut size = vec![0u32; n];
    for v in 0..n {
        deg[labels[v] as usize] += g.k[v];
        size[labels[v] as usize] += 1;
    }
    let mut empty: Vec<u32> = (0..n as u32).filter(|&c| size[c as usize] == 0).collect();
    let mut queue: std::collections::VecDeque<u32> = rng.permutation(n).into();
    let mut queued = vec![true; n];
    let mut nw = Neighbours::new(n);
    let mut moved = false;
    while let Some(v) = queue.pop_front() {
        let v = v as usize;
        queued[v] = false;
        let cur = labels[v];
        let kv = g.k[v];
        let (nb, ws) = g.row(v);
        for (&u, &x) in nb.iter().zip(ws) {
            nw.add(labels[u as usize], x);
        }
        deg[cur as usize] -= kv;
        size[cur as usize] -= 1;
        let mut best = cur;
        let mut best_gain = nw.w[cur as usize] - scale * kv * deg[cur as usize];
        for &c in &nw.touched {
            let gain = nw.w[c as usize] - scale * kv * deg[c as usize];
            if gain > best_gain {
                best = c;
                best_gain = gain;
            }
        }
        if best_gain < 0.0 && size[cur as usize] > 0 {
            if let Some(e) = empty.pop() {
                best = e;
            }
        }
        nw.clear();
        deg[best as usize] += kv;
        size[best as usize] += 1;
        labels[v] = best;
        if best != cur {
            moved = true;
            if size[cur as usize] == 0 {
                empty.push(cur);
            }
            for &u in nb {
                if !queued[u as usize] && labels[u as usize] != best {
                    queued[u as usize] = true;
                    queue.push_back(u);
                }
            }
        }
    }
    moved
}

/// Refinement: within each community of `labels` (compact, `count` of them), start from
/// singletons and merge, in random order, each node still alone and well connected to its
/// community into a well-connected subcommunity of it, chosen at random among those that
/// do not lower modularity with odds exp(gain / θ). Gives the subcommunity per node (its
/// id is a node id of it).
fn refine(
    g: &Csr,
    labels: &[u32],
    count: usize,
    resolution: f64,
    theta: f64,
    rng: &mut Rng,
) -> Vec<u32> {
    let n = g.n();
    let scale = resolution / g.total;
    let mut comm_deg = vec![0f64; count];
    for v in 0..n {
        comm_deg[labels[v] as usize] += g.k[v];
    }
    let mut refined: Vec<u32> = (0..n as u32).collect();
    let mut sub_deg = g.k.clone();
    // Weight from each subcommunity to the rest of its community.
    let mut ext = vec![0f64; n];
    for (v, e) in ext.iter_mut().enumerate() {
        let (nb, ws) = g.row(v);
        for (&u, &x) in nb.iter().zip(ws) {
            if labels[u as usize] == labels[v] {
                *e += x;
            }
        }
    }
    let mut alone = vec![true; n];
    let mut nw = Neighbours::new(n);
    let mut cands: Vec<(u32, f64)> = Vec::new();
    for v in rng.permutation(n) {
        let v = v as usize;
        let c = labels[v];
        let (kv, kc) = (g.k[v], comm_deg[c as usize]);
        if !alone[v] || ext[v] < scale * kv * (kc - kv) {
            continue;
        }
        let (nb, ws) = g.row(v);
        for (&u, &x) in nb.iter().zip(ws) {
            if labels[u as usize] == c {
                nw.add(refined[u as usize], x);
            }
        }
        cands.clear();
        for &s in &nw.touched {
            let ks = sub_deg[s as usize];
            if ext[s as usize] >= scale * ks * (kc - ks) {
                let gain = nw.w[s as usize] - scale * kv * ks;
                if gain >= 0.0 {
                    cands.push((s, gain));
                }
            }
        }
        if let Some(s) = choose(&cands, theta, rng) {
            refined[v] = s;
            sub_deg[s as usize] += kv;
            sub_deg[v] -= kv;
            ext[s as usize] += ext[v] - 2.0 * nw.w[s as usize];
            alone[s as usize] = false;
            alone[v] = false;
        }
        nw.clear();
    }
    refined
}

/// One of `cands` (gain ≥ 0 each) or staying alone (gain 0), with odds exp(gain / θ).
fn choose(cands: &[(u32, f64)], theta: f64, rng: &mut Rng) -> Option<u32> {
    if cands.is_empty() {
        return None;
    }
    let top = cands.iter().map(|c| c.1).fold(0.0, f64::max);
    let stay = (-top / theta).exp();
    let total: f64 = stay
        + cands
            .iter()
            .map(|c| ((c.1 - top) / theta).exp())
            .sum::<f64>();
    let mut r = rng.f64() * total;
    for &(s, gain) in cands {
        r -= ((gain - top) / theta).exp();
        if r < 0.0 {
            return Some(s);
        }
    }
    None
}

/// Splits every community of `labels` that is not connected into its connected parts
/// (which can only raise modularity), then renumbers in order of first node.
fn split_disconnected(g: &Csr, labels: &mut [u32]) {
    let n = g.n();
    let mut out = vec![u32::MAX; n];
    let mut stack = Vec::new();
    let mut next = 0u32;
    for s in 0..n {
        if out[s] != u32::MAX {
            continue;
        }
        out[s] = next;
        stack.push(s as u32);
        while let Some(v) = stack.pop() {
            for &u in g.row(v as usize).0 {
                if out[u as usize] == u32::MAX && labels[u as usize] == labels[s] {
                    out[u as usize] = next;
                    stack.push(u);
                }
            }
        }
        next += 1;
    }
    labels.copy_from_slice(&out);
}

/// splitmix64: small, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
    /// `0..n` shuffled (Fisher–Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<u32> {
        let mut p: Vec<u32> = (0..n as u32).collect();
        for i in (1..n).rev() {
            p.swap(i, self.below(i + 1));
        }
        p
    }
}
