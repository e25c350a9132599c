//! What an export leaves for its import in `DIR/batch` (`export.json`, `chunks.jsonl`) and
//! the request lines both write: one definition for the two sides.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::engine::openai::chat_body;
use crate::engine::ChatRequest;
use crate::outdir::journal::ChunkKey;
use crate::parse::Grounding;
use crate::prompt::{RelationsMode, Taxonomy};

/// The folder in `--out` that holds what an export leaves for its import.
pub const DIR_NAME: &str = "batch";
pub(super) const EXPORT_FILE: &str = "export.json";
pub(super) const CHUNKS_FILE: &str = "chunks.jsonl";
pub(super) const RETRY_FILE: &str = "retry.jsonl";
/// `--relations two-pass`: the chunks whose entities are imported, waiting for their
/// relations (`DIR/batch/pending.jsonl`).
pub(super) const PENDING_FILE: &str = "pending.jsonl";
/// `--relations two-pass`: the relations requests of the waiting chunks, the second batch.
pub(super) const RELATIONS_FILE: &str = "relations.jsonl";
pub(super) const SCHEMA_VERSION: u32 = 1;
/// The endpoint every request line names.
pub(super) const CHAT_URL: &str = "/v1/chat/completions";

/// What an export used, written last (`DIR/batch/export.json`): import validates against it.
#[derive(Serialize, Deserialize)]
pub(super) struct ExportInfo {
    pub(super) schema_version: u32,
    /// The model every request names (`body.model`); results from another are refused.
    pub(super) model: String,
    pub(super) context_length: Option<u32>,
    pub(super) prompt_fingerprint: String,
    pub(super) chunk_tokens: usize,
    pub(super) chunk_overlap: usize,
    pub(super) max_output_tokens: u32,
    pub(super) grounding: Grounding,
    /// `--relations`: joint (one request a chunk), or two-pass (the exported requests are
    /// the entities pass; import writes the relations pass). Older exports are joint.
    #[serde(default)]
    pub(super) relations: RelationsMode,
    /// System prompt, schema of the exported requests and taxonomy as sent (after the plan
    /// fitted them to the context): retries are built from them, answers are checked
    /// against them.
    pub(super) system: String,
    pub(super) schema: Box<RawValue>,
    pub(super) taxonomy: Taxonomy,
    pub(super) files: Vec<PathBuf>,
    pub(super) requests: u64,
    /// Chunks the checkpoint already held (not exported).
    pub(super) already_done: u64,
    pub(super) created_at: u64,
}

/// One exported chunk (`DIR/batch/chunks.jsonl`).
#[derive(Serialize, Deserialize)]
pub(super) struct ChunkLine {
    pub(super) k: String,
    pub(super) doc: String,
    pub(super) i: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) section: Option<String>,
    pub(super) user: String,
    pub(super) text: TextAt,
}

/// The chunk's text, for the grounding check: where it is in the user message (the
/// template puts it there verbatim), or a copy when the template changed it.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum TextAt {
    Range([usize; 2]),
    Own(String),
}

impl ChunkLine {
    pub(super) fn text(&self) -> &str {
        match &self.text {
            TextAt::Range([a, b]) => self.user.get(*a..*b).unwrap_or(&self.user),
            TextAt::Own(t) => t,
        }
    }
}

/// The request parts every chunk shares.
pub(super) struct Shape {
    pub(super) system: Arc<str>,
    pub(super) system_json: Arc<RawValue>,
    pub(super) schema: Arc<RawValue>,
    pub(super) max_tokens: u32,
}

impl Shape {
    pub(super) fn new(system: &str, schema: &str, max_tokens: u32) -> anyhow::Result<Self> {
        Ok(Shape {
            system: Arc::from(system),
            system_json: serde_json::value::to_raw_value(system)?.into(),
            schema: RawValue::from_string(schema.to_string())?.into(),
            max_tokens,
        })
    }

    /// The chunk's request as a live run sends it first (same seed, same bounds).
    pub(super) fn request(&self, key: ChunkKey, user: String) -> ChatRequest {
        ChatRequest {
            system: self.system.clone(),
            system_json: self.system_json.clone(),
            user,
            schema: self.schema.clone(),
            max_tokens: self.max_tokens,
            max_tokens_ceiling: self.max_tokens,
            seed: key.seed(),
            request_id: key.hex(),
            followup: None,
        }
    }

    /// One line of an OpenAI batch file.
    pub(super) fn line(&self, model: &str, key: ChunkKey, user: String) -> anyhow::Result<Vec<u8>> {
        request_line(model, &self.request(key, user))
    }
}

/// A request as one line of an OpenAI batch file; its custom_id is the request id.
pub(super) fn request_line(model: &str, req: &ChatRequest) -> anyhow::Result<Vec<u8>> {
    let body = chat_body(model, req).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let mut line = Vec::with_capacity(body.len() + 128);
    line.extend_from_slice(b"{\"custom_id\":\"");
    line.extend_from_slice(req.request_id.as_bytes());
    line.extend_from_slice(b"\",\"method\":\"POST\",\"url\":\"");
    line.extend_from_slice(CHAT_URL.as_bytes());
    line.extend_from_slice(b"\",\"body\":");
    line.extend_from_slice(&body);
    line.extend_from_slice(b"}\n");
    Ok(line)
}

/// Removes `path`; one that is not there is fine.
pub(super) fn remove_if_there(path: &std::path::Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

pub(super) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
