//! Summarized descriptions: an entity or relation with more than `--summarize-fragments`
//! distinct description fragments, or more than `--summarize-tokens` tokens of them, gets
//! one summary from the model; below that its fragments are joined without a request.
//! Fragments that do not fit one request are summarized in groups, then the group
//! summaries together (map-reduce). A summary is cached in the journal under the hash of
//! the sorted fragments, the template and the model.

use crate::chunk::tokens::Counter;
use crate::engine::router::RouteError;

use super::ask::{Asker, SUMMARY_OUTPUT_TOKENS};
use super::context::model_tokens;
use super::settings::Template;
use super::view::View;

/// Most words asked of a summary.
pub const SUMMARY_WORDS: u32 = 200;
/// Rounds of map-reduce before the remaining parts are joined as they are.
const MAX_ROUNDS: u32 = 4;

/// One description to summarize.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    /// "entity" or "relation".
    pub kind: &'static str,
    pub name: String,
    pub fragments: Vec<String>,
    pub hash: String,
}

/// The descriptions of `view` over the thresholds, sorted by id.
pub fn jobs(view: &View, max_fragments: usize, max_tokens: usize) -> Vec<Job> {
    let counter = Counter::default();
    let over = |fragments: &[String]| {
        fragments.len() > max_fragments
            || fragments.iter().map(|f| counter.count(f)).sum::<usize>() > max_tokens
    };
    let mut out: Vec<Job> = Vec::new();
    for (id, e) in &view.entities {
        if over(&e.fragments) {
            out.push(Job {
                id: id.clone(),
                kind: "entity",
                name: format!("{} ({})", e.name, e.kind),
                fragments: e.fragments.clone(),
                hash: e.hash.clone(),
            });
        }
    }
    for (id, r) in &view.relations {
        if over(&r.fragments) {
            out.push(Job {
                id: id.clone(),
                kind: "relation",
                name: format!("{} {} {}", r.source, r.kind, r.target),
                fragments: r.fragments.clone(),
                hash: r.hash.clone(),
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The journal key of a summary: fragments, template and model.
pub fn journal_key(hash: &str, template: &Template, model: &str) -> String {
    let mut h = blake3::Hasher::new();
    for p in [hash, template.text.as_str(), model] {
        h.update(p.as_bytes());
        h.update(&[0]);
    }
    format!("sum_{}", &h.finalize().to_hex()[..32])
}

/// Groups of fragments, each within `budget` model tokens (a fragment longer than the
/// budget alone is cut to it).
fn groups(fragments: Vec<String>, budget: u32) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut cur: Vec<String> = Vec::new();
    let mut used = 0u32;
    for mut f in fragments {
        let mut t = model_tokens(&f) + 2;
        if t > budget {
            let keep = (f.len() as u64 * u64::from(budget) * 9 / 10 / u64::from(t)) as usize;
            let mut cut = keep.min(f.len());
            while !f.is_char_boundary(cut) {
                cut -= 1;
            }
            f.truncate(cut);
            t = budget;
        }
        if used + t > budget && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            used = 0;
        }
        used += t;
        cur.push(f);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// One summary request over `fragments`.
async fn one(
    asker: &Asker,
    template: &Template,
    job: &Job,
    fragments: &[String],
    part: usize,
) -> Result<Result<String, String>, RouteError> {
    let user = match template.render(minijinja::context! {
        kind => job.kind, name => &job.name, fragments => fragments.to_vec(), max_words => SUMMARY_WORDS,
    }) {
        Ok(u) => u,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let id = format!("{}-{}-{part}", job.id, &job.hash[..8]);
    match asker
        .ask(
            user,
            &asker.summary_schema,
            SUMMARY_OUTPUT_TOKENS,
            &id,
            super::report::accept_summary,
        )
        .await
    {
        Ok(served) => Ok(Ok(served.value)),
        Err(RouteError::Failed(e) | RouteError::Split(e)) => Ok(Err(e.message)),
        Err(other) => Err(other),
    }
}

/// The summary of `job`, map-reduced over `budget`-token requests. `Ok(Err(why))` when the
/// model gave no usable summary (the fragments are then joined); `Err` when the run must
/// stop.
pub async fn summarize(
    asker: &Asker,
    template: &Template,
    job: &Job,
    budget: u32,
) -> Result<Result<String, String>, RouteError> {
    let overhead = model_tokens(&template.text) + model_tokens(&job.name) + 64;
    let room = budget.saturating_sub(overhead).max(256);
    let mut parts = job.fragments.clone();
    for round in 0..MAX_ROUNDS {
        let mut g = groups(parts, room);
        if g.len() == 1 {
            return one(asker, template, job, &g.remove(0), round as usize * 1000).await;
        }
        let mut next = Vec::with_capacity(g.len());
        for (i, group) in g.iter().enumerate() {
            match one(asker, template, job, group, round as usize * 1000 + i + 1).await? {
                Ok(s) => next.push(s),
                Err(why) => return Ok(Err(why)),
            }
        }
        parts = next;
    }
    Ok(Ok(parts.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_fit_the_budget_and_keep_every_fragment() {
        let frags: Vec<String> = (0..20)
            .map(|i| format!("fragment number {i} ").repeat(10))
            .collect();
        let g = groups(frags.clone(), 200);
        assert!(g.len() > 1);
        assert_eq!(g.iter().map(Vec::len).sum::<usize>(), 20);
        for group in &g {
            let t: u32 = group.iter().map(|f| model_tokens(f) + 2).sum();
            assert!(t <= 200, "{t}");
        }
        let long = groups(vec!["word ".repeat(2000)], 300);
        assert_eq!(long.len(), 1);
        assert!(model_tokens(&long[0][0]) <= 300);
    }
}
