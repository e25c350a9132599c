//! `aegis-ingest doctor`: probes both engines and says, per engine, whether it is usable
//! and what to do if not. Exit 0 when at least one engine can serve, 3 otherwise.

use crate::cli::DoctorArgs;
use crate::engine::ollama::OllamaClient;
use crate::engine::openai::OpenAiClient;
use crate::engine::{http_client, ProbeReport};
use crate::error::ExitCode;

fn print_report(name: &str, p: &ProbeReport) -> bool {
    let usable = p.ready && p.model_available;
    println!("{name} at {}", p.url);
    println!(
        "  reachable:      {}",
        if p.reachable { "yes" } else { "no" }
    );
    if let Some(v) = &p.version {
        println!("  version:        {v}");
    }
    if p.reachable {
        println!("  ready:          {}", if p.ready { "yes" } else { "no" });
        println!(
            "  models:         {}",
            if p.models.is_empty() {
                "(none)".to_string()
            } else {
                p.models.join(", ")
            }
        );
        if let Some(m) = &p.model {
            println!(
                "  model to use:   {m} ({})",
                if p.model_available {
                    "available"
                } else {
                    "NOT available"
                }
            );
        }
        if let Some(c) = p.context_length {
            println!("  context length: {c} tokens");
        }
    }
    if let Some(e) = &p.error {
        println!("  error:          {e}");
    }
    if let Some(a) = &p.advice {
        println!("  to fix:         {a}");
    }
    println!("  usable:         {}", if usable { "yes" } else { "no" });
    usable
}

/// `vllm`, `vllm#2`, ... as in the run's report.
fn endpoint_label(kind: &str, n: usize) -> String {
    match n {
        0 => kind.to_string(),
        n => format!("{kind}#{}", n + 1),
    }
}

pub async fn doctor(args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let s = crate::config::EngineSettings::from_args(
        &args.engines,
        crate::cli::Concurrency::Fixed(1),
        1,
    )?;
    let http = http_client(2, &s.http).map_err(crate::error::RunError::config)?;
    let mut any = false;
    if s.vllm.is_empty() {
        println!("vllm: disabled (--no-vllm)");
    }
    for (n, v) in s.vllm.iter().enumerate() {
        let p = OpenAiClient::probe(&http, &v.url, v.model.as_deref(), v.api_key.as_deref()).await;
        any |= print_report(&endpoint_label("vllm", n), &p);
    }
    if s.ollama.is_empty() {
        println!("ollama: disabled (--no-ollama)");
    }
    for (n, o) in s.ollama.iter().enumerate() {
        let p = OllamaClient::probe(&http, &o.url, &o.model).await;
        any |= print_report(&endpoint_label("ollama", n), &p);
    }
    if any {
        println!("ready: `aegis-ingest run <CORPUS>` can extract");
        Ok(ExitCode::Done)
    } else {
        println!("no engine is usable: fix one of the above, then rerun `aegis-ingest doctor`");
        Ok(ExitCode::NoEngine)
    }
}
