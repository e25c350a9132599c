//! `aegis-ingest communities`: the finishing step on a finished run. It reads the run's
//! outputs (through `outdir::finished`), detects the hierarchy of communities of the graph
//! (`crate::community::detect`), summarizes long descriptions, and writes one report per
//! community with the engines, through the same router as `run` (vLLM first, Ollama while
//! it is down, retries, breaker, adaptive concurrency, the stop grace).
//!
//! Incremental: every community has a fingerprint (its members and their descriptions,
//! its internal relations and theirs, the templates, the model, the settings, and its
//! children's fingerprints). A report is asked for only when no report with its
//! fingerprint is in the journal (or the previous `community_reports.jsonl`): a rerun on
//! unchanged outputs sends nothing; after a change, only the communities it touched and
//! their ancestors are asked again.
//!
//! The files: `graph` (graph, ids, detection records), `view` (descriptions and
//! fingerprints), `context` (a report's data within its budget), `report` (schemas and
//! validation), `summarize`, `ask` (one request), `work` (many at once), `write`.

pub mod ask;
pub mod context;
pub mod graph;
pub mod report;
pub mod settings;
pub mod summarize;
pub mod view;
pub mod work;
pub mod write;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cli::{CommunitiesArgs, RunArgs};
use crate::engine::router::Router;
use crate::engine::setup::{setup_engines, OLLAMA_NUM_CTX};
use crate::error::{ExitCode, RunError};
use crate::outdir::communities::{Community, CommunityReport, Description};
use crate::outdir::community_journal::CommunityJournal;
use crate::outdir::finished::{Entity, FinishedRun, Relation};
use crate::outdir::lock::OutLock;
use crate::outdir::report::CommunitiesSection;
use crate::outdir::{COMMUNITIES_FILE, COMMUNITY_REPORTS_FILE, DESCRIPTIONS_FILE};
use crate::run::settings::router_config;
use crate::run::stop::{install_signals, Stop, Stopping};

use ask::{Asker, REPORT_OUTPUT_TOKENS, SYSTEM};
use context::model_tokens;
use settings::Settings;
use view::View;
use work::{Shared, Tally};

/// Room kept in the context for the chat template and rounding.
const MARGIN_TOKENS: u32 = 128;

/// `aegis-ingest communities`.
pub async fn communities(args: &CommunitiesArgs) -> anyhow::Result<ExitCode> {
    let s = Settings::from_args(args)?;
    Ok(finish_run(s).await?)
}

/// The settings of `run --communities`, checked before the extraction starts.
pub fn settings_for_run(a: &RunArgs) -> Result<Option<Settings>, RunError> {
    if !a.communities {
        return Ok(None);
    }
    Settings::from_run_args(a).map(Some)
}

/// What the run's outputs give the step.
struct Input {
    entities: Vec<Entity>,
    relations: Vec<Relation>,
    previous: Vec<Community>,
    /// Reports of the previous `community_reports.jsonl`, by fingerprint.
    previous_reports: HashMap<String, CommunityReport>,
}

fn read_input(run: &FinishedRun) -> Result<Input, RunError> {
    let previous_reports = run
        .community_reports()?
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.fingerprint.clone(), r))
        .collect();
    Ok(Input {
        entities: run.entities()?,
        relations: run.relations()?,
        previous: run.communities()?.unwrap_or_default(),
        previous_reports,
    })
}

/// The finishing step on the finished run in `s.out`.
pub async fn finish_run(s: Settings) -> Result<ExitCode, RunError> {
    let started = Instant::now();
    // The tokenizer's tables take ~100 ms to decode; they are built while the outputs are
    // read and the engines probed, not after.
    std::thread::spawn(|| {
        crate::chunk::tokens::tokenizer();
    });
    let run = FinishedRun::open(&s.out)?;
    let _lock = OutLock::acquire(&s.out)?;
    let Input {
        entities,
        relations,
        previous,
        previous_reports,
    } = read_input(&run)?;
    let built = graph::build(&entities, &relations);
    graph::check_graph(&s.out, &built)?;
    let (journal, held) = CommunityJournal::open(&s.out)?;

    let (router, stopping, context_len, mut model) = start_engines(&s).await?;
    if model.is_empty() {
        model = recorded_model(&run);
    }

    let warm = graph::warm_start(&built, &previous);
    let clusters = crate::community::detect(&built.graph, &s.params, warm.as_deref());
    let mut comms = graph::records(&built, &clusters, &relations, &previous);
    let mut view = View::new(entities, relations, |id| {
        built.index.get(id).map_or(0, |&n| built.degree[n as usize])
    });
    // After detection: counting the templates' tokens waits for the tokenizer.
    let (input_budget, context_budget) = budgets(&s, context_len);
    let salt = format!(
        "v1\0{}\0{}\0{model}\0{context_budget}\0{}\0{}",
        s.report_template.text, s.summary_template.text, s.summarize_fragments, s.summarize_tokens
    );
    view::set_fingerprints(&mut comms, &view, &salt);
    write::write_jsonl(&s.out, COMMUNITIES_FILE, &comms)?;
    if !s.quiet {
        say_detected(&comms, built.isolated);
    }

    let asker = Arc::new(
        Asker::new(router.clone(), journal, model).map_err(|e| RunError::usage(e.to_string()))?,
    );
    let tally = Arc::new(Tally::default());
    let shared = Arc::new(Shared {
        asker,
        stopping: stopping.clone(),
        context_budget,
        summary_budget: input_budget,
        report_template: s.report_template.clone(),
        summary_template: s.summary_template.clone(),
        min_size: s.min_size,
        tally: tally.clone(),
    });
    let ticker = (!s.quiet).then(|| work::spawn_progress(tally, progress_every()));

    let jobs = summarize::jobs(&view, s.summarize_fragments, s.summarize_tokens);
    let sums = work::summaries(&shared, jobs, &held.summaries).await;
    apply_summaries(&mut view, &sums.descriptions);
    let mut known = previous_reports;
    known.extend(held.reports);
    let reps = if stopping.stop.is_cancelled() {
        work::Reports::default()
    } else {
        work::reports(&shared, &comms, Arc::new(view), &known).await
    };
    if let Some(t) = ticker {
        t.abort();
    }
    stopping.abort.cancel();

    let ends = Ends {
        isolated: built.isolated,
        started,
    };
    conclude(&s, ends, &sums, reps, &router, &stopping)
}

/// What `conclude` needs from the start of the step.
struct Ends {
    isolated: u64,
    started: Instant,
}

/// Writes the reports, the summarized descriptions and the report's section; says how it
/// went; the exit code.
fn conclude(
    s: &Settings,
    ends: Ends,
    sums: &work::Summaries,
    reps: work::Reports,
    router: &Router,
    stopping: &Stopping,
) -> Result<ExitCode, RunError> {
    let (built_isolated, started) = (ends.isolated, ends.started);
    let mut reports: Vec<&CommunityReport> = reps.reports.values().collect();
    reports.sort_by(|a, b| (a.level, &a.community).cmp(&(b.level, &b.community)));
    write::write_jsonl(&s.out, COMMUNITY_REPORTS_FILE, &reports)?;
    write::write_jsonl(&s.out, DESCRIPTIONS_FILE, &sums.descriptions)?;

    let mut section = CommunitiesSection {
        isolated_entities: built_isolated,
        summaries_generated: sums.generated,
        summaries_reused: sums.reused,
        summaries_failed: sums.failed,
        dropped_citations: reports.iter().map(|r| r.dropped_citations).sum(),
        from_children: reports.iter().filter(|r| r.from_children).count() as u64,
        wall_seconds: (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        levels: reps.levels,
        ..Default::default()
    };
    add_engine_figures(&mut section, router);
    let (code, err) = outcome(stopping, &mut section);
    write::write_section(&s.out, &section)?;
    if !s.quiet {
        say_done(&section);
    }
    match err {
        Some(e) => Err(e),
        None => Ok(code),
    }
}

/// The model the run recorded: when the preferred engine is not up yet and was not told
/// its model, the fingerprints still name the same model whoever answered the probe.
fn recorded_model(run: &FinishedRun) -> String {
    let m = &run.state.models;
    m.get("vllm")
        .or(m.values().next())
        .cloned()
        .unwrap_or_default()
}

/// The input budget of one request and the part of it a report's context may use.
fn budgets(s: &Settings, context_len: u32) -> (u32, u32) {
    let input_budget = s
        .max_input_tokens
        .min(context_len.saturating_sub(REPORT_OUTPUT_TOKENS + MARGIN_TOKENS))
        .max(256);
    let fixed = model_tokens(SYSTEM) + model_tokens(&s.report_template.text);
    (input_budget, input_budget.saturating_sub(fixed).max(256))
}

/// Summarized descriptions replace the joined fragments in what the reports are told.
fn apply_summaries(view: &mut View, descriptions: &[Description]) {
    for d in descriptions {
        if let Some(e) = view.entities.get_mut(&d.id) {
            e.description = d.description.clone();
        } else if let Some(r) = view.relations.get_mut(&d.id) {
            r.description = d.description.clone();
        }
    }
}

/// Requests, retries and tokens over every engine.
fn add_engine_figures(section: &mut CommunitiesSection, router: &Router) {
    for (_, st) in router.stats() {
        section.requests += st.requests;
        section.retries += st.retries;
        section.prompt_tokens += st.prompt_tokens;
        section.completion_tokens += st.completion_tokens;
    }
}

/// Probes the engines and starts the router and the signal handler, as `run` does:
/// gives the router, the stop, the smallest served context and the model.
async fn start_engines(s: &Settings) -> Result<(Arc<Router>, Stopping, u32, String), RunError> {
    let probed = setup_engines(&s.engines).await?;
    for m in &probed.not_ready {
        tracing::warn!("{m}");
    }
    let context_len = probed
        .setups
        .iter()
        .filter_map(|x| x.context_len)
        .filter(|&c| c > 0)
        .min()
        .unwrap_or(OLLAMA_NUM_CTX);
    let model = probed
        .setups
        .first()
        .map(|x| x.client.model())
        .unwrap_or_default();
    let stopping = Stopping::default();
    install_signals(stopping.clone(), s.stop_grace);
    let router = Router::new(
        probed.setups,
        router_config(&s.engines, s.engine_wait),
        stopping.stop.clone(),
        stopping.abort.clone(),
    );

    Ok((router, stopping, context_len, model))
}

/// The exit code (and error) from how the step ended; sets the section's status.
fn outcome(stopping: &Stopping, section: &mut CommunitiesSection) -> (ExitCode, Option<RunError>) {
    let failed: u64 = section.levels.iter().map(|l| l.reports_failed).sum();
    let done: u64 = section
        .levels
        .iter()
        .map(|l| l.reports_reused + l.reports_generated)
        .sum();
    let (code, status, err) = match stopping.reason() {
        Some(Stop::Interrupted) => (
            ExitCode::Interrupted,
            "interrupted",
            Some(RunError::Interrupted(format!(
                "interrupted: {done} community reports are done and kept ({failed} not written); rerun the same command to resume"
            ))),
        ),
        Some(Stop::NoEngine(m)) => (ExitCode::NoEngine, "stopped: no engine", Some(RunError::NoEngine(m))),
        Some(Stop::Fatal(m)) => (ExitCode::Usage, "stopped: configuration error", Some(RunError::Engine(m))),
        Some(Stop::Journal(m)) => (ExitCode::Usage, "stopped: journal", Some(RunError::checkpoint(m))),
        None if failed > 0 || section.summaries_failed > 0 => (ExitCode::SomeFailed, "finished with failures", None),
        None => (ExitCode::Done, "done", None),
    };
    section.status = status.to_string();
    (code, err)
}

fn progress_every() -> Duration {
    Duration::from_secs(
        std::env::var("AEGIS_PROGRESS_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10)
            .max(1),
    )
}

fn say_detected(comms: &[Community], isolated: u64) {
    let levels = comms.iter().map(|c| c.level).max().map_or(0, |l| l + 1);
    crate::errln!(
        "aegis-ingest: {} communities on {levels} level(s); {isolated} entities have no relation and are in none",
        comms.len()
    );
}

fn say_done(section: &CommunitiesSection) {
    let sum = |f: fn(&crate::outdir::report::CommunityLevelCounts) -> u64| -> u64 {
        section.levels.iter().map(f).sum()
    };
    crate::outln!(
        "communities: {} detected; reports: {} written, {} reused, {} failed; summaries: {} written, {} reused; {} requests in {:.1} s",
        sum(|l| l.detected),
        sum(|l| l.reports_generated),
        sum(|l| l.reports_reused),
        sum(|l| l.reports_failed),
        section.summaries_generated,
        section.summaries_reused,
        section.requests,
        section.wall_seconds
    );
}
