//! Merge: the checkpointed extractions of the chunks that make up the corpus now, in corpus
//! order (document path, chunk index), into one entity per normalized (name, type) and one
//! relation per (source, target, type). The order is the corpus's, never the order in which
//! answers arrived, so an interrupted-and-resumed run writes byte-identical outputs to an
//! uninterrupted one.
//!
//! Entity resolution (on by default, `--no-resolve` turns it off) then folds the entities
//! whose names resolve to the same key (see `resolve`: Unicode, punctuation, possessives,
//! articles, legal-form suffixes, acronyms defined in a chunk) and the same name under
//! several types into one entity each, and re-points the relations. It runs once, after
//! the corpus pass, over the merged entities (one entry per distinct (name, type), not per
//! mention), so it adds nothing per chunk but an acronym check of each name.
//!
//! Ids are stable across runs: with resolution, a hash of the resolved name; without, a
//! hash of normalized name + type.

pub mod outputs;
pub mod resolve;

use crate::outdir::report::ValidationTotals;
use std::borrow::Cow;
use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::outdir::journal::{Journal, JournalError, RecordRef};
use crate::outdir::manifest::{Manifest, SectionId};
use crate::parse::name_key;

/// Provenance of a mention: 12 bytes (document and section by number), written out as
/// `{"doc", "chunk", "section"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Source {
    doc: u32,
    chunk: u32,
    section: SectionId,
}

#[derive(Serialize)]
struct SourceOut<'a> {
    doc: &'a str,
    chunk: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    section: Option<&'a str>,
}

/// A source list as JSON, names looked up in the manifest.
struct SourcesOut<'a> {
    list: &'a [Source],
    manifest: &'a Manifest,
}

impl Serialize for SourcesOut<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = ser.serialize_seq(Some(self.list.len()))?;
        for s in self.list {
            seq.serialize_element(&SourceOut {
                doc: self
                    .manifest
                    .docs
                    .get(s.doc as usize)
                    .map_or("", |d| &*d.rel),
                chunk: s.chunk,
                section: self.manifest.sections.get(s.section),
            })?;
        }
        seq.end()
    }
}

/// Sources listed per entity or relation (mentions keep counting past it).
pub const MAX_SOURCES: usize = 1000;
/// Distinct descriptions kept per entity or relation.
const MAX_DESCRIPTIONS: usize = 4;

#[derive(Serialize)]
struct EntityOut<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    /// Other types the resolved entity was extracted under (only when there are some).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    other_types: &'a [String],
    description: String,
    mentions: u64,
    sources: SourcesOut<'a>,
}

#[derive(Serialize)]
struct RelationOut<'a> {
    id: &'a str,
    source: &'a str,
    target: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    description: String,
    weight: f64,
    mentions: u64,
    sources: SourcesOut<'a>,
}

struct EntityAcc {
    id: String,
    name: String,
    kind: String,
    other_types: Vec<String>,
    descriptions: Vec<String>,
    mentions: u64,
    sources: Vec<Source>,
}

struct RelationAcc {
    /// Indexes into the entity list; ids are computed when written.
    source: u32,
    target: u32,
    kind: String,
    descriptions: Vec<String>,
    weight: f64,
    mentions: u64,
    sources: Vec<Source>,
}

/// What the merge produced, for the report.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct MergeStats {
    pub entities: u64,
    pub relations: u64,
    pub relation_types: BTreeMap<String, u64>,
    pub entity_types: BTreeMap<String, u64>,
    pub dropped: u64,
    pub empty_chunks: u64,
    /// What validation kept and dropped, over every chunk the outputs hold (resumed ones
    /// too: the counts travel with each checkpoint record).
    pub validation: ValidationTotals,
    /// Entities folded into another by each resolution rule (None: resolution off).
    pub resolution: Option<BTreeMap<String, u64>>,
}

fn short_hash(parts: &[&str]) -> String {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0x1f]);
    }
    h.finalize().to_hex()[..16].to_string()
}

/// Stable entity id from normalized name and type.
pub fn entity_id(name: &str, kind: &str) -> String {
    format!("ent_{}", short_hash(&[&name_key(name), kind]))
}

/// Stable entity id of a resolved entity: from its resolved key alone (its type may be
/// one of several).
pub fn resolved_entity_id(resolved_key: &str) -> String {
    format!("ent_{}", short_hash(&[resolved_key]))
}

/// Stable relation id from its endpoints and type.
pub fn relation_id(source_id: &str, kind: &str, target_id: &str) -> String {
    format!("rel_{}", short_hash(&[source_id, kind, target_id]))
}

fn add_description(list: &mut Vec<String>, d: &str) {
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

/// A checkpointed extraction read in place: strings borrow from the record's bytes
/// unless they hold escapes.
#[derive(Deserialize)]
struct DoneView<'a> {
    #[serde(borrow)]
    x: ExtractionView<'a>,
}

#[derive(Deserialize)]
struct ExtractionView<'a> {
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

/// Merges (with entity resolution) and writes `entities.jsonl` and `relations.jsonl`
/// atomically into `out`.
pub fn merge_and_write(
    manifest: &Manifest,
    journal: &Journal,
    out: &Path,
) -> Result<MergeStats, MergeError> {
    merge_and_write_with(manifest, journal, out, true)
}

/// Where the merge reads results: one run's checkpoint, or the checkpoints of several
/// shards (`crate::commands::merge`).
pub trait Records {
    fn read_record<R>(
        &self,
        at: RecordRef,
        buf: &mut Vec<u8>,
        f: impl FnOnce(&[u8]) -> Result<R, serde_json::Error>,
    ) -> Result<Option<R>, JournalError>;
}

impl Records for Journal {
    fn read_record<R>(
        &self,
        at: RecordRef,
        buf: &mut Vec<u8>,
        f: impl FnOnce(&[u8]) -> Result<R, serde_json::Error>,
    ) -> Result<Option<R>, JournalError> {
        Journal::read_record(self, at, buf, f)
    }
}

/// `merge_and_write`, with entity resolution on or off (`--no-resolve`).
pub fn merge_and_write_with(
    manifest: &Manifest,
    journal: &impl Records,
    out: &Path,
    resolve: bool,
) -> Result<MergeStats, MergeError> {
    let mut entities: Vec<EntityAcc> = Vec::new();
    // "TYPE\x1fname key" -> index in `entities`.
    let mut ent_index: FxHashMap<String, usize> = FxHashMap::default();
    let mut relations: Vec<RelationAcc> = Vec::new();
    // (source index, target index, type) -> index in `relations`.
    let mut rel_index: FxHashMap<(usize, usize, String), usize> = FxHashMap::default();
    let mut stats = MergeStats::default();
    let mut buf = Vec::new();
    // name key -> entity index, for one chunk's relations (first type wins).
    let mut local: FxHashMap<String, usize> = FxHashMap::default();
    let mut ent_key = String::new();
    // Acronyms defined in a chunk: resolved key of the acronym -> of its expansion (the
    // first definition in corpus order wins).
    let mut acronyms: FxHashMap<String, String> = FxHashMap::default();
    for (doc_no, doc) in manifest.docs.iter().enumerate() {
        for ch in &doc.chunks {
            journal.read_record(ch.record, &mut buf, |line| {
                let x = serde_json::from_slice::<DoneView>(line)?.x;
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
                let src = Source {
                    doc: doc_no as u32,
                    chunk: ch.index,
                    section: ch.section,
                };
                local.clear();
                for e in &x.entities {
                    let name_key = name_key(&e.name);
                    ent_key.clear();
                    ent_key.push_str(&e.kind);
                    ent_key.push('\x1f');
                    ent_key.push_str(&name_key);
                    let i = match ent_index.get(ent_key.as_str()) {
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
                            ent_index.insert(ent_key.clone(), entities.len() - 1);
                            entities.len() - 1
                        }
                    };
                    local.entry(name_key).or_insert(i);
                    let acc = &mut entities[i];
                    acc.mentions += 1;
                    add_description(&mut acc.descriptions, &e.description);
                    add_source(&mut acc.sources, src);
                }
                if resolve {
                    note_acronyms(&x.entities, &mut acronyms);
                }
                for r in &x.relations {
                    let (Some(&s), Some(&t)) = (
                        local.get(&name_key(&r.source)),
                        local.get(&name_key(&r.target)),
                    ) else {
                        continue;
                    };
                    let slot = (s, t, r.kind.to_string());
                    let i = match rel_index.get(&slot) {
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
                            rel_index.insert(slot, relations.len() - 1);
                            relations.len() - 1
                        }
                    };
                    let acc = &mut relations[i];
                    acc.mentions += 1;
                    acc.weight += r.strength;
                    add_description(&mut acc.descriptions, &r.description);
                    add_source(&mut acc.sources, src);
                }
                Ok(())
            })?;
        }
    }
    if resolve {
        let counts;
        (entities, relations, counts) = resolve_entities(entities, relations, &acronyms);
        stats.resolution = Some(counts);
    }
    let io = |source| MergeError::Io {
        path: out.to_path_buf(),
        source,
    };
    crate::outdir::atomic::write_atomic(&out.join("entities.jsonl"), |w| {
        for e in &entities {
            write_line(
                w,
                &EntityOut {
                    id: &e.id,
                    name: &e.name,
                    kind: &e.kind,
                    other_types: &e.other_types,
                    description: e.descriptions.join(" "),
                    mentions: e.mentions,
                    sources: SourcesOut {
                        list: &e.sources,
                        manifest,
                    },
                },
            )?;
        }
        Ok(())
    })
    .map_err(io)?;
    crate::outdir::atomic::write_atomic(&out.join("relations.jsonl"), |w| {
        for r in &relations {
            let source = &entities[r.source as usize].id;
            let target = &entities[r.target as usize].id;
            write_line(
                w,
                &RelationOut {
                    id: &relation_id(source, &r.kind, target),
                    source,
                    target,
                    kind: &r.kind,
                    description: r.descriptions.join(" "),
                    weight: (r.weight * 1000.0).round() / 1000.0,
                    mentions: r.mentions,
                    sources: SourcesOut {
                        list: &r.sources,
                        manifest,
                    },
                },
            )?;
        }
        Ok(())
    })
    .map_err(io)?;
    stats.entities = entities.len() as u64;
    stats.relations = relations.len() as u64;
    for e in &entities {
        *stats.entity_types.entry(e.kind.clone()).or_default() += 1;
    }
    for r in &relations {
        *stats.relation_types.entry(r.kind.clone()).or_default() += 1;
    }
    Ok(stats)
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

/// The name an entity resolves by: the expansion of "Long Name (ABBR)", else the name.
fn resolution_base(name: &str) -> &str {
    resolve::defined_acronym(name).map_or(name, |(long, _)| long)
}

/// Sorts a merged source list into corpus order, drops repeats, caps it.
fn merge_sources(list: &mut Vec<Source>) {
    list.sort_by_key(|s| (s.doc, s.chunk));
    list.dedup();
    list.truncate(MAX_SOURCES);
}

/// Folds entities with the same resolved key into one (most frequent type by mentions,
/// ties to the first in corpus order; other types kept), re-points relations, and counts
/// what each rule folded.
fn resolve_entities(
    entities: Vec<EntityAcc>,
    relations: Vec<RelationAcc>,
    acronyms: &FxHashMap<String, String>,
) -> (Vec<EntityAcc>, Vec<RelationAcc>, BTreeMap<String, u64>) {
    let mut counts: BTreeMap<String, u64> = resolve::RULES
        .iter()
        .chain([&resolve::TYPE_RULE])
        .map(|r| (r.to_string(), 0))
        .collect();
    // Entity index -> group; groups in order of their first member (corpus order).
    let mut group_of: Vec<u32> = Vec::with_capacity(entities.len());
    let mut group_keys: Vec<String> = Vec::new();
    let mut members: Vec<Vec<u32>> = Vec::new();
    {
        let mut by_key: FxHashMap<String, u32> = FxHashMap::default();
        for (i, e) in entities.iter().enumerate() {
            let mut key = resolve::resolved_key(resolution_base(&e.name));
            if let Some(long) = acronyms.get(&key) {
                key.clone_from(long);
            }
            let g = *by_key.entry(key).or_insert_with_key(|k| {
                group_keys.push(k.clone());
                members.push(Vec::new());
                (members.len() - 1) as u32
            });
            group_of.push(g);
            members[g as usize].push(i as u32);
        }
    }
    if members.len() == entities.len() {
        // Nothing folds: ids from the resolved key, everything else as it is.
        let entities = entities
            .into_iter()
            .zip(group_keys)
            .map(|(mut e, k)| {
                e.id = resolved_entity_id(&k);
                e
            })
            .collect();
        return (entities, relations, counts);
    }
    // Credit each folded entity to the first rule that makes its name equal to the
    // group's first member's.
    for m in &members {
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
    let mut slots: Vec<Option<EntityAcc>> = entities.into_iter().map(Some).collect();
    let mut merged: Vec<EntityAcc> = Vec::with_capacity(members.len());
    for (m, key) in members.iter().zip(&group_keys) {
        let mut group: Vec<EntityAcc> =
            m.iter().filter_map(|&i| slots[i as usize].take()).collect();
        // Types by mentions; ties to the first in corpus order.
        let mut types: Vec<(String, u64)> = Vec::new();
        for e in &group {
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
        let other_types: Vec<String> = types
            .into_iter()
            .map(|(t, _)| t)
            .filter(|t| *t != kind)
            .collect();
        // The display name: the most mentioned name under that type (ties: first).
        let mut rep = 0;
        for (i, e) in group.iter().enumerate() {
            if e.kind == kind && (group[rep].kind != kind || e.mentions > group[rep].mentions) {
                rep = i;
            }
        }
        let name = std::mem::take(&mut group[rep].name);
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
        if m.len() > 1 {
            merge_sources(&mut acc.sources);
        }
        merged.push(acc);
    }
    // Relations between the resolved entities, (source, target, type) once each. A
    // relation whose two ends resolve to one entity is dropped (counted).
    let mut out: Vec<RelationAcc> = Vec::new();
    let mut index: FxHashMap<(u32, u32, String), usize> = FxHashMap::default();
    let mut loops = 0u64;
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
    counts.insert("self_relations_dropped".into(), loops);
    (merged, out, counts)
}

fn write_line(w: &mut dyn Write, v: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, v).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("cannot write outputs in {path}: {source}; make room or fix permissions, then rerun: the checkpoint keeps every finished chunk")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::EngineKind;
    use crate::outdir::journal::ChunkKey;
    use crate::outdir::manifest::{ChunkRef, DocManifest, Sections};
    use crate::parse::{Entity, Extraction, Relation};

    fn ent(n: &str, k: &str) -> Entity {
        Entity {
            name: n.into(),
            kind: k.into(),
            description: format!("{n} desc"),
            ungrounded: false,
        }
    }

    #[test]
    fn merges_by_normalized_name_and_type_with_provenance() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let k1 = ChunkKey([1; 16]);
        let k2 = ChunkKey([2; 16]);
        let x1 = Extraction {
            entities: vec![ent("Alice Smith", "PERSON"), ent("Acme", "ORGANIZATION")],
            relations: vec![Relation {
                source: "Alice Smith".into(),
                target: "Acme".into(),
                kind: "WORKS_FOR".into(),
                description: "works".into(),
                strength: 0.5,
            }],
            dropped: 0,
            ..Default::default()
        };
        let x2 = Extraction {
            entities: vec![
                ent("alice  smith", "PERSON"),
                ent("ACME", "ORGANIZATION"),
                ent("Acme", "PRODUCT"),
            ],
            relations: vec![Relation {
                source: "alice smith".into(),
                target: "acme".into(),
                kind: "WORKS_FOR".into(),
                description: "works".into(),
                strength: 1.0,
            }],
            dropped: 2,
            ..Default::default()
        };
        let r1 = j.record_done(k1, EngineKind::Vllm, "m", 0, 0, &x1).unwrap();
        let r2 = j.record_done(k2, EngineKind::Vllm, "m", 0, 0, &x2).unwrap();
        let mut sections = Sections::default();
        let intro = sections.intern(Some("Intro"));
        assert_eq!(sections.intern(Some("Intro")), intro);
        assert_eq!(sections.intern(None), 0);
        let manifest = Manifest {
            docs: vec![
                DocManifest {
                    rel: "a.md".into(),
                    chunks: vec![ChunkRef {
                        index: 0,
                        record: r1,
                        section: 0,
                    }],
                },
                DocManifest {
                    rel: "b.md".into(),
                    chunks: vec![ChunkRef {
                        index: 3,
                        record: r2,
                        section: intro,
                    }],
                },
            ],
            sections,
        };
        let stats = merge_and_write_with(&manifest, &j, dir.path(), false).unwrap();
        assert!(stats.resolution.is_none());
        assert_eq!(stats.entities, 3);
        assert_eq!(stats.relations, 1);
        assert_eq!(stats.dropped, 2);
        let lines: Vec<serde_json::Value> =
            std::fs::read_to_string(dir.path().join("entities.jsonl"))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
        let alice = &lines[0];
        assert_eq!(alice["name"], "Alice Smith");
        assert_eq!(alice["mentions"], 2);
        assert_eq!(alice["id"], entity_id("ALICE SMITH", "PERSON"));
        assert_eq!(alice["sources"][1]["doc"], "b.md");
        assert_eq!(alice["sources"][1]["chunk"], 3);
        assert_eq!(alice["sources"][1]["section"], "Intro");
        assert!(alice["sources"][0].get("section").is_none());
        let rel: serde_json::Value = serde_json::from_str(
            std::fs::read_to_string(dir.path().join("relations.jsonl"))
                .unwrap()
                .trim(),
        )
        .unwrap();
        assert_eq!(rel["source"], alice["id"]);
        assert_eq!(rel["mentions"], 2);
        assert_eq!(rel["weight"], 1.5);
    }

    /// Merges one document whose chunks answered `chunks`, with resolution on; returns the
    /// entities and relations written, and the stats.
    /// One chunk's answer: entities, and relations as (source, type, target).
    type Answer<'a> = (Vec<Entity>, Vec<(&'a str, &'a str, &'a str)>);

    fn resolved(
        chunks: &[Answer<'_>],
    ) -> (Vec<serde_json::Value>, Vec<serde_json::Value>, MergeStats) {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let mut refs = Vec::new();
        for (i, (ents, rels)) in chunks.iter().enumerate() {
            let x = Extraction {
                entities: ents.clone(),
                relations: rels
                    .iter()
                    .map(|(s, k, t)| Relation {
                        source: s.to_string(),
                        target: t.to_string(),
                        kind: k.to_string(),
                        description: String::new(),
                        strength: 0.5,
                    })
                    .collect(),
                ..Extraction::default()
            };
            let rec = j
                .record_done(ChunkKey([i as u8 + 1; 16]), EngineKind::Vllm, "m", 0, 0, &x)
                .unwrap();
            refs.push(ChunkRef {
                index: i as u32,
                record: rec,
                section: 0,
            });
        }
        let manifest = Manifest {
            docs: vec![DocManifest {
                rel: "d.md".into(),
                chunks: refs,
            }],
            sections: Sections::default(),
        };
        let stats = merge_and_write(&manifest, &j, dir.path()).unwrap();
        let read = |f: &str| -> Vec<serde_json::Value> {
            std::fs::read_to_string(dir.path().join(f))
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        };
        (read("entities.jsonl"), read("relations.jsonl"), stats)
    }

    fn names(ents: &[serde_json::Value]) -> Vec<&str> {
        ents.iter().map(|e| e["name"].as_str().unwrap()).collect()
    }

    fn folded(stats: &MergeStats, rule: &str) -> u64 {
        stats.resolution.as_ref().unwrap()[rule]
    }

    #[test]
    fn resolution_case_folding_and_nfkc() {
        let (ents, _, st) = resolved(&[
            (vec![ent("Straße Labs", "ORGANIZATION")], vec![]),
            (vec![ent("STRASSE LABS", "ORGANIZATION")], vec![]),
            (
                vec![ent("ＡＣＭＥ", "ORGANIZATION"), ent("Acme", "ORGANIZATION")],
                vec![],
            ),
        ]);
        assert_eq!(names(&ents), ["Straße Labs", "ＡＣＭＥ"]);
        assert_eq!(ents[0]["mentions"], 2);
        assert_eq!(folded(&st, "case_folded"), 2);
        assert_eq!(st.entities, 2);
    }

    #[test]
    fn resolution_quotes_dashes_whitespace() {
        let (ents, _, st) = resolved(&[(
            vec![
                ent("O’Neil Labs", "ORGANIZATION"),
                ent("O'Neil Labs", "ORGANIZATION"),
                ent("Hewlett–Packard", "ORGANIZATION"),
                ent("Hewlett-Packard", "ORGANIZATION"),
            ],
            vec![],
        )]);
        assert_eq!(names(&ents), ["O’Neil Labs", "Hewlett–Packard"]);
        assert_eq!(folded(&st, "punctuation"), 2);
    }

    #[test]
    fn resolution_possessive() {
        let (ents, _, st) = resolved(&[
            (vec![ent("Acme", "ORGANIZATION")], vec![]),
            (vec![ent("Acme's", "ORGANIZATION")], vec![]),
        ]);
        assert_eq!(names(&ents), ["Acme"]);
        assert_eq!(folded(&st, "possessive"), 1);
    }

    #[test]
    fn resolution_leading_article() {
        let (ents, _, st) = resolved(&[
            (vec![ent("The Guardian", "ORGANIZATION")], vec![]),
            (vec![ent("Guardian", "ORGANIZATION")], vec![]),
            (vec![ent("The", "CONCEPT")], vec![]),
        ]);
        assert_eq!(names(&ents), ["The Guardian", "The"]);
        assert_eq!(folded(&st, "leading_article"), 1);
    }

    #[test]
    fn resolution_legal_suffix() {
        let (ents, _, st) = resolved(&[
            (vec![ent("Acme Inc.", "ORGANIZATION")], vec![]),
            (vec![ent("Acme", "ORGANIZATION")], vec![]),
            (vec![ent("Acme GmbH", "ORGANIZATION")], vec![]),
            (vec![ent("Acme, Ltd", "ORGANIZATION")], vec![]),
        ]);
        assert_eq!(ents.len(), 1);
        assert_eq!(ents[0]["name"], "Acme Inc.");
        assert_eq!(ents[0]["mentions"], 4);
        assert_eq!(folded(&st, "legal_suffix"), 3);
    }

    #[test]
    fn resolution_acronym_defined_by_initials_in_a_chunk() {
        let long = "National Aeronautics and Space Administration";
        let (ents, rels, st) = resolved(&[
            (
                vec![ent(long, "ORGANIZATION"), ent("NASA", "ORGANIZATION")],
                vec![],
            ),
            (
                vec![ent("NASA", "ORGANIZATION"), ent("Artemis", "EVENT")],
                vec![("NASA", "FUNDS", "Artemis")],
            ),
        ]);
        assert_eq!(
            names(&ents),
            ["NASA", "Artemis"],
            "most mentioned name shown"
        );
        assert_eq!(
            ents[0]["id"],
            resolved_entity_id(&resolve::resolved_key(long))
        );
        assert_eq!(folded(&st, "acronym"), 1);
        assert_eq!(rels[0]["source"], ents[0]["id"]);
        // An acronym with no expansion in its chunk stays as it is.
        let (ents, _, st) = resolved(&[
            (vec![ent(long, "ORGANIZATION")], vec![]),
            (vec![ent("NASA", "ORGANIZATION")], vec![]),
        ]);
        assert_eq!(ents.len(), 2);
        assert_eq!(folded(&st, "acronym"), 0);
    }

    #[test]
    fn resolution_acronym_defined_in_the_name() {
        let (ents, _, st) = resolved(&[
            (
                vec![ent("General Data Protection Regulation (GDPR)", "DOCUMENT")],
                vec![],
            ),
            (vec![ent("GDPR", "DOCUMENT")], vec![]),
            (
                vec![ent("General Data Protection Regulation", "DOCUMENT")],
                vec![],
            ),
        ]);
        assert_eq!(ents.len(), 1, "{ents:?}");
        assert_eq!(ents[0]["mentions"], 3);
        assert_eq!(folded(&st, "acronym"), 2);
    }

    #[test]
    fn resolution_one_type_per_name_most_frequent_wins() {
        let (ents, rels, st) = resolved(&[
            (vec![ent("Mercury", "PRODUCT")], vec![]),
            (
                vec![ent("Mercury", "TECHNOLOGY"), ent("Ada", "PERSON")],
                vec![("Ada", "USES", "Mercury")],
            ),
            (
                vec![ent("mercury", "TECHNOLOGY"), ent("Ada", "PERSON")],
                vec![("Ada", "USES", "mercury")],
            ),
        ]);
        assert_eq!(ents.len(), 2);
        assert_eq!(ents[0]["type"], "TECHNOLOGY");
        assert_eq!(ents[0]["other_types"], serde_json::json!(["PRODUCT"]));
        assert_eq!(ents[0]["name"], "Mercury");
        assert_eq!(ents[0]["mentions"], 3);
        assert!(ents[1].get("other_types").is_none());
        assert_eq!(folded(&st, "type_merged"), 1);
        assert_eq!(rels.len(), 1);
        assert_eq!(rels[0]["mentions"], 2);
        assert_eq!(rels[0]["target"], ents[0]["id"]);
        // Ties: the first type in corpus order.
        let (ents, _, _) = resolved(&[
            (vec![ent("Mercury", "PRODUCT")], vec![]),
            (vec![ent("Mercury", "TECHNOLOGY")], vec![]),
        ]);
        assert_eq!(ents[0]["type"], "PRODUCT");
        assert_eq!(ents[0]["other_types"], serde_json::json!(["TECHNOLOGY"]));
    }

    #[test]
    fn resolution_repoints_relations_and_drops_loops() {
        let (ents, rels, st) = resolved(&[
            (
                vec![ent("Acme Inc.", "ORGANIZATION"), ent("Berlin", "LOCATION")],
                vec![("Acme Inc.", "LOCATED_IN", "Berlin")],
            ),
            (
                vec![
                    ent("Acme", "ORGANIZATION"),
                    ent("Berlin", "LOCATION"),
                    ent("ACME Corp.", "ORGANIZATION"),
                ],
                vec![
                    ("Acme", "LOCATED_IN", "Berlin"),
                    ("Acme", "OWNS", "ACME Corp."),
                ],
            ),
        ]);
        assert_eq!(ents.len(), 2);
        assert_eq!(rels.len(), 1, "{rels:?}");
        assert_eq!(rels[0]["mentions"], 2);
        assert_eq!(rels[0]["weight"], 1.0);
        assert_eq!(rels[0]["sources"].as_array().unwrap().len(), 2);
        assert_eq!(folded(&st, "self_relations_dropped"), 1);
    }

    #[test]
    fn resolved_ids_are_stable_and_type_free() {
        let (a, _, _) = resolved(&[(vec![ent("Acme Inc.", "ORGANIZATION")], vec![])]);
        let (b, _, _) = resolved(&[(vec![ent("acme", "PRODUCT")], vec![])]);
        assert_eq!(a[0]["id"], b[0]["id"]);
        assert_eq!(a[0]["id"], resolved_entity_id("acme"));
    }
}
