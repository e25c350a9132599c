//! A compute-bound server: one total generation rate shared by every request generating
//! at the moment (continuous batching on a CPU or a saturated GPU). With n requests
//! generating, each advances at `rate / n` tokens a second (at most its own single-request
//! speed, when one is set). Exact processor sharing on a virtual clock: `done` counts the
//! tokens each generating request has received since the start, so a request that joins
//! at `done = d` with `t` tokens to write finishes when `done` reaches `d + t`.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

pub(crate) struct Share {
    /// Tokens a second, shared by all generating requests.
    rate: f64,
    /// Tokens a second one request can reach alone (`None`: the whole rate).
    single: Option<f64>,
    clock: Mutex<Clock>,
    /// Bumped whenever a request joins or leaves: the others' finish times move.
    changed: watch::Sender<u64>,
}

struct Clock {
    /// Tokens each generating request has received since the start.
    done: f64,
    at: Instant,
    generating: usize,
}

impl Share {
    pub(crate) fn new(rate: f64, single: Option<f64>) -> Self {
        Share {
            rate: rate.max(1e-6),
            single: single.filter(|s| *s > 0.0),
            clock: Mutex::new(Clock {
                done: 0.0,
                at: Instant::now(),
                generating: 0,
            }),
            changed: watch::channel(0).0,
        }
    }

    /// Tokens a second each request gets with `n` generating.
    fn each(&self, n: usize) -> f64 {
        let r = self.rate / n.max(1) as f64;
        self.single.map_or(r, |s| r.min(s))
    }

    /// The clock brought to now; `f` then sees and changes it.
    fn with_clock<T>(&self, f: impl FnOnce(&mut Clock) -> T) -> T {
        let mut c = self.clock.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if c.generating > 0 {
            c.done += (now - c.at).as_secs_f64() * self.each(c.generating);
        }
        c.at = now;
        f(&mut c)
    }

    /// Writes `tokens` at this request's share of the rate; returns when they are written.
    /// Dropped early (the client went away), the request stops taking a share.
    pub(crate) async fn generate(&self, tokens: u64) {
        if tokens == 0 {
            return;
        }
        let target = self.with_clock(|c| {
            c.generating += 1;
            c.done + tokens as f64
        });
        let _leave = Leave(self);
        self.changed.send_modify(|v| *v += 1);
        loop {
            // Subscribed before the clock is read: a change after the read wakes us.
            let mut rx = self.changed.subscribe();
            let left = self.with_clock(|c| (target - c.done) / self.each(c.generating));
            if left <= 0.0 {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs_f64(left.min(3600.0))) => {}
                _ = rx.changed() => {}
            }
        }
    }
}

/// Leaves the batch when the request ends or is dropped.
struct Leave<'a>(&'a Share);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.with_clock(|c| c.generating -= 1);
        self.0.changed.send_modify(|v| *v += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(t: Instant) -> f64 {
        t.elapsed().as_secs_f64()
    }

    #[tokio::test]
    async fn two_at_once_take_twice_as_long() {
        let s = Share::new(1000.0, None);
        let t0 = Instant::now();
        s.generate(200).await;
        let alone = secs(t0);
        let t0 = Instant::now();
        tokio::join!(s.generate(200), s.generate(200));
        let both = secs(t0);
        assert!((0.19..0.3).contains(&alone), "{alone}");
        assert!((0.39..0.5).contains(&both), "{both}");
    }

    #[tokio::test]
    async fn one_alone_is_held_to_its_own_speed() {
        let s = Share::new(1000.0, Some(250.0));
        let t0 = Instant::now();
        s.generate(50).await;
        let alone = secs(t0);
        assert!((0.19..0.3).contains(&alone), "{alone}");
        // Four at once: 250 tokens/s each, as alone; eight: 125 each.
        let t0 = Instant::now();
        futures::future::join_all((0..8).map(|_| s.generate(50))).await;
        let eight = secs(t0);
        assert!((0.39..0.5).contains(&eight), "{eight}");
    }

    #[tokio::test]
    async fn a_request_dropped_early_gives_its_share_back() {
        let s = Share::new(1000.0, None);
        let t0 = Instant::now();
        tokio::select! {
            _ = s.generate(200) => {}
            _ = async {
                let _ = tokio::time::timeout(Duration::from_millis(50), s.generate(10_000)).await;
                std::future::pending::<()>().await
            } => {}
        }
        // 50 ms at half the rate (25 tokens), then alone: about 0.225 s.
        let t = secs(t0);
        assert!((0.22..0.32).contains(&t), "{t}");
    }
}
