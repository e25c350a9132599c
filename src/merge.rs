//! Merge: the checkpointed extractions of the chunks that make up the corpus now, in corpus
//! order (document path, chunk index), into one entity per normalized (name, type) and one
//! relation per (source, target, type). The order is the corpus's, never the order in which
//! answers arrived, so an interrupted-and-resumed run writes byte-identical outputs to an
//! uninterrupted one. Ids are hashes of normalized name + type, stable across runs.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::journal::{Journal, JournalError, RecordRef};
use crate::parse::name_key;

/// The chunks of one document, as this run saw them.
#[derive(Debug, Clone)]
pub struct DocManifest {
    pub rel: Arc<str>,
    pub chunks: Vec<ChunkRef>,
}

/// 24 bytes a chunk: the manifest is the one structure that grows with the corpus.
#[derive(Debug, Clone, Copy)]
pub struct ChunkRef {
    pub index: u32,
    /// Into `Manifest::sections`.
    pub section: SectionId,
    /// The chunk's result in the checkpoint.
    pub record: RecordRef,
}

/// An interned section label; 0 is "none".
pub type SectionId = u32;

/// Section labels, each stored once.
#[derive(Debug, Default)]
pub struct Sections {
    list: Vec<Arc<str>>,
    index: HashMap<Arc<str>, SectionId>,
}

impl Sections {
    pub fn intern(&mut self, section: Option<&str>) -> SectionId {
        let Some(label) = section else { return 0 };
        if let Some(&id) = self.index.get(label) {
            return id;
        }
        let label: Arc<str> = Arc::from(label);
        self.list.push(label.clone());
        let id = self.list.len() as SectionId;
        self.index.insert(label, id);
        id
    }

    pub fn get(&self, id: SectionId) -> Option<&str> {
        id.checked_sub(1)
            .and_then(|i| self.list.get(i as usize))
            .map(|s| &**s)
    }
}

/// Every document's chunks in corpus order, and the section labels they point to.
#[derive(Debug, Default)]
pub struct Manifest {
    pub docs: Vec<DocManifest>,
    pub sections: Sections,
}

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
#[derive(Debug, Default)]
pub struct MergeStats {
    pub entities: u64,
    pub relations: u64,
    pub relation_types: BTreeMap<String, u64>,
    pub entity_types: BTreeMap<String, u64>,
    pub dropped: u64,
    pub empty_chunks: u64,
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
}

#[derive(Deserialize)]
struct EntityView<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    description: Cow<'a, str>,
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

/// Merges and writes `entities.jsonl` and `relations.jsonl` atomically into `out`.
pub fn merge_and_write(
    manifest: &Manifest,
    journal: &Journal,
    out: &Path,
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
    for (doc_no, doc) in manifest.docs.iter().enumerate() {
        for ch in &doc.chunks {
            journal.read_record(ch.record, &mut buf, |line| {
                let x = serde_json::from_slice::<DoneView>(line)?.x;
                if x.entities.is_empty() {
                    stats.empty_chunks += 1;
                }
                stats.dropped += u64::from(x.dropped);
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
    let io = |source| MergeError::Io {
        path: out.to_path_buf(),
        source,
    };
    crate::atomic::write_atomic(&out.join("entities.jsonl"), |w| {
        for e in &entities {
            write_line(
                w,
                &EntityOut {
                    id: &e.id,
                    name: &e.name,
                    kind: &e.kind,
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
    crate::atomic::write_atomic(&out.join("relations.jsonl"), |w| {
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
    use crate::journal::ChunkKey;
    use crate::parse::{Entity, Extraction, Relation};

    fn ent(n: &str, k: &str) -> Entity {
        Entity {
            name: n.into(),
            kind: k.into(),
            description: format!("{n} desc"),
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
        let stats = merge_and_write(&manifest, &j, dir.path()).unwrap();
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
}
