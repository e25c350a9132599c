//! The retry policy of one request as pure functions: given how an attempt failed and what
//! the router saw of the engine, what happens next (send again at once, after a backoff,
//! with another seed or a larger answer budget; split the chunk; fail it; stop the run).
//! The dispatch loop does the I/O, the waiting and the bookkeeping; keeping the decision
//! apart lets every branch be tested without a server.
//!
//! The backoff is the project's own rather than a crate's: the jittered wait takes the
//! server's Retry-After as a floor, and the retry budget shared by all requests (not one
//! per request) stretches every wait to the longest when it runs dry.

use std::time::Duration;

use super::config::RouterConfig;
use crate::engine::FailureClass;

/// 429/503 answers a chunk may wait through per transient attempt: a gateway's rate limit
/// says "later", so it is given more patience than a failing server.
const RATE_LIMITED_PER_ATTEMPT: u32 = 4;

/// Refused connections a request goes through (each marks the engine down and waits for
/// it or another) before its chunk fails.
const MAX_CONNECT_FAILURES: u32 = 30;

/// Attempts for a request the engine refuses as bad (400): another sample rarely helps.
const MAX_BAD_REQUEST_ATTEMPTS: u32 = 2;

/// One request's failures so far, counted by family: each family has its own limit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tally {
    transient: u32,
    rate_limited: u32,
    content: u32,
    connects: u32,
}

impl Tally {
    /// Counts a failure of `class`; returns the attempt number its family's limit is held
    /// against (0 for classes without a limit). Back pressure counts one attempt per
    /// `RATE_LIMITED_PER_ATTEMPT` refusals.
    pub(super) fn count(&mut self, class: FailureClass) -> u32 {
        match class {
            FailureClass::Connect => {
                self.connects += 1;
                self.connects
            }
            FailureClass::RateLimited => {
                self.rate_limited += 1;
                self.rate_limited.div_ceil(RATE_LIMITED_PER_ATTEMPT)
            }
            FailureClass::Timeout | FailureClass::Reset | FailureClass::Server => {
                self.transient += 1;
                self.transient
            }
            FailureClass::Malformed
            | FailureClass::EmptyContent
            | FailureClass::Invalid
            | FailureClass::BadRequest => {
                self.content += 1;
                self.content
            }
            FailureClass::ChunkCap
            | FailureClass::Unauthorized
            | FailureClass::ModelNotFound
            | FailureClass::Tls
            | FailureClass::ContextLength
            | FailureClass::Truncated => 0,
        }
    }
}

/// What the router saw of a failed attempt: the decision's inputs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Failure {
    pub class: FailureClass,
    /// The attempt number in the class's family (`Tally::count`).
    pub attempt: u32,
    /// A context-length refusal named a context other than the one assumed (now learnt).
    pub context_learnt: bool,
    /// The answer budget the attempt was sent with.
    pub budget: u32,
    /// After a cut-off answer: the budget the context allows once grown (0: none).
    pub grown_room: u32,
    /// After a time-out: the engine is alive and busy (a queue, not an outage).
    pub busy: bool,
    /// The engine's consecutive failures, this one included (0 when it does not count,
    /// see `counts_against_breaker`).
    pub consecutive: u32,
    /// Another engine is up and may take the request at once.
    pub elsewhere_up: bool,
}

/// What happens after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// Send again at once: another engine is up, or this one is down and the pick waits.
    FailOver,
    /// Send again after a backoff (see `backoff`).
    Backoff,
    /// Send again fitted to the context length just learnt.
    Refit,
    /// Send again with another seed: another sample may be usable.
    Resample,
    /// Send again with this larger answer budget.
    Grow(u32),
    /// The prompt does not fit, or the answer never fits: the caller splits the chunk (or
    /// shrinks the answer bounds).
    Split,
    /// The chunk fails (recorded; the next run retries it).
    Fail,
    /// A configuration problem (key, certificate, model): the run stops.
    Fatal,
}

/// The decision: whether the engine's circuit opens, and what the request does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decision {
    pub mark_down: bool,
    pub next: Next,
}

/// Whether a failure counts toward the engine's breaker. Back pressure (429/503) never
/// does: the work would go to Ollama while vLLM is alive. Nor does a time-out from a
/// server that answers and has work running: that is a queue, not an outage.
pub(super) fn counts_against_breaker(class: FailureClass, busy: bool) -> bool {
    matches!(
        class,
        FailureClass::Timeout | FailureClass::Reset | FailureClass::Server
    ) && !busy
}

/// The retry decision for one failed attempt.
pub(super) fn decide(f: &Failure, cfg: &RouterConfig) -> Decision {
    let only = |next| Decision {
        mark_down: false,
        next,
    };
    match f.class {
        FailureClass::ChunkCap => only(Next::Fail),
        FailureClass::Unauthorized | FailureClass::ModelNotFound | FailureClass::Tls => {
            only(Next::Fatal)
        }
        // Fitted to a learnt context once; refused again, the chunk is split.
        FailureClass::ContextLength if f.context_learnt => only(Next::Refit),
        FailureClass::ContextLength => only(Next::Split),
        // Cut off before one record was complete. More budget while the ceiling allows it
        // and the context has room; then the caller shrinks the answer bounds (another
        // sample at the same bounds would be cut off again: the schema, not the text,
        // decides how long a filled answer is).
        FailureClass::Truncated if f.grown_room > f.budget => only(Next::Grow(f.grown_room)),
        FailureClass::Truncated => only(Next::Split),
        FailureClass::Connect => Decision {
            mark_down: true,
            next: if f.attempt > MAX_CONNECT_FAILURES {
                Next::Fail
            } else {
                Next::FailOver
            },
        },
        FailureClass::Timeout
        | FailureClass::Reset
        | FailureClass::Server
        | FailureClass::RateLimited => Decision {
            mark_down: counts_against_breaker(f.class, f.busy)
                && f.consecutive >= cfg.breaker_threshold,
            next: transient_next(f, cfg),
        },
        FailureClass::Malformed
        | FailureClass::EmptyContent
        | FailureClass::Invalid
        | FailureClass::BadRequest => {
            let limit = if f.class == FailureClass::BadRequest {
                MAX_BAD_REQUEST_ATTEMPTS
            } else {
                cfg.max_content_attempts
            };
            only(if f.attempt >= limit {
                Next::Fail
            } else {
                Next::Resample
            })
        }
    }
}

/// After a transient failure: another engine up takes the request at once; else (and
/// always after back pressure, which asks to come back later) wait.
fn transient_next(f: &Failure, cfg: &RouterConfig) -> Next {
    if f.attempt >= cfg.max_transient_attempts {
        Next::Fail
    } else if !f.elsewhere_up || f.class == FailureClass::RateLimited {
        Next::Backoff
    } else {
        Next::FailOver
    }
}

/// The context length vLLM names in some refusals ("max_model_len=2048").
pub(super) fn context_in_refusal(message: &str) -> Option<u32> {
    message
        .split("max_model_len=")
        .nth(1)
        .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<u32>().ok())
}

/// The answer budget to try after a cut-off answer sent with `budget`: twice it, at most
/// the request's ceiling.
pub(super) fn grown_budget(budget: u32, ceiling: u32) -> u32 {
    budget.saturating_mul(2).min(ceiling)
}

/// The wait before retry `attempt`: exponential from `base_backoff` up to `max_backoff`,
/// with "equal jitter" (half fixed, half random: `jitter` in [0, 1), so waits never
/// collapse to zero), at least the server's Retry-After, and the longest backoff when the
/// shared retry budget is empty (`budget_left` false).
pub(super) fn backoff(
    cfg: &RouterConfig,
    attempt: u32,
    retry_after: Option<Duration>,
    jitter: f64,
    budget_left: bool,
) -> Duration {
    let exp = cfg
        .base_backoff
        .saturating_mul(1u32 << attempt.min(10))
        .min(cfg.max_backoff);
    let jittered = exp / 2 + exp.mul_f64(jitter / 2.0);
    let wait = retry_after.map_or(jittered, |ra| ra.max(jittered));
    if budget_left {
        wait
    } else {
        wait.max(cfg.max_backoff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(class: FailureClass, attempt: u32) -> Failure {
        Failure {
            class,
            attempt,
            context_learnt: false,
            budget: 1000,
            grown_room: 0,
            busy: false,
            consecutive: 1,
            elsewhere_up: false,
        }
    }

    fn next(f: Failure) -> Next {
        decide(&f, &RouterConfig::default()).next
    }

    #[test]
    fn configuration_errors_stop_the_run_and_a_spent_chunk_fails() {
        for class in [
            FailureClass::Unauthorized,
            FailureClass::ModelNotFound,
            FailureClass::Tls,
        ] {
            assert_eq!(next(failure(class, 0)), Next::Fatal, "{class:?}");
        }
        assert_eq!(next(failure(FailureClass::ChunkCap, 0)), Next::Fail);
    }

    #[test]
    fn a_context_refusal_refits_once_when_it_names_a_new_context_else_splits() {
        let f = failure(FailureClass::ContextLength, 0);
        assert_eq!(next(f), Next::Split);
        let learnt = Failure {
            context_learnt: true,
            ..f
        };
        assert_eq!(next(learnt), Next::Refit);
        assert_eq!(
            context_in_refusal("This model's max_model_len=2048 tokens, you asked 3000"),
            Some(2048)
        );
        assert_eq!(context_in_refusal("maximum context length exceeded"), None);
    }

    #[test]
    fn a_cut_off_answer_grows_its_budget_while_the_context_has_room_then_splits() {
        let f = Failure {
            grown_room: 2000,
            ..failure(FailureClass::Truncated, 0)
        };
        assert_eq!(next(f), Next::Grow(2000));
        let full = Failure {
            grown_room: 1000,
            ..f
        };
        assert_eq!(next(full), Next::Split, "no more room than was sent");
        assert_eq!(grown_budget(1000, 4096), 2000);
        assert_eq!(grown_budget(3000, 4096), 4096);
        assert_eq!(grown_budget(u32::MAX, u32::MAX), u32::MAX);
    }

    #[test]
    fn refused_connections_mark_the_engine_down_and_fail_after_thirty() {
        let d = decide(&failure(FailureClass::Connect, 1), &RouterConfig::default());
        assert_eq!(
            d,
            Decision {
                mark_down: true,
                next: Next::FailOver
            }
        );
        assert_eq!(next(failure(FailureClass::Connect, 30)), Next::FailOver);
        assert_eq!(next(failure(FailureClass::Connect, 31)), Next::Fail);
    }

    #[test]
    fn transient_failures_back_off_fail_over_or_fail_at_the_attempt_limit() {
        let cfg = RouterConfig::default();
        let f = failure(FailureClass::Server, 1);
        assert_eq!(next(f), Next::Backoff, "nowhere else to go: wait");
        let elsewhere = Failure {
            elsewhere_up: true,
            ..f
        };
        assert_eq!(next(elsewhere), Next::FailOver);
        let last = Failure {
            attempt: cfg.max_transient_attempts,
            ..elsewhere
        };
        assert_eq!(next(last), Next::Fail);
    }

    #[test]
    fn back_pressure_waits_even_with_another_engine_up_and_never_trips_the_breaker() {
        let cfg = RouterConfig::default();
        let f = Failure {
            elsewhere_up: true,
            consecutive: cfg.breaker_threshold + 3,
            ..failure(FailureClass::RateLimited, 1)
        };
        assert_eq!(
            decide(&f, &cfg),
            Decision {
                mark_down: false,
                next: Next::Backoff
            }
        );
        assert!(!counts_against_breaker(FailureClass::RateLimited, false));
        // Four refusals make one attempt.
        let mut t = Tally::default();
        let attempts: Vec<u32> = (0..5).map(|_| t.count(FailureClass::RateLimited)).collect();
        assert_eq!(attempts, [1, 1, 1, 1, 2]);
    }

    #[test]
    fn the_breaker_opens_at_the_threshold_unless_the_engine_is_busy() {
        let cfg = RouterConfig::default();
        let f = Failure {
            consecutive: cfg.breaker_threshold - 1,
            ..failure(FailureClass::Timeout, 1)
        };
        assert!(!decide(&f, &cfg).mark_down);
        let at = Failure {
            consecutive: cfg.breaker_threshold,
            ..f
        };
        assert!(decide(&at, &cfg).mark_down);
        let busy = Failure { busy: true, ..at };
        assert!(!decide(&busy, &cfg).mark_down, "a queue is not an outage");
        assert!(!counts_against_breaker(FailureClass::Timeout, true));
        assert!(counts_against_breaker(FailureClass::Reset, false));
        assert!(!counts_against_breaker(FailureClass::Connect, false));
    }

    #[test]
    fn unusable_answers_resample_until_their_limit_and_bad_requests_sooner() {
        let cfg = RouterConfig::default();
        assert_eq!(next(failure(FailureClass::Malformed, 1)), Next::Resample);
        assert_eq!(
            next(failure(FailureClass::Invalid, cfg.max_content_attempts)),
            Next::Fail
        );
        assert_eq!(next(failure(FailureClass::BadRequest, 1)), Next::Resample);
        assert_eq!(next(failure(FailureClass::BadRequest, 2)), Next::Fail);
    }

    #[test]
    fn each_family_counts_its_own_attempts() {
        let mut t = Tally::default();
        assert_eq!(t.count(FailureClass::Timeout), 1);
        assert_eq!(t.count(FailureClass::Server), 2);
        assert_eq!(t.count(FailureClass::Malformed), 1);
        assert_eq!(t.count(FailureClass::Connect), 1);
        assert_eq!(t.count(FailureClass::Truncated), 0);
        assert_eq!(t.count(FailureClass::Reset), 3);
    }

    #[test]
    fn backoff_grows_to_its_cap_with_retry_after_as_floor_and_the_budget_as_brake() {
        let cfg = RouterConfig::default();
        let base = cfg.base_backoff;
        // No jitter: half the exponential step; full jitter: just under the whole step.
        assert_eq!(backoff(&cfg, 0, None, 0.0, true), base / 2);
        assert_eq!(backoff(&cfg, 2, None, 0.0, true), base * 2);
        assert!(backoff(&cfg, 2, None, 0.999, true) < base * 4);
        assert_eq!(backoff(&cfg, 30, None, 1.0, true), cfg.max_backoff);
        let ra = Duration::from_secs(7);
        assert_eq!(backoff(&cfg, 0, Some(ra), 0.5, true), ra);
        assert_eq!(backoff(&cfg, 0, None, 0.0, false), cfg.max_backoff);
    }
}
