//! The merge's outputs: `entities.jsonl` and `relations.jsonl`, one JSON object a line, each
//! written atomically. Sources are kept by number while merging and get their document and
//! section names from the manifest only here.

use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::accumulate::{EntityAcc, RelationAcc, Source, JOINED_DESCRIPTIONS};
use super::ids::relation_id;
use crate::outdir::atomic::write_atomic;
use crate::outdir::manifest::Manifest;

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
    /// Every distinct description, when there are more than `description` joins.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    fragments: &'a [String],
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
    /// Every distinct description, when there are more than `description` joins.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    fragments: &'a [String],
    weight: f64,
    mentions: u64,
    sources: SourcesOut<'a>,
}

/// Writes both outputs into `out`, entities first.
pub(super) fn write_outputs(
    out: &Path,
    manifest: &Manifest,
    entities: &[EntityAcc],
    relations: &[RelationAcc],
) -> std::io::Result<()> {
    write_atomic(&out.join("entities.jsonl"), |w| {
        write_entities(w, manifest, entities)
    })?;
    write_atomic(&out.join("relations.jsonl"), |w| {
        write_relations(w, manifest, entities, relations)
    })
}

fn write_entities(
    w: &mut dyn Write,
    manifest: &Manifest,
    entities: &[EntityAcc],
) -> std::io::Result<()> {
    for e in entities {
        write_line(
            w,
            &EntityOut {
                id: &e.id,
                name: &e.name,
                kind: &e.kind,
                other_types: &e.other_types,
                description: joined(&e.descriptions),
                fragments: beyond_joined(&e.descriptions),
                mentions: e.mentions,
                sources: SourcesOut {
                    list: &e.sources,
                    manifest,
                },
            },
        )?;
    }
    Ok(())
}

/// Relations with their ends' ids, and the weight rounded to 3 decimals.
fn write_relations(
    w: &mut dyn Write,
    manifest: &Manifest,
    entities: &[EntityAcc],
    relations: &[RelationAcc],
) -> std::io::Result<()> {
    for r in relations {
        let source = &entities[r.source as usize].id;
        let target = &entities[r.target as usize].id;
        write_line(
            w,
            &RelationOut {
                id: &relation_id(source, &r.kind, target),
                source,
                target,
                kind: &r.kind,
                description: joined(&r.descriptions),
                fragments: beyond_joined(&r.descriptions),
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
}

/// `description`: the first distinct descriptions, joined with spaces.
fn joined(list: &[String]) -> String {
    list[..list.len().min(JOINED_DESCRIPTIONS)].join(" ")
}

/// `fragments`: all of them, when `description` does not hold them all.
fn beyond_joined(list: &[String]) -> &[String] {
    if list.len() > JOINED_DESCRIPTIONS {
        list
    } else {
        &[]
    }
}

fn write_line(w: &mut dyn Write, v: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, v).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_joins_the_first_four_and_fragments_keep_all_beyond() {
        let list: Vec<String> = (0..6).map(|i| format!("d{i}")).collect();
        assert_eq!(joined(&list), "d0 d1 d2 d3");
        assert_eq!(beyond_joined(&list).len(), 6);
        assert!(beyond_joined(&list[..4]).is_empty());
    }
}
