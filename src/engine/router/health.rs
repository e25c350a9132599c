//! Each endpoint's health: the breaker takes an endpoint that keeps failing out of the
//! rotation, a background probe watches a downed one and puts it back as soon as it
//! answers, and every change wakes the requests waiting for an engine.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::state::{lock, Router};
use crate::engine::EngineError;

impl Router {
    fn notify(&self) {
        self.health_tx.send_modify(|g| *g += 1);
    }

    pub(super) fn mark_down(self: &Arc<Self>, idx: usize, err: &EngineError) {
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

    pub(super) fn start_probe(self: &Arc<Self>, idx: usize) {
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
}
