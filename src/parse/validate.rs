//! Validation: a raw answer (any shape the lenient reading accepts) -> a clean
//! `Extraction`. Names cleaned and bounded, types upper-snake-cased and checked against the
//! taxonomy, grounding checked, one entity per name, relations kept only between entities
//! of the same answer; every item dropped is counted by reason.

use rustc_hash::{FxHashMap, FxHashSet};

use super::extraction::{Entity, Extraction, Relation};
use super::ground::{GroundText, Grounding};
use super::names::{clean_name_cow, name_key_into, type_key};
use super::raw::{RawAnswer, RawEntity, RawRelation};
use crate::prompt::End;
use crate::prompt::Taxonomy;

/// What validation checks an answer against.
#[derive(Debug, Clone, Copy)]
pub struct Checks<'a> {
    pub taxonomy: &'a Taxonomy,
    /// The chunk's text, for the grounding check (None: no check).
    pub text: Option<&'a GroundText>,
    pub grounding: Grounding,
    /// A relations pass (`--relations two-pass`): the chunk's entities that the entities
    /// pass kept. The answer holds relations only; their endpoints must be these names.
    pub known: Option<&'a [Entity]>,
}

impl<'a> Checks<'a> {
    /// Types and bounds only (no grounding).
    pub fn taxonomy(taxonomy: &'a Taxonomy) -> Self {
        Checks {
            taxonomy,
            text: None,
            grounding: Grounding::Off,
            known: None,
        }
    }
}

/// The first `max` characters of `s`.
fn truncated(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Validates a raw answer against `checks`: what is kept, and what was dropped by reason.
pub(super) fn validate(raw: &RawAnswer, checks: &Checks) -> Extraction {
    let mut out = Extraction {
        entities: Vec::with_capacity(raw.entities.len()),
        relations: Vec::with_capacity(raw.relations.len()),
        ..Extraction::default()
    };
    if let Some(known) = checks.known {
        // The endpoints are the entities kept before; the result holds the relations only.
        let mut names = Names::default();
        let mut key = String::new();
        for (i, e) in known.iter().enumerate() {
            name_key_into(&mut key, &e.name);
            names.by_name.entry(key.clone()).or_insert(Some(i));
        }
        out.entities = known.to_vec();
        keep_relations(&raw.relations, &names, checks.taxonomy, &mut out);
        out.entities.clear();
    } else {
        let names = keep_entities(&raw.entities, checks, &mut out);
        keep_relations(&raw.relations, &names, checks.taxonomy, &mut out);
    }
    out.dropped = out.drops.total();
    out
}

/// The names of an answer's entities, as validation left them.
#[derive(Default)]
struct Names {
    /// name key -> index in the entities kept (one type per name: the first); `None` marks
    /// a name whose entity was dropped, so that its relations count as `dropped_endpoint`.
    by_name: FxHashMap<String, Option<usize>>,
    /// Names seen only with a type outside the taxonomy (not in `by_name`: the same name
    /// may still come with a known type).
    unknown_type: FxHashSet<String>,
}

impl Names {
    /// Some(Some(i)): the entity kept at `i`; Some(None): a name whose entity was dropped;
    /// None: no entity of the answer has this name.
    fn known(&self, key: &str) -> Option<Option<usize>> {
        match self.by_name.get(key) {
            Some(v) => Some(*v),
            None => self.unknown_type.contains(key).then_some(None),
        }
    }
}

/// Keeps the answer's usable entities in `out` (names cleaned and bounded, types checked,
/// grounding checked, one per name), counting the others by reason.
fn keep_entities(raw: &[RawEntity], checks: &Checks, out: &mut Extraction) -> Names {
    let t = checks.taxonomy;
    let max_name = t.limits.max_name_chars as usize;
    let max_desc = t.limits.max_description_chars as usize;
    let ground = match checks.grounding {
        Grounding::Off => None,
        mode => checks.text.map(|g| (g, mode)),
    };
    let majority = majority_types(raw, t);
    let d = &mut out.drops;
    let mut names = Names::default();
    let mut key = String::new();
    for e in raw {
        let clean = clean_name_cow(e.name.get());
        if clean.is_empty() {
            d.empty_name += 1;
            continue;
        }
        let name = truncated(&clean, max_name);
        name_key_into(&mut key, name);
        let kind = type_key(e.kind.get());
        if let Some(prev) = names.by_name.get(key.as_str()) {
            match prev {
                Some(i) if out.entities[*i].kind == kind => d.repeated_entity += 1,
                Some(_) => d.conflicting_type += 1,
                None => d.repeated_entity += 1,
            }
            continue;
        }
        if !t.entity_types.iter().any(|x| x.name == kind) {
            d.unknown_entity_type += 1;
            names.unknown_type.insert(key.clone());
            continue;
        }
        if majority.get(key.as_str()).is_some_and(|m| *m != kind) {
            // A mention under a minority type: the mention of the majority type is kept.
            d.conflicting_type += 1;
            continue;
        }
        let mut ungrounded = false;
        if let Some((text, mode)) = ground {
            if !text.contains(name) {
                d.ungrounded += 1;
                if mode == Grounding::Drop {
                    names.by_name.insert(key.clone(), None);
                    continue;
                }
                ungrounded = true;
            }
        }
        names.by_name.insert(key.clone(), Some(out.entities.len()));
        out.entities.push(Entity {
            name: name.to_string(),
            kind,
            description: truncated(e.description.get().trim(), max_desc).to_string(),
            ungrounded,
        });
    }
    names
}

/// Each name's most frequent known type in the answer (ties: the first), for the names
/// that come with more than one.
fn majority_types(raw: &[RawEntity], t: &Taxonomy) -> FxHashMap<String, String> {
    let mut seen: FxHashMap<String, Vec<(String, u32)>> = FxHashMap::default();
    let mut key = String::new();
    for e in raw {
        let kind = type_key(e.kind.get());
        if !t.entity_types.iter().any(|x| x.name == kind) {
            continue;
        }
        let clean = clean_name_cow(e.name.get());
        let name = truncated(&clean, t.limits.max_name_chars as usize);
        name_key_into(&mut key, name);
        let kinds = seen.entry(key.clone()).or_default();
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((kind, 1)),
        }
    }
    seen.into_iter()
        .filter(|(_, kinds)| kinds.len() > 1)
        .map(|(k, kinds)| {
            let mut best = 0;
            for (i, (_, n)) in kinds.iter().enumerate() {
                if *n > kinds[best].1 {
                    best = i;
                }
            }
            (k, kinds[best].0.clone())
        })
        .collect()
}

/// Keeps the answer's relations between two distinct kept entities, of a type in the
/// taxonomy, once each; counts the others by reason.
fn keep_relations(raw: &[RawRelation], names: &Names, t: &Taxonomy, out: &mut Extraction) {
    let max_desc = t.limits.max_description_chars as usize;
    let d = &mut out.drops;
    let mut seen_rel = FxHashSet::default();
    let mut key = String::new();
    for r in raw {
        name_key_into(&mut key, r.source.get());
        let src = names.known(key.as_str());
        name_key_into(&mut key, r.target.get());
        let dst = names.known(key.as_str());
        let kind = type_key(r.kind.get());
        let (s, dd) = match (src, dst) {
            (Some(Some(s)), Some(Some(dd))) => (s, dd),
            (None, _) | (_, None) => {
                d.dangling_endpoint += 1;
                continue;
            }
            _ => {
                d.dropped_endpoint += 1;
                continue;
            }
        };
        if s == dd {
            d.self_loop += 1;
            continue;
        }
        let Some(rt) = t.relation_types.iter().find(|x| x.name == kind) else {
            d.unknown_relation_type += 1;
            continue;
        };
        if !rt.allows(End::Source, &out.entities[s].kind)
            || !rt.allows(End::Target, &out.entities[dd].kind)
        {
            d.signature += 1;
            continue;
        }
        if !seen_rel.insert((s, dd, kind.clone())) {
            d.repeated_relation += 1;
            continue;
        }
        out.relations.push(Relation {
            source: out.entities[s].name.clone(),
            target: out.entities[dd].name.clone(),
            kind,
            description: truncated(r.description.get().trim(), max_desc).to_string(),
            strength: strength(r.strength.0),
        });
    }
}

/// A relation's strength in 0..=1: 0.5 when absent or not a number, a 1-10 answer scaled.
fn strength(raw: Option<f64>) -> f64 {
    let mut strength = raw.unwrap_or(0.5);
    if !strength.is_finite() {
        strength = 0.5;
    } else if strength > 1.0 && strength <= 10.0 {
        // Some models answer on a 1-10 scale despite the schema.
        strength /= 10.0;
    }
    strength.clamp(0.0, 1.0)
}
