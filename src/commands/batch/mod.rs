//! Batch files: offline extraction through `vllm run-batch`, an OpenAI-compatible batch API
//! or a Ray Data job, with the guarantees of a live run.
//!
//! ```text
//! batch export CORPUS --out DIR --batch FILE
//!     walk -> read -> chunk -> key -> [in the checkpoint? skip]      (the run's producer)
//!     -> FILE: {"custom_id": key, "method", "url", "body": the exact chat request}
//!     -> DIR/batch/chunks.jsonl (key, document, chunk, user message, where its text is)
//!     -> DIR/batch/export.json  (model, prompts, answer schema, bounds: what import checks)
//! batch import RESULTS... --out DIR
//!     check every result file first (nothing is written when one is wrong)
//!     -> validate each answer like a live one (schema, types, grounding in its chunk)
//!     -> journal it under its key; a failure goes to DIR/batch/retry.jsonl as a request
//! run CORPUS --out DIR      resumes: no request for an imported chunk
//! ```
//!
//! Import needs neither the corpus nor the prompts folder: the export keeps what validation
//! needs (taxonomy, schema, grounding mode, each chunk's text).

mod export;
mod import;
mod results;

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::engine::openai::chat_body;
use crate::engine::ChatRequest;
use crate::outdir::journal::ChunkKey;
use crate::parse::Grounding;
use crate::prompt::Taxonomy;

pub use export::export;
pub use import::import;

/// The folder in `--out` that holds what an export leaves for its import.
pub const DIR_NAME: &str = "batch";
const EXPORT_FILE: &str = "export.json";
const CHUNKS_FILE: &str = "chunks.jsonl";
const RETRY_FILE: &str = "retry.jsonl";
const SCHEMA_VERSION: u32 = 1;
/// The endpoint every request line names.
const CHAT_URL: &str = "/v1/chat/completions";

/// What an export used, written last (`DIR/batch/export.json`): import validates against it.
#[derive(Serialize, Deserialize)]
struct ExportInfo {
    schema_version: u32,
    /// The model every request names (`body.model`); results from another are refused.
    model: String,
    context_length: Option<u32>,
    prompt_fingerprint: String,
    chunk_tokens: usize,
    chunk_overlap: usize,
    max_output_tokens: u32,
    grounding: Grounding,
    /// System prompt, answer schema and taxonomy as sent (after the plan fitted them to
    /// the context): retries are built from them, answers are checked against them.
    system: String,
    schema: Box<RawValue>,
    taxonomy: Taxonomy,
    files: Vec<PathBuf>,
    requests: u64,
    /// Chunks the checkpoint already held (not exported).
    already_done: u64,
    created_at: u64,
}

/// One exported chunk (`DIR/batch/chunks.jsonl`).
#[derive(Serialize, Deserialize)]
struct ChunkLine {
    k: String,
    doc: String,
    i: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    section: Option<String>,
    user: String,
    text: TextAt,
}

/// The chunk's text, for the grounding check: where it is in the user message (the
/// template puts it there verbatim), or a copy when the template changed it.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum TextAt {
    Range([usize; 2]),
    Own(String),
}

impl ChunkLine {
    fn text(&self) -> &str {
        match &self.text {
            TextAt::Range([a, b]) => self.user.get(*a..*b).unwrap_or(&self.user),
            TextAt::Own(t) => t,
        }
    }
}

/// The request parts every chunk shares.
struct Shape {
    system: Arc<str>,
    system_json: Arc<RawValue>,
    schema: Arc<RawValue>,
    max_tokens: u32,
}

impl Shape {
    fn new(system: &str, schema: &str, max_tokens: u32) -> anyhow::Result<Self> {
        Ok(Shape {
            system: Arc::from(system),
            system_json: serde_json::value::to_raw_value(system)?.into(),
            schema: RawValue::from_string(schema.to_string())?.into(),
            max_tokens,
        })
    }

    /// The chunk's request as a live run sends it first (same seed, same bounds).
    fn request(&self, key: ChunkKey, user: String) -> ChatRequest {
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
    fn line(&self, model: &str, key: ChunkKey, user: String) -> anyhow::Result<Vec<u8>> {
        let req = self.request(key, user);
        let body = chat_body(model, &req).map_err(|e| anyhow::anyhow!("{}", e.message))?;
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
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
