//! One request of the finishing step through the router (vLLM first, Ollama while it is
//! down, retries, breaker, adaptive concurrency), and the journal its accepted answers go
//! to. An answer the caller's check refuses is retried by the router and never journaled.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::engine::router::{ChunkSpend, RouteError, Router, Served};
use crate::engine::{ChatAnswer, ChatRequest, EngineError, SEED_MASK};
use crate::error::RunError;
use crate::outdir::community_journal::{CommunityJournal, JournalRecord};

/// The system message of every request: the templates say the rest.
pub const SYSTEM: &str = "You are a careful analyst of knowledge graphs. You answer with one JSON object that follows the given schema, and nothing else.";
/// Output budget of a report: the schema's largest answer (about 6,000 characters, of
/// which 80 hex ids) fits it.
pub const REPORT_OUTPUT_TOKENS: u32 = 2400;
/// Output budget of a summary: its largest answer (2,000 characters) fits it.
pub const SUMMARY_OUTPUT_TOKENS: u32 = 800;
/// Answers one report or summary may get (retries included) before it fails.
const MAX_ANSWERS: u32 = 6;

/// Shared by every request of a `communities` run.
pub struct Asker {
    pub router: Arc<Router>,
    pub journal: CommunityJournal,
    system: Arc<str>,
    system_json: Arc<RawValue>,
    pub summary_schema: Arc<RawValue>,
    /// The model the fingerprints name (the first engine's).
    pub model: String,
    /// Answers accepted.
    pub accepted: AtomicU64,
}

impl Asker {
    pub fn new(
        router: Arc<Router>,
        journal: CommunityJournal,
        model: String,
    ) -> anyhow::Result<Self> {
        let raw = |s: String| -> anyhow::Result<Arc<RawValue>> {
            Ok(RawValue::from_string(s)
                .map_err(|e| anyhow::anyhow!("schema serialization: {e}"))?
                .into())
        };
        Ok(Asker {
            router,
            journal,
            system: Arc::from(SYSTEM),
            system_json: serde_json::value::to_raw_value(SYSTEM)
                .map_err(|e| anyhow::anyhow!("system prompt serialization: {e}"))?
                .into(),
            summary_schema: raw(super::report::summary_schema())?,
            model,
            accepted: AtomicU64::new(0),
        })
    }

    /// A schema as sent (serialized once per request or per run).
    pub fn schema(text: String) -> Result<Arc<RawValue>, EngineError> {
        RawValue::from_string(text)
            .map(Arc::from)
            .map_err(|e| EngineError::new(crate::engine::FailureClass::BadRequest, e.to_string()))
    }

    /// Sends `user` with `schema` until `accept` takes an answer (or the request fails).
    /// `id` names the request (`X-Request-Id`) and seeds it.
    pub async fn ask<T>(
        &self,
        user: String,
        schema: &Arc<RawValue>,
        max_tokens: u32,
        id: &str,
        accept: impl Fn(&ChatAnswer) -> Result<T, EngineError>,
    ) -> Result<Served<T>, RouteError> {
        let h = blake3::hash(id.as_bytes());
        let mut seed = [0u8; 8];
        seed.copy_from_slice(&h.as_bytes()[..8]);
        let req = ChatRequest {
            system: self.system.clone(),
            system_json: self.system_json.clone(),
            user,
            schema: schema.clone(),
            max_tokens,
            max_tokens_ceiling: max_tokens.saturating_mul(2),
            seed: u64::from_le_bytes(seed) & SEED_MASK,
            request_id: id.to_string(),
            followup: None,
        };
        let spend = ChunkSpend::new(MAX_ANSWERS, u64::from(max_tokens) * u64::from(MAX_ANSWERS));
        let served = self.router.call(&req, &spend, accept).await?;
        self.accepted.fetch_add(1, Ordering::Relaxed);
        Ok(served)
    }

    /// Journals an accepted answer (synced before it returns).
    pub async fn keep(&self, rec: &JournalRecord) -> Result<(), RunError> {
        self.journal.append(rec).await
    }
}
