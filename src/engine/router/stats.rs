//! Each endpoint's counters as the report shows them (`report.json`'s `engines`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde::Serialize;

use super::state::{lock, EngineState, Router};

/// Per-engine counters, as reported.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EngineStats {
    pub url: String,
    pub model: String,
    pub enabled: bool,
    pub requests: u64,
    pub successes: u64,
    pub failures: BTreeMap<&'static str, u64>,
    pub retries: u64,
    /// Chunks this engine served while a preferred engine was down.
    pub fallbacks: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Prompt tokens the server served from its prefix cache, where it reports them
    /// (vLLM's `prompt_tokens_details.cached_tokens`).
    #[serde(skip_serializing_if = "is_zero")]
    pub cached_prompt_tokens: u64,
    pub max_in_flight: usize,
    pub concurrency: usize,
    /// `auto`: the limit at the end of the run, and the highest it reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adaptive_limit: Option<(usize, usize)>,
    pub went_down: u64,
    pub came_back: u64,
    /// Times a 429 or 503 (back pressure) cut the limit of requests in flight.
    pub back_pressure_cuts: u64,
    pub last_error: Option<String>,
}

impl EngineStats {
    fn of(e: &EngineState) -> Self {
        EngineStats {
            url: e.client.url().to_string(),
            model: e.client.model(),
            enabled: true,
            requests: e.requests.load(Ordering::Relaxed),
            successes: e.successes.load(Ordering::Relaxed),
            failures: lock(&e.failures).clone(),
            retries: e.retries.load(Ordering::Relaxed),
            fallbacks: e.fallbacks.load(Ordering::Relaxed),
            prompt_tokens: e.prompt_tokens.load(Ordering::Relaxed),
            completion_tokens: e.completion_tokens.load(Ordering::Relaxed),
            cached_prompt_tokens: e.cached_tokens.load(Ordering::Relaxed),
            max_in_flight: e.max_in_flight.load(Ordering::Relaxed),
            concurrency: e.cap,
            adaptive_limit: e.adaptive.then(|| {
                (
                    e.limit.load(Ordering::Relaxed),
                    e.peak_limit.load(Ordering::Relaxed),
                )
            }),
            went_down: e.went_down.load(Ordering::Relaxed),
            came_back: e.came_back.load(Ordering::Relaxed),
            back_pressure_cuts: e.back_pressure_cuts.load(Ordering::Relaxed),
            last_error: lock(&e.last_error).clone(),
        }
    }
}

impl Router {
    /// Per-endpoint counters, keyed `vllm`, `vllm#2`, ..., `ollama`, `ollama#2`, ...
    pub fn stats(&self) -> Vec<(String, EngineStats)> {
        self.engines
            .iter()
            .map(|e| (e.name.clone(), EngineStats::of(e)))
            .collect()
    }
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}
