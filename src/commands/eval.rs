//! `aegis-ingest eval`: how good is a finished run's graph? Scores the outputs in `--out`
//! (`entities.jsonl`, `relations.jsonl`, `report.json`, `run.json`) against a gold file
//! and measures what needs no gold: the grounded share (predicted names found in the text
//! of the chunk they came from, re-read with the project's own readers and chunker), the
//! share of generic `RELATES_TO` relations, and relations per chunk.
//!
//! Gold file: JSONL, one line per document:
//! `{"doc": <path relative to the corpus>, "entities": [{"name", "type", "aliases"?}],
//!   "relations": [{"source", "type", "target"}]}`; relation ends name gold entities of the
//! same line (by name or alias).
//!
//! Matching, per document, one to one (each gold item matches at most one predicted item;
//! greedy in gold order, exact matches before partial ones):
//! - names are compared by their resolved keys (`resolve`: Unicode, case, punctuation,
//!   possessive, article, legal suffix), against the gold name and its aliases;
//! - *exact*: equal keys; *partial*: one key's words are a run of the other's words;
//! - *typed*: the predicted entity's type equals the gold type; *untyped*: any type;
//! - relations: *labeled*: source and target match (exact keys) and the type is equal;
//!   *unlabeled*: the two ends match in either direction, any type.
//!
//! Overall figures are micro-averaged over the gold documents (sums of matches, predicted
//! and gold items). Predicted items of documents that are not in the gold file are not
//! scored (the run-wide figures still count them).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cli::{EvalArgs, EvalFormat};
use crate::error::{ExitCode, RunError};
use crate::merge::resolve::resolved_key;
use crate::outdir::finished::{read_records, read_run_meta, EntityRec, RelationRec};
use crate::outdir::RunState;
use crate::prompt::{default_prompts_root, PromptSet, Taxonomy, GENERIC_RELATION};
use crate::quality::grounding::{measure_grounding, Grounding};
use crate::quality::{Figures, Limits};

/// The output file, beside the run's outputs.
pub const EVAL_FILE: &str = "eval.json";

// ---------------------------------------------------------------------------------------
// Gold file

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldEntity {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldRelation {
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldDoc {
    pub doc: String,
    #[serde(default)]
    pub entities: Vec<GoldEntity>,
    #[serde(default)]
    pub relations: Vec<GoldRelation>,
    /// Line number in the gold file.
    #[serde(skip)]
    pub line: usize,
}

/// Reads and checks a gold file: JSONL, known types, relation ends that name an entity of
/// the same line, each document once. Errors name the file and the line.
pub fn read_gold(path: &Path, taxonomy: &Taxonomy) -> Result<Vec<GoldDoc>, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read the gold file {}: {e}", path.display()))?;
    let entity_types: BTreeSet<&str> = taxonomy
        .entity_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let relation_types: BTreeSet<&str> = taxonomy
        .relation_types
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    let list = |s: &BTreeSet<&str>| s.iter().copied().collect::<Vec<_>>().join(", ");
    let mut docs: Vec<GoldDoc> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let at = |m: String| format!("{}:{n}: {m}", path.display());
        let line = line.map_err(|e| at(format!("cannot read: {e}")))?;
        let line = line.trim_start_matches('\u{feff}');
        if line.trim().is_empty() {
            continue;
        }
        let mut doc: GoldDoc = serde_json::from_str(line).map_err(|e| {
            at(format!(
                "not a gold record ({e}); expected one JSON object per line: \
                 {{\"doc\": \"path/in/corpus.md\", \"entities\": [{{\"name\", \"type\", \"aliases\"?}}], \
                 \"relations\": [{{\"source\", \"type\", \"target\"}}]}}"
            ))
        })?;
        doc.line = n;
        // Paths as the outputs write them: '/' separators, no leading "./".
        doc.doc = doc.doc.replace('\\', "/");
        while let Some(rest) = doc.doc.strip_prefix("./") {
            doc.doc = rest.to_string();
        }
        if doc.doc.trim().is_empty() {
            return Err(at(
                "\"doc\" is empty: give the document's path relative to the corpus".into(),
            ));
        }
        if let Some(first) = seen.insert(doc.doc.clone(), n) {
            return Err(at(format!(
                "document {:?} is already on line {first}: one line per document",
                doc.doc
            )));
        }
        let mut keys: BTreeSet<String> = BTreeSet::new();
        for e in &doc.entities {
            if e.name.trim().is_empty() {
                return Err(at("an entity has an empty name".into()));
            }
            if !entity_types.contains(e.kind.as_str()) {
                return Err(at(format!(
                    "entity {:?} has type {:?}, which is not in the taxonomy `{}` (entity types: {})",
                    e.name,
                    e.kind,
                    taxonomy.name,
                    list(&entity_types)
                )));
            }
            keys.insert(resolved_key(&e.name));
            keys.extend(e.aliases.iter().map(|a| resolved_key(a)));
        }
        for r in &doc.relations {
            if !relation_types.contains(r.kind.as_str()) {
                return Err(at(format!(
                    "relation {:?} -> {:?} has type {:?}, which is not in the taxonomy `{}` (relation types: {})",
                    r.source,
                    r.target,
                    r.kind,
                    taxonomy.name,
                    list(&relation_types)
                )));
            }
            for end in [&r.source, &r.target] {
                if !keys.contains(&resolved_key(end)) {
                    return Err(at(format!(
                        "relation end {end:?} is not an entity of this line: list it under \"entities\" (or as an alias)"
                    )));
                }
            }
        }
        docs.push(doc);
    }
    if docs.is_empty() {
        return Err(format!("the gold file {} has no documents", path.display()));
    }
    Ok(docs)
}

// ---------------------------------------------------------------------------------------
// The run's outputs

/// A finished run, as its outputs describe it.
pub struct FinishedRun {
    pub out: PathBuf,
    pub state: RunState,
    pub report: serde_json::Value,
    pub entities: Vec<EntityRec>,
    pub relations: Vec<RelationRec>,
}

impl FinishedRun {
    pub fn open(out: &Path) -> Result<Self, String> {
        let (state, report) = read_run_meta(out)?;
        Ok(FinishedRun {
            out: out.to_path_buf(),
            entities: read_records(&out.join("entities.jsonl"))?,
            relations: read_records(&out.join("relations.jsonl"))?,
            state,
            report,
        })
    }

    /// The taxonomy the run used: its prompts folder, else the built-in domain named in
    /// the report.
    fn taxonomy(&self) -> Result<Taxonomy, String> {
        let dir = PathBuf::from(&self.state.prompts_dir);
        match PromptSet::load_dir(&dir) {
            Ok(p) => Ok(p.taxonomy),
            Err(first) => {
                let domain = self.report["settings"]["domain"]
                    .as_str()
                    .unwrap_or("general");
                PromptSet::load_domain(&default_prompts_root(), domain)
                    .map(|p| p.taxonomy)
                    .map_err(|_| {
                        format!("cannot load the run's taxonomy to check the gold types: {first}")
                    })
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Scores

/// Matches, predicted and gold counts, and the scores they make.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Score {
    pub tp: u64,
    pub predicted: u64,
    pub gold: u64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

impl Score {
    fn add(&mut self, tp: u64, predicted: u64, gold: u64) {
        self.tp += tp;
        self.predicted += predicted;
        self.gold += gold;
    }

    /// P = tp/predicted (none when nothing was predicted), R = tp/gold (none when the gold
    /// has nothing), F1 their harmonic mean (0 when one of them is 0 or missing, none when
    /// both are missing).
    fn finish(mut self) -> Self {
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        let (p, r) = (ratio(self.tp, self.predicted), ratio(self.tp, self.gold));
        self.precision = p.map(round);
        self.recall = r.map(round);
        self.f1 = match (p, r) {
            (None, None) => None,
            (Some(p), Some(r)) if p + r > 0.0 => Some(round(2.0 * p * r / (p + r))),
            _ => Some(0.0),
        };
        self
    }
}

fn round(x: f64) -> f64 {
    (x * 10000.0).round() / 10000.0
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct EntityScores {
    pub exact_typed: Score,
    pub exact_untyped: Score,
    pub partial_typed: Score,
    pub partial_untyped: Score,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RelationScores {
    pub labeled: Score,
    pub unlabeled: Score,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DocScores {
    pub doc: String,
    pub entities: EntityScores,
    pub relations: RelationScores,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grounded_share: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub doc: String,
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip)]
    rank: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Examples {
    /// Gold entities no predicted name matches even partially (most related first).
    pub missed_entities: Vec<Example>,
    /// Predicted entities no gold name matches even partially (most mentioned first).
    pub false_entities: Vec<Example>,
    /// Names found with another type than the gold one.
    pub wrong_types: Vec<Example>,
    /// Gold relations not found with their type and direction.
    pub missed_relations: Vec<Example>,
    /// Predicted relations not in the gold (labeled).
    pub false_relations: Vec<Example>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunFigures {
    pub entities: u64,
    pub relations: u64,
    pub chunks: u64,
    pub generic_relations: u64,
    pub generic_share: Option<f64>,
    pub relation_mentions: u64,
    pub relations_per_chunk: Option<f64>,
    pub grounding: Grounding,
}

/// Everything `eval` measured; written as `eval.json`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EvalReport {
    pub gold: String,
    pub out: String,
    pub corpus: String,
    pub documents: u64,
    pub unknown_documents: Vec<String>,
    pub entities: EntityScores,
    pub relations: RelationScores,
    pub entity_types: BTreeMap<String, Score>,
    pub relation_types: BTreeMap<String, Score>,
    pub per_document: Vec<DocScores>,
    pub run: RunFigures,
    pub examples: Examples,
    pub gates_failed: Vec<String>,
}

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

fn count(m: &[Option<usize>]) -> u64 {
    m.iter().filter(|x| x.is_some()).count() as u64
}

/// Scores a finished run against gold documents.
pub fn evaluate(run: &FinishedRun, gold: &[GoldDoc], gold_path: &Path) -> EvalReport {
    let mut rep = EvalReport {
        gold: gold_path.display().to_string(),
        out: run.out.display().to_string(),
        corpus: run.state.corpus.clone(),
        ..EvalReport::default()
    };
    // Predicted entities and relations by document.
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
    let by_id: HashMap<&str, usize> = run
        .entities
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.as_str(), i))
        .collect();
    let ent_keys: Vec<String> = run.entities.iter().map(|e| resolved_key(&e.name)).collect();
    let ent_words: Vec<Vec<String>> = ent_keys.iter().map(|k| words(k)).collect();

    let corpus = PathBuf::from(&run.state.corpus);
    let base = if corpus.is_file() {
        corpus.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        corpus
    };
    let mut entity_types: BTreeMap<String, Score> = BTreeMap::new();
    let mut relation_types: BTreeMap<String, Score> = BTreeMap::new();
    let mut ex = Examples::default();
    for g in gold {
        let known = ents_by_doc.contains_key(g.doc.as_str()) || base.join(&g.doc).is_file();
        if !known {
            rep.unknown_documents.push(g.doc.clone());
            continue;
        }
        rep.documents += 1;
        let preds: &[usize] = ents_by_doc.get(g.doc.as_str()).map_or(&[], |v| v);
        let gk: Vec<GoldKeys> = g
            .entities
            .iter()
            .map(|e| {
                let keys: Vec<String> = std::iter::once(&e.name)
                    .chain(&e.aliases)
                    .map(|n| resolved_key(n))
                    .collect();
                let words = keys.iter().map(|k| words(k)).collect();
                GoldKeys { keys, words }
            })
            .collect();
        let exact = |gi: usize, pi: usize| gk[gi].keys.contains(&ent_keys[preds[pi]]);
        let part = |gi: usize, pi: usize| {
            exact(gi, pi)
                || gk[gi]
                    .words
                    .iter()
                    .any(|w| partial(w, &ent_words[preds[pi]]))
        };
        let typed = |gi: usize, pi: usize| run.entities[preds[pi]].kind == g.entities[gi].kind;
        let never = |_: usize, _: usize| false;
        let (ng, np) = (g.entities.len(), preds.len());
        let m_et = match_greedy(ng, np, |a, b| exact(a, b) && typed(a, b), never);
        let m_eu = match_greedy(ng, np, exact, never);
        let m_pt = match_greedy(
            ng,
            np,
            |a, b| exact(a, b) && typed(a, b),
            |a, b| part(a, b) && typed(a, b),
        );
        let m_pu = match_greedy(ng, np, exact, part);
        let mut d = DocScores {
            doc: g.doc.clone(),
            ..DocScores::default()
        };
        let (ngu, npu) = (ng as u64, np as u64);
        d.entities.exact_typed.add(count(&m_et), npu, ngu);
        d.entities.exact_untyped.add(count(&m_eu), npu, ngu);
        d.entities.partial_typed.add(count(&m_pt), npu, ngu);
        d.entities.partial_untyped.add(count(&m_pu), npu, ngu);
        // Per type (exact, typed).
        for (gi, e) in g.entities.iter().enumerate() {
            let s = entity_types.entry(e.kind.clone()).or_default();
            s.add(u64::from(m_et[gi].is_some()), 0, 1);
        }
        for &p in preds {
            entity_types
                .entry(run.entities[p].kind.clone())
                .or_default()
                .add(0, 1, 0);
        }
        // Examples.
        let matched_any: BTreeSet<usize> = m_pu.iter().flatten().copied().collect();
        for (gi, e) in g.entities.iter().enumerate() {
            if m_pu[gi].is_none() {
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
            if let Some(p) = m_eu[gi] {
                let pe = &run.entities[preds[p]];
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
                let pe = &run.entities[p];
                ex.false_entities.push(Example {
                    doc: g.doc.clone(),
                    what: format!("{} ({})", pe.name, pe.kind),
                    detail: Some(format!("{} mentions in the run", pe.mentions)),
                    rank: pe.mentions,
                });
            }
        }

        // Relations: predicted ones of this document, by their ends' names.
        let rel_preds: Vec<(&str, &str, &str, u64)> = rels_by_doc
            .get(g.doc.as_str())
            .map_or(&[][..], |v| v)
            .iter()
            .filter_map(|&i| {
                let r = &run.relations[i];
                let s = *by_id.get(r.source.as_str())?;
                let t = *by_id.get(r.target.as_str())?;
                Some((
                    ent_keys[s].as_str(),
                    r.kind.as_str(),
                    ent_keys[t].as_str(),
                    r.mentions,
                ))
            })
            .collect();
        let rel_names: Vec<(String, String)> = rels_by_doc
            .get(g.doc.as_str())
            .map_or(&[][..], |v| v)
            .iter()
            .filter_map(|&i| {
                let r = &run.relations[i];
                let s = *by_id.get(r.source.as_str())?;
                let t = *by_id.get(r.target.as_str())?;
                Some((run.entities[s].name.clone(), run.entities[t].name.clone()))
            })
            .collect();
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
            let (s, kind, t, _) = rel_preds[pi];
            is(&gold_ends[gi].0, s) && is(&gold_ends[gi].1, t) && g.relations[gi].kind == kind
        };
        let unlabeled = |gi: usize, pi: usize| {
            let (s, _, t, _) = rel_preds[pi];
            let (a, b) = &gold_ends[gi];
            (is(a, s) && is(b, t)) || (is(a, t) && is(b, s))
        };
        let (ngr, npr) = (g.relations.len(), rel_preds.len());
        let m_rl = match_greedy(ngr, npr, labeled, never);
        let m_ru = match_greedy(ngr, npr, unlabeled, never);
        d.relations
            .labeled
            .add(count(&m_rl), npr as u64, ngr as u64);
        d.relations
            .unlabeled
            .add(count(&m_ru), npr as u64, ngr as u64);
        for (gi, r) in g.relations.iter().enumerate() {
            relation_types.entry(r.kind.clone()).or_default().add(
                u64::from(m_rl[gi].is_some()),
                0,
                1,
            );
            if m_rl[gi].is_none() {
                let found = m_ru[gi].map(|p| rel_preds[p].1);
                ex.missed_relations.push(Example {
                    doc: g.doc.clone(),
                    what: format!("{} -{}-> {}", r.source, r.kind, r.target),
                    detail: found.map(|k| format!("found as {k} (or reversed)")),
                    rank: 0,
                });
            }
        }
        let matched_rel: BTreeSet<usize> = m_rl.iter().flatten().copied().collect();
        for (pi, p) in rel_preds.iter().enumerate() {
            relation_types
                .entry(p.1.to_string())
                .or_default()
                .add(0, 1, 0);
            if !matched_rel.contains(&pi) {
                ex.false_relations.push(Example {
                    doc: g.doc.clone(),
                    what: format!("{} -{}-> {}", rel_names[pi].0, p.1, rel_names[pi].1),
                    detail: Some(format!("{} mentions in the run", p.3)),
                    rank: p.3,
                });
            }
        }
        // Sums.
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
    // A predicted entity that is wrong in several documents is one example.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut grouped: Vec<(Example, u64)> = Vec::new();
    for e in std::mem::take(&mut ex.false_entities) {
        match seen.get(&e.what) {
            Some(&i) => grouped[i].1 += 1,
            None => {
                seen.insert(e.what.clone(), grouped.len());
                grouped.push((e, 0));
            }
        }
    }
    ex.false_entities = grouped
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
        .collect();
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

    // Run-wide figures.
    let f = &mut rep.run;
    f.entities = run.entities.len() as u64;
    f.relations = run.relations.len() as u64;
    f.generic_relations = run
        .relations
        .iter()
        .filter(|r| r.kind == GENERIC_RELATION)
        .count() as u64;
    f.generic_share =
        (f.relations > 0).then(|| round(f.generic_relations as f64 / f.relations as f64));
    f.relation_mentions = run.relations.iter().map(|r| r.mentions).sum();
    let chunks = &run.report["chunks"];
    f.chunks = chunks["total"]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(chunks["failed"].as_u64().unwrap_or(0));
    f.relations_per_chunk =
        (f.chunks > 0).then(|| round(f.relation_mentions as f64 / f.chunks as f64));
    rep
}

fn finish_entities(e: EntityScores) -> EntityScores {
    EntityScores {
        exact_typed: e.exact_typed.finish(),
        exact_untyped: e.exact_untyped.finish(),
        partial_typed: e.partial_typed.finish(),
        partial_untyped: e.partial_untyped.finish(),
    }
}

fn finish_relations(r: RelationScores) -> RelationScores {
    RelationScores {
        labeled: r.labeled.finish(),
        unlabeled: r.unlabeled.finish(),
    }
}

impl EvalReport {
    /// The figures the gates look at: entity F1 exact and typed, relation F1 labeled.
    pub fn figures(&self) -> Figures {
        Figures {
            entity_f1: self.entities.exact_typed.f1,
            relation_f1: self.relations.labeled.f1,
            generic_share: self.run.generic_share,
            grounded: self.run.grounding.share,
        }
    }

    /// The table printed on stdout.
    pub fn table(&self, examples: usize) -> String {
        use std::fmt::Write;
        let f = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"));
        let row = |s: &mut String, label: &str, sc: &Score| {
            let _ = writeln!(
                s,
                "  {label:<22} {:>6} {:>6} {:>6}   {}/{}/{}",
                f(sc.precision),
                f(sc.recall),
                f(sc.f1),
                sc.tp,
                sc.predicted,
                sc.gold
            );
        };
        let mut s = String::new();
        let gold_ents: u64 = self.entities.exact_typed.gold;
        let gold_rels: u64 = self.relations.labeled.gold;
        let _ = writeln!(
            s,
            "eval of {} against {}: {} documents, {} gold entities, {} gold relations",
            self.out, self.gold, self.documents, gold_ents, gold_rels
        );
        let _ = writeln!(
            s,
            "\n{:<24} {:>6} {:>6} {:>6}   matched/predicted/gold",
            "entities", "P", "R", "F1"
        );
        row(&mut s, "exact, typed", &self.entities.exact_typed);
        row(&mut s, "exact, untyped", &self.entities.exact_untyped);
        row(&mut s, "partial, typed", &self.entities.partial_typed);
        row(&mut s, "partial, untyped", &self.entities.partial_untyped);
        let _ = writeln!(s, "relations");
        row(&mut s, "labeled", &self.relations.labeled);
        row(&mut s, "unlabeled", &self.relations.unlabeled);
        let r = &self.run;
        let _ = writeln!(s, "\nthe whole run");
        let _ = writeln!(
            s,
            "  {:<22} {:>6}   {} of {} entity mentions found in their chunk's text{}",
            "grounded share",
            f(r.grounding.share),
            r.grounding.grounded,
            r.grounding.checked,
            if r.grounding.unverifiable > 0 {
                format!(
                    " ({} not checked: document changed or gone)",
                    r.grounding.unverifiable
                )
            } else {
                String::new()
            }
        );
        let _ = writeln!(
            s,
            "  {:<22} {:>6}   {} of {} relations are {GENERIC_RELATION}",
            "generic share",
            f(r.generic_share),
            r.generic_relations,
            r.relations
        );
        let _ = writeln!(
            s,
            "  {:<22} {:>6}   {} relation mentions in {} answered chunks",
            "relations per chunk",
            f(r.relations_per_chunk),
            r.relation_mentions,
            r.chunks
        );
        let types = |s: &mut String, title: &str, map: &BTreeMap<String, Score>| {
            if map.is_empty() {
                return;
            }
            let _ = writeln!(
                s,
                "\n{title:<24} {:>6} {:>6} {:>6}   matched/predicted/gold",
                "P", "R", "F1"
            );
            for (k, sc) in map {
                row(s, k, sc);
            }
        };
        types(&mut s, "entity types (exact)", &self.entity_types);
        types(&mut s, "relation types (labeled)", &self.relation_types);
        let _ = writeln!(
            s,
            "\n{:<32} {:>9} {:>6} {:>9} {:>6} {:>9}\n{:<32} {:>9} {:>6} {:>9} {:>6} {:>9}",
            "document",
            "entities",
            "F1",
            "relations",
            "F1",
            "grounded",
            "",
            "pred/gold",
            "typed",
            "pred/gold",
            "labeled",
            "share"
        );
        for d in &self.per_document {
            let e = &d.entities.exact_typed;
            let r = &d.relations.labeled;
            let _ = writeln!(
                s,
                "{:<32} {:>9} {:>6} {:>9} {:>6} {:>9}",
                d.doc,
                format!("{}/{}", e.predicted, e.gold),
                f(e.f1),
                format!("{}/{}", r.predicted, r.gold),
                f(r.f1),
                f(d.grounded_share)
            );
        }
        let ex = &self.examples;
        for (title, list) in [
            ("missed entities", &ex.missed_entities),
            ("false positive entities", &ex.false_entities),
            ("wrong entity types", &ex.wrong_types),
            ("missed relations", &ex.missed_relations),
            ("false positive relations", &ex.false_relations),
        ] {
            if list.is_empty() || examples == 0 {
                continue;
            }
            let _ = writeln!(s, "\n{title} ({} in all, worst first):", list.len());
            for e in list.iter().take(examples) {
                let _ = writeln!(
                    s,
                    "  {}: {}{}",
                    e.doc,
                    e.what,
                    e.detail
                        .as_ref()
                        .map_or_else(String::new, |d| format!(" [{d}]"))
                );
            }
        }
        if !self.unknown_documents.is_empty() {
            let _ = writeln!(
                s,
                "\nnot scored (not in the run's corpus): {}",
                self.unknown_documents.join(", ")
            );
        }
        s
    }
}

/// `aegis-ingest eval`.
pub fn eval(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let limits = Limits {
        min_entity_f1: args.min_entity_f1,
        min_relation_f1: args.min_relation_f1,
        max_generic_share: args.max_generic_share,
        min_grounded: args.min_grounded,
    };
    limits.validate().map_err(RunError::config)?;
    let out = &args.output.out;
    let run = FinishedRun::open(out).map_err(RunError::config)?;
    let taxonomy = run.taxonomy().map_err(RunError::config)?;
    let gold = read_gold(&args.gold, &taxonomy).map_err(RunError::config)?;
    let mut rep = evaluate(&run, &gold, &args.gold);
    let documents = &run.report["documents"];
    for list in ["skipped_list", "failed_list"] {
        for issue in documents[list].as_array().into_iter().flatten() {
            let doc = issue["doc"].as_str().unwrap_or("");
            if gold.iter().any(|g| g.doc == doc) {
                tracing::warn!(
                    "gold document {doc:?} was not (fully) extracted by the run ({}): its gold items count as missed",
                    issue["reason"].as_str().unwrap_or("?")
                );
            }
        }
    }
    for d in &rep.unknown_documents {
        tracing::warn!(
            "gold document {d:?} is not in the run's corpus ({}): not scored",
            rep.corpus
        );
    }
    if rep.documents == 0 {
        return Err(RunError::config(format!(
            "none of the gold file's documents is in the run's corpus {}: is --out the run of the right corpus?",
            rep.corpus
        ))
        .into());
    }
    rep.run.grounding = measure_grounding(out, &run.state).map_err(RunError::config)?;
    for d in &mut rep.per_document {
        d.grounded_share = rep
            .run
            .grounding
            .per_doc
            .get(&d.doc)
            .filter(|(n, _)| *n > 0)
            .map(|(n, ok)| round(*ok as f64 / *n as f64));
    }
    rep.run.grounding.share = rep.run.grounding.share.map(round);
    rep.gates_failed = crate::quality::check(&rep.figures(), &limits);
    crate::outdir::atomic::write_atomic(&out.join(EVAL_FILE), |w| {
        serde_json::to_writer_pretty(&mut *w, &rep).map_err(std::io::Error::other)?;
        w.write_all(b"\n")
    })
    .map_err(|e| {
        RunError::config(format!(
            "cannot write {}: {e}",
            out.join(EVAL_FILE).display()
        ))
    })?;
    match args.format {
        EvalFormat::Text => print!("{}", rep.table(args.examples)),
        EvalFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rep).map_err(|e| anyhow::anyhow!("{e}"))?
        ),
    }
    for m in &rep.gates_failed {
        eprintln!("aegis-ingest: {m}");
    }
    Ok(if rep.gates_failed.is_empty() {
        ExitCode::Done
    } else {
        ExitCode::SomeFailed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_their_definitions() {
        let s = Score::default();
        let mut a = s;
        a.add(2, 4, 8);
        let a = a.finish();
        assert_eq!(a.precision, Some(0.5));
        assert_eq!(a.recall, Some(0.25));
        assert_eq!(a.f1, Some(0.3333));
        let none = Score::default().finish();
        assert_eq!((none.precision, none.recall, none.f1), (None, None, None));
        let mut nothing_found = Score::default();
        nothing_found.add(0, 0, 3);
        assert_eq!(nothing_found.finish().f1, Some(0.0));
    }

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
