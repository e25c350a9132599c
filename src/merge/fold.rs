//! Entity resolution over the merged entities (one entry per distinct (name, type), after
//! the corpus pass): the entities whose names resolve to the same key (`resolve`), and the
//! same name under several types, are folded into one each; relations are re-pointed to the
//! folded entities, and each fold is credited to the rule that made it.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::accumulate::{add_description, merge_sources, EntityAcc, RelationAcc};
use super::ids::resolved_entity_id;
use super::resolve;

/// Folds entities with the same resolved key into one (most frequent type by mentions,
/// ties to the first in corpus order; other types kept), re-points relations, and counts
/// what each rule folded.
pub(super) fn resolve_entities(
    entities: Vec<EntityAcc>,
    relations: Vec<RelationAcc>,
    acronyms: &FxHashMap<String, String>,
) -> (Vec<EntityAcc>, Vec<RelationAcc>, BTreeMap<String, u64>) {
    let mut counts: BTreeMap<String, u64> = resolve::RULES
        .iter()
        .chain([&resolve::TYPE_RULE])
        .map(|r| (r.to_string(), 0))
        .collect();
    let groups = Groups::of(&entities, acronyms);
    if groups.members.len() == entities.len() {
        // Nothing folds: ids from the resolved key, everything else as it is.
        let entities = entities
            .into_iter()
            .zip(groups.keys)
            .map(|(mut e, k)| {
                e.id = resolved_entity_id(&k);
                e
            })
            .collect();
        return (entities, relations, counts);
    }
    credit_rules(&entities, &groups.members, &mut counts);
    let mut slots: Vec<Option<EntityAcc>> = entities.into_iter().map(Some).collect();
    let merged = groups
        .members
        .iter()
        .zip(&groups.keys)
        .map(|(m, key)| {
            let group = m.iter().filter_map(|&i| slots[i as usize].take()).collect();
            fold_group(group, key)
        })
        .collect();
    let (relations, loops) = repoint_relations(relations, &groups.group_of);
    counts.insert("self_relations_dropped".into(), loops);
    (merged, relations, counts)
}

/// The entities grouped by resolved key, groups in order of their first member (corpus
/// order).
struct Groups {
    /// Entity index -> group.
    group_of: Vec<u32>,
    /// Group -> its resolved key.
    keys: Vec<String>,
    /// Group -> its entities' indexes.
    members: Vec<Vec<u32>>,
}

impl Groups {
    fn of(entities: &[EntityAcc], acronyms: &FxHashMap<String, String>) -> Self {
        let mut groups = Groups {
            group_of: Vec::with_capacity(entities.len()),
            keys: Vec::new(),
            members: Vec::new(),
        };
        let mut by_key: FxHashMap<String, u32> = FxHashMap::default();
        for (i, e) in entities.iter().enumerate() {
            let mut key = resolve::resolved_key(resolution_base(&e.name));
            if let Some(long) = acronyms.get(&key) {
                key.clone_from(long);
            }
            let g = *by_key.entry(key).or_insert_with_key(|k| {
                groups.keys.push(k.clone());
                groups.members.push(Vec::new());
                (groups.members.len() - 1) as u32
            });
            groups.group_of.push(g);
            groups.members[g as usize].push(i as u32);
        }
        groups
    }
}

/// The name an entity resolves by: the expansion of "Long Name (ABBR)", else the name.
fn resolution_base(name: &str) -> &str {
    resolve::defined_acronym(name).map_or(name, |(long, _)| long)
}

/// Credits each folded entity to the first rule that makes its name equal to the group's
/// first member's.
fn credit_rules(entities: &[EntityAcc], members: &[Vec<u32>], counts: &mut BTreeMap<String, u64>) {
    for m in members {
        let first = &entities[m[0] as usize];
        let fk = resolve::stage_keys(&first.name);
        for &i in &m[1..] {
            let ek = resolve::stage_keys(&entities[i as usize].name);
            let rule = match (0..fk.len()).find(|&s| fk[s] == ek[s]) {
                Some(0) => resolve::TYPE_RULE,
                Some(s) => resolve::RULES[s - 1],
                None => "acronym",
            };
            *counts.entry(rule.to_string()).or_default() += 1;
        }
    }
}

/// One group's entities (in corpus order) as one entity with the id of its resolved key.
fn fold_group(mut group: Vec<EntityAcc>, key: &str) -> EntityAcc {
    let (kind, other_types) = main_type(&group);
    // The display name: the most mentioned name under that type (ties: first).
    let mut rep = 0;
    for (i, e) in group.iter().enumerate() {
        if e.kind == kind && (group[rep].kind != kind || e.mentions > group[rep].mentions) {
            rep = i;
        }
    }
    let name = std::mem::take(&mut group[rep].name);
    let several = group.len() > 1;
    let mut acc = EntityAcc {
        id: resolved_entity_id(key),
        name,
        kind,
        other_types,
        descriptions: Vec::new(),
        mentions: 0,
        sources: Vec::new(),
    };
    for e in group {
        acc.mentions += e.mentions;
        for d in &e.descriptions {
            add_description(&mut acc.descriptions, d);
        }
        if acc.sources.is_empty() {
            acc.sources = e.sources;
        } else {
            acc.sources.extend(e.sources);
        }
    }
    if several {
        merge_sources(&mut acc.sources);
    }
    acc
}

/// A group's type (the most mentioned; ties to the first in corpus order) and its other
/// types, in corpus order.
fn main_type(group: &[EntityAcc]) -> (String, Vec<String>) {
    let mut types: Vec<(String, u64)> = Vec::new();
    for e in group {
        match types.iter_mut().find(|(t, _)| *t == e.kind) {
            Some((_, n)) => *n += e.mentions,
            None => types.push((e.kind.clone(), e.mentions)),
        }
    }
    let mut best = 0;
    for (i, (_, n)) in types.iter().enumerate() {
        if *n > types[best].1 {
            best = i;
        }
    }
    let kind = types[best].0.clone();
    let other_types = types
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| *t != kind)
        .collect();
    (kind, other_types)
}

/// Relations between the resolved entities, (source, target, type) once each, and how
/// many were dropped because their two ends resolve to one entity.
fn repoint_relations(relations: Vec<RelationAcc>, group_of: &[u32]) -> (Vec<RelationAcc>, u64) {
    let mut out: Vec<RelationAcc> = Vec::new();
    let mut index: FxHashMap<(u32, u32, String), usize> = FxHashMap::default();
    let mut loops = 0u64;
    // Whether a relation took in another (its sources need sorting again).
    let mut resorted: Vec<bool> = Vec::new();
    for r in relations {
        let (s, t) = (group_of[r.source as usize], group_of[r.target as usize]);
        if s == t && r.source != r.target {
            loops += 1;
            continue;
        }
        let slot = (s, t, r.kind.clone());
        match index.get(&slot) {
            Some(&i) => {
                let acc = &mut out[i];
                acc.mentions += r.mentions;
                acc.weight += r.weight;
                for d in &r.descriptions {
                    add_description(&mut acc.descriptions, d);
                }
                acc.sources.extend(r.sources);
                resorted[i] = true;
            }
            None => {
                index.insert(slot, out.len());
                resorted.push(false);
                out.push(RelationAcc {
                    source: s,
                    target: t,
                    ..r
                });
            }
        }
    }
    for (r, &again) in out.iter_mut().zip(&resorted) {
        if again {
            merge_sources(&mut r.sources);
        }
    }
    (out, loops)
}
