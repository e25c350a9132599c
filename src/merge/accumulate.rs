//! The corpus pass of the merge: each chunk's checkpointed extraction, read in place, added
//! to one entry per (type, normalized name) and one per (source, target, type), with the
//! chunk's place as a source. Relations are matched to the entities of their own chunk (the
//! first type of a name wins there), as validation left them.

use std::borrow::Cow;

use rustc_hash::FxHashMap;
use serde::Deserialize;

use super::ids::entity_id;
use super::resolve;
use super::stats::MergeStats;
use crate::outdir::manifest::SectionId;
use crate::parse::name_key;

/// Sources listed per entity or relation (mentions keep counting past it).
pub const MAX_SOURCES: usize = 1000;
/// Distinct descriptions kept per entity or relation (`fragments` in the outputs; the
/// finishing step summarizes them). `description` joins the first `JOINED_DESCRIPTIONS`.
const MAX_DESCRIPTIONS: usize = 256;
pub(super) const JOINED_DESCRIPTIONS: usize = 4;

/// Provenance of a mention: 12 bytes (document and section by number), written out as
/// `{"doc", "chunk", "section"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Source {
    pub doc: u32,
    pub chunk: u32,
    pub section: SectionId,
}

pub(super) struct EntityAcc {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub other_types: Vec<String>,
    pub descriptions: Vec<String>,
    pub mentions: u64,
    pub sources: Vec<Source>,
}

pub(super) struct RelationAcc {
    /// Indexes into the entity list; ids are computed when written.
    pub source: u32,
    pub target: u32,
    pub kind: String,
    pub descriptions: Vec<String>,
    pub weight: f64,
    pub mentions: u64,
    pub sources: Vec<Source>,
}

pub(super) fn add_description(list: &mut Vec<String>, d: &str) {
    let d = d.trim();
    if !d.is_empty() && list.len() < MAX_DESCRIPTIONS && !list.iter().any(|x| x == d) {
        list.push(d.to_string());
    }
}

fn add_source(list: &mut Vec<Source>, s: Source) {
    if list.len() < MAX_SOURCES && list.last() != Some(&s) {
        list.push(s);
    }
}

/// Sorts a merged source list into corpus order, drops repeats, caps it.
pub(super) fn merge_sources(list: &mut Vec<Source>) {
    list.sort_by_key(|s| (s.doc, s.chunk));
    list.dedup();
    list.truncate(MAX_SOURCES);
}

/// A checkpointed extraction read in place: strings borrow from the record's bytes
/// unless they hold escapes.
#[derive(Deserialize)]
pub(super) struct DoneView<'a> {
    #[serde(borrow)]
    pub x: ExtractionView<'a>,
}

#[derive(Deserialize)]
pub(super) struct ExtractionView<'a> {
    #[serde(borrow)]
    entities: Vec<EntityView<'a>>,
    #[serde(borrow)]
    relations: Vec<RelationView<'a>>,
    #[serde(default)]
    dropped: u32,
    #[serde(default)]
    drops: crate::parse::Drops,
    #[serde(default)]
    partial: bool,
}

#[derive(Deserialize)]
struct EntityView<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    description: Cow<'a, str>,
    #[serde(default)]
    ungrounded: bool,
}

#[derive(Deserialize)]
struct RelationView<'a> {
    #[serde(borrow)]
    source: Cow<'a, str>,
    #[serde(borrow)]
    target: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    description: Cow<'a, str>,
    strength: f64,
}

/// What the corpus pass gathered.
pub(super) struct Gathered {
    pub entities: Vec<EntityAcc>,
    pub relations: Vec<RelationAcc>,
    pub stats: MergeStats,
    /// Acronyms defined in a chunk: resolved key of the acronym -> of its expansion (the
    /// first definition in corpus order wins). Empty when resolution is off.
    pub acronyms: FxHashMap<String, String>,
}

/// The merged entities and relations so far, and the indexes that find them.
pub(super) struct Accumulator {
    out: Gathered,
    /// Whether to note acronyms (for entity resolution).
    resolve: bool,
    /// "TYPE\x1fname key" -> index in `entities`.
    ent_index: FxHashMap<String, usize>,
    /// (source index, target index, type) -> index in `relations`.
    rel_index: FxHashMap<(usize, usize, String), usize>,
    /// name key -> entity index, for one chunk's relations (first type wins).
    local: FxHashMap<String, usize>,
    /// Reused buffer for `ent_index`'s keys.
    ent_key: String,
}

impl Accumulator {
    pub fn new(resolve: bool) -> Self {
        Accumulator {
            out: Gathered {
                entities: Vec::new(),
                relations: Vec::new(),
                stats: MergeStats::default(),
                acronyms: FxHashMap::default(),
            },
            resolve,
            ent_index: FxHashMap::default(),
            rel_index: FxHashMap::default(),
            local: FxHashMap::default(),
            ent_key: String::new(),
        }
    }

    /// Adds one chunk's extraction, found at `src`.
    pub fn add_chunk(&mut self, x: &ExtractionView<'_>, src: Source) {
        count_chunk(&mut self.out.stats, x);
        self.local.clear();
        for e in &x.entities {
            self.add_entity(e, src);
        }
        if self.resolve {
            note_acronyms(&x.entities, &mut self.out.acronyms);
        }
        for r in &x.relations {
            self.add_relation(r, src);
        }
    }

    pub fn finish(self) -> Gathered {
        self.out
    }

    fn add_entity(&mut self, e: &EntityView<'_>, src: Source) {
        let name_key = name_key(&e.name);
        self.ent_key.clear();
        self.ent_key.push_str(&e.kind);
        self.ent_key.push('\x1f');
        self.ent_key.push_str(&name_key);
        let entities = &mut self.out.entities;
        let i = match self.ent_index.get(self.ent_key.as_str()) {
            Some(&i) => i,
            None => {
                entities.push(EntityAcc {
                    id: entity_id(&e.name, &e.kind),
                    name: e.name.to_string(),
                    kind: e.kind.to_string(),
                    other_types: Vec::new(),
                    descriptions: Vec::new(),
                    mentions: 0,
                    sources: Vec::new(),
                });
                self.ent_index
                    .insert(self.ent_key.clone(), entities.len() - 1);
                entities.len() - 1
            }
        };
        self.local.entry(name_key).or_insert(i);
        let acc = &mut entities[i];
        acc.mentions += 1;
        add_description(&mut acc.descriptions, &e.description);
        add_source(&mut acc.sources, src);
    }

    /// Adds a relation between two entities of its chunk (one whose ends are not both
    /// among them is skipped).
    fn add_relation(&mut self, r: &RelationView<'_>, src: Source) {
        let (Some(&s), Some(&t)) = (
            self.local.get(&name_key(&r.source)),
            self.local.get(&name_key(&r.target)),
        ) else {
            return;
        };
        let relations = &mut self.out.relations;
        let slot = (s, t, r.kind.to_string());
        let i = match self.rel_index.get(&slot) {
            Some(&i) => i,
            None => {
                relations.push(RelationAcc {
                    source: s as u32,
                    target: t as u32,
                    kind: r.kind.to_string(),
                    descriptions: Vec::new(),
                    weight: 0.0,
                    mentions: 0,
                    sources: Vec::new(),
                });
                self.rel_index.insert(slot, relations.len() - 1);
                relations.len() - 1
            }
        };
        let acc = &mut relations[i];
        acc.mentions += 1;
        acc.weight += r.strength;
        add_description(&mut acc.descriptions, &r.description);
        add_source(&mut acc.sources, src);
    }
}

/// Counts what validation kept and dropped in one chunk's answer.
fn count_chunk(stats: &mut MergeStats, x: &ExtractionView<'_>) {
    if x.entities.is_empty() {
        stats.empty_chunks += 1;
    }
    stats.dropped += u64::from(x.dropped);
    let v = &mut stats.validation;
    v.answers += 1;
    v.entities += x.entities.len() as u64;
    v.relations += x.relations.len() as u64;
    v.flagged_ungrounded += x.entities.iter().filter(|e| e.ungrounded).count() as u64;
    v.partial += u64::from(x.partial);
    v.drops.add(&x.drops);
}

/// Records the acronyms one chunk defines: a name "Long Name (ABBR)", or an acronym and
/// a multi-word name whose initials it spells, both extracted from the chunk.
fn note_acronyms(entities: &[EntityView<'_>], acronyms: &mut FxHashMap<String, String>) {
    for e in entities {
        if let Some((long, abbr)) = resolve::defined_acronym(&e.name) {
            acronyms
                .entry(resolve::resolved_key(abbr))
                .or_insert_with(|| resolve::resolved_key(long));
        }
    }
    for a in entities.iter().filter(|e| resolve::is_acronym(&e.name)) {
        if let Some(long) = entities
            .iter()
            .find(|e| resolve::acronym_of(&a.name, &e.name))
        {
            acronyms
                .entry(resolve::resolved_key(&a.name))
                .or_insert_with(|| resolve::resolved_key(&long.name));
        }
    }
}
