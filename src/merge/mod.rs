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
//!
//! The steps, one module each: `accumulate` (the corpus pass), `fold` (resolution),
//! `write` (the two files), with `ids` and `stats` shared by them.

mod accumulate;
mod fold;
mod ids;
pub mod outputs;
pub mod resolve;
mod stats;
mod write;

use std::path::Path;

use crate::outdir::journal::{Journal, JournalError, RecordRef};
use crate::outdir::manifest::Manifest;
use accumulate::{Accumulator, DoneView, Gathered, Source};

pub use accumulate::MAX_SOURCES;
pub use ids::{entity_id, relation_id, resolved_entity_id};
pub use stats::MergeStats;

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
    let Gathered {
        mut entities,
        mut relations,
        mut stats,
        acronyms,
    } = gather(manifest, journal, resolve)?;
    if resolve {
        let counts;
        (entities, relations, counts) = fold::resolve_entities(entities, relations, &acronyms);
        stats.resolution = Some(counts);
    }
    write::write_outputs(out, manifest, &entities, &relations).map_err(|source| {
        MergeError::Io {
            path: out.to_path_buf(),
            source,
        }
    })?;
    stats.count_written(
        entities.iter().map(|e| e.kind.as_str()),
        relations.iter().map(|r| r.kind.as_str()),
    );
    Ok(stats)
}

/// The corpus pass: every chunk of the manifest, in corpus order, read from the checkpoint
/// and added up.
fn gather(
    manifest: &Manifest,
    journal: &impl Records,
    resolve: bool,
) -> Result<Gathered, JournalError> {
    let mut acc = Accumulator::new(resolve);
    let mut buf = Vec::new();
    for (doc_no, doc) in manifest.docs.iter().enumerate() {
        for ch in &doc.chunks {
            let src = Source {
                doc: doc_no as u32,
                chunk: ch.index,
                section: ch.section,
            };
            journal.read_record(ch.record, &mut buf, |line| {
                let x = serde_json::from_slice::<DoneView>(line)?.x;
                acc.add_chunk(&x, src);
                Ok(())
            })?;
        }
    }
    Ok(acc.finish())
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

/// A journal error keeps its kind (`Checkpoint` or `Io`); writing the outputs is I/O on
/// `--out`. The message is the merge's.
impl From<MergeError> for crate::error::RunError {
    fn from(e: MergeError) -> Self {
        match e {
            MergeError::Journal(j) => j.into(),
            MergeError::Io {
                ref path,
                ref source,
            } => crate::error::RunError::io(path, source, &e),
        }
    }
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

    /// One chunk's answer: entities, and relations as (source, type, target).
    type Answer<'a> = (Vec<Entity>, Vec<(&'a str, &'a str, &'a str)>);

    /// Merges one document whose chunks answered `chunks`, with resolution on; returns the
    /// entities and relations written, and the stats.
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
