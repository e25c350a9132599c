//! `--relations two-pass` through batch files: two rounds, as a live run asks.
//!
//! ```text
//! batch export --relations two-pass   -> FILE: the entities requests (custom_id KEY)
//! batch import (entities results)     -> chunk with < 2 entities kept: journaled
//!                                     -> else: DIR/batch/pending.jsonl (its entities)
//!                                        + DIR/batch/relations.jsonl (KEY#relations)
//! batch import (relations results)    -> the chunk's entities + relations journaled,
//!                                        its pending line gone
//! ```
//!
//! `pending.jsonl` and `relations.jsonl` are rewritten whole (atomically) at the end of an
//! import, after the checkpoint is synced: a crash leaves the previous ones, and a chunk
//! both journaled and pending is dropped from the pending file when it is next read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files::{remove_if_there, request_line, ExportInfo, Shape, PENDING_FILE};
use crate::engine::ChatRequest;
use crate::error::RunError;
use crate::outdir::journal::{BaseIndex, ChunkKey};
use crate::parse::{Entity, Extraction};
use crate::prompt::Taxonomy;
use crate::run::extract::{relations_ask, RELATIONS_SEED};

/// What a relations request's custom_id adds to its chunk's key.
pub(super) const RELATIONS_ID: &str = "#relations";

/// The chunk a custom_id names, and whether it names the chunk's relations request.
pub(super) fn parse_id(id: &str) -> Option<(ChunkKey, bool)> {
    match id.strip_suffix(RELATIONS_ID) {
        Some(key) => ChunkKey::from_hex(key).map(|k| (k, true)),
        None => ChunkKey::from_hex(id).map(|k| (k, false)),
    }
}

/// A chunk whose entities are imported, waiting for its relations (one line of
/// `pending.jsonl`): the entities pass's extraction and tokens.
#[derive(Serialize, Deserialize)]
pub(super) struct Waiting {
    k: String,
    pub(super) pt: u64,
    pub(super) ct: u64,
    pub(super) x: Extraction,
}

impl Waiting {
    pub(super) fn new(key: ChunkKey, x: Extraction, pt: u64, ct: u64) -> Self {
        Waiting {
            k: key.hex(),
            pt,
            ct,
            x,
        }
    }
}

/// `DIR/batch/pending.jsonl`, read whole and written whole.
pub(super) struct Pending {
    path: PathBuf,
    pub(super) chunks: BTreeMap<ChunkKey, Waiting>,
    changed: bool,
}

impl Pending {
    /// Reads the waiting chunks, leaving out those the checkpoint has finished (an import
    /// that stopped between syncing the checkpoint and rewriting this file).
    pub(super) fn load(dir: &Path, done: &BaseIndex) -> anyhow::Result<Self> {
        let path = dir.join(PENDING_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                let msg = format!("cannot read {}: {e}", path.display());
                return Err(RunError::io(&path, &e, msg).into());
            }
        };
        let mut chunks = BTreeMap::new();
        let mut changed = false;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let w: Waiting = serde_json::from_str(line).map_err(|e| {
                RunError::checkpoint(format!(
                    "{}:{} is damaged ({e}): delete it and import the entities results again",
                    path.display(),
                    n + 1
                ))
            })?;
            let Some(key) = ChunkKey::from_hex(&w.k) else {
                return Err(RunError::checkpoint(format!(
                    "{}:{} names no chunk: delete it and import the entities results again",
                    path.display(),
                    n + 1
                ))
                .into());
            };
            if done.done(&key).is_some() {
                changed = true;
            } else {
                chunks.insert(key, w);
            }
        }
        Ok(Pending {
            path,
            chunks,
            changed,
        })
    }

    pub(super) fn insert(&mut self, key: ChunkKey, w: Waiting) {
        self.chunks.insert(key, w);
        self.changed = true;
    }

    pub(super) fn remove(&mut self, key: &ChunkKey) -> Option<Waiting> {
        let w = self.chunks.remove(key);
        self.changed |= w.is_some();
        w
    }

    /// Writes the file again when it changed (removed when no chunk waits).
    pub(super) fn save(&self) -> anyhow::Result<()> {
        if !self.changed {
            return Ok(());
        }
        if self.chunks.is_empty() {
            return remove_if_there(&self.path);
        }
        crate::outdir::atomic::write_atomic(&self.path, |w| {
            for c in self.chunks.values() {
                serde_json::to_writer(&mut *w, c).map_err(std::io::Error::other)?;
                w.write_all(b"\n")?;
            }
            Ok(())
        })
        .map_err(|e| {
            let msg = format!("cannot write {}: {e}", self.path.display());
            RunError::io(&self.path, &e, msg).into()
        })
    }
}

/// The chunk's relations request as a live two-pass run sends it after the entities pass
/// (same message, schema, seed and budget). None: no relation the taxonomy's signatures
/// allow between these entities (fewer than two, or not the types a signature needs): a
/// live run asks nothing either.
pub(super) fn relations_request(
    shape: &Shape,
    taxonomy: &Taxonomy,
    key: ChunkKey,
    text: &str,
    entities: &[Entity],
) -> Option<ChatRequest> {
    let (user, schema) = relations_ask(taxonomy, text, entities)?;
    Some(ChatRequest {
        system: shape.system.clone(),
        system_json: shape.system_json.clone(),
        user,
        schema,
        max_tokens: shape.max_tokens,
        max_tokens_ceiling: shape.max_tokens,
        seed: key.seed().wrapping_add(RELATIONS_SEED),
        request_id: format!("{}{RELATIONS_ID}", key.hex()),
        followup: None,
    })
}

/// The relations request of a waiting chunk as a batch line.
pub(super) fn relations_line(
    shape: &Shape,
    info: &ExportInfo,
    key: ChunkKey,
    text: &str,
    entities: &[Entity],
) -> anyhow::Result<Option<Vec<u8>>> {
    match relations_request(shape, &info.taxonomy, key, text, entities) {
        Some(req) => request_line(&info.model, &req).map(Some),
        None => Ok(None),
    }
}

/// The chunk's result once its relations are answered, as a live two-pass run journals it:
/// the entities pass's extraction, the relations pass's absorbed.
pub(super) fn finished(entities: Extraction, relations: Extraction) -> Extraction {
    let mut x = entities;
    x.absorb(relations);
    let mut total = Extraction::default();
    total.absorb(x);
    total
}

/// Checks a relations result's custom_id before anything is written: its chunk must be in
/// this export and its entities imported (waiting, or finished).
pub(super) fn check_relations_result(
    path: &Path,
    n: usize,
    info: &ExportInfo,
    out: &Path,
    key: ChunkKey,
    exported: bool,
    waiting_or_done: bool,
) -> Result<(), RunError> {
    if info.relations != crate::prompt::RelationsMode::TwoPass {
        return Err(RunError::usage(format!(
            "{}:{n} answers a relations request (custom_id {}{RELATIONS_ID}), but the batch in {} was exported with --relations joint: import it into the --out of its two-pass export",
            path.display(),
            key.hex(),
            out.display()
        )));
    }
    if !exported {
        return Err(RunError::usage(format!(
            "{}:{n} answers the relations request of chunk {}, which the batch exported into {} does not hold: its results belong to another export; import them into the --out they were exported from",
            path.display(),
            key.hex(),
            out.display()
        )));
    }
    if !waiting_or_done {
        return Err(RunError::usage(format!(
            "{}:{n} answers the relations request of chunk {}, whose entities are not imported into {}: import the entities results first (`aegis-ingest batch import ENTITIES_RESULTS --out {}`), then the results of the relations file it writes",
            path.display(),
            key.hex(),
            out.display(),
            out.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::engine::openai::chat_body;
    use crate::prompt::{default_prompts_root, pass_message, Pass, PromptSet};
    use crate::run::extract::{AnswerShape, Ask, Piece};
    use crate::run::producer::ChunkJob;

    fn entity(name: &str, kind: &str) -> Entity {
        Entity {
            name: name.into(),
            kind: kind.into(),
            description: String::new(),
            ungrounded: false,
        }
    }

    /// The batch requests of both passes are, byte for byte, the bodies a live two-pass run
    /// sends for the chunk (messages, schema, seed, budget).
    #[test]
    fn both_passes_send_the_live_runs_bodies() {
        let prompts = Arc::new(PromptSet::load_domain(&default_prompts_root(), "general").unwrap());
        let live = AnswerShape::new(prompts.clone(), 700).unwrap();
        let key = ChunkKey([7; 16]);
        let text = "Ada Lovelace worked for Acme in London.";
        let job = ChunkJob {
            doc: 0,
            rel: "a.md".into(),
            index: 0,
            key,
            text: text.into(),
            user: prompts.user_message(text, "a.md", None),
            section: None,
        };
        let piece = Piece {
            text: text.into(),
            user: Some(job.user.clone()),
            depth: 0,
        };
        let body = |r: &ChatRequest| chat_body("m", r).unwrap();
        let shape = Shape::new(&prompts.system, &prompts.entity_schema, 700).unwrap();
        let first = shape.request(key, pass_message(text, Pass::Entities));
        let want = live.request(&job, &piece, Ask::Entities).unwrap();
        assert_eq!(body(&first), body(&want));

        let ents = [
            entity("Ada Lovelace", "PERSON"),
            entity("Acme", "ORGANIZATION"),
        ];
        let got = relations_request(&shape, &prompts.taxonomy, key, text, &ents).unwrap();
        let want = live.request(&job, &piece, Ask::Relations(&ents)).unwrap();
        assert_eq!(body(&got), body(&want));
        assert_eq!(parse_id(&got.request_id), Some((key, true)));
        assert_eq!(parse_id(&key.hex()), Some((key, false)));
        // One entity: no request, as live.
        assert!(relations_request(&shape, &prompts.taxonomy, key, text, &ents[..1]).is_none());
        assert!(live
            .request(&job, &piece, Ask::Relations(&ents[..1]))
            .is_none());
    }
}
