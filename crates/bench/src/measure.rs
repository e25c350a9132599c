//! Run one child process and measure it: wall time, user + system CPU and peak RSS of that
//! very child (wait4's rusage), and optionally when the fake saw its first chat request.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub wall_s: f64,
    pub user_s: f64,
    pub sys_s: f64,
    pub maxrss_mb: f64,
    pub exit_code: i32,
    /// Seconds from spawn until the fake had received its first chat request.
    pub first_request_s: Option<f64>,
    /// Seconds from spawn until the fake's answer counter last moved (10 ms polling).
    pub last_answer_s: Option<f64>,
    /// The fake's queue gauges every 10 ms after the first request (with `track_answers`).
    pub queue: Vec<QueuePoint>,
    /// Progress polls sent to the fake after the first request (each a `GET /metrics` for
    /// the OpenAI API, which the fake counts in `requests_by_endpoint`).
    pub progress_polls: u64,
}

/// One sample of the fake's gauges.
#[derive(Debug, Clone, Copy)]
pub struct QueuePoint {
    /// Seconds from spawn.
    pub t: f64,
    pub running: f64,
    pub waiting: f64,
}

/// What to watch on the fake while the child runs.
pub struct Probe {
    pub host_port: String,
    /// With `Some(api)`, keep polling the answer counter after the first request.
    pub track_answers: Option<String>,
}

impl Measured {
    pub fn cpu_s(&self) -> f64 {
        self.user_s + self.sys_s
    }
}

fn tv(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}

/// Spawn `cmd` (stdout/stderr to `log`), wait for it with wait4, return the measurements.
/// With a `probe`, a thread polls the fake's stats every 2 ms until the first chat request
/// shows up (the client's start-up time), then, with `track_answers`, samples the fake's
/// answer counter and queue gauges every 10 ms.
pub fn run(
    cmd: &mut Command,
    log: &std::path::Path,
    probe: Option<Probe>,
) -> anyhow::Result<Measured> {
    let out = std::fs::File::create(log)?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let done = Arc::new(AtomicBool::new(false));
    let first: Arc<Mutex<Option<f64>>> = Arc::new(Mutex::new(None));
    let last: Arc<Mutex<Option<f64>>> = Arc::new(Mutex::new(None));
    let queue: Arc<Mutex<(Vec<QueuePoint>, u64)>> = Arc::new(Mutex::new((Vec::new(), 0)));
    let start = Instant::now();
    let child = cmd
        .spawn()
        .with_context(|| format!("spawning {:?}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;
    let poller = probe.map(|p| {
        let done = done.clone();
        let first = first.clone();
        let last = last.clone();
        let queue = queue.clone();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                if let Some(n) = crate::fake::Fake::chat_requests_quick(&p.host_port) {
                    if n > 0 {
                        *first.lock().unwrap() = Some(start.elapsed().as_secs_f64());
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            let Some(api) = p.track_answers else { return };
            let mut seen = f64::NAN;
            let (mut points, mut polls) = (Vec::new(), 0u64);
            while !done.load(Ordering::Relaxed) {
                polls += 1;
                if let Some(v) = crate::fake::Fake::sample_quick(&p.host_port, &api) {
                    let t = start.elapsed().as_secs_f64();
                    if v.answers != seen {
                        seen = v.answers;
                        *last.lock().unwrap() = Some(t);
                    }
                    points.push(QueuePoint {
                        t,
                        running: v.running,
                        waiting: v.waiting,
                    });
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            *queue.lock().unwrap() = (points, polls);
        })
    });
    let mut status: libc::c_int = 0;
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = loop {
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        break r;
    };
    let wall = start.elapsed().as_secs_f64();
    // The child is reaped: std's handle must not wait on it again (dropping it does not).
    std::mem::forget(child);
    done.store(true, Ordering::Relaxed);
    if let Some(p) = poller {
        let _ = p.join();
    }
    if r != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    let exit_code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        -1
    };
    let first_request_s = *first.lock().unwrap();
    let last_answer_s = *last.lock().unwrap();
    let (queue, progress_polls) = std::mem::take(&mut *queue.lock().unwrap());
    Ok(Measured {
        wall_s: wall,
        user_s: tv(ru.ru_utime),
        sys_s: tv(ru.ru_stime),
        // Linux: ru_maxrss is in KiB.
        maxrss_mb: ru.ru_maxrss as f64 / 1024.0,
        exit_code,
        first_request_s,
        last_answer_s,
        queue,
        progress_polls,
    })
}

pub fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
