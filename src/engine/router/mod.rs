//! The router: picks an engine for each request (vLLM first, Ollama while vLLM is down),
//! holds one concurrency cap per engine (a semaphore each, never exceeded, also while
//! traffic moves between engines), retries transient failures with exponential backoff,
//! jitter and Retry-After under one shared retry budget, opens a circuit on an engine that
//! keeps failing, probes downed engines in the background and sends traffic back as soon as
//! they answer. With no engine up it waits at most `engine_wait`, then gives up.
//!
//! Several endpoints of one kind (`--vllm-url` repeated) form one preference tier: a
//! request goes to the up endpoint of the first tier with an up endpoint, the one with the
//! fewest requests in flight relative to its limit, or, when all are full, to whichever
//! frees a slot first. Each endpoint has its own health, breaker, limit and counters.
//! A 429 or 503 is back pressure: the endpoint's limit is halved (at most once a second)
//! and grows back by one every `limit` successes.
//!
//! The modules: `config` (policy and plain types), `state` (per-endpoint state),
//! `dispatch` (a request's attempts), `retry` (the pure retry decision), `health` (breaker
//! and probes), `adaptive` (the limit of requests in flight), `pace` (the pure limit
//! decision from the answers' latency and throughput), `spend` (the chunk's cap and
//! the shared retry budget), `stats` (the report's counters).

mod adaptive;
mod config;
mod dispatch;
mod health;
mod pace;
mod retry;
mod spend;
mod state;
mod stats;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use config::{EngineSetup, RouteError, RouterConfig, Served, BUSY_TIMEOUT_FACTOR};
pub use spend::ChunkSpend;
pub use state::Router;
pub use stats::EngineStats;

use spend::RetryBudget;
use state::EngineState;

use super::EngineKind;

/// Retry tokens in the shared budget at the start: a burst of early failures is retried
/// at once before the budget slows retries down.
const INITIAL_RETRY_TOKENS: f64 = 20.0;

impl Router {
    /// Engines in preference order. Downed engines start being probed at once. After `stop`
    /// no new attempt starts; `cancel` also ends the attempts in flight.
    pub fn new(
        setups: Vec<EngineSetup>,
        cfg: RouterConfig,
        stop: CancellationToken,
        cancel: CancellationToken,
    ) -> Arc<Self> {
        let (health_tx, _) = watch::channel(0u64);
        let preferred = setups
            .first()
            .map(|s| s.client.kind())
            .unwrap_or(EngineKind::Vllm);
        let mut seen: BTreeMap<EngineKind, usize> = BTreeMap::new();
        let engines = setups
            .into_iter()
            .map(|s| {
                let nth = seen.entry(s.client.kind()).or_default();
                *nth += 1;
                let name = match *nth {
                    1 => s.client.kind().name().to_string(),
                    n => format!("{}#{n}", s.client.kind().name()),
                };
                Arc::new(EngineState::new(s, name, cfg.request_timeout))
            })
            .collect();
        let router = Arc::new(Self {
            engines,
            cfg,
            budget: RetryBudget::new(INITIAL_RETRY_TOKENS),
            health_tx,
            all_down_since: Mutex::new(None),
            stop,
            cancel,
            preferred,
        });
        for i in 0..router.engines.len() {
            if !router.engines[i].up.load(Ordering::SeqCst) {
                router.start_probe(i);
            }
            if router.engines[i].adaptive {
                router.spawn_adaptive(i);
            }
        }
        router
    }

    /// Sum of the engines' caps: how many requests may usefully wait at once.
    pub fn total_capacity(&self) -> usize {
        self.engines.iter().map(|e| e.cap).sum()
    }

    /// The engine serving new requests now, if any.
    pub fn serving(&self) -> Option<EngineKind> {
        self.engines
            .iter()
            .find(|e| e.up.load(Ordering::SeqCst))
            .map(|e| e.client.kind())
    }
}
