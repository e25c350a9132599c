//! The fake engine as a subprocess (target/release/fake-engine), its control endpoints
//! over a minimal HTTP/1.1 client, and its CPU time from /proc.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

/// How to start the fake.
#[derive(Debug, Clone)]
pub struct FakeSpec {
    /// "openai" or "ollama".
    pub api: &'static str,
    pub slots: usize,
    pub fixed_ms: u64,
    /// Tokio worker threads of the fake (None = its default, one per core).
    pub threads: Option<usize>,
    /// A compute-bound fake: total tokens/s shared by the requests in flight, and ms a
    /// token for one request alone (`--shared-rate`, `--per-token-ms`).
    pub shared: Option<(f64, f64)>,
}

impl FakeSpec {
    /// The flags beyond api, port, slots and fixed latency.
    pub fn extra_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        match self.shared {
            Some((rate, ms)) => {
                a.extend(["--shared-rate".into(), rate.to_string()]);
                a.extend(["--per-token-ms".into(), ms.to_string()]);
            }
            None => a.extend(["--per-token-ms".into(), "0".into()]),
        }
        if let Some(t) = self.threads {
            a.extend(["--threads".into(), t.to_string()]);
        }
        a
    }
}

pub struct Fake {
    child: Child,
    pub url: String,
    host_port: String,
}

/// The counters the harness reads (a subset of `fake_engine::Stats`; the list of answered
/// chunk keys is not parsed).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Stats {
    pub chat_requests: u64,
    pub max_in_flight: u64,
    pub max_running: u64,
    pub served_ok: u64,
    /// Gauges at the time of the snapshot (queued or running; holding a slot).
    #[serde(default)]
    pub in_flight: u64,
    #[serde(default)]
    pub running: u64,
    #[serde(default)]
    pub requests_by_endpoint: std::collections::BTreeMap<String, u64>,
}

/// See [`Fake::sample_quick`].
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub answers: f64,
    pub running: f64,
    pub waiting: f64,
}

impl Stats {
    /// Requests other than chat (probes, /tokenize, ...), as "path=n" pairs.
    pub fn other_requests(&self) -> String {
        self.requests_by_endpoint
            .iter()
            .filter(|(p, _)| p.as_str() != "/v1/chat/completions" && p.as_str() != "/api/chat")
            .map(|(p, n)| format!("{p}={n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl Fake {
    pub fn start(bin: &Path, spec: &FakeSpec, log: &Path) -> anyhow::Result<Fake> {
        let mut cmd = Command::new(bin);
        cmd.args(["--api", spec.api, "--port", "0"])
            .arg("--slots")
            .arg(spec.slots.to_string())
            .arg("--fixed-ms")
            .arg(spec.fixed_ms.to_string())
            .args(spec.extra_args());
        let errlog = std::fs::File::create(log)?;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(errlog)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("fake stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let url = match line.trim().strip_prefix("listening on ") {
            Some(u) => u.to_string(),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("fake-engine printed {line:?} instead of 'listening on URL'");
            }
        };
        let host_port = url
            .strip_prefix("http://")
            .context("fake URL is not http://")?
            .to_string();
        if !host_port.starts_with("127.0.0.1:") {
            bail!("fake-engine is not on 127.0.0.1: {url}");
        }
        Ok(Fake {
            child,
            url,
            host_port,
        })
    }

    pub fn stats(&self) -> anyhow::Result<Stats> {
        let body = http(&self.host_port, "GET", "/_fake/stats")?;
        serde_json::from_slice(&body).context("parsing /_fake/stats")
    }

    /// Like `stats` but with a short read timeout; for the start-up poller.
    pub fn chat_requests_quick(host_port: &str) -> Option<u64> {
        let body = http(host_port, "GET", "/_fake/stats").ok()?;
        serde_json::from_slice::<Stats>(&body)
            .ok()
            .map(|s| s.chat_requests)
    }

    /// One sample of the fake's progress and queue: `answers` is a counter that grows with
    /// every answer, `vllm:generation_tokens_total` from `/metrics` (OpenAI API, cheap) or
    /// `served_ok` from `/_fake/stats` (Ollama API); `running` and `waiting` are the gauges
    /// (`vllm:num_requests_running` / `_waiting`, or `running` / `in_flight − running`).
    pub fn sample_quick(host_port: &str, api: &str) -> Option<Sample> {
        if api == "openai" {
            let body = http(host_port, "GET", "/metrics").ok()?;
            let text = String::from_utf8_lossy(&body);
            let value = |name: &str| -> Option<f64> {
                let line = text.lines().find(|l| l.starts_with(name))?;
                line.split_whitespace().last()?.parse().ok()
            };
            Some(Sample {
                answers: value("vllm:generation_tokens_total")?,
                running: value("vllm:num_requests_running").unwrap_or(f64::NAN),
                waiting: value("vllm:num_requests_waiting").unwrap_or(f64::NAN),
            })
        } else {
            let body = http(host_port, "GET", "/_fake/stats").ok()?;
            let s = serde_json::from_slice::<Stats>(&body).ok()?;
            Some(Sample {
                answers: s.served_ok as f64,
                running: s.running as f64,
                waiting: s.in_flight.saturating_sub(s.running) as f64,
            })
        }
    }

    /// A minimal reference client: `concurrency` threads send `requests` chat requests in
    /// all (one connection per request, a one-paragraph text each) and wait for every
    /// answer. Returns the wall time: what the fake allows with next to no client cost.
    pub fn reference_load(
        &self,
        api: &str,
        requests: u64,
        concurrency: usize,
    ) -> anyhow::Result<f64> {
        let start = std::time::Instant::now();
        let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut threads = Vec::new();
        for _ in 0..concurrency {
            let next = next.clone();
            let hp = self.host_port.clone();
            let api = api.to_string();
            threads.push(std::thread::spawn(move || -> anyhow::Result<()> {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= requests {
                        return Ok(());
                    }
                    let content = format!(
                        "Extract the entities and relations from this text.\n---BEGIN TEXT---\nAlice Berg from Lisbon met Bruno Dubois of Acme Robotics on record {i:07}.\n---END TEXT---"
                    );
                    let msgs = serde_json::json!([{"role": "user", "content": content}]);
                    let (path, body) = if api == "openai" {
                        (
                            "/v1/chat/completions",
                            serde_json::json!({"model": "fake-model", "messages": msgs, "max_tokens": 512}),
                        )
                    } else {
                        (
                            "/api/chat",
                            serde_json::json!({"model": "fake-model", "messages": msgs, "stream": false}),
                        )
                    };
                    http_body(&hp, "POST", path, body.to_string().as_bytes())?;
                }
            }));
        }
        for t in threads {
            t.join()
                .map_err(|_| anyhow::anyhow!("reference client thread panicked"))??;
        }
        Ok(start.elapsed().as_secs_f64())
    }

    pub fn host_port(&self) -> &str {
        &self.host_port
    }

    pub fn reset_stats(&self) -> anyhow::Result<()> {
        http(&self.host_port, "POST", "/_fake/stats/reset").map(|_| ())
    }

    /// User + system CPU seconds the fake has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        proc_cpu_seconds(self.child.id()).unwrap_or(f64::NAN)
    }

    pub fn stop(mut self) {
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// utime + stime of a live process, from /proc/PID/stat.
pub fn proc_cpu_seconds(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((utime + stime) / hz)
}

/// One HTTP/1.1 request to 127.0.0.1 with `Connection: close`; returns the body of a 2xx.
fn http(host_port: &str, method: &str, path: &str) -> anyhow::Result<Vec<u8>> {
    http_body(host_port, method, path, b"")
}

fn http_body(host_port: &str, method: &str, path: &str, body: &[u8]) -> anyhow::Result<Vec<u8>> {
    if !host_port.starts_with("127.0.0.1:") {
        bail!("refusing to send traffic to {host_port}");
    }
    let mut s = TcpStream::connect(host_port)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host_port}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    s.write_all(&req)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of HTTP headers")?;
    let head = String::from_utf8_lossy(&buf[..split]).to_ascii_lowercase();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("bad status line")?;
    let body = &buf[split + 4..];
    if !(200..300).contains(&status) {
        bail!("{method} {path}: HTTP {status}");
    }
    if head.contains("transfer-encoding: chunked") {
        return Ok(dechunk(body));
    }
    Ok(body.to_vec())
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size_str = String::from_utf8_lossy(&b[..eol]);
        let size =
            usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if size == 0 || eol + 2 + size > b.len() {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[(eol + 4 + size).min(b.len())..];
    }
    out
}
