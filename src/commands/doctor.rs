//! `aegis-ingest doctor`: probes both engines and says, per engine, whether it is usable
//! and what to do if not. Exit 0 when at least one engine can serve, 3 otherwise.
//! `--format json` prints the same as one object ([`DoctorReport`], README:
//! "Machine-readable output"). With `--out DIR`, one more line (and `communities` in the
//! JSON): where the finished run in DIR stands with the finishing step.

use std::path::Path;

use serde::Serialize;

use crate::cli::{DoctorArgs, OutputFormat};
use crate::engine::ollama::OllamaClient;
use crate::engine::openai::OpenAiClient;
use crate::engine::{http_client, ProbeReport};
use crate::error::ExitCode;
use crate::outdir::finished::FinishedRun;
use crate::outdir::COMMUNITIES_FILE;

/// Shape of `doctor --format json`; raised when a field changes meaning or goes away
/// (new fields may be added without raising it).
pub const SCHEMA_VERSION: u32 = 1;

/// One engine as `doctor --format json` shows it. A disabled engine has `enabled: false`
/// and nulls (empty `models`) for what was not probed.
#[derive(Debug, Clone, Serialize)]
pub struct EngineStatus {
    pub engine: String,
    pub enabled: bool,
    pub usable: bool,
    pub url: Option<String>,
    pub reachable: bool,
    pub ready: bool,
    pub version: Option<String>,
    pub models: Vec<String>,
    /// The model a run would request (configured, or detected), and whether it is served.
    pub model: Option<String>,
    pub model_available: bool,
    pub context_length: Option<u32>,
    pub error: Option<String>,
    /// What to do when the engine is not usable.
    pub advice: Option<String>,
}

impl EngineStatus {
    fn probed(engine: String, p: &ProbeReport) -> Self {
        EngineStatus {
            engine,
            enabled: true,
            usable: p.ready && p.model_available,
            url: Some(p.url.clone()),
            reachable: p.reachable,
            ready: p.ready,
            version: p.version.clone(),
            models: p.models.clone(),
            model: p.model.clone(),
            model_available: p.model_available,
            context_length: p.context_length,
            error: p.error.clone(),
            advice: p.advice.clone(),
        }
    }

    fn disabled(engine: String) -> Self {
        EngineStatus {
            engine,
            enabled: false,
            usable: false,
            url: None,
            reachable: false,
            ready: false,
            version: None,
            models: Vec::new(),
            model: None,
            model_available: false,
            context_length: None,
            error: None,
            advice: None,
        }
    }
}

/// `doctor --format json`.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub schema_version: u32,
    /// At least one engine can serve (exit code 0; 3 otherwise).
    pub usable: bool,
    /// vLLM first, then Ollama.
    pub engines: Vec<EngineStatus>,
    /// With `--out`: the finishing step's stage on the run there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub communities: Option<CommunitiesStage>,
}

/// The finishing step (`aegis-ingest communities`) on the run in `--out`, as doctor
/// shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CommunitiesStage {
    pub out: String,
    /// `no_finished_run`, `not_run`, `done` (its reports match the outputs) or `stale`
    /// (the run's outputs were rewritten since: a rerun asks only for what changed).
    pub stage: String,
    /// The step's own status when it last ran (`done`, `finished with failures`,
    /// `interrupted`, ...); null unless `stage` is `done`.
    pub status: Option<String>,
    pub communities: Option<u64>,
    pub levels: Option<u64>,
    /// Reports written or reused.
    pub reports: Option<u64>,
    pub failed: Option<u64>,
    /// The line doctor prints.
    pub message: String,
}

impl CommunitiesStage {
    fn new(out: &Path, stage: &str, message: String) -> Self {
        CommunitiesStage {
            out: out.display().to_string(),
            stage: stage.to_string(),
            status: None,
            communities: None,
            levels: None,
            reports: None,
            failed: None,
            message,
        }
    }
}

fn mtime(p: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Where the run in `out` stands with the finishing step: its communities file, the
/// report's `communities` section, and whether the outputs are newer than both.
pub fn communities_stage(out: &Path) -> CommunitiesStage {
    let run = match FinishedRun::open(out) {
        Ok(r) => r,
        Err(e) => return CommunitiesStage::new(out, "no_finished_run", e.to_string()),
    };
    let quoted = crate::commands::shell::shell_quote(&out.display().to_string());
    if mtime(&out.join(COMMUNITIES_FILE)).is_none() {
        return CommunitiesStage::new(
            out,
            "not_run",
            format!("not run (`aegis-ingest communities --out {quoted}`)"),
        );
    }
    let current = crate::outdir::report::communities_current(out);
    let Some(c) = run.report.communities.filter(|_| current) else {
        return CommunitiesStage::new(
            out,
            "stale",
            format!(
                "stale: the run's outputs were rewritten since it ran; rerun `aegis-ingest communities --out {quoted}` (only what changed is asked again)"
            ),
        );
    };
    let sum = |f: fn(&crate::outdir::report::CommunityLevelCounts) -> u64| -> u64 {
        c.levels.iter().map(f).sum()
    };
    let (n, reports, failed) = (
        sum(|l| l.detected),
        sum(|l| l.reports_generated + l.reports_reused),
        sum(|l| l.reports_failed),
    );
    let mut st = CommunitiesStage::new(
        out,
        "done",
        format!(
            "{}: {n} communities on {} level(s), {reports} reports, {failed} failed",
            c.status,
            c.levels.len()
        ),
    );
    st.status = Some(c.status.clone());
    st.communities = Some(n);
    st.levels = Some(c.levels.len() as u64);
    st.reports = Some(reports);
    st.failed = Some(failed);
    st
}

fn print_report(name: &str, p: &ProbeReport) {
    let usable = p.ready && p.model_available;
    crate::outln!("{name} at {}", p.url);
    crate::outln!(
        "  reachable:      {}",
        if p.reachable { "yes" } else { "no" }
    );
    if let Some(v) = &p.version {
        crate::outln!("  version:        {v}");
    }
    if p.reachable {
        crate::outln!("  ready:          {}", if p.ready { "yes" } else { "no" });
        crate::outln!(
            "  models:         {}",
            if p.models.is_empty() {
                "(none)".to_string()
            } else {
                p.models.join(", ")
            }
        );
        if let Some(m) = &p.model {
            crate::outln!(
                "  model to use:   {m} ({})",
                if p.model_available {
                    "available"
                } else {
                    "NOT available"
                }
            );
        }
        if let Some(c) = p.context_length {
            crate::outln!("  context length: {c} tokens");
        }
    }
    if let Some(e) = &p.error {
        crate::outln!("  error:          {e}");
    }
    if let Some(a) = &p.advice {
        crate::outln!("  to fix:         {a}");
    }
    crate::outln!("  usable:         {}", if usable { "yes" } else { "no" });
}

/// `vllm`, `vllm#2`, ... as in the run's report.
fn endpoint_label(kind: &str, n: usize) -> String {
    match n {
        0 => kind.to_string(),
        n => format!("{kind}#{}", n + 1),
    }
}

/// The `run` command line that uses what doctor just found usable: doctor's own command
/// line (`args`, without the program) with `doctor` read as `run <CORPUS>`, less doctor's
/// output flags, and an API key shown as `<KEY>` (the line may be logged or pasted).
fn run_command(args: impl IntoIterator<Item = String>) -> String {
    let mut words = vec!["aegis-ingest".to_string()];
    let mut args = args.into_iter();
    let mut seen_doctor = false;
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (a.as_str(), None),
        };
        let mut skip_value = || {
            if inline.is_none() {
                args.next();
            }
        };
        match flag {
            "doctor" if !seen_doctor => {
                seen_doctor = true;
                words.extend(["run".into(), "<CORPUS>".into()]);
            }
            "--format" | "--log-format" if seen_doctor => skip_value(),
            "--vllm-api-key" => {
                skip_value();
                words.extend(["--vllm-api-key".into(), "<KEY>".into()]);
            }
            _ => words.push(crate::commands::shell::shell_quote(&a)),
        }
    }
    words.join(" ")
}

pub async fn doctor(args: &DoctorArgs) -> anyhow::Result<ExitCode> {
    let s = crate::engine::setup::EngineSettings::from_args(
        &args.engines,
        crate::cli::Concurrency::Fixed(1),
        1,
    )?;
    let http = http_client(2, &s.http).map_err(crate::error::RunError::engine)?;
    let text = args.format == OutputFormat::Text;
    let mut engines = Vec::new();
    for (kind, flag, n) in [
        ("vllm", "--no-vllm", s.vllm.len()),
        ("ollama", "--no-ollama", s.ollama.len()),
    ] {
        if n == 0 {
            if text {
                crate::outln!("{kind}: disabled ({flag})");
            }
            engines.push(EngineStatus::disabled(kind.to_string()));
        }
    }
    for (n, v) in s.vllm.iter().enumerate() {
        let p = OpenAiClient::probe(&http, &v.url, v.model.as_deref(), v.api_key.as_deref()).await;
        let label = endpoint_label("vllm", n);
        if text {
            print_report(&label, &p);
        }
        engines.push(EngineStatus::probed(label, &p));
    }
    for (n, o) in s.ollama.iter().enumerate() {
        let p = OllamaClient::probe(&http, &o.url, &o.model).await;
        let label = endpoint_label("ollama", n);
        if text {
            print_report(&label, &p);
        }
        engines.push(EngineStatus::probed(label, &p));
    }
    // vLLM endpoints first, then Ollama's, as the router prefers them.
    engines.sort_by_key(|e| !e.engine.starts_with("vllm"));
    let any = engines.iter().any(|e| e.usable);
    let stage = args.out.as_deref().map(communities_stage);
    if let (true, Some(st)) = (text, &stage) {
        crate::outln!("communities in {}: {}", st.out, st.message);
    }
    if !text {
        let report = DoctorReport {
            schema_version: SCHEMA_VERSION,
            usable: any,
            engines,
            communities: stage,
        };
        crate::progress::print_stdout(serde_json::to_string_pretty(&report)? + "\n")?;
    } else if any {
        crate::outln!(
            "ready: `{}` can extract",
            run_command(std::env::args().skip(1))
        );
    } else {
        crate::outln!(
            "no engine is usable: fix one of the above, then rerun `aegis-ingest doctor`"
        );
    }
    Ok(if any {
        ExitCode::Done
    } else {
        ExitCode::NoEngine
    })
}

#[cfg(test)]
mod tests {
    use super::run_command;

    fn line(args: &[&str]) -> String {
        run_command(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn the_run_line_carries_the_engine_flags_doctor_was_given() {
        assert_eq!(line(&["doctor"]), "aegis-ingest run <CORPUS>");
        assert_eq!(
            line(&[
                "--config",
                "my conf.toml",
                "doctor",
                "--vllm-url",
                "https://gw:8443",
                "--format=text",
                "--ca-cert",
                "/etc/ca.pem",
                "--log-format",
                "json",
                "--vllm-api-key=s3cret",
                "--ollama-url",
                "http://o:11434",
            ]),
            "aegis-ingest --config 'my conf.toml' run <CORPUS> --vllm-url https://gw:8443 \
             --ca-cert /etc/ca.pem --vllm-api-key <KEY> --ollama-url http://o:11434"
        );
    }
}
