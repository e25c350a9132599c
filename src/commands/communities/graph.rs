//! The graph the detector sees, and the detected hierarchy as `communities.jsonl` records:
//! entities sorted by id are the nodes; relations are undirected edges weighted by
//! `weight` (or by mentions when the weight is 0). Ids are kept across reruns: a new
//! community takes the id of the previous one at its level it overlaps most (Jaccard of the
//! members at least 0.5, one to one); any other gets `com_` and 16 hex digits of a hash of
//! its level and members.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::community::{Cluster, Graph};
use crate::error::RunError;
use crate::outdir::communities::Community;
use crate::outdir::finished::{Entity, Relation};

/// Overlap at which a community keeps its predecessor's id.
pub const KEEP_ID_JACCARD: f64 = 0.5;

/// The graph and its node numbering.
pub struct Built {
    pub graph: Graph,
    /// Entity id of each node.
    pub ids: Vec<String>,
    pub index: HashMap<String, u32>,
    /// Relations per node (both ends), the degree shown to the model.
    pub degree: Vec<u32>,
    /// Nodes with no relation.
    pub isolated: u64,
}

/// Builds the graph of `entities` (any order) and `relations`. Relations whose ends are not
/// entities, and self-loops, are left out.
pub fn build(entities: &[Entity], relations: &[Relation]) -> Built {
    let mut ids: Vec<String> = entities.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    ids.dedup();
    let index: HashMap<String, u32> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), i as u32))
        .collect();
    let mut degree = vec![0u32; ids.len()];
    let mut edges = Vec::with_capacity(relations.len());
    for r in relations {
        let (Some(&a), Some(&b)) = (index.get(&r.source), index.get(&r.target)) else {
            continue;
        };
        if a == b {
            continue;
        }
        let w = if r.weight > 0.0 {
            r.weight
        } else {
            (r.mentions.max(1)) as f64
        };
        degree[a as usize] += 1;
        degree[b as usize] += 1;
        edges.push((a, b, w));
    }
    // The detector's input in one order, whatever the files' line order.
    edges.sort_by(|x, y| (x.0, x.1).cmp(&(y.0, y.1)).then(x.2.total_cmp(&y.2)));
    let isolated = degree.iter().filter(|&&d| d == 0).count() as u64;
    Built {
        graph: Graph {
            nodes: ids.len(),
            edges,
        },
        ids,
        index,
        degree,
        isolated,
    }
}

/// The previous run's level-0 partition as the detector's warm start: a label per node,
/// `u32::MAX` for a node that is new.
pub fn warm_start(built: &Built, previous: &[Community]) -> Option<Vec<u32>> {
    let mut labels = vec![u32::MAX; built.ids.len()];
    let mut any = false;
    for (label, c) in previous.iter().filter(|c| c.level == 0).enumerate() {
        for m in &c.members {
            if let Some(&n) = built.index.get(m) {
                labels[n as usize] = label as u32;
                any = true;
            }
        }
    }
    any.then_some(labels)
}

/// The detector's clusters as records (fingerprints left empty), with ids kept from
/// `previous` where they overlap enough, sorted by (level, id). Clusters with no relation
/// inside (isolated entities) are left out.
pub fn records(
    built: &Built,
    clusters: &[Cluster],
    relations: &[Relation],
    previous: &[Community],
) -> Vec<Community> {
    let members: Vec<Vec<String>> = clusters
        .iter()
        .map(|c| {
            let mut m: Vec<String> = c
                .members
                .iter()
                .map(|&n| built.ids[n as usize].clone())
                .collect();
            m.sort();
            m
        })
        .collect();
    let ids = assign_ids(clusters, &members, previous);
    let inside = internal_relations(built, clusters, relations);
    let mut out: Vec<Community> = clusters
        .iter()
        .enumerate()
        .filter(|(i, _)| !inside[*i].is_empty())
        .map(|(i, c)| Community {
            id: ids[i].clone(),
            level: c.level,
            parent: c.parent.map(|p| ids[p].clone()),
            children: {
                let mut ch: Vec<String> = c
                    .children
                    .iter()
                    .filter(|&&k| !inside[k].is_empty())
                    .map(|&k| ids[k].clone())
                    .collect();
                ch.sort();
                ch
            },
            size: members[i].len(),
            members: members[i].clone(),
            relations: inside[i].clone(),
            fingerprint: String::new(),
        })
        .collect();
    out.sort_by(|a, b| (a.level, &a.id).cmp(&(b.level, &b.id)));
    out
}

/// Ids of the relations inside each cluster, sorted.
fn internal_relations(
    built: &Built,
    clusters: &[Cluster],
    relations: &[Relation],
) -> Vec<Vec<String>> {
    let levels = clusters.iter().map(|c| c.level).max().map_or(0, |l| l + 1) as usize;
    // node -> cluster, per level.
    let mut of = vec![vec![usize::MAX; built.ids.len()]; levels];
    for (i, c) in clusters.iter().enumerate() {
        for &n in &c.members {
            of[c.level as usize][n as usize] = i;
        }
    }
    let mut inside: Vec<BTreeSet<String>> = vec![BTreeSet::new(); clusters.len()];
    for r in relations {
        let (Some(&a), Some(&b)) = (built.index.get(&r.source), built.index.get(&r.target)) else {
            continue;
        };
        if a == b {
            continue;
        }
        for level in &of {
            let (ca, cb) = (level[a as usize], level[b as usize]);
            if ca == cb && ca != usize::MAX {
                inside[ca].insert(r.id.clone());
            }
        }
    }
    inside
        .into_iter()
        .map(|s| s.into_iter().collect())
        .collect()
}

/// Each cluster's id: its predecessor's (best Jaccard match at the same level, at least
/// `KEEP_ID_JACCARD`, one to one, best pairs first), else a hash of level and members.
fn assign_ids(
    clusters: &[Cluster],
    members: &[Vec<String>],
    previous: &[Community],
) -> Vec<String> {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    // Previous communities by member, to compare only overlapping ones.
    let mut by_member: HashMap<(u32, &str), Vec<usize>> = HashMap::new();
    for (j, p) in previous.iter().enumerate() {
        for m in &p.members {
            by_member.entry((p.level, m.as_str())).or_default().push(j);
        }
    }
    for (i, c) in clusters.iter().enumerate() {
        let mut shared: HashMap<usize, usize> = HashMap::new();
        for m in &members[i] {
            for &j in by_member.get(&(c.level, m.as_str())).into_iter().flatten() {
                *shared.entry(j).or_default() += 1;
            }
        }
        for (j, n) in shared {
            let union = members[i].len() + previous[j].members.len() - n;
            let jac = n as f64 / union.max(1) as f64;
            if jac >= KEEP_ID_JACCARD {
                pairs.push((jac, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(previous[a.2].id.cmp(&previous[b.2].id))
    });
    let mut ids: Vec<Option<String>> = vec![None; clusters.len()];
    let mut taken: HashSet<String> = HashSet::new();
    let mut used_prev = vec![false; previous.len()];
    for (_, i, j) in pairs {
        if ids[i].is_some() || used_prev[j] || taken.contains(&previous[j].id) {
            continue;
        }
        used_prev[j] = true;
        taken.insert(previous[j].id.clone());
        ids[i] = Some(previous[j].id.clone());
    }
    // New ids in a fixed order, so that a collision is resolved the same way every time.
    let mut order: Vec<usize> = (0..clusters.len()).filter(|&i| ids[i].is_none()).collect();
    order.sort_by(|&a, &b| (clusters[a].level, &members[a]).cmp(&(clusters[b].level, &members[b])));
    for i in order {
        let mut salt = 0u32;
        loop {
            let id = new_id(clusters[i].level, &members[i], salt);
            if taken.insert(id.clone()) {
                ids[i] = Some(id);
                break;
            }
            salt += 1;
        }
    }
    ids.into_iter().map(Option::unwrap_or_default).collect()
}

/// `com_` and 16 hex digits of the hash of a level and sorted members.
pub fn new_id(level: u32, members: &[String], salt: u32) -> String {
    let mut h = blake3::Hasher::new();
    h.update(&level.to_le_bytes());
    h.update(&salt.to_le_bytes());
    for m in members {
        h.update(m.as_bytes());
        h.update(&[0]);
    }
    format!("com_{}", &h.finalize().to_hex()[..16])
}

/// Bad input, said in one sentence: no entities, or no relation between them.
pub fn check_graph(out: &std::path::Path, built: &Built) -> Result<(), RunError> {
    if built.ids.is_empty() {
        return Err(RunError::out_dir(format!(
            "the run in {} has no entities: there is nothing to group into communities; run `aegis-ingest run` on a corpus that yields some first",
            out.display()
        )));
    }
    if built.graph.edges.is_empty() {
        return Err(RunError::out_dir(format!(
            "the run in {} has {} entities but no relations between them: communities are groups of related entities, so there are none; check the extraction (report.json) or the prompts",
            out.display(),
            built.ids.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(id: &str) -> Entity {
        serde_json::from_value(serde_json::json!({"id": id, "name": id, "type": "T"})).unwrap()
    }

    fn rel(id: &str, s: &str, t: &str) -> Relation {
        serde_json::from_value(
            serde_json::json!({"id": id, "source": s, "target": t, "type": "R", "weight": 0.0, "mentions": 2}),
        )
        .unwrap()
    }

    fn cluster(level: u32, members: &[u32]) -> Cluster {
        Cluster {
            level,
            parent: None,
            children: vec![],
            members: members.to_vec(),
        }
    }

    #[test]
    fn nodes_are_entities_by_id_and_weights_fall_back_to_mentions() {
        let b = build(
            &[ent("ent_b"), ent("ent_a"), ent("ent_c")],
            &[
                rel("rel_1", "ent_b", "ent_a"),
                rel("rel_2", "ent_a", "ent_x"),
            ],
        );
        assert_eq!(b.ids, ["ent_a", "ent_b", "ent_c"]);
        assert_eq!(b.graph.edges, vec![(1, 0, 2.0)]);
        assert_eq!((b.degree.clone(), b.isolated), (vec![1, 1, 0], 1));
    }

    #[test]
    fn the_previous_level_0_partition_is_the_warm_start() {
        let es: Vec<Entity> = ["ent_a", "ent_b", "ent_c", "ent_new"].map(ent).into();
        let b = build(&es, &[]);
        let prev = |id: &str, level: u32, members: &[&str]| Community {
            id: id.into(),
            level,
            parent: None,
            children: vec![],
            members: members.iter().map(|m| m.to_string()).collect(),
            relations: vec![],
            size: members.len(),
            fingerprint: String::new(),
        };
        let previous = vec![
            prev("com_1", 0, &["ent_a", "ent_gone"]),
            prev("com_2", 0, &["ent_b", "ent_c"]),
            prev("com_3", 1, &["ent_b"]),
        ];
        let warm = warm_start(&b, &previous).unwrap();
        assert_eq!(warm, vec![0, 1, 1, u32::MAX]);
        assert!(warm_start(&b, &[]).is_none());
    }

    #[test]
    fn ids_are_kept_at_half_overlap_and_hashed_otherwise() {
        let es: Vec<Entity> = ["ent_a", "ent_b", "ent_c", "ent_d"].map(ent).into();
        let rs = vec![
            rel("rel_1", "ent_a", "ent_b"),
            rel("rel_2", "ent_c", "ent_d"),
        ];
        let b = build(&es, &rs);
        let first = records(&b, &[cluster(0, &[0, 1]), cluster(0, &[2, 3])], &rs, &[]);
        assert!(first
            .iter()
            .all(|c| c.id.starts_with("com_") && c.id.len() == 20));
        assert_eq!(first[0].relations.len(), 1);
        // a,b,c together (Jaccard 2/3 with {a,b}) keeps {a,b}'s id; {d} alone has no
        // relation inside and is left out.
        let rs2 = vec![
            rel("rel_1", "ent_a", "ent_b"),
            rel("rel_3", "ent_b", "ent_c"),
        ];
        let second = records(
            &b,
            &[cluster(0, &[0, 1, 2]), cluster(0, &[3])],
            &rs2,
            &first,
        );
        let ab = first.iter().find(|c| c.members[0] == "ent_a").unwrap();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].id, ab.id);
        // The same input in another order gives the same records.
        let again = records(&b, &[cluster(0, &[2, 3]), cluster(0, &[0, 1])], &rs, &[]);
        assert_eq!(again, first);
    }
}
