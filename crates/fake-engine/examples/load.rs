//! Load generator against a running fake (or a real server):
//! `cargo run --release -p fake-engine --example load -- URL [REQUESTS] [CONCURRENCY]`
//!
//! Sends REQUESTS (default 20000) OpenAI chat requests, CONCURRENCY (default 256) at a
//! time, each with a distinct chunk, and prints throughput and status counts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: load URL [REQUESTS] [CONCURRENCY]"))?;
    let n: u64 = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000);
    let conc: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(256);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(conc as usize)
        .build()?;
    let next = Arc::new(AtomicU64::new(0));
    let chat = format!("{url}/v1/chat/completions");
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let (client, next, chat) = (client.clone(), next.clone(), chat.clone());
        tasks.push(tokio::spawn(async move {
            let mut codes: BTreeMap<String, u64> = BTreeMap::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let text = format!(
                    "Document {i} mentions Alice Johnson of Acme Corporation, Bob Smith in Paris, \
                     and the Eiffel Tower. {}",
                    "Filler words make this chunk look like a realistic paragraph. ".repeat(20)
                );
                let body = json!({
                    "model": "fake-model",
                    "messages": [
                        {"role": "system", "content": "Extract entities."},
                        {"role": "user", "content": format!("---BEGIN TEXT---\n{text}\n---END TEXT---")}
                    ],
                    "max_completion_tokens": 1024,
                });
                let key = match client.post(&chat).json(&body).send().await {
                    Ok(r) => {
                        let s = r.status().as_u16().to_string();
                        match r.bytes().await {
                            Ok(_) => s,
                            Err(_) => format!("{s}-body-error"),
                        }
                    }
                    Err(e) if e.is_connect() => "connect-error".to_string(),
                    Err(_) => "error".to_string(),
                };
                *codes.entry(key).or_default() += 1;
            }
            codes
        }));
    }
    let mut total: BTreeMap<String, u64> = BTreeMap::new();
    for t in tasks {
        for (k, v) in t.await? {
            *total.entry(k).or_default() += v;
        }
    }
    let el = t0.elapsed().as_secs_f64();
    println!(
        "{n} requests, concurrency {conc}: {el:.2}s, {:.0} req/s, {total:?}",
        n as f64 / el
    );
    Ok(())
}
