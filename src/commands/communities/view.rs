//! What the finishing step knows of each entity and relation: names, types, degree and
//! description (its fragments, their hash, and the summary once there is one), and the
//! fingerprints of the communities made from them.

use std::collections::HashMap;

use crate::outdir::communities::Community;
use crate::outdir::finished::{Entity, Relation};

/// One entity as reports see it.
pub struct EntityView {
    pub name: String,
    pub kind: String,
    pub degree: u32,
    /// The description reports use: the summary, or the fragments joined.
    pub description: String,
    pub fragments: Vec<String>,
    /// Hash of the sorted fragments (the summary's cache key).
    pub hash: String,
}

/// One relation as reports see it.
pub struct RelationView {
    /// Entity ids of the source and target.
    pub ends: (String, String),
    pub source: String,
    pub target: String,
    pub kind: String,
    pub description: String,
    pub fragments: Vec<String>,
    pub hash: String,
}

#[derive(Default)]
pub struct View {
    pub entities: HashMap<String, EntityView>,
    pub relations: HashMap<String, RelationView>,
}

/// The distinct fragments of a record: `fragments` when the outputs list them, else its
/// one `description`.
pub fn fragments_of(description: &str, fragments: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let given: Vec<&str> = if fragments.is_empty() {
        vec![description]
    } else {
        fragments.iter().map(String::as_str).collect()
    };
    for f in given {
        let f = f.trim();
        if !f.is_empty() && !out.iter().any(|o| o == f) {
            out.push(f.to_string());
        }
    }
    out
}

/// blake3 (32 hex digits) of the sorted fragments.
pub fn fragments_hash(fragments: &[String]) -> String {
    let mut sorted: Vec<&String> = fragments.iter().collect();
    sorted.sort();
    let mut h = blake3::Hasher::new();
    for f in sorted {
        h.update(f.as_bytes());
        h.update(&[0]);
    }
    h.finalize().to_hex()[..32].to_string()
}

impl View {
    /// The view of the run's records, which it takes (each record is dropped as soon as
    /// its view is made: a graph's records are not held twice).
    pub fn new(
        entities: Vec<Entity>,
        relations: Vec<Relation>,
        degree_of: impl Fn(&str) -> u32,
    ) -> Self {
        let mut v = View::default();
        v.entities.reserve(entities.len());
        for e in entities {
            let fragments = fragments_of(&e.description, &e.fragments);
            let degree = degree_of(&e.id);
            v.entities.insert(
                e.id,
                EntityView {
                    name: e.name,
                    kind: e.kind,
                    degree,
                    description: fragments.join(" "),
                    hash: fragments_hash(&fragments),
                    fragments,
                },
            );
        }
        let name = |id: &str| {
            v.entities
                .get(id)
                .map_or(id.to_string(), |e| e.name.clone())
        };
        let mut rels = HashMap::with_capacity(relations.len());
        for r in relations {
            let fragments = fragments_of(&r.description, &r.fragments);
            rels.insert(
                r.id,
                RelationView {
                    source: name(&r.source),
                    target: name(&r.target),
                    ends: (r.source, r.target),
                    kind: r.kind,
                    description: fragments.join(" "),
                    hash: fragments_hash(&fragments),
                    fragments,
                },
            );
        }
        v.relations = rels;
        v
    }
}

/// Sets every community's fingerprint: a hash of its members (id, name, type and the hash
/// of their description fragments), its internal relations (likewise), `salt` (the prompt
/// template, the model, the settings) and its children's fingerprints, so that a change
/// below reaches every ancestor. `communities` is sorted by level.
pub fn set_fingerprints(communities: &mut [Community], view: &View, salt: &str) {
    let mut by_id: HashMap<String, String> = HashMap::new();
    let order: Vec<usize> = (0..communities.len()).rev().collect();
    for i in order {
        let c = &communities[i];
        let mut h = blake3::Hasher::new();
        let mut put = |s: &str| {
            h.update(s.as_bytes());
            h.update(&[0]);
        };
        put(salt);
        for m in &c.members {
            put(m);
            if let Some(e) = view.entities.get(m) {
                put(&e.name);
                put(&e.kind);
                put(&e.hash);
            }
        }
        put("relations");
        for r in &c.relations {
            put(r);
            if let Some(x) = view.relations.get(r) {
                put(&x.kind);
                put(&x.hash);
            }
        }
        put("children");
        let mut kids: Vec<&str> = c
            .children
            .iter()
            .filter_map(|k| by_id.get(k).map(String::as_str))
            .collect();
        kids.sort();
        for k in kids {
            put(k);
        }
        let fp = h.finalize().to_hex()[..32].to_string();
        by_id.insert(c.id.clone(), fp.clone());
        communities[i].fingerprint = fp;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_hash_ignores_order_and_fragments_fall_back_to_the_description() {
        let a = vec!["x".to_string(), "y".to_string()];
        let b = vec!["y".to_string(), "x".to_string()];
        assert_eq!(fragments_hash(&a), fragments_hash(&b));
        assert_eq!(fragments_of(" d ", &[]), ["d"]);
        assert_eq!(
            fragments_of("d", &["p".into(), "q".into(), "p".into()]),
            ["p", "q"]
        );
        assert!(fragments_of("", &[]).is_empty());
    }

    #[test]
    fn a_changed_description_changes_its_community_and_the_ancestors_only() {
        let ent = |id: &str, d: &str| -> Entity {
            serde_json::from_value(
                serde_json::json!({"id": id, "name": id, "type": "T", "description": d}),
            )
            .unwrap()
        };
        let com = |id: &str, level: u32, members: &[&str], children: &[&str]| Community {
            id: id.into(),
            level,
            parent: None,
            children: children.iter().map(|c| c.to_string()).collect(),
            members: members.iter().map(|m| m.to_string()).collect(),
            relations: vec![],
            size: members.len(),
            fingerprint: String::new(),
        };
        let all = || {
            vec![
                com("com_p", 0, &["a", "b", "c", "d"], &["com_x", "com_y"]),
                com("com_x", 1, &["a", "b"], &[]),
                com("com_y", 1, &["c", "d"], &[]),
            ]
        };
        let fps = |d: &str| {
            let ents = vec![ent("a", d), ent("b", "b"), ent("c", "c"), ent("d", "d")];
            let mut cs = all();
            set_fingerprints(&mut cs, &View::new(ents.clone(), vec![], |_| 1), "salt");
            cs.into_iter().map(|c| c.fingerprint).collect::<Vec<_>>()
        };
        let (before, after) = (fps("old"), fps("new"));
        assert_ne!(before[0], after[0], "the parent changes with its child");
        assert_ne!(before[1], after[1], "the community holding `a` changes");
        assert_eq!(before[2], after[2], "the sibling does not");
        assert_eq!(before, fps("old"), "same input, same fingerprints");
    }
}
