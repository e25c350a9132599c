//! The requests of the finishing step, many at once: summaries first, then reports level
//! by level, deepest first (so a parent too large for its own data has its children's
//! reports to be written from). Every accepted answer is journaled before it counts; what
//! the journal already holds is not asked again. A stop (signal, no engine, configuration
//! error) ends dispatching; what finished is kept.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::engine::router::RouteError;
use crate::engine::FailureClass;
use crate::outdir::communities::{Community, CommunityReport, Description};
use crate::outdir::community_journal::JournalRecord;
use crate::outdir::report::CommunityLevelCounts;
use crate::run::stop::{Stop, Stopping};

use super::ask::{Asker, REPORT_OUTPUT_TOKENS};
use super::context::{member_context, report_context, Budget, Context};
use super::report::{accept_report, report_schema};
use super::settings::Template;
use super::summarize::{journal_key, summarize, Job};
use super::view::View;

/// What every task shares.
pub struct Shared {
    pub asker: Arc<Asker>,
    pub(crate) stopping: Stopping,
    /// Model tokens a report's data may take.
    pub context_budget: u32,
    /// Model tokens a summary request may take.
    pub summary_budget: u32,
    pub report_template: Template,
    pub summary_template: Template,
    pub min_size: usize,
    pub tally: Arc<Tally>,
}

/// Requests finished and to do, for the progress line.
#[derive(Default)]
pub struct Tally {
    pub done: AtomicU64,
    pub total: AtomicU64,
}

/// Prints a progress line every `every` (rate and time left) until dropped.
pub fn spawn_progress(tally: Arc<Tally>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let started = Instant::now();
        loop {
            tokio::time::sleep(every).await;
            let (done, total) = (
                tally.done.load(Ordering::Relaxed),
                tally.total.load(Ordering::Relaxed),
            );
            let rate = done as f64 / started.elapsed().as_secs_f64().max(0.001);
            let left = if rate > 0.0 {
                format!(
                    "about {} left",
                    crate::progress::eta_text(total.saturating_sub(done), rate, true)
                )
            } else {
                "time left unknown until the first answer".to_string()
            };
            crate::errln!(
                "aegis-ingest: communities: {done}/{total} requests answered ({:.2}/s, {left})",
                rate
            );
        }
    })
}

/// Records why a task stopped the run.
fn halt_on(stopping: &Stopping, e: RouteError) {
    match e {
        RouteError::Fatal(m) => stopping.halt(Stop::Fatal(m), true),
        RouteError::NoEngine(m) => stopping.halt(Stop::NoEngine(m), true),
        RouteError::Cancelled | RouteError::Failed(_) | RouteError::Split(_) => {}
    }
}

/// Summaries: how many were made, reused, failed, and the descriptions.
#[derive(Default)]
pub struct Summaries {
    pub descriptions: Vec<Description>,
    pub generated: u64,
    pub reused: u64,
    pub failed: u64,
}

/// Summarizes `jobs` (the journal's `held` ones are reused).
pub async fn summaries(
    shared: &Arc<Shared>,
    jobs: Vec<Job>,
    held: &HashMap<String, String>,
) -> Summaries {
    let mut out = Summaries::default();
    let slots = Arc::new(Semaphore::new(
        shared.asker.router.total_capacity().clamp(1, 1024),
    ));
    let mut tasks: JoinSet<Option<(Job, Result<String, String>)>> = JoinSet::new();
    for job in jobs {
        let key = journal_key(&job.hash, &shared.summary_template, &shared.asker.model);
        if let Some(d) = held.get(&key) {
            out.reused += 1;
            out.descriptions.push(description(&job, d.clone()));
            continue;
        }
        if shared.stopping.stop.is_cancelled() {
            break;
        }
        shared.tally.total.fetch_add(1, Ordering::Relaxed);
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let sh = shared.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let r = summarize(&sh.asker, &sh.summary_template, &job, sh.summary_budget).await;
            sh.tally.done.fetch_add(1, Ordering::Relaxed);
            match r {
                Ok(Ok(text)) => {
                    let rec = JournalRecord::Summary {
                        key,
                        description: text.clone(),
                    };
                    if let Err(e) = sh.asker.keep(&rec).await {
                        sh.stopping.halt(Stop::Journal(e.to_string()), true);
                        return None;
                    }
                    Some((job, Ok(text)))
                }
                Ok(Err(why)) => Some((job, Err(why))),
                Err(e) => {
                    halt_on(&sh.stopping, e);
                    None
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Some((job, Ok(text)))) => {
                out.generated += 1;
                out.descriptions.push(description(&job, text));
            }
            Ok(Some((job, Err(why)))) => {
                out.failed += 1;
                tracing::warn!(
                    "no summary for {} ({why}): its fragments are joined instead",
                    job.id
                );
            }
            _ => {}
        }
    }
    out.descriptions.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn description(job: &Job, text: String) -> Description {
    Description {
        id: job.id.clone(),
        description: text,
        fragments: job.fragments.len(),
        hash: job.hash.clone(),
    }
}

/// Reports: by community id, and the counts per level.
#[derive(Default)]
pub struct Reports {
    pub reports: BTreeMap<String, CommunityReport>,
    pub levels: Vec<CommunityLevelCounts>,
}

/// Every community's report: reused when its fingerprint is known, else asked for. A
/// community is sent as soon as it can be written: when its own entities and relations fit
/// its context, at once; else when each of its children is done (its report then uses
/// theirs). There is no barrier between levels, so slots freed by one level's last
/// reports go to the next level's ready communities, and the deepest are sent first.
pub async fn reports(
    shared: &Arc<Shared>,
    communities: &[Community],
    view: Arc<View>,
    held: &HashMap<String, CommunityReport>,
) -> Reports {
    let mut out = Reports {
        levels: level_counts(communities),
        ..Default::default()
    };
    let by_id: HashMap<&str, &Community> = communities.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut waiting: HashMap<&str, usize> = communities
        .iter()
        .map(|c| (c.id.as_str(), c.children.len()))
        .collect();
    let mut order: Vec<&Community> = communities.iter().collect();
    order.sort_by_key(|c| std::cmp::Reverse(c.level));
    // Leaves go first; whether a parent's own data fits (building its context) is found
    // once they are on their way.
    let (leaves, mut parents): (Vec<&Community>, Vec<&Community>) =
        order.into_iter().partition(|c| c.children.is_empty());
    let mut ready: VecDeque<&Community> = leaves.into();
    let mut sent: HashSet<&str> = HashSet::new();
    // Parents sent before their children are done: the context that showed they fit.
    let mut whole: HashMap<&str, Context> = HashMap::new();
    let slots = Arc::new(Semaphore::new(
        shared.asker.router.total_capacity().clamp(1, 1024),
    ));
    let mut tasks: JoinSet<(String, Option<CommunityReport>)> = JoinSet::new();
    loop {
        while let Some(c) = ready.pop_front() {
            if !sent.insert(c.id.as_str()) {
                continue;
            }
            if let Some(done) = settle(shared, c, held, &mut out) {
                child_done(done, &by_id, &mut waiting, &sent, &mut ready);
                continue;
            }
            let kids = finished_children(c, &by_id, &out.reports);
            let built = whole.remove(c.id.as_str());
            shared.tally.total.fetch_add(1, Ordering::Relaxed);
            let (sh, view, c, slots) = (shared.clone(), view.clone(), c.clone(), slots.clone());
            tasks.spawn(async move {
                let Ok(_permit) = slots.acquire_owned().await else {
                    return (c.id, None);
                };
                let r = one_report(&sh, &c, &view, &kids, built).await;
                sh.tally.done.fetch_add(1, Ordering::Relaxed);
                (c.id, r)
            });
        }
        if !parents.is_empty() {
            let fit = fitting(
                std::mem::take(&mut parents),
                &sent,
                &view,
                shared.context_budget,
            );
            for (c, ctx) in fit {
                whole.insert(c.id.as_str(), ctx);
                ready.push_back(c);
            }
            continue;
        }
        let Some(done) = tasks.join_next().await else {
            break;
        };
        let Ok((id, r)) = done else {
            continue;
        };
        let Some(c) = by_id.get(id.as_str()).copied() else {
            continue;
        };
        out.record(c, r);
        child_done(c, &by_id, &mut waiting, &sent, &mut ready);
    }
    out
}

impl Reports {
    /// What came of `c`'s request: its report, or a failure.
    fn record(&mut self, c: &Community, r: Option<CommunityReport>) {
        let counts = &mut self.levels[c.level as usize];
        match r {
            Some(r) => {
                counts.reports_generated += 1;
                self.reports.insert(r.community.clone(), r);
            }
            None => counts.reports_failed += 1,
        }
    }
}

/// The counts of every level, with the communities detected on it.
fn level_counts(communities: &[Community]) -> Vec<CommunityLevelCounts> {
    let deepest = communities.iter().map(|c| c.level).max().unwrap_or(0);
    (0..=deepest)
        .map(|level| CommunityLevelCounts {
            level,
            detected: communities.iter().filter(|c| c.level == level).count() as u64,
            ..Default::default()
        })
        .collect()
}

/// A community that needs no request: too small, its report known, or the run stopping.
/// Counts it and gives it back; `None` when it must be asked for.
fn settle<'a>(
    shared: &Shared,
    c: &'a Community,
    held: &HashMap<String, CommunityReport>,
    out: &mut Reports,
) -> Option<&'a Community> {
    let counts = &mut out.levels[c.level as usize];
    if c.size < shared.min_size {
        counts.too_small += 1;
    } else if let Some(r) = held.get(&c.fingerprint) {
        counts.reports_reused += 1;
        let mut r = r.clone();
        (r.community, r.level) = (c.id.clone(), c.level);
        out.reports.insert(c.id.clone(), r);
    } else if shared.stopping.stop.is_cancelled() {
        counts.reports_failed += 1;
    } else {
        return None;
    }
    Some(c)
}

/// `c`'s children that have a report, with it.
fn finished_children(
    c: &Community,
    by_id: &HashMap<&str, &Community>,
    reports: &BTreeMap<String, CommunityReport>,
) -> Vec<(Community, CommunityReport)> {
    c.children
        .iter()
        .filter_map(|k| Some(((*by_id.get(k.as_str())?).clone(), reports.get(k)?.clone())))
        .collect()
}

/// `c` is done (whatever came of it): its parent is ready once all its children are.
fn child_done<'a>(
    c: &Community,
    by_id: &HashMap<&str, &'a Community>,
    waiting: &mut HashMap<&str, usize>,
    sent: &HashSet<&str>,
    ready: &mut VecDeque<&'a Community>,
) {
    let Some(parent) = c.parent.as_deref().and_then(|p| by_id.get(p).copied()) else {
        return;
    };
    if let Some(n) = waiting.get_mut(parent.id.as_str()) {
        *n = n.saturating_sub(1);
        if *n == 0 && !sent.contains(parent.id.as_str()) {
            ready.push_back(parent);
        }
    }
}

/// The `parents` not yet sent whose own entities and relations fit their context whole
/// (their children's reports are then not needed), with that context.
fn fitting<'a>(
    parents: Vec<&'a Community>,
    sent: &HashSet<&str>,
    view: &View,
    budget: u32,
) -> Vec<(&'a Community, Context)> {
    parents
        .into_iter()
        .filter(|c| !sent.contains(c.id.as_str()))
        .filter_map(|c| {
            let (ctx, complete) = member_context(c, view, &mut Budget::new(budget));
            complete.then_some((c, ctx))
        })
        .collect()
}

/// The smallest context a report is asked again with after the server found it too long.
const MIN_CONTEXT_BUDGET: u32 = 512;

/// One community's report (from `built`, its context when already made), journaled; None
/// when it failed or the run is stopping.
async fn one_report(
    sh: &Shared,
    c: &Community,
    view: &View,
    kids: &[(Community, CommunityReport)],
    mut built: Option<Context>,
) -> Option<CommunityReport> {
    let pairs: Vec<(&Community, &CommunityReport)> = kids.iter().map(|(a, b)| (a, b)).collect();
    let mut budget = sh.context_budget;
    let answer = loop {
        let context = built
            .take()
            .unwrap_or_else(|| report_context(c, &pairs, view, budget));
        let from_children = context.from_children;
        let schema = match Asker::schema(report_schema(&context)) {
            Ok(s) => s,
            Err(e) => {
                sh.stopping.halt(Stop::Fatal(e.to_string()), true);
                return None;
            }
        };
        let user = match sh.report_template.render(minijinja::context! {
            context => context.text, from_children => from_children, level => c.level, size => c.size,
        }) {
            Ok(u) => u,
            Err(e) => {
                sh.stopping.halt(Stop::Fatal(e.to_string()), true);
                return None;
            }
        };
        let fp = c.fingerprint.clone();
        let answer = sh
            .asker
            .ask(user, &schema, REPORT_OUTPUT_TOKENS, &c.id, |ans| {
                accept_report(ans, c, &fp, from_children)
            })
            .await;
        match answer {
            // The served tokenizer counts more than estimated: a smaller context.
            Err(RouteError::Split(e))
                if e.class == FailureClass::ContextLength && budget > MIN_CONTEXT_BUDGET =>
            {
                budget /= 2;
            }
            other => break other,
        }
    };
    let fp = c.fingerprint.clone();
    match answer {
        Ok(served) => {
            let rec = JournalRecord::Report {
                key: fp,
                report: served.value,
            };
            if let Err(e) = sh.asker.keep(&rec).await {
                sh.stopping.halt(Stop::Journal(e.to_string()), true);
                return None;
            }
            let JournalRecord::Report { report, .. } = rec else {
                return None;
            };
            Some(report)
        }
        Err(RouteError::Failed(e) | RouteError::Split(e)) => {
            tracing::warn!(
                "no report for community {} ({}): a rerun asks again",
                c.id,
                e.message
            );
            None
        }
        Err(e) => {
            halt_on(&sh.stopping, e);
            None
        }
    }
}
