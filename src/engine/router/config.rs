//! What the router is given and what it hands back: its retry and health policy, each
//! engine's starting state from the start-up probe, and how a request ended. Plain types,
//! so the router's other modules and its callers share them without sharing its state.

use std::time::Duration;

use crate::engine::client::EngineClient;
use crate::engine::{EngineError, EngineKind};

/// How far a busy engine's request time-out may grow (`--request-timeout` times this). The
/// clients' own time-out is this much longer; the router enforces the current one.
pub const BUSY_TIMEOUT_FACTOR: u32 = 4;

/// Retry and health policy.
#[derive(Debug, Clone)]
pub struct RouterConfig {
    /// `--request-timeout`: one request, queueing and generation; doubled (up to
    /// `BUSY_TIMEOUT_FACTOR` times) for an engine found busy after a time-out.
    pub request_timeout: Duration,
    /// Longest wait with no engine up before giving up.
    pub engine_wait: Duration,
    /// Attempts per request on transient failures (timeouts, 5xx, 429, resets).
    pub max_transient_attempts: u32,
    /// Attempts per request when the answer is unusable (malformed, invalid, empty).
    pub max_content_attempts: u32,
    /// Consecutive failures that open an engine's circuit.
    pub breaker_threshold: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// First interval between probes of a downed engine (doubles, up to 2 s).
    pub probe_interval: Duration,
    /// The smallest output budget worth sending; below it the chunk is split instead.
    pub min_output_tokens: u32,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(300),
            engine_wait: Duration::from_secs(120),
            max_transient_attempts: 6,
            max_content_attempts: 3,
            breaker_threshold: 5,
            base_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
            probe_interval: Duration::from_millis(500),
            min_output_tokens: 192,
        }
    }
}

/// Initial state of one engine, from the start-up probe.
pub struct EngineSetup {
    pub client: EngineClient,
    pub concurrency: usize,
    pub up: bool,
    pub context_len: Option<u32>,
    pub last_error: Option<String>,
    /// Measured prompt tokens per 1000 characters, when known.
    pub tokens_per_kchar: Option<u32>,
    /// `--concurrency auto`: the starting limit (`concurrency` is then the most it may reach).
    pub adaptive: Option<usize>,
}

/// How a request ended when it did not succeed.
#[derive(Debug)]
pub enum RouteError {
    /// A configuration problem (wrong key, model missing): stop the run.
    Fatal(String),
    /// No engine came up within `engine_wait`.
    NoEngine(String),
    /// The prompt does not fit the context, or the answer never fits the budget: split it.
    Split(EngineError),
    /// This chunk failed; recorded and retried by the next run.
    Failed(EngineError),
    /// The run is stopping.
    Cancelled,
}

/// A successful request.
#[derive(Debug)]
pub struct Served<T> {
    pub value: T,
    pub engine: EngineKind,
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Attempts beyond the first.
    pub retries: u32,
}
