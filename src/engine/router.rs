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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{watch, Semaphore};
use tokio_util::sync::CancellationToken;

use super::{ChatAnswer, ChatRequest, EngineClient, EngineError, EngineKind, FailureClass};

/// How far a busy engine's request time-out may grow (`--request-timeout` times this). The
/// clients' own time-out is this much longer; the router enforces the current one.
pub const BUSY_TIMEOUT_FACTOR: u32 = 4;

/// 429/503 answers a chunk may wait through per transient attempt: a gateway's rate limit
/// says "later", so it is given more patience than a failing server.
const RATE_LIMITED_PER_ATTEMPT: u32 = 4;

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
    /// First interval between probes of a downed engine (grows to 5 s).
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

/// What one chunk may spend and has spent: answers received and tokens generated, over
/// every request made for it (retries, smaller answer bounds, halves). A model that never
/// gives a usable answer costs at most this much.
#[derive(Debug)]
pub struct ChunkSpend {
    pub max_answers: u32,
    pub max_tokens: u64,
    answers: AtomicU32,
    tokens: AtomicU64,
}

impl ChunkSpend {
    pub fn new(max_answers: u32, max_tokens: u64) -> Self {
        Self {
            max_answers: max_answers.max(1),
            max_tokens,
            answers: AtomicU32::new(0),
            tokens: AtomicU64::new(0),
        }
    }

    pub fn answers(&self) -> u32 {
        self.answers.load(Ordering::Relaxed)
    }

    pub fn tokens(&self) -> u64 {
        self.tokens.load(Ordering::Relaxed)
    }

    pub fn exhausted(&self) -> bool {
        self.answers() >= self.max_answers || self.tokens() >= self.max_tokens
    }

    fn record(&self, completion_tokens: u64) {
        self.answers.fetch_add(1, Ordering::Relaxed);
        self.tokens.fetch_add(completion_tokens, Ordering::Relaxed);
    }

    /// The error once the cap is reached.
    pub fn error(&self) -> EngineError {
        EngineError::new(
            FailureClass::ChunkCap,
            format!(
                "the chunk reached its cap of {} answers / {} generated tokens ({} answers, {} tokens spent) without a usable answer; raise --max-requests-per-chunk or --max-tokens-per-chunk, or use a model that follows the schema",
                self.max_answers,
                self.max_tokens,
                self.answers(),
                self.tokens()
            ),
        )
    }
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

struct EngineState {
    client: EngineClient,
    /// Key in the report: the kind's name, `#2`, `#3`... for further endpoints of a kind.
    name: String,
    /// When back pressure last cut the limit.
    last_cut: Mutex<Option<Instant>>,
    /// Successes since the limit last changed (growing back after back pressure).
    since_cut: AtomicU64,
    back_pressure_cuts: AtomicU64,
    sem: Arc<Semaphore>,
    cap: usize,
    /// Permits the semaphore holds now (below `cap` while adaptive concurrency limits it).
    limit: AtomicUsize,
    /// Permits still to withdraw when the adaptive limit went down while they were in use.
    owed: AtomicUsize,
    peak_limit: AtomicUsize,
    adaptive: bool,
    up: AtomicBool,
    probing: AtomicBool,
    consecutive_failures: AtomicU32,
    /// Context length in tokens (0 = unknown).
    context_len: AtomicU32,
    /// Estimated prompt tokens per 1000 characters, learnt from usage.
    tokens_per_kchar: AtomicU32,
    /// The request time-out in force for this engine, in ms (see `RouterConfig`).
    timeout_ms: AtomicU64,
    /// The last busy verdict after a time-out and when it was reached: the requests that
    /// time out together get one look at the server and one adjustment, not one each.
    busy_seen: tokio::sync::Mutex<Option<(Instant, Option<String>)>>,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    successes: AtomicU64,
    retries: AtomicU64,
    fallbacks: AtomicU64,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
    max_in_flight: AtomicUsize,
    went_down: AtomicU64,
    came_back: AtomicU64,
    failures: Mutex<BTreeMap<&'static str, u64>>,
    last_error: Mutex<Option<String>>,
}

impl EngineState {
    /// Moves the semaphore's permits to `new`: adds at once; withdraws what is free now
    /// and the rest as requests finish.
    fn set_limit(&self, new: usize) {
        let old = self.limit.swap(new, Ordering::SeqCst);
        self.peak_limit.fetch_max(new, Ordering::Relaxed);
        if new > old {
            let mut grow = new - old;
            // Cancel withdrawals still owed before adding permits.
            let owed = self.owed.load(Ordering::SeqCst);
            let cancel = owed.min(grow);
            self.owed.fetch_sub(cancel, Ordering::SeqCst);
            grow -= cancel;
            self.sem.add_permits(grow);
        } else {
            self.owed.fetch_add(old - new, Ordering::SeqCst);
            self.withdraw_owed();
        }
    }

    /// A 429 or 503: fewer requests in flight to this endpoint, at most once a second (one
    /// burst of refusals is one signal, not one per request).
    fn back_pressure(&self) {
        let mut last = self.last_cut.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return;
        }
        let limit = self.limit.load(Ordering::SeqCst);
        let new = (limit / 2).max(1);
        if new < limit {
            *last = Some(Instant::now());
            self.since_cut.store(0, Ordering::Relaxed);
            self.back_pressure_cuts.fetch_add(1, Ordering::Relaxed);
            self.set_limit(new);
            tracing::warn!(engine = %self.name, url = self.client.url(), "engine pushes back (429/503): in flight to it cut from {limit} to {new}");
        }
    }

    /// After a success: a limit cut by back pressure grows back by one every `limit`
    /// successes, up to the cap (`auto` limits are moved by the server's queue instead).
    fn grow_back(&self) {
        if self.adaptive {
            return;
        }
        let limit = self.limit.load(Ordering::Relaxed);
        if limit >= self.cap {
            return;
        }
        let n = self.since_cut.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= limit as u64 {
            self.since_cut.store(0, Ordering::Relaxed);
            self.set_limit(limit + 1);
        }
    }

    fn withdraw_owed(&self) {
        while self.owed.load(Ordering::SeqCst) > 0 {
            match self.sem.try_acquire() {
                Ok(p) => {
                    p.forget();
                    self.owed.fetch_sub(1, Ordering::SeqCst);
                }
                Err(_) => break,
            }
        }
    }
}

/// Shared retry budget (as tower's): retries spend a token, successes earn a fraction of
/// one. When it is empty, retries still happen but only after the longest backoff, so a
/// sick server is not hit by every request's private retry loop at once.
struct RetryBudget {
    tokens: Mutex<f64>,
}

impl RetryBudget {
    const MAX: f64 = 100.0;

    fn deposit(&self) {
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        *t = (*t + 0.2).min(Self::MAX);
    }

    fn withdraw(&self) -> bool {
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if *t >= 1.0 {
            *t -= 1.0;
            true
        } else {
            false
        }
    }
}

pub struct Router {
    engines: Vec<Arc<EngineState>>,
    cfg: RouterConfig,
    budget: RetryBudget,
    health_tx: watch::Sender<u64>,
    all_down_since: Mutex<Option<Instant>>,
    cancel: CancellationToken,
    preferred: EngineKind,
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

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Router {
    /// Engines in preference order. Downed engines start being probed at once.
    pub fn new(
        setups: Vec<EngineSetup>,
        cfg: RouterConfig,
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
                let start = s
                    .adaptive
                    .map_or(s.concurrency, |a| a.min(s.concurrency))
                    .max(1);
                Arc::new(EngineState {
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
                    tokens_per_kchar: AtomicU32::new(s.tokens_per_kchar.unwrap_or(340)),
                    timeout_ms: AtomicU64::new(cfg.request_timeout.as_millis() as u64),
                    busy_seen: tokio::sync::Mutex::new(None),
                    in_flight: AtomicUsize::new(0),
                    requests: AtomicU64::new(0),
                    successes: AtomicU64::new(0),
                    retries: AtomicU64::new(0),
                    fallbacks: AtomicU64::new(0),
                    prompt_tokens: AtomicU64::new(0),
                    completion_tokens: AtomicU64::new(0),
                    max_in_flight: AtomicUsize::new(0),
                    went_down: AtomicU64::new(0),
                    came_back: AtomicU64::new(0),
                    failures: Mutex::new(BTreeMap::new()),
                    last_error: Mutex::new(s.last_error),
                    client: s.client,
                })
            })
            .collect();
        let router = Arc::new(Self {
            engines,
            cfg,
            budget: RetryBudget {
                tokens: Mutex::new(20.0),
            },
            health_tx,
            all_down_since: Mutex::new(None),
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

    /// Per-endpoint counters, keyed `vllm`, `vllm#2`, ..., `ollama`, `ollama#2`, ...
    pub fn stats(&self) -> Vec<(String, EngineStats)> {
        self.engines
            .iter()
            .map(|e| {
                (
                    e.name.clone(),
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
                    },
                )
            })
            .collect()
    }

    fn notify(&self) {
        self.health_tx.send_modify(|g| *g += 1);
    }

    fn mark_down(self: &Arc<Self>, idx: usize, err: &EngineError) {
        let e = &self.engines[idx];
        *lock(&e.last_error) = Some(err.to_string());
        if e.up.swap(false, Ordering::SeqCst) {
            e.went_down.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(engine = %e.name, url = e.client.url(), error = %err, "engine unavailable; routing around it and probing it in the background");
            self.notify();
        }
        self.start_probe(idx);
    }

    fn mark_up(&self, idx: usize) {
        let e = &self.engines[idx];
        e.consecutive_failures.store(
            self.cfg.breaker_threshold.saturating_sub(2),
            Ordering::SeqCst,
        );
        if !e.up.swap(true, Ordering::SeqCst) {
            e.came_back.fetch_add(1, Ordering::Relaxed);
            tracing::info!(engine = %e.name, url = e.client.url(), "engine available again; new requests go to it");
            *lock(&self.all_down_since) = None;
            self.notify();
        }
    }

    fn start_probe(self: &Arc<Self>, idx: usize) {
        let e = self.engines[idx].clone();
        if e.probing.swap(true, Ordering::SeqCst) {
            return;
        }
        let router = Arc::clone(self);
        tokio::spawn(async move {
            let mut interval = router.cfg.probe_interval;
            loop {
                tokio::select! {
                    _ = router.cancel.cancelled() => break,
                    _ = tokio::time::sleep(interval) => {}
                }
                match e.client.ready().await {
                    Ok(context) => {
                        if let Some(c) = context {
                            e.context_len.store(c, Ordering::SeqCst);
                        }
                        router.mark_up(idx);
                        break;
                    }
                    Err(err) => {
                        *lock(&e.last_error) = Some(err.to_string());
                        interval = (interval * 2).min(Duration::from_secs(2));
                    }
                }
            }
            e.probing.store(false, Ordering::SeqCst);
        });
    }

    /// `--concurrency auto`: every 0.5 s (0.1 s while climbing), reads vLLM's queue from /metrics and moves this
    /// engine's limit so that a few requests always wait at the server (no slot idles
    /// between one request finishing and the next arriving) but the queue stays short (no
    /// request waits long enough to time out). Saturated with an empty server queue:
    /// double (but once a queue has shown the server's slot count, not past that count
    /// plus twice the target). Queue longer than twice the target: cut to what runs plus
    /// the target.
    fn spawn_adaptive(self: &Arc<Self>, idx: usize) {
        let router = Arc::clone(self);
        tokio::spawn(async move {
            let e = &router.engines[idx];
            let EngineClient::OpenAi(client) = &e.client else {
                return;
            };
            let mut misses = 0u32;
            // While the limit is still climbing, look again soon: every doubling step waits
            // for one reading, and slow readings made the climb to a large server's slot
            // count the main cost of `auto` (measured: 1.6 s of ramp-up for 256 slots).
            let mut climbing = true;
            // The most requests the server was seen running while others waited: its slot
            // count. Once known, the limit stays within a short queue of it (a queue that
            // momentarily drains would otherwise read as room and double the limit again).
            let mut slots_seen: Option<f64> = None;
            loop {
                let pause = if climbing { 100 } else { 500 };
                tokio::select! {
                    _ = router.cancel.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(pause)) => {}
                }
                e.withdraw_owed();
                if !e.up.load(Ordering::SeqCst) {
                    continue;
                }
                let Some((running, waiting)) = client.queue_metrics().await else {
                    misses += 1;
                    if misses == 3 {
                        tracing::warn!(
                            url = client.base_url(),
                            "vLLM /metrics is not readable: --concurrency auto stays at {}",
                            e.limit.load(Ordering::Relaxed)
                        );
                    }
                    continue;
                };
                misses = 0;
                let limit = e.limit.load(Ordering::Relaxed);
                let in_flight = e.in_flight.load(Ordering::Relaxed);
                let target = (running / 8.0).max(4.0);
                // A queue longer than the target, not the request or two that waits for the
                // scheduler's next step, shows the server full.
                if waiting > target {
                    slots_seen = Some(slots_seen.map_or(running, |s| s.max(running)));
                } else if slots_seen.is_some_and(|s| running > s) {
                    // The server runs more than before (restarted bigger): find out again.
                    slots_seen = None;
                }
                let ceiling =
                    slots_seen.map_or(e.cap, |s| ((s + 2.0 * target) as usize).min(e.cap));
                let new = if waiting < 1.0 && in_flight + 2 >= limit {
                    (limit * 2).min(ceiling).max(limit)
                } else if waiting > 2.0 * target {
                    ((running + target) as usize).clamp(4, e.cap)
                } else {
                    limit
                };
                climbing = new > limit;
                if new != limit {
                    tracing::debug!(running, waiting, limit, new, "adaptive concurrency");
                    e.set_limit(new);
                }
            }
        });
    }

    /// After a request time-out: whether the engine is alive and busy (answers `/metrics`
    /// with requests running or waiting, or at least its health check). If so, the
    /// requests in flight to it are cut to what it runs (half of them when that is not
    /// known), said once, and the time-out is not counted as a failure of the engine.
    async fn busy(&self, idx: usize) -> Option<String> {
        let e = &self.engines[idx];
        // One look per time-out period: the requests that timed out with this one were
        // sent under the same verdict; requests sent after an adjustment are judged when
        // they, in turn, time out.
        let mut seen = e.busy_seen.lock().await;
        let window = Duration::from_millis(e.timeout_ms.load(Ordering::Relaxed)) / 2;
        if let Some((at, verdict)) = seen.as_ref() {
            if at.elapsed() < window {
                return verdict.clone();
            }
        }
        let verdict = self.judge_busy(e).await;
        *seen = Some((Instant::now(), verdict.clone()));
        verdict
    }

    /// `busy`'s look at the server and its adjustments.
    async fn judge_busy(&self, e: &EngineState) -> Option<String> {
        let state = match &e.client {
            EngineClient::OpenAi(c) => match c.queue_metrics().await {
                Some((running, waiting)) if running + waiting >= 1.0 => Some((
                    format!("{running} running, {waiting} waiting"),
                    running as usize,
                )),
                Some(_) => None,
                None => None,
            },
            EngineClient::Ollama(_) => None,
        };
        let (what, running) = match state {
            Some(s) => s,
            None => match tokio::time::timeout(Duration::from_secs(5), e.client.ready()).await {
                Ok(Ok(_)) => (
                    "it answers its health check".to_string(),
                    e.in_flight.load(Ordering::Relaxed) / 2,
                ),
                _ => return None,
            },
        };
        let limit = e.limit.load(Ordering::Relaxed);
        let new = running.clamp(1, limit.max(1));
        // The next requests may wait longer: an answer abandoned at the time-out is
        // generation thrown away.
        let most = self.cfg.request_timeout.as_millis() as u64 * u64::from(BUSY_TIMEOUT_FACTOR);
        let old_t = e.timeout_ms.load(Ordering::Relaxed);
        let new_t = (old_t * 2).min(most);
        if new_t > old_t {
            e.timeout_ms.store(new_t, Ordering::Relaxed);
            tracing::warn!(
                engine = %e.client.kind(),
                url = e.client.url(),
                "engine busy ({what}): request time-out for it raised from {} s to {} s (at most {}x --request-timeout)",
                old_t / 1000,
                new_t / 1000,
                BUSY_TIMEOUT_FACTOR
            );
        }
        if new < limit {
            e.set_limit(new);
            tracing::warn!(
                engine = %e.name,
                url = e.client.url(),
                "engine busy ({what}): a request got no answer within --request-timeout (queued, or generating slowly next to many others); in flight to it cut from {limit} to {new} (not an outage). If single answers take longer than the time-out, raise --request-timeout"
            );
        }
        Some(what)
    }

    /// Waits for an engine that is up: the endpoints of the first tier (kind, in preference
    /// order) with one that is up and fits the request, least loaded first.
    async fn pick(
        &self,
        rx: &mut watch::Receiver<u64>,
        fits: impl Fn(&EngineState) -> bool,
    ) -> Result<Vec<usize>, RouteError> {
        loop {
            rx.borrow_and_update();
            let mut any_up = false;
            let mut tier: Option<EngineKind> = None;
            let mut found: Vec<usize> = Vec::new();
            for (i, e) in self.engines.iter().enumerate() {
                if tier.is_some_and(|k| k != e.client.kind()) {
                    break;
                }
                if e.up.load(Ordering::SeqCst) {
                    any_up = true;
                    // An engine whose context cannot hold this request is passed over.
                    if fits(e) {
                        tier = Some(e.client.kind());
                        found.push(i);
                    }
                }
            }
            if !found.is_empty() {
                // Fewest in flight relative to the limit first (a stable sort: ties keep
                // the order given).
                let load = |i: usize| {
                    let e = &self.engines[i];
                    let limit = e.limit.load(Ordering::Relaxed).max(1) as u64;
                    e.in_flight.load(Ordering::Relaxed) as u64 * 1_000_000 / limit
                };
                found.sort_by_key(|&i| load(i));
                return Ok(found);
            }
            if any_up {
                return Err(RouteError::Split(EngineError::new(
                    FailureClass::ContextLength,
                    format!(
                        "the prompt leaves less than {} output tokens in every engine's context",
                        self.cfg.min_output_tokens
                    ),
                )));
            }
            let since = *lock(&self.all_down_since).get_or_insert_with(Instant::now);
            let waited = since.elapsed();
            if waited >= self.cfg.engine_wait {
                return Err(RouteError::NoEngine(self.no_engine_message()));
            }
            tokio::select! {
                _ = self.cancel.cancelled() => return Err(RouteError::Cancelled),
                _ = rx.changed() => {}
                _ = tokio::time::sleep(self.cfg.engine_wait - waited) => {}
            }
        }
    }

    /// The message for exit code 3: every engine's URL and last error.
    pub fn no_engine_message(&self) -> String {
        let parts: Vec<String> = self
            .engines
            .iter()
            .map(|e| {
                format!(
                    "{} at {} ({})",
                    e.name,
                    e.client.url(),
                    lock(&e.last_error)
                        .clone()
                        .unwrap_or_else(|| "no answer".into())
                )
            })
            .collect();
        format!(
            "no engine became available within --engine-wait {} s: {}. Start an engine (or fix the URL) and rerun the same command: finished work is kept",
            self.cfg.engine_wait.as_secs(),
            parts.join("; ")
        )
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .cfg
            .base_backoff
            .saturating_mul(1u32 << attempt.min(10))
            .min(self.cfg.max_backoff);
        // "Equal jitter": half fixed, half random, so waits never collapse to zero.
        let jittered = exp / 2 + exp.mul_f64(fastrand::f64() / 2.0);
        let mut wait = retry_after.map_or(jittered, |ra| ra.max(jittered));
        if !self.budget.withdraw() {
            wait = wait.max(self.cfg.max_backoff);
        }
        wait
    }

    /// Output budget that fits this engine's context, or None when the prompt leaves too
    /// little room (the caller splits the chunk).
    fn fit_budget(&self, e: &EngineState, req: &ChatRequest, wanted: u32) -> Option<u32> {
        let ctx = e.context_len.load(Ordering::Relaxed);
        if ctx == 0 {
            return Some(wanted);
        }
        let chars = req.prompt_chars() as u64;
        let per_k = u64::from(e.tokens_per_kchar.load(Ordering::Relaxed));
        // 10% margin plus the chat template's own tokens.
        let prompt = (chars * per_k / 1000) * 11 / 10 + 32;
        let room = u64::from(ctx).saturating_sub(prompt);
        let budget = room.min(u64::from(wanted)) as u32;
        (budget >= self.cfg.min_output_tokens.min(wanted)).then_some(budget)
    }

    fn learn_prompt_ratio(e: &EngineState, req: &ChatRequest, prompt_tokens: u64) {
        let chars = req.prompt_chars() as u64;
        if prompt_tokens == 0 || chars < 200 {
            return;
        }
        let observed = (prompt_tokens * 1000 / chars).clamp(50, 2000) as u32;
        let old = e.tokens_per_kchar.load(Ordering::Relaxed);
        // Move up fast (under-estimates cause 400s), down slowly.
        let new = if observed > old {
            observed
        } else {
            (old * 7 + observed) / 8
        };
        e.tokens_per_kchar.store(new, Ordering::Relaxed);
    }

    /// Sends `req`, retrying and rerouting until `accept` takes an answer or the request
    /// definitively fails. `accept` parses and validates; its errors are retried as
    /// content failures (or as truncation).
    pub async fn call<T>(
        self: &Arc<Self>,
        req: &ChatRequest,
        spend: &ChunkSpend,
        accept: impl Fn(&ChatAnswer) -> Result<T, EngineError>,
    ) -> Result<Served<T>, RouteError> {
        let mut rx = self.health_tx.subscribe();
        let mut transient = 0u32;
        let mut rate_limited = 0u32;
        let mut content = 0u32;
        let mut connects = 0u32;
        let mut retries = 0u32;
        let mut budget = req.max_tokens;
        let mut seed = req.seed;
        loop {
            if self.cancel.is_cancelled() {
                return Err(RouteError::Cancelled);
            }
            if spend.exhausted() {
                return Err(RouteError::Failed(spend.error()));
            }
            let candidates = self
                .pick(&mut rx, |e| self.fit_budget(e, req, budget).is_some())
                .await?;
            // A free slot on the least loaded endpoint; when all are full, the first slot
            // any of them frees.
            let free = candidates.iter().find_map(|&i| {
                self.engines[i]
                    .sem
                    .clone()
                    .try_acquire_owned()
                    .ok()
                    .map(|p| (i, p))
            });
            let (idx, permit) = match free {
                Some(got) => got,
                None => {
                    let waits = candidates.iter().map(|&i| {
                        let sem = self.engines[i].sem.clone();
                        Box::pin(async move { (i, sem.acquire_owned().await) })
                    });
                    tokio::select! {
                        ((i, p), _, _) = futures::future::select_all(waits) => {
                            (i, p.map_err(|_| RouteError::Cancelled)?)
                        }
                        _ = rx.changed() => continue,
                        _ = self.cancel.cancelled() => return Err(RouteError::Cancelled),
                    }
                }
            };
            let e = &self.engines[idx];
            if !e.up.load(Ordering::SeqCst) {
                continue;
            }
            let Some(max_tokens) = self.fit_budget(e, req, budget) else {
                return Err(RouteError::Split(EngineError::new(
                    FailureClass::ContextLength,
                    format!(
                        "prompt leaves less than {} tokens of a {}-token context",
                        self.cfg.min_output_tokens,
                        e.context_len.load(Ordering::Relaxed)
                    ),
                )));
            };
            let attempt = ChatRequest {
                max_tokens,
                seed,
                ..req.clone()
            };
            e.requests.fetch_add(1, Ordering::Relaxed);
            let now = e.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            e.max_in_flight.fetch_max(now, Ordering::Relaxed);
            let limit = Duration::from_millis(e.timeout_ms.load(Ordering::Relaxed));
            let result = tokio::select! {
                r = tokio::time::timeout(limit, e.client.chat(&attempt)) => Some(r.unwrap_or_else(|_| {
                    Err(EngineError::new(
                        FailureClass::Timeout,
                        format!("no answer within {} s (--request-timeout)", limit.as_secs()),
                    ))
                })),
                _ = self.cancel.cancelled() => None,
            };
            e.in_flight.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            let Some(result) = result else {
                return Err(RouteError::Cancelled);
            };
            let outcome = result.and_then(|ans| {
                spend.record(ans.completion_tokens);
                e.prompt_tokens
                    .fetch_add(ans.prompt_tokens, Ordering::Relaxed);
                e.completion_tokens
                    .fetch_add(ans.completion_tokens, Ordering::Relaxed);
                Self::learn_prompt_ratio(e, &attempt, ans.prompt_tokens);
                if ans.input_truncated {
                    return Err(EngineError::new(
                        FailureClass::ContextLength,
                        format!(
                            "the prompt ({} tokens) filled the context: the engine cut it",
                            ans.prompt_tokens
                        ),
                    ));
                }
                accept(&ans).map(|v| (v, ans.prompt_tokens, ans.completion_tokens))
            });
            match outcome {
                Ok((value, pt, ct)) => {
                    e.successes.fetch_add(1, Ordering::Relaxed);
                    e.consecutive_failures.store(0, Ordering::Relaxed);
                    e.grow_back();
                    self.budget.deposit();
                    if e.client.kind() != self.preferred {
                        e.fallbacks.fetch_add(1, Ordering::Relaxed);
                    }
                    return Ok(Served {
                        value,
                        engine: e.client.kind(),
                        model: e.client.model(),
                        prompt_tokens: pt,
                        completion_tokens: ct,
                        retries,
                    });
                }
                Err(err) => {
                    *lock(&e.failures).entry(err.class.name()).or_default() += 1;
                    *lock(&e.last_error) = Some(err.to_string());
                    retries += 1;
                    e.retries.fetch_add(1, Ordering::Relaxed);
                    match err.class {
                        FailureClass::ChunkCap => return Err(RouteError::Failed(err)),
                        FailureClass::Unauthorized
                        | FailureClass::ModelNotFound
                        | FailureClass::Tls => {
                            return Err(RouteError::Fatal(err.message));
                        }
                        FailureClass::ContextLength => {
                            // vLLM names its context in some refusals ("max_model_len=2048"):
                            // learn it and fit the request, once, before splitting.
                            let learnt = err
                                .message
                                .split("max_model_len=")
                                .nth(1)
                                .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
                                .and_then(|n| n.parse::<u32>().ok());
                            match learnt {
                                Some(n) if n != e.context_len.swap(n, Ordering::SeqCst) => {}
                                _ => return Err(RouteError::Split(err)),
                            }
                        }
                        FailureClass::Truncated => {
                            // Cut off before one record was complete. More budget while
                            // the ceiling allows it and the context has room; then the
                            // caller shrinks the answer bounds (another sample at the same
                            // bounds would be cut off again: the schema, not the text,
                            // decides how long a filled answer is).
                            let grown = max_tokens.saturating_mul(2).min(req.max_tokens_ceiling);
                            let room = self.fit_budget(e, req, grown).unwrap_or(0);
                            if room > max_tokens {
                                budget = room;
                            } else {
                                return Err(RouteError::Split(err));
                            }
                        }
                        FailureClass::Connect => {
                            connects += 1;
                            self.mark_down(idx, &err);
                            if connects > 30 {
                                return Err(RouteError::Failed(err));
                            }
                        }
                        FailureClass::Timeout
                        | FailureClass::Reset
                        | FailureClass::Server
                        | FailureClass::RateLimited => {
                            // 429/503 is a gateway (or vLLM's queue limit) saying "later":
                            // back pressure, not an outage. It shrinks the limit, never trips
                            // the breaker (the work would go to Ollama while vLLM is alive),
                            // and a chunk may wait through more of them than of failures.
                            let limited = err.class == FailureClass::RateLimited;
                            let attempts = if limited {
                                rate_limited += 1;
                                rate_limited.div_ceil(RATE_LIMITED_PER_ATTEMPT)
                            } else {
                                transient += 1;
                                transient
                            };
                            if limited {
                                e.back_pressure();
                            }
                            // A time-out from a server that answers and has work running
                            // is a queue, not an outage: fewer in flight, no breaker.
                            let busy = if err.class == FailureClass::Timeout {
                                self.busy(idx).await
                            } else {
                                None
                            };
                            if busy.is_none() && !limited {
                                let n = e.consecutive_failures.fetch_add(1, Ordering::SeqCst) + 1;
                                if n >= self.cfg.breaker_threshold {
                                    self.mark_down(idx, &err);
                                }
                            }
                            if attempts >= self.cfg.max_transient_attempts {
                                return Err(RouteError::Failed(err));
                            }
                            // Another engine up? Go there at once; else wait.
                            let elsewhere = self
                                .engines
                                .iter()
                                .enumerate()
                                .any(|(j, o)| j != idx && o.up.load(Ordering::SeqCst));
                            if !elsewhere || err.class == FailureClass::RateLimited {
                                let wait = self.backoff(attempts, err.retry_after);
                                tokio::select! {
                                    _ = tokio::time::sleep(wait) => {}
                                    _ = self.cancel.cancelled() => return Err(RouteError::Cancelled),
                                }
                            }
                        }
                        FailureClass::Malformed
                        | FailureClass::EmptyContent
                        | FailureClass::Invalid
                        | FailureClass::BadRequest => {
                            content += 1;
                            // A different seed gives a different sample on the retry.
                            seed = seed.wrapping_add(1);
                            let limit = if err.class == FailureClass::BadRequest {
                                2
                            } else {
                                self.cfg.max_content_attempts
                            };
                            if content >= limit {
                                return Err(RouteError::Failed(err));
                            }
                        }
                    }
                }
            }
        }
    }
}
