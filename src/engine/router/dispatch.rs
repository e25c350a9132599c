//! One request's way through the router: pick an endpoint (first tier with one up, least
//! loaded first), take a slot under its limit, send within its time-out, hand the answer
//! to the caller's check, and after a failure do what the retry policy (`retry`) decides.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, OwnedSemaphorePermit};

use super::config::{RouteError, Served};
use super::retry::{self, Failure, Next, Tally};
use super::spend::ChunkSpend;
use super::state::{lock, EngineState, Router};
use crate::engine::{ChatAnswer, ChatRequest, EngineError, EngineKind, FailureClass};

/// What one request has been through: failures by family, attempts beyond the first, and
/// the answer budget and seed the next attempt is sent with.
struct Progress {
    tally: Tally,
    retries: u32,
    budget: u32,
    seed: u64,
}

impl Router {
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
        let mut progress = Progress {
            tally: Tally::default(),
            retries: 0,
            budget: req.max_tokens,
            seed: req.seed,
        };
        loop {
            // Stopping: no new attempt (only the ones in flight get the grace).
            if self.stop.is_cancelled() {
                return Err(RouteError::Cancelled);
            }
            if spend.exhausted() {
                return Err(RouteError::Failed(spend.error()));
            }
            let Some((idx, permit)) = self.take_slot(&mut rx, req, progress.budget).await? else {
                continue;
            };
            let e = &self.engines[idx];
            if !e.up.load(Ordering::SeqCst) {
                continue;
            }
            let Some(max_tokens) = self.fit_budget(e, req, progress.budget) else {
                return Err(self.no_room(e));
            };
            let attempt = ChatRequest {
                max_tokens,
                seed: progress.seed,
                ..req.clone()
            };
            let Some(result) = self.send(e, &attempt, permit).await else {
                return Err(RouteError::Cancelled);
            };
            match Self::take_answer(e, spend, &attempt, result, &accept) {
                Ok((value, pt, ct)) => return Ok(self.served(e, value, pt, ct, progress.retries)),
                Err(err) => {
                    self.after_failure(idx, req, max_tokens, err, &mut progress)
                        .await?
                }
            }
        }
    }

    /// A slot on an endpoint that can take `req` with an answer budget of `budget`: a free
    /// one on the least loaded endpoint; when all are full, the first slot any of them
    /// frees. None when engine health changed meanwhile (pick again).
    async fn take_slot(
        &self,
        rx: &mut watch::Receiver<u64>,
        req: &ChatRequest,
        budget: u32,
    ) -> Result<Option<(usize, OwnedSemaphorePermit)>, RouteError> {
        let candidates = self
            .pick(rx, |e| self.fit_budget(e, req, budget).is_some())
            .await?;
        let free = candidates.iter().find_map(|&i| {
            self.engines[i]
                .sem
                .clone()
                .try_acquire_owned()
                .ok()
                .map(|p| (i, p))
        });
        if free.is_some() {
            return Ok(free);
        }
        let waits = candidates.iter().map(|&i| {
            let sem = self.engines[i].sem.clone();
            Box::pin(async move { (i, sem.acquire_owned().await) })
        });
        tokio::select! {
            ((i, p), _, _) = futures::future::select_all(waits) => {
                Ok(Some((i, p.map_err(|_| RouteError::Cancelled)?)))
            }
            _ = rx.changed() => Ok(None),
            _ = self.stop.cancelled() => Err(RouteError::Cancelled),
        }
    }

    /// The chunk's prompt leaves too little of this engine's context for an answer.
    fn no_room(&self, e: &EngineState) -> RouteError {
        RouteError::Split(EngineError::new(
            FailureClass::ContextLength,
            format!(
                "prompt leaves less than {} tokens of a {}-token context",
                self.cfg.min_output_tokens,
                e.context_len.load(Ordering::Relaxed)
            ),
        ))
    }

    /// One exchange with `e` under its current time-out, counted in flight while it runs;
    /// the slot is given back when it ends. None when the run is stopping.
    async fn send(
        &self,
        e: &EngineState,
        attempt: &ChatRequest,
        permit: OwnedSemaphorePermit,
    ) -> Option<Result<ChatAnswer, EngineError>> {
        e.requests.fetch_add(1, Ordering::Relaxed);
        let now = e.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        e.max_in_flight.fetch_max(now, Ordering::Relaxed);
        let sent_at = Instant::now();
        if e.adaptive {
            lock(&e.sampler).sent(now);
        }
        let limit = Duration::from_millis(e.timeout_ms.load(Ordering::Relaxed));
        let result = tokio::select! {
            r = tokio::time::timeout(limit, e.client.chat(attempt)) => Some(r.unwrap_or_else(|_| {
                Err(EngineError::new(
                    FailureClass::Timeout,
                    format!("no answer within {} s (--request-timeout)", limit.as_secs()),
                ))
            })),
            _ = self.cancel.cancelled() => None,
        };
        e.in_flight.fetch_sub(1, Ordering::SeqCst);
        drop(permit);
        if let (true, Some(Ok(ans))) = (e.adaptive, &result) {
            lock(&e.sampler).answered(sent_at, sent_at.elapsed(), ans.completion_tokens);
        }
        result
    }

    /// An answer received: spent by the chunk, counted, learnt from; a prompt the engine
    /// cut is refused, and the rest is up to `accept`. Gives the accepted value and the
    /// answer's prompt and completion tokens.
    fn take_answer<T>(
        e: &EngineState,
        spend: &ChunkSpend,
        attempt: &ChatRequest,
        result: Result<ChatAnswer, EngineError>,
        accept: impl Fn(&ChatAnswer) -> Result<T, EngineError>,
    ) -> Result<(T, u64, u64), EngineError> {
        let ans = result?;
        spend.record(ans.completion_tokens);
        e.prompt_tokens
            .fetch_add(ans.prompt_tokens, Ordering::Relaxed);
        e.completion_tokens
            .fetch_add(ans.completion_tokens, Ordering::Relaxed);
        e.cached_tokens
            .fetch_add(ans.cached_tokens, Ordering::Relaxed);
        Self::learn_prompt_ratio(e, attempt, ans.prompt_tokens);
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
    }

    /// A success: the engine's breaker count resets, its limit may grow back, the shared
    /// retry budget earns a little.
    fn served<T>(
        &self,
        e: &EngineState,
        value: T,
        prompt_tokens: u64,
        completion_tokens: u64,
        retries: u32,
    ) -> Served<T> {
        e.successes.fetch_add(1, Ordering::Relaxed);
        e.consecutive_failures.store(0, Ordering::Relaxed);
        e.grow_back();
        self.budget.deposit();
        if e.client.kind() != self.preferred {
            e.fallbacks.fetch_add(1, Ordering::Relaxed);
        }
        Served {
            value,
            engine: e.client.kind(),
            model: e.client.model(),
            prompt_tokens,
            completion_tokens,
            retries,
        }
    }

    /// A failed attempt sent with answer budget `sent`: counted, looked at, and then what
    /// the retry policy decides. Ok means "send again" (after any wait it asked for).
    async fn after_failure(
        self: &Arc<Self>,
        idx: usize,
        req: &ChatRequest,
        sent: u32,
        err: EngineError,
        progress: &mut Progress,
    ) -> Result<(), RouteError> {
        let e = &self.engines[idx];
        *lock(&e.failures).entry(err.class.name()).or_default() += 1;
        *lock(&e.last_error) = Some(err.to_string());
        progress.retries += 1;
        e.retries.fetch_add(1, Ordering::Relaxed);
        let failure = self
            .observe(idx, req, sent, &err, &mut progress.tally)
            .await;
        let decision = retry::decide(&failure, &self.cfg);
        if decision.mark_down {
            self.mark_down(idx, &err);
        }
        match decision.next {
            Next::FailOver | Next::Refit => Ok(()),
            Next::Resample => {
                // A different seed gives a different sample on the retry.
                progress.seed = progress.seed.wrapping_add(1);
                Ok(())
            }
            Next::Grow(budget) => {
                progress.budget = budget;
                Ok(())
            }
            Next::Backoff => {
                let wait = self.backoff(failure.attempt, err.retry_after);
                tokio::select! {
                    _ = tokio::time::sleep(wait) => Ok(()),
                    _ = self.stop.cancelled() => Err(RouteError::Cancelled),
                }
            }
            Next::Split => Err(RouteError::Split(err)),
            Next::Fail => Err(RouteError::Failed(err)),
            Next::Fatal => Err(RouteError::Fatal(err.message)),
        }
    }

    /// What the retry policy needs to know about a failure, and the engine's reaction to
    /// it: back pressure cuts its limit, a time-out asks whether it is busy, a failure
    /// that counts against the breaker is counted, a context named in a refusal is learnt.
    async fn observe(
        &self,
        idx: usize,
        req: &ChatRequest,
        sent: u32,
        err: &EngineError,
        tally: &mut Tally,
    ) -> Failure {
        let e = &self.engines[idx];
        let class = err.class;
        let attempt = tally.count(class);
        if class == FailureClass::RateLimited {
            e.back_pressure();
        }
        let busy = class == FailureClass::Timeout && self.busy(idx).await.is_some();
        let consecutive = if retry::counts_against_breaker(class, busy) {
            e.consecutive_failures.fetch_add(1, Ordering::SeqCst) + 1
        } else {
            0
        };
        let context_learnt = class == FailureClass::ContextLength
            && retry::context_in_refusal(&err.message)
                .is_some_and(|n| n != e.context_len.swap(n, Ordering::SeqCst));
        let grown_room = if class == FailureClass::Truncated {
            let grown = retry::grown_budget(sent, req.max_tokens_ceiling);
            self.fit_budget(e, req, grown).unwrap_or(0)
        } else {
            0
        };
        let elsewhere_up = self
            .engines
            .iter()
            .enumerate()
            .any(|(j, o)| j != idx && o.up.load(Ordering::SeqCst));
        Failure {
            class,
            attempt,
            context_learnt,
            budget: sent,
            grown_room,
            busy,
            consecutive,
            elsewhere_up,
        }
    }

    /// The wait before a retry (see `retry::backoff`), spending from the shared budget.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let jitter = fastrand::f64();
        let budget_left = self.budget.withdraw();
        retry::backoff(&self.cfg, attempt, retry_after, jitter, budget_left)
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
                _ = self.stop.cancelled() => return Err(RouteError::Cancelled),
                _ = rx.changed() => {}
                _ = tokio::time::sleep(self.cfg.engine_wait - waited) => {}
            }
        }
    }
}
