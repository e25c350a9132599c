//! Scoring a run's outputs against the gold documents: per document, gold items matched
//! one to one with predicted ones (greedy in gold order, exact matches before partial
//! ones), summed into the overall, per-type and per-document scores, with examples of
//! what was missed or wrong.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::gold::GoldDoc;
use super::outputs::RunOutputs;
use super::score::{
    finish_entities, finish_relations, round, DocScores, EvalReport, Example, Examples, RunFigures,
    Score,
};
use crate::merge::resolve::resolved_key;
use crate::prompt::GENERIC_RELATION;

/// A gold entity's keys: its name's and its aliases'.
struct GoldKeys {
    keys: Vec<String>,
    words: Vec<Vec<String>>,
}

fn words(key: &str) -> Vec<String> {
    key.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// One key's words are a contiguous run of the other's.
fn partial(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    !short.is_empty() && long.windows(short.len()).any(|w| w == short)
}

/// Greedy one-to-one matching in gold order: `strong` matches first, then `weak`.
/// Returns, per gold item, the matched predicted index.
fn match_greedy(
    gold: usize,
    pred: usize,
    strong: impl Fn(usize, usize) -> bool,
    weak: impl Fn(usize, usize) -> bool,
) -> Vec<Option<usize>> {
    let mut taken = vec![false; pred];
    let mut out = vec![None; gold];
    for (g, slot) in out.iter_mut().enumerate() {
        if let Some(p) = (0..pred).find(|&p| !taken[p] && strong(g, p)) {
            taken[p] = true;
            *slot = Some(p);
        }
    }
    for (g, slot) in out.iter_mut().enumerate() {
        if slot.is_some() {
            continue;
        }
        if let Some(p) = (0..pred).find(|&p| !taken[p] && weak(g, p)) {
            taken[p] = true;
            *slot = Some(p);
        }
    }
    out
}

fn never(_: usize, _: usize) -> bool {
    false
}

fn count(m: &[Option<usize>]) -> u64 {
    m.iter().filter(|x| x.is_some()).count() as u64
}

/// The predicted records, indexed for matching: by document, by id, by resolved key.
struct Index<'a> {
    run: &'a RunOutputs,
    ents_by_doc: HashMap<&'a str, Vec<usize>>,
    rels_by_doc: HashMap<&'a str, Vec<usize>>,
    by_id: HashMap<&'a str, usize>,
    ent_keys: Vec<String>,
    ent_words: Vec<Vec<String>>,
    /// The corpus folder (a one-file corpus: its folder).
    base: PathBuf,
}

impl<'a> Index<'a> {
    fn new(run: &'a RunOutputs) -> Self {
        let mut ents_by_doc: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, e) in run.entities.iter().enumerate() {
            let docs: BTreeSet<&str> = e.sources.iter().map(|s| s.doc.as_str()).collect();
            for d in docs {
                ents_by_doc.entry(d).or_default().push(i);
            }
        }
        let mut rels_by_doc: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, r) in run.relations.iter().enumerate() {
            let docs: BTreeSet<&str> = r.sources.iter().map(|s| s.doc.as_str()).collect();
            for d in docs {
                rels_by_doc.entry(d).or_default().push(i);
            }
        }
        let ent_keys: Vec<String> = run.entities.iter().map(|e| resolved_key(&e.name)).collect();
        let corpus = PathBuf::from(&run.run.state.corpus);
        Index {
            run,
            ents_by_doc,
            rels_by_doc,
            by_id: (run.entities.iter().enumerate())
                .map(|(i, e)| (e.id.as_str(), i))
                .collect(),
            ent_words: ent_keys.iter().map(|k| words(k)).collect(),
            ent_keys,
            base: if corpus.is_file() {
                corpus.parent().map(Path::to_path_buf).unwrap_or_default()
            } else {
                corpus
            },
        }
    }

    /// A gold document is scored when the run has records of it or it is in the corpus.
    fn knows(&self, doc: &str) -> bool {
        self.ents_by_doc.contains_key(doc) || self.base.join(doc).is_file()
    }
}

/// Per-type scores and examples, summed over the gold documents.
#[derive(Default)]
struct Tally {
    entity_types: BTreeMap<String, Score>,
    relation_types: BTreeMap<String, Score>,
    ex: Examples,
}

/// Scores a finished run against gold documents.
pub fn evaluate(run: &RunOutputs, gold: &[GoldDoc], gold_path: &Path) -> EvalReport {
    let mut rep = EvalReport {
        gold: gold_path.display().to_string(),
        out: run.run.out.display().to_string(),
        corpus: run.run.state.corpus.clone(),
        ..EvalReport::default()
    };
    let idx = Index::new(run);
    let mut tally = Tally::default();
    for g in gold {
        if !idx.knows(&g.doc) {
            rep.unknown_documents.push(g.doc.clone());
            continue;
        }
        rep.documents += 1;
        let gk = gold_keys(g);
        let mut d = DocScores {
            doc: g.doc.clone(),
            ..DocScores::default()
        };
        score_entities(&idx, g, &gk, &mut d, &mut tally);
        score_relations(&idx, g, &gk, &mut d, &mut tally);
        add_doc(&mut rep, d);
    }
    finish(&mut rep, tally);
    rep.run = run_figures(run);
    rep
}

/// The report of a run measured without gold: the run-wide figures only.
pub fn without_gold(run: &RunOutputs) -> EvalReport {
    EvalReport {
        out: run.run.out.display().to_string(),
        corpus: run.run.state.corpus.clone(),
        run: run_figures(run),
        ..EvalReport::default()
    }
}

fn gold_keys(g: &GoldDoc) -> Vec<GoldKeys> {
    g.entities
        .iter()
        .map(|e| {
            let keys: Vec<String> = std::iter::once(&e.name)
                .chain(&e.aliases)
                .map(|n| resolved_key(n))
                .collect();
            let words = keys.iter().map(|k| words(k)).collect();
            GoldKeys { keys, words }
        })
        .collect()
}

/// The four entity matchings of one document: exact or partial names, typed or not.
struct EntityMatches {
    exact_typed: Vec<Option<usize>>,
    exact_untyped: Vec<Option<usize>>,
    partial_typed: Vec<Option<usize>>,
    partial_untyped: Vec<Option<usize>>,
}

fn match_entities(idx: &Index, g: &GoldDoc, gk: &[GoldKeys], preds: &[usize]) -> EntityMatches {
    let exact = |gi: usize, pi: usize| gk[gi].keys.contains(&idx.ent_keys[preds[pi]]);
    let part = |gi: usize, pi: usize| {
        exact(gi, pi)
            || gk[gi]
                .words
                .iter()
                .any(|w| partial(w, &idx.ent_words[preds[pi]]))
    };
    let typed = |gi: usize, pi: usize| idx.run.entities[preds[pi]].kind == g.entities[gi].kind;
    let (ng, np) = (g.entities.len(), preds.len());
    EntityMatches {
        exact_typed: match_greedy(ng, np, |a, b| exact(a, b) && typed(a, b), never),
        exact_untyped: match_greedy(ng, np, exact, never),
        partial_typed: match_greedy(
            ng,
            np,
            |a, b| exact(a, b) && typed(a, b),
            |a, b| part(a, b) && typed(a, b),
        ),
        partial_untyped: match_greedy(ng, np, exact, part),
    }
}

fn score_entities(idx: &Index, g: &GoldDoc, gk: &[GoldKeys], d: &mut DocScores, t: &mut Tally) {
    let preds: &[usize] = idx.ents_by_doc.get(g.doc.as_str()).map_or(&[], |v| v);
    let m = match_entities(idx, g, gk, preds);
    let (ngu, npu) = (g.entities.len() as u64, preds.len() as u64);
    d.entities.exact_typed.add(count(&m.exact_typed), npu, ngu);
    d.entities
        .exact_untyped
        .add(count(&m.exact_untyped), npu, ngu);
    d.entities
        .partial_typed
        .add(count(&m.partial_typed), npu, ngu);
    d.entities
        .partial_untyped
        .add(count(&m.partial_untyped), npu, ngu);
    // Per type (exact, typed).
    for (gi, e) in g.entities.iter().enumerate() {
        let s = t.entity_types.entry(e.kind.clone()).or_default();
        s.add(u64::from(m.exact_typed[gi].is_some()), 0, 1);
    }
    for &p in preds {
        t.entity_types
            .entry(idx.run.entities[p].kind.clone())
            .or_default()
            .add(0, 1, 0);
    }
    entity_examples(idx, g, preds, &m, &mut t.ex);
}

/// Missed gold entities, names found with another type, and predicted names no gold one
/// matches even partially.
fn entity_examples(
    idx: &Index,
    g: &GoldDoc,
    preds: &[usize],
    m: &EntityMatches,
    ex: &mut Examples,
) {
    let matched_any: BTreeSet<usize> = m.partial_untyped.iter().flatten().copied().collect();
    for (gi, e) in g.entities.iter().enumerate() {
        if m.partial_untyped[gi].is_none() {
            let k = resolved_key(&e.name);
            let related = g
                .relations
                .iter()
                .filter(|r| resolved_key(&r.source) == k || resolved_key(&r.target) == k)
                .count() as u64;
            ex.missed_entities.push(Example {
                doc: g.doc.clone(),
                what: format!("{} ({})", e.name, e.kind),
                detail: (related > 0).then(|| format!("in {related} gold relations")),
                rank: related,
            });
        }
        if let Some(p) = m.exact_untyped[gi] {
            let pe = &idx.run.entities[preds[p]];
            if pe.kind != e.kind {
                ex.wrong_types.push(Example {
                    doc: g.doc.clone(),
                    what: format!("{}: {} instead of {}", pe.name, pe.kind, e.kind),
                    detail: None,
                    rank: pe.mentions,
                });
            }
        }
    }
    for (pi, &p) in preds.iter().enumerate() {
        if !matched_any.contains(&pi) {
            let pe = &idx.run.entities[p];
            ex.false_entities.push(Example {
                doc: g.doc.clone(),
                what: format!("{} ({})", pe.name, pe.kind),
                detail: Some(format!("{} mentions in the run", pe.mentions)),
                rank: pe.mentions,
            });
        }
    }
}

/// A predicted relation of a document, by its ends: their resolved keys and names.
struct RelPred<'a> {
    source: &'a str,
    kind: &'a str,
    target: &'a str,
    mentions: u64,
    names: (&'a str, &'a str),
}

/// The document's predicted relations whose two ends are entities of the outputs.
fn relation_preds<'a>(idx: &'a Index, doc: &str) -> Vec<RelPred<'a>> {
    idx.rels_by_doc
        .get(doc)
        .map_or(&[][..], |v| v)
        .iter()
        .filter_map(|&i| {
            let r = &idx.run.relations[i];
            let s = *idx.by_id.get(r.source.as_str())?;
            let t = *idx.by_id.get(r.target.as_str())?;
            Some(RelPred {
                source: idx.ent_keys[s].as_str(),
                kind: r.kind.as_str(),
                target: idx.ent_keys[t].as_str(),
                mentions: r.mentions,
                names: (&idx.run.entities[s].name, &idx.run.entities[t].name),
            })
        })
        .collect()
}

fn score_relations(idx: &Index, g: &GoldDoc, gk: &[GoldKeys], d: &mut DocScores, t: &mut Tally) {
    let preds = relation_preds(idx, &g.doc);
    // A gold relation end: the keys of the gold entity it names.
    let end_keys = |name: &str| -> Vec<String> {
        let k = resolved_key(name);
        gk.iter()
            .find(|x| x.keys.contains(&k))
            .map_or_else(|| vec![k.clone()], |x| x.keys.clone())
    };
    let gold_ends: Vec<(Vec<String>, Vec<String>)> = g
        .relations
        .iter()
        .map(|r| (end_keys(&r.source), end_keys(&r.target)))
        .collect();
    let is = |keys: &[String], k: &str| keys.iter().any(|x| x == k);
    let labeled = |gi: usize, pi: usize| {
        let p = &preds[pi];
        is(&gold_ends[gi].0, p.source)
            && is(&gold_ends[gi].1, p.target)
            && g.relations[gi].kind == p.kind
    };
    let unlabeled = |gi: usize, pi: usize| {
        let p = &preds[pi];
        let (a, b) = &gold_ends[gi];
        (is(a, p.source) && is(b, p.target)) || (is(a, p.target) && is(b, p.source))
    };
    let (ngr, npr) = (g.relations.len(), preds.len());
    let m_rl = match_greedy(ngr, npr, labeled, never);
    let m_ru = match_greedy(ngr, npr, unlabeled, never);
    d.relations
        .labeled
        .add(count(&m_rl), npr as u64, ngr as u64);
    d.relations
        .unlabeled
        .add(count(&m_ru), npr as u64, ngr as u64);
    for (gi, r) in g.relations.iter().enumerate() {
        t.relation_types.entry(r.kind.clone()).or_default().add(
            u64::from(m_rl[gi].is_some()),
            0,
            1,
        );
        if m_rl[gi].is_none() {
            let found = m_ru[gi].map(|p| preds[p].kind);
            t.ex.missed_relations.push(Example {
                doc: g.doc.clone(),
                what: format!("{} -{}-> {}", r.source, r.kind, r.target),
                detail: found.map(|k| format!("found as {k} (or reversed)")),
                rank: 0,
            });
        }
    }
    let matched: BTreeSet<usize> = m_rl.iter().flatten().copied().collect();
    for (pi, p) in preds.iter().enumerate() {
        t.relation_types
            .entry(p.kind.to_string())
            .or_default()
            .add(0, 1, 0);
        if !matched.contains(&pi) {
            t.ex.false_relations.push(Example {
                doc: g.doc.clone(),
                what: format!("{} -{}-> {}", p.names.0, p.kind, p.names.1),
                detail: Some(format!("{} mentions in the run", p.mentions)),
                rank: p.mentions,
            });
        }
    }
}

/// Adds a document's counts to the overall ones, and its finished scores to the list.
fn add_doc(rep: &mut EvalReport, mut d: DocScores) {
    let sum = |a: &mut Score, b: &Score| a.add(b.tp, b.predicted, b.gold);
    sum(&mut rep.entities.exact_typed, &d.entities.exact_typed);
    sum(&mut rep.entities.exact_untyped, &d.entities.exact_untyped);
    sum(&mut rep.entities.partial_typed, &d.entities.partial_typed);
    sum(
        &mut rep.entities.partial_untyped,
        &d.entities.partial_untyped,
    );
    sum(&mut rep.relations.labeled, &d.relations.labeled);
    sum(&mut rep.relations.unlabeled, &d.relations.unlabeled);
    d.entities = finish_entities(d.entities);
    d.relations = finish_relations(d.relations);
    rep.per_document.push(d);
}

/// The overall and per-type scores from their counts, and the examples, worst first.
fn finish(rep: &mut EvalReport, tally: Tally) {
    let Tally {
        entity_types,
        relation_types,
        mut ex,
    } = tally;
    rep.entities = finish_entities(std::mem::take(&mut rep.entities));
    rep.relations = finish_relations(std::mem::take(&mut rep.relations));
    rep.entity_types = entity_types
        .into_iter()
        .map(|(k, s)| (k, s.finish()))
        .collect();
    rep.relation_types = relation_types
        .into_iter()
        .map(|(k, s)| (k, s.finish()))
        .collect();
    ex.false_entities = group_examples(std::mem::take(&mut ex.false_entities));
    // Worst first; ties in gold / corpus order (stable sort).
    for list in [
        &mut ex.missed_entities,
        &mut ex.false_entities,
        &mut ex.wrong_types,
        &mut ex.missed_relations,
        &mut ex.false_relations,
    ] {
        list.sort_by_key(|e| std::cmp::Reverse(e.rank));
    }
    rep.examples = ex;
}

/// A predicted entity that is wrong in several documents is one example.
fn group_examples(list: Vec<Example>) -> Vec<Example> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut grouped: Vec<(Example, u64)> = Vec::new();
    for e in list {
        match seen.get(&e.what) {
            Some(&i) => grouped[i].1 += 1,
            None => {
                seen.insert(e.what.clone(), grouped.len());
                grouped.push((e, 0));
            }
        }
    }
    grouped
        .into_iter()
        .map(|(mut e, more)| {
            if more > 0 {
                e.detail = Some(format!(
                    "{}; in {more} more gold documents",
                    e.detail.unwrap_or_default()
                ));
            }
            e
        })
        .collect()
}

/// The figures that need no gold: records, generic share, relations per answered chunk.
fn run_figures(run: &RunOutputs) -> RunFigures {
    let mut f = RunFigures {
        entities: run.entities.len() as u64,
        relations: run.relations.len() as u64,
        ..RunFigures::default()
    };
    f.generic_relations = run
        .relations
        .iter()
        .filter(|r| r.kind == GENERIC_RELATION)
        .count() as u64;
    f.generic_share =
        (f.relations > 0).then(|| round(f.generic_relations as f64 / f.relations as f64));
    f.relation_mentions = run.relations.iter().map(|r| r.mentions).sum();
    let chunks = &run.run.report.chunks;
    f.chunks = chunks.total.saturating_sub(chunks.failed);
    f.relations_per_chunk =
        (f.chunks > 0).then(|| round(f.relation_mentions as f64 / f.chunks as f64));
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_is_a_run_of_words() {
        let w = |s: &str| words(s);
        assert!(partial(&w("acme"), &w("acme robotics")));
        assert!(partial(
            &w("space administration"),
            &w("national space administration")
        ));
        assert!(!partial(&w("ada"), &w("canada")));
        assert!(!partial(&w("acme robotics"), &w("robotics acme")));
    }
}
