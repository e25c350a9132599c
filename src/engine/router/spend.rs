//! The two budgets requests spend: each chunk's own cap (answers and generated tokens over
//! all its requests), and the retry budget all requests share (so a sick server is not hit
//! by every request's private retry loop at once).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::engine::{EngineError, FailureClass};

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

    pub(super) fn record(&self, completion_tokens: u64) {
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

/// Shared retry budget (as tower's): retries spend a token, successes earn a fraction of
/// one. When it is empty, retries still happen but only after the longest backoff, so a
/// sick server is not hit by every request's private retry loop at once.
pub(super) struct RetryBudget {
    tokens: Mutex<f64>,
}

impl RetryBudget {
    const MAX: f64 = 100.0;

    pub(super) fn new(tokens: f64) -> Self {
        Self {
            tokens: Mutex::new(tokens),
        }
    }

    pub(super) fn deposit(&self) {
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        *t = (*t + 0.2).min(Self::MAX);
    }

    pub(super) fn withdraw(&self) -> bool {
        let mut t = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        if *t >= 1.0 {
            *t -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_is_exhausted_by_answers_or_tokens() {
        let s = ChunkSpend::new(2, 100);
        s.record(10);
        assert!(!s.exhausted());
        s.record(10);
        assert!(s.exhausted(), "two answers reach a cap of two");
        let t = ChunkSpend::new(5, 100);
        t.record(100);
        assert!(t.exhausted(), "100 tokens reach a cap of 100");
        assert_eq!(t.error().class, FailureClass::ChunkCap);
    }

    #[test]
    fn an_empty_retry_budget_refuses_until_successes_refill_it() {
        let b = RetryBudget::new(1.0);
        assert!(b.withdraw());
        assert!(!b.withdraw());
        for _ in 0..5 {
            b.deposit();
        }
        assert!(b.withdraw(), "five successes earn one retry");
    }
}
