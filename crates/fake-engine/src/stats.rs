//! Counters the tests assert on.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

/// A snapshot of the fake's counters (`FakeHandle::stats()`, `GET /_fake/stats`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests received per path (e.g. `"/v1/chat/completions"`, `"/api/chat"`,
    /// `"/health"`), any method, any outcome (control endpoints `/_fake/*` excluded).
    pub requests_by_endpoint: BTreeMap<String, u64>,
    /// Responses sent per HTTP status (Reset / Hang produce none; TornBody counts as 200).
    pub responses_by_status: BTreeMap<u16, u64>,
    /// Faults injected per [`crate::Fault::name`].
    pub faults_injected: BTreeMap<String, u64>,
    /// Chat requests received (both APIs), including rejected ones.
    pub chat_requests: u64,
    /// Chat requests currently being handled (queued for a slot or running).
    pub in_flight: u64,
    /// Maximum of `in_flight` ever observed (queued requests count).
    pub max_in_flight: u64,
    /// Chat requests currently holding a slot.
    pub running: u64,
    /// Maximum of `running` ever observed.
    pub max_running: u64,
    /// Chat requests answered 200 with the complete, correct extraction
    /// (no fault, not cut by the output budget).
    pub served_ok: u64,
    /// Sum of reported prompt tokens over 200 chat answers.
    pub prompt_tokens_total: u64,
    /// Sum of reported completion tokens over 200 chat answers.
    pub completion_tokens_total: u64,
    /// [`crate::chunk_key`] of each chunk counted in `served_ok`, in order of answer.
    pub answered_chunks: Vec<String>,
    /// TCP connections accepted.
    pub connections_accepted: u64,
    /// Ollama chat requests whose prompt estimate exceeded num_ctx (silently truncated).
    pub ollama_truncated_prompts: u64,
}

impl Stats {
    /// How many times the chunk `text` was answered successfully.
    pub fn answered_count(&self, text: &str) -> usize {
        let k = crate::chunk_key(text);
        self.answered_chunks.iter().filter(|c| **c == k).count()
    }
    /// Number of distinct chunks answered successfully.
    pub fn distinct_answered(&self) -> usize {
        self.answered_chunks
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
    }
    /// Successful answers beyond the first for the same chunk (0 = no duplicates).
    pub fn duplicate_answers(&self) -> usize {
        self.answered_chunks.len() - self.distinct_answered()
    }
    /// Requests received on `path`.
    pub fn requests(&self, path: &str) -> u64 {
        self.requests_by_endpoint.get(path).copied().unwrap_or(0)
    }
    /// Responses sent with `status`.
    pub fn status(&self, status: u16) -> u64 {
        self.responses_by_status.get(&status).copied().unwrap_or(0)
    }
    /// Times `fault` (by [`crate::Fault::name`]) was injected.
    pub fn fault_count(&self, name: &str) -> u64 {
        self.faults_injected.get(name).copied().unwrap_or(0)
    }
}

/// Mutable state behind a mutex.
#[derive(Default)]
pub(crate) struct StatsInner {
    pub(crate) requests_by_endpoint: HashMap<String, u64>,
    pub(crate) responses_by_status: HashMap<u16, u64>,
    pub(crate) faults_injected: HashMap<&'static str, u64>,
    pub(crate) chat_requests: u64,
    pub(crate) in_flight: u64,
    pub(crate) max_in_flight: u64,
    pub(crate) running: u64,
    pub(crate) max_running: u64,
    pub(crate) served_ok: u64,
    pub(crate) prompt_tokens_total: u64,
    pub(crate) completion_tokens_total: u64,
    pub(crate) answered_chunks: Vec<String>,
    pub(crate) connections_accepted: u64,
    pub(crate) ollama_truncated_prompts: u64,
}

impl StatsInner {
    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            requests_by_endpoint: self
                .requests_by_endpoint
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            responses_by_status: self
                .responses_by_status
                .iter()
                .map(|(k, v)| (*k, *v))
                .collect(),
            faults_injected: self
                .faults_injected
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            chat_requests: self.chat_requests,
            in_flight: self.in_flight,
            max_in_flight: self.max_in_flight,
            running: self.running,
            max_running: self.max_running,
            served_ok: self.served_ok,
            prompt_tokens_total: self.prompt_tokens_total,
            completion_tokens_total: self.completion_tokens_total,
            answered_chunks: self.answered_chunks.clone(),
            connections_accepted: self.connections_accepted,
            ollama_truncated_prompts: self.ollama_truncated_prompts,
        }
    }

    /// Reset counters, keeping the gauges (`in_flight`, `running`) that live requests own.
    pub(crate) fn reset(&mut self) {
        let (in_flight, running) = (self.in_flight, self.running);
        *self = StatsInner::default();
        self.in_flight = in_flight;
        self.running = running;
        self.max_in_flight = in_flight;
        self.max_running = running;
    }
}
