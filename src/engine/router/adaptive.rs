//! How many requests may be in flight to each endpoint: the limit moves under the fixed
//! cap. A 429 or 503 (back pressure) halves it and successes grow it back; `--concurrency
//! auto` follows the answers' latency and throughput (`pace`) and vLLM's queue; a time-out from a server that is alive and busy cuts it to
//! what the server runs and lengthens that engine's request time-out.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::BUSY_TIMEOUT_FACTOR;
use super::pace;
use super::state::{lock, EngineState, Router};
use crate::engine::client::EngineClient;

impl EngineState {
    /// Moves the semaphore's permits to `new`: adds at once; withdraws what is free now
    /// and the rest as requests finish.
    fn set_limit(&self, new: usize) {
        let old = self.limit.swap(new, Ordering::SeqCst);
        self.peak_limit.fetch_max(new, Ordering::Relaxed);
        // Answers to requests sent before the change say nothing of the new limit.
        lock(&self.sampler).restart(Instant::now(), self.in_flight.load(Ordering::Relaxed));
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
    pub(super) fn back_pressure(&self) {
        let mut last = lock(&self.last_cut);
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
    pub(super) fn grow_back(&self) {
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

/// What the adaptive loop of one engine carries from one look to the next.
struct Look {
    /// Unreadable /metrics in a row.
    misses: u32,
    /// While the limit is still climbing, look again soon: every step waits for one
    /// reading, and slow readings made the climb to a large server's slot count the main
    /// cost of `auto` (measured: 1.6 s of ramp-up for 256 slots).
    climbing: bool,
    /// The most requests the server was seen running while others waited: its slot
    /// count. Once known, the limit stays within a short queue of it (a queue that
    /// momentarily drains would otherwise read as room and climb again).
    slots_seen: Option<f64>,
    /// The answers' side (see `pace`).
    memory: pace::Memory,
}

/// What vLLM's queue says: whether there is room for more, a cut when its queue is long,
/// and the most the limit may climb to.
struct QueueSays {
    room: bool,
    cut: Option<usize>,
    ceiling: usize,
}

impl Router {
    /// `--concurrency auto`: every 0.5 s (0.1 s while climbing) reads vLLM's queue from
    /// /metrics and the answers since the last look, and moves this engine's limit. The
    /// answers decide the climb (`pace`): doubled while latency stays near the unloaded
    /// one or the rate still rises with it, backed off when latency grew and the rate
    /// did not, and never so high that the slowest answer nears the request time-out.
    /// The queue vetoes and cuts: no climb while requests wait at the server; a queue
    /// longer than twice the target cuts to what runs plus the target; once a queue has
    /// shown the server's slot count, no climb past that count plus twice the target.
    pub(super) fn spawn_adaptive(self: &Arc<Self>, idx: usize) {
        let router = Arc::clone(self);
        tokio::spawn(async move {
            let e = &router.engines[idx];
            let EngineClient::OpenAi(client) = &e.client else {
                return;
            };
            let mut look = Look {
                misses: 0,
                climbing: true,
                slots_seen: None,
                memory: pace::Memory::default(),
            };
            loop {
                let pause = if look.climbing { 100 } else { 500 };
                tokio::select! {
                    _ = router.cancel.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(pause)) => {}
                }
                e.withdraw_owed();
                if !e.up.load(Ordering::SeqCst) {
                    continue;
                }
                let queue = client.queue_metrics().await;
                if queue.is_none() {
                    look.misses += 1;
                    if look.misses == 3 {
                        tracing::warn!(
                            url = client.base_url(),
                            "vLLM /metrics is not readable: --concurrency auto follows the answers' latency and throughput only"
                        );
                    }
                } else {
                    look.misses = 0;
                }
                router.adapt(e, queue, &mut look);
            }
        });
    }

    /// One look: the queue's say and the answers' window, then the new limit.
    fn adapt(&self, e: &EngineState, queue: Option<(f64, f64)>, look: &mut Look) {
        let limit = e.limit.load(Ordering::Relaxed);
        let says = queue_says(e, queue, limit, &mut look.slots_seen);
        let window = lock(&e.sampler).take(Instant::now(), pace::answers_needed(limit));
        let mut new = limit;
        if let Some(w) = &window {
            let timeout = self.cfg.request_timeout.as_secs_f64();
            let v = pace::after_window(w, limit, timeout, says.room, &mut look.memory);
            // Latency from the server's own queue is the queue rule's to cut, and a
            // back-off below the slots a queue showed would leave slots idle; the
            // time-out's cap holds whatever the queue says.
            let floor = match (says.room, look.slots_seen) {
                (false, _) => limit,
                (true, Some(slots)) => slots as usize,
                (true, None) => 1,
            };
            new = v.limit.max(floor.min(limit)).min(v.most);
        }
        if new > limit {
            new = new.min(says.ceiling).max(limit);
        }
        if let Some(cut) = says.cut {
            new = new.min(cut);
        }
        let new = new.clamp(1, e.cap);
        if window.is_some() || new != limit {
            look.climbing = new > limit;
        }
        if new != limit {
            tracing::debug!(?queue, ?window, limit, new, "adaptive concurrency");
            e.set_limit(new);
        }
    }

    /// After a request time-out: whether the engine is alive and busy (answers `/metrics`
    /// with requests running or waiting, or at least its health check). If so, the
    /// requests in flight to it are cut to what it runs (half of them when that is not
    /// known), said once, and the time-out is not counted as a failure of the engine.
    pub(super) async fn busy(&self, idx: usize) -> Option<String> {
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
}

/// vLLM's queue (`running`, `waiting`) at `limit`: room when nothing waits (or the queue
/// is not readable), a cut to what runs plus a short queue when many wait, and the slot
/// count learnt from a queue (forgotten when the server runs more than that: restarted
/// bigger).
fn queue_says(
    e: &EngineState,
    queue: Option<(f64, f64)>,
    limit: usize,
    slots_seen: &mut Option<f64>,
) -> QueueSays {
    let Some((running, waiting)) = queue else {
        let ceiling = slots_seen.map_or(e.cap, |s| (s as usize).max(1));
        return QueueSays {
            room: true,
            cut: None,
            ceiling,
        };
    };
    let target = (running / 8.0).max(4.0);
    // A queue longer than the target, not the request or two that waits for the
    // scheduler's next step, shows the server full.
    if waiting > target {
        *slots_seen = Some(slots_seen.map_or(running, |s| s.max(running)));
    } else if slots_seen.is_some_and(|s| running > s) {
        *slots_seen = None;
    }
    let ceiling = slots_seen.map_or(e.cap, |s| ((s + 2.0 * target) as usize).min(e.cap));
    let cut = (waiting > 2.0 * target)
        .then(|| ((running + target) as usize).clamp(4, e.cap))
        .filter(|&c| c < limit);
    QueueSays {
        room: waiting < 1.0,
        cut,
        ceiling,
    }
}
