//! Each endpoint's health: the breaker takes an endpoint that keeps failing out of the
//! rotation, a background probe watches a downed one and puts it back as soon as it
//! answers, and every change wakes the requests waiting for an engine.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::state::{lock, Router};
use crate::engine::{EngineError, DNS_FAILED};

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

    /// Each endpoint with its last failure in brief: `vllm at URL (connection refused)`.
    fn engines_and_reasons(&self) -> String {
        let parts: Vec<String> = self
            .engines
            .iter()
            .map(|e| {
                let reason = lock(&e.last_error)
                    .as_deref()
                    .map_or_else(|| "no answer".into(), brief_reason);
                format!("{} at {} ({reason})", e.name, e.client.url())
            })
            .collect();
        parts.join("; ")
    }

    /// The message for exit code 3: every engine's URL and why it failed.
    pub fn no_engine_message(&self) -> String {
        format!(
            "no engine became available within --engine-wait {} s: {}. Start an engine (or fix the URL) and rerun the same command: finished work is kept",
            self.cfg.engine_wait.as_secs(),
            self.engines_and_reasons()
        )
    }

    /// While no engine is up: which were tried, why each failed, and how long the run
    /// still waits before it gives up (None while one is up).
    pub fn waiting_line(&self) -> Option<String> {
        if self.engines.iter().any(|e| e.up.load(Ordering::SeqCst)) {
            return None;
        }
        let waited = lock(&self.all_down_since).map_or(Duration::ZERO, |t| t.elapsed());
        let left = self.cfg.engine_wait.saturating_sub(waited).as_secs();
        Some(format!(
            "waiting for an engine: {}; giving up in {} (--engine-wait {} s)",
            self.engines_and_reasons(),
            if left >= 60 {
                format!("{}m{:02}s", left / 60, left % 60)
            } else {
                format!("{left} s")
            },
            self.cfg.engine_wait.as_secs()
        ))
    }
}

/// A failure in a few words, for lines that list every engine: "connection refused",
/// "DNS lookup failed", "TLS certificate not trusted", "503 (loading)", "timed out";
/// anything else as it was said.
pub(super) fn brief_reason(err: &str) -> String {
    let lower = err.to_lowercase();
    let status = lower
        .split("answered ")
        .nth(1)
        .and_then(|rest| rest.get(..3))
        .filter(|code| code.bytes().all(|b| b.is_ascii_digit()));
    if err.contains(DNS_FAILED) {
        DNS_FAILED.into()
    } else if lower.contains("connection refused") {
        "connection refused".into()
    } else if lower.contains("certificate") {
        "TLS certificate not trusted".into()
    } else if let Some(code) = status {
        match code {
            "503" => "503 (loading)".into(),
            code => format!("answered {code}"),
        }
    } else if lower.starts_with("timeout") || lower.contains("no answer within") {
        "timed out".into()
    } else {
        err.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::brief_reason;

    #[test]
    fn failures_read_in_a_few_words() {
        let cases = [
            ("connect: Connection refused (os error 111)", "connection refused"),
            (
                "connect: DNS lookup failed: the host name x.invalid does not resolve (Name or service not known)",
                "DNS lookup failed",
            ),
            ("/health answered 503 (engine loading or dead)", "503 (loading)"),
            ("server_error: /health answered 500", "answered 500"),
            ("timeout: no answer within --request-timeout", "timed out"),
            (
                "tls: the server's TLS certificate is not trusted (invalid peer certificate: UnknownIssuer)",
                "TLS certificate not trusted",
            ),
            ("401 Unauthorized", "401 Unauthorized"),
        ];
        for (err, want) in cases {
            assert_eq!(brief_reason(err), want, "{err}");
        }
    }
}
