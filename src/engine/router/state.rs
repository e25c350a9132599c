//! The router's shared state: one `EngineState` per endpoint (its client, health, breaker
//! count, concurrency limit and counters, all atomics so requests update them without a
//! lock) and the `Router` that holds them. The behaviour lives in the sibling modules:
//! `dispatch` (a request's attempts), `health` (breaker and probes), `adaptive` (the limit
//! of requests in flight), `stats` (the report).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Semaphore};
use tokio_util::sync::CancellationToken;

use super::config::{EngineSetup, RouterConfig};
use super::pace::Sampler;
use super::spend::RetryBudget;
use crate::engine::client::EngineClient;
use crate::engine::EngineKind;

/// Prompt tokens per 1000 characters assumed until an engine's usage says otherwise.
const DEFAULT_TOKENS_PER_KCHAR: u32 = 340;

pub(super) struct EngineState {
    pub(super) client: EngineClient,
    /// Key in the report: the kind's name, `#2`, `#3`... for further endpoints of a kind.
    pub(super) name: String,
    /// When back pressure last cut the limit.
    pub(super) last_cut: Mutex<Option<Instant>>,
    /// Successes since the limit last changed (growing back after back pressure).
    pub(super) since_cut: AtomicU64,
    pub(super) back_pressure_cuts: AtomicU64,
    pub(super) sem: Arc<Semaphore>,
    pub(super) cap: usize,
    /// Permits the semaphore holds now (below `cap` while adaptive concurrency limits it).
    pub(super) limit: AtomicUsize,
    /// Permits still to withdraw when the adaptive limit went down while they were in use.
    pub(super) owed: AtomicUsize,
    pub(super) peak_limit: AtomicUsize,
    pub(super) adaptive: bool,
    pub(super) up: AtomicBool,
    pub(super) probing: AtomicBool,
    pub(super) consecutive_failures: AtomicU32,
    /// Context length in tokens (0 = unknown).
    pub(super) context_len: AtomicU32,
    /// Estimated prompt tokens per 1000 characters, learnt from usage.
    pub(super) tokens_per_kchar: AtomicU32,
    /// The request time-out in force for this engine, in ms (see `RouterConfig`).
    pub(super) timeout_ms: AtomicU64,
    /// The last busy verdict after a time-out and when it was reached: the requests that
    /// time out together get one look at the server and one adjustment, not one each.
    pub(super) busy_seen: tokio::sync::Mutex<Option<(Instant, Option<String>)>>,
    pub(super) in_flight: AtomicUsize,
    /// `auto`: the answers of the current window (see `pace`).
    pub(super) sampler: Mutex<Sampler>,
    pub(super) requests: AtomicU64,
    pub(super) successes: AtomicU64,
    pub(super) retries: AtomicU64,
    pub(super) fallbacks: AtomicU64,
    pub(super) prompt_tokens: AtomicU64,
    /// Prompt tokens served from the engine's prefix cache (where it reports them).
    pub(super) cached_tokens: AtomicU64,
    pub(super) completion_tokens: AtomicU64,
    pub(super) max_in_flight: AtomicUsize,
    pub(super) went_down: AtomicU64,
    pub(super) came_back: AtomicU64,
    pub(super) failures: Mutex<BTreeMap<&'static str, u64>>,
    pub(super) last_error: Mutex<Option<String>>,
}

impl EngineState {
    /// An endpoint as the start-up probe left it, named `name` in the report, starting
    /// with the request time-out `timeout`.
    pub(super) fn new(s: EngineSetup, name: String, timeout: Duration) -> Self {
        let start = s
            .adaptive
            .map_or(s.concurrency, |a| a.min(s.concurrency))
            .max(1);
        EngineState {
            name,
            last_cut: Mutex::new(None),
            since_cut: AtomicU64::new(0),
            back_pressure_cuts: AtomicU64::new(0),
            sem: Arc::new(Semaphore::new(start)),
            cap: s.concurrency.max(1),
            limit: AtomicUsize::new(start),
            owed: AtomicUsize::new(0),
            peak_limit: AtomicUsize::new(start),
            adaptive: s.adaptive.is_some(),
            up: AtomicBool::new(s.up),
            probing: AtomicBool::new(false),
            consecutive_failures: AtomicU32::new(0),
            context_len: AtomicU32::new(s.context_len.unwrap_or(0)),
            tokens_per_kchar: AtomicU32::new(
                s.tokens_per_kchar.unwrap_or(DEFAULT_TOKENS_PER_KCHAR),
            ),
            timeout_ms: AtomicU64::new(timeout.as_millis() as u64),
            busy_seen: tokio::sync::Mutex::new(None),
            in_flight: AtomicUsize::new(0),
            sampler: Mutex::new(Sampler::new(Instant::now())),
            requests: AtomicU64::new(0),
            successes: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            prompt_tokens: AtomicU64::new(0),
            cached_tokens: AtomicU64::new(0),
            completion_tokens: AtomicU64::new(0),
            max_in_flight: AtomicUsize::new(0),
            went_down: AtomicU64::new(0),
            came_back: AtomicU64::new(0),
            failures: Mutex::new(BTreeMap::new()),
            last_error: Mutex::new(s.last_error),
            client: s.client,
        }
    }
}

pub struct Router {
    pub(super) engines: Vec<Arc<EngineState>>,
    pub(super) cfg: RouterConfig,
    pub(super) budget: RetryBudget,
    pub(super) health_tx: watch::Sender<u64>,
    pub(super) all_down_since: Mutex<Option<Instant>>,
    /// The run stops: no new attempt starts (waits for an engine, a slot or a backoff end).
    pub(super) stop: CancellationToken,
    /// The run abandons its requests: the ones in flight end too.
    pub(super) cancel: CancellationToken,
    pub(super) preferred: EngineKind,
}

/// A poisoned lock still holds counters worth reading: take them.
pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
