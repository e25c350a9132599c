//! `--concurrency auto` from the answers themselves: does more in flight still bring more
//! throughput, or only longer waits? vLLM's queue (`/metrics`) says when the batch is
//! full, but a compute-bound server (a CPU, a saturated GPU) shows "room in the batch"
//! however many it holds, and shares one generation rate among them: every request
//! added makes each answer slower and none faster. Held there, answers crawl past the
//! request time-out and are thrown away (issue 20, item 5: 31 in flight, 29 time-outs
//! for 32 chunks). So, in the manner of TCP Vegas and Netflix's gradient limiters:
//!
//! - each window of answers gives their latency per output token (`cost`) and the
//!   tokens a second finished (`rate`); the lowest cost seen is the server's unloaded
//!   speed;
//! - latency near that speed: climb (double); latency doubled while the rate did not rise
//!   with the last climb: the extra requests only wait, so back off to what the server
//!   serves at speed plus a quarter, and do not climb back to the flat level for a while;
//! - whatever the window says, the limit stays where the slowest answer, with latency
//!   growing in step with the requests in flight, takes at most half the request
//!   time-out: a time-out caused by the client's own queueing is the tool's fault.
//!
//! Pure functions over plain numbers, as `retry` is: the adaptive loop does the reading
//! and the setting.

use std::time::{Duration, Instant};

/// Latency per token within this factor of the unloaded one: the server has room.
const CLIMB_BELOW: f64 = 1.25;
/// Latency per token this many times the unloaded one, with a flat rate: back off.
const BACK_OFF_AT: f64 = 2.0;
/// The rate must rise by this much with a climb to count as rising.
const RISING: f64 = 1.15;
/// Requests kept beyond what the server serves at speed, as a share of those.
const HEADROOM: f64 = 0.25;
/// The slowest answer may take this share of the request time-out at most.
const TIMEOUT_SHARE: f64 = 0.5;
/// Windows after a back-off before the flat level may be tried again (the server's load
/// from other clients may have changed).
const FORGET_FLAT_AFTER: u32 = 30;

/// Answers finished since the window began.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Window {
    /// Answers to requests sent since the window began (the current limit's own).
    pub answers: u64,
    /// Their output tokens, their summed and their longest latency.
    pub tokens: u64,
    pub latency_s: f64,
    pub max_latency_s: f64,
    /// Output tokens of every answer finished in the window, and its length.
    pub tokens_all: u64,
    pub elapsed_s: f64,
    /// The most requests in flight during the window.
    pub peak_in_flight: usize,
}

/// What the limiter remembers between windows.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Memory {
    /// The lowest latency per output token seen: the server's unloaded speed.
    min_cost: Option<f64>,
    /// The limit and rate of the window before the last climb.
    below: Option<(usize, f64)>,
    /// A limit at which the rate was found flat, and windows since.
    flat_at: Option<(usize, u32)>,
}

/// What a window says about the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Verdict {
    /// The limit the answers ask for (higher only when `room` allowed a climb).
    pub limit: usize,
    /// The most in flight for which the slowest answer stays within the time-out's share.
    pub most: usize,
}

/// The next limit after window `w` at `limit`, with request time-out `timeout_s`. `room`:
/// the server's queue (if readable) shows room for more.
pub(super) fn after_window(
    w: &Window,
    limit: usize,
    timeout_s: f64,
    room: bool,
    mem: &mut Memory,
) -> Verdict {
    let cost = w.latency_s / w.tokens.max(w.answers).max(1) as f64;
    let min_cost = mem.min_cost.map_or(cost, |m| m.min(cost)).max(1e-9);
    mem.min_cost = Some(min_cost);
    let ratio = cost / min_cost;
    let rate = w.tokens_all as f64 / w.elapsed_s.max(1e-3);
    let rising = mem.below.is_none_or(|(_, r)| rate > r * RISING);
    if let Some((_, n)) = &mut mem.flat_at {
        *n += 1;
        if *n > FORGET_FLAT_AFTER {
            mem.flat_at = None;
        }
    }
    let saturated = w.peak_in_flight + 2 >= limit;
    let mut next = if ratio >= BACK_OFF_AT && !rising {
        let served = limit as f64 / ratio;
        let n = ((served * (1.0 + HEADROOM)).ceil() as usize).max(1);
        if n < limit {
            mem.flat_at = Some((limit, 0));
            mem.below = None;
        }
        n.min(limit)
    } else if (ratio < CLIMB_BELOW || (ratio < BACK_OFF_AT && rising)) && room && saturated {
        let ceiling = mem.flat_at.map_or(usize::MAX, |(f, _)| f.saturating_sub(1));
        (limit * 2).min(ceiling).max(limit)
    } else {
        limit
    };
    if next > limit {
        mem.below = Some((limit, rate));
    }
    let most = most_in_flight(limit, w.max_latency_s, timeout_s);
    next = next.min(most);
    Verdict { limit: next, most }
}

/// Little's law with a flat rate: latency grows in step with the requests in flight, so
/// `limit` answers whose slowest took `max_latency_s` allow this many before the slowest
/// reaches `TIMEOUT_SHARE` of the time-out.
pub(super) fn most_in_flight(limit: usize, max_latency_s: f64, timeout_s: f64) -> usize {
    if max_latency_s <= 0.0 {
        return usize::MAX;
    }
    let most = limit as f64 * TIMEOUT_SHARE * timeout_s / max_latency_s;
    (most.floor() as usize).max(1)
}

/// Answers fresh enough to judge the limit by: how many to wait for at `limit` (a
/// quarter of them, between 1 and 8).
pub(super) fn answers_needed(limit: usize) -> u64 {
    (limit as u64 / 4).clamp(1, 8)
}

/// Collects a window of answers as they arrive; the adaptive loop takes it.
#[derive(Debug)]
pub(super) struct Sampler {
    since: Instant,
    w: Window,
}

impl Sampler {
    pub(super) fn new(now: Instant) -> Self {
        Sampler {
            since: now,
            w: Window::default(),
        }
    }

    /// A request went out with `in_flight` requests in flight (itself included).
    pub(super) fn sent(&mut self, in_flight: usize) {
        self.w.peak_in_flight = self.w.peak_in_flight.max(in_flight);
    }

    /// An answer to a request sent at `sent_at` came after `latency` with `tokens`.
    pub(super) fn answered(&mut self, sent_at: Instant, latency: Duration, tokens: u64) {
        self.w.tokens_all += tokens;
        if sent_at >= self.since {
            let s = latency.as_secs_f64();
            self.w.answers += 1;
            self.w.tokens += tokens;
            self.w.latency_s += s;
            self.w.max_latency_s = self.w.max_latency_s.max(s);
        }
    }

    /// The window, once `need` fresh answers are in; a new one begins.
    pub(super) fn take(&mut self, now: Instant, need: u64) -> Option<Window> {
        if self.w.answers < need {
            return None;
        }
        let mut w = self.w;
        w.elapsed_s = (now - self.since).as_secs_f64();
        self.restart(now, 0);
        Some(w)
    }

    /// A new window from `now` (the limit changed), with `in_flight` in flight.
    pub(super) fn restart(&mut self, now: Instant, in_flight: usize) {
        self.since = now;
        self.w = Window {
            peak_in_flight: in_flight,
            ..Window::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window at `limit` of a server serving `speed` tokens/s to one request and `rate`
    /// in total, 100-token answers, all slots in use.
    fn window(limit: usize, speed: f64, rate: f64) -> Window {
        let each = (rate / limit as f64).min(speed);
        let latency = 100.0 / each;
        let answers = limit as u64;
        Window {
            answers,
            tokens: answers * 100,
            latency_s: latency * answers as f64,
            max_latency_s: latency,
            tokens_all: answers * 100,
            elapsed_s: answers as f64 * 100.0 / (each * limit as f64),
            peak_in_flight: limit,
        }
    }

    /// Runs the limiter against a model server from `start` for `rounds` windows.
    fn settle(start: usize, speed: f64, rate: f64, timeout_s: f64, rounds: usize) -> Vec<usize> {
        let mut mem = Memory::default();
        let mut limit = start;
        let mut seen = vec![limit];
        for _ in 0..rounds {
            limit = after_window(
                &window(limit, speed, rate),
                limit,
                timeout_s,
                true,
                &mut mem,
            )
            .limit;
            seen.push(limit);
        }
        seen
    }

    #[test]
    fn a_compute_bound_server_is_held_near_what_it_serves_at_speed() {
        // 25 tokens/s alone, 100 in total: four at once get full speed, more only wait.
        let seen = settle(4, 25.0, 100.0, 300.0, 25);
        let last = *seen.last().unwrap();
        assert!((4..=7).contains(&last), "{seen:?}");
        assert!(seen.iter().all(|&l| l <= 8), "{seen:?}");
    }

    #[test]
    fn a_server_with_room_is_climbed_fast() {
        // Each request at full speed up to 1000 in flight.
        let seen = settle(4, 100.0, 100_000.0, 300.0, 6);
        assert_eq!(seen, vec![4, 8, 16, 32, 64, 128, 256]);
    }

    #[test]
    fn a_rate_that_still_rises_keeps_the_climb_going() {
        // Latency grows (a batch costs per step) but the rate doubles with the limit.
        let mut mem = Memory::default();
        let mut w = window(4, 25.0, 100.0);
        assert_eq!(after_window(&w, 4, 300.0, true, &mut mem).limit, 8);
        w.latency_s *= 1.6;
        w.tokens_all *= 2;
        w.peak_in_flight = 8;
        assert_eq!(after_window(&w, 8, 300.0, true, &mut mem).limit, 16);
    }

    #[test]
    fn latency_that_doubled_with_a_flat_rate_backs_off() {
        let mut mem = Memory::default();
        let w = window(4, 25.0, 100.0);
        assert_eq!(after_window(&w, 4, 300.0, true, &mut mem).limit, 8);
        // At 8 the rate is the same and each answer takes twice as long.
        let v = after_window(&window(8, 25.0, 100.0), 8, 300.0, true, &mut mem);
        assert_eq!(v.limit, 5);
        // And it does not climb back to 8 soon.
        let v = after_window(&window(5, 25.0, 100.0), 5, 300.0, true, &mut mem);
        assert!(v.limit < 8, "{v:?}");
    }

    #[test]
    fn no_climb_without_room_or_when_not_saturated() {
        let mut mem = Memory::default();
        let w = window(4, 25.0, 100.0);
        assert_eq!(after_window(&w, 4, 300.0, false, &mut mem).limit, 4);
        let mut idle = w;
        idle.peak_in_flight = 1;
        assert_eq!(after_window(&idle, 4, 300.0, true, &mut mem).limit, 4);
    }

    #[test]
    fn the_time_out_caps_the_limit() {
        // The server: 100 tokens/s in total, shared; 1500-token answers, 300 s.
        // At 4 in flight an answer takes 60 s: at most 10 keep the slowest within 150 s.
        assert_eq!(most_in_flight(4, 60.0, 300.0), 10);
        let mut mem = Memory::default();
        let mut w = window(4, 1e9, 100.0);
        w.tokens *= 15;
        w.tokens_all *= 15;
        w.latency_s *= 15.0;
        w.max_latency_s *= 15.0;
        w.elapsed_s *= 15.0;
        let v = after_window(&w, 4, 300.0, true, &mut mem);
        assert_eq!(v.most, 10);
        assert!(v.limit <= 10, "{v:?}");
        // Already over it (started too high): cut at once.
        assert_eq!(most_in_flight(32, 480.0, 300.0), 10);
    }

    #[test]
    fn the_sampler_judges_by_answers_sent_under_the_current_limit() {
        let t0 = Instant::now();
        let mut s = Sampler::new(t0);
        let before = t0 - Duration::from_secs(1);
        s.sent(3);
        s.answered(before, Duration::from_secs(2), 50);
        assert_eq!(s.take(t0, 1), None);
        s.answered(t0, Duration::from_secs(1), 100);
        let w = s.take(t0 + Duration::from_secs(2), 1).unwrap();
        assert_eq!((w.answers, w.tokens, w.tokens_all), (1, 100, 150));
        assert_eq!(
            (w.max_latency_s, w.elapsed_s, w.peak_in_flight),
            (1.0, 2.0, 3)
        );
        assert_eq!(answers_needed(64), 8);
        assert_eq!(answers_needed(2), 1);
    }
}
