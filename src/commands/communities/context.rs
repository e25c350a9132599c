//! The data a report is written from, within an input budget: the community's entities
//! (highest degree first) and internal relations (those between the highest-degree ends
//! first), as tables; or, for a community too large for that, its children's reports
//! and then as much of its own data as still fits.

use std::collections::HashSet;

use crate::chunk::tokens::Counter;
use crate::outdir::communities::{Community, CommunityReport};

use super::view::View;

/// Model tokens per cl100k token assumed when fitting a budget (tokenizers a bit finer
/// than cl100k, and a margin).
pub const MODEL_PER_CL100K: f64 = 1.3;

/// Counts tokens of context lines against a budget (in model tokens).
pub struct Budget {
    counter: Counter,
    left: f64,
}

impl Budget {
    pub fn new(tokens: u32) -> Self {
        Budget {
            counter: Counter::default(),
            left: f64::from(tokens),
        }
    }

    /// Takes `line` if it fits.
    fn take(&mut self, line: &str) -> bool {
        let cost = (self.counter.count(line) + 1) as f64 * MODEL_PER_CL100K;
        if cost > self.left {
            return false;
        }
        self.left -= cost;
        true
    }
}

/// A report's data as sent, and the community's ids it shows: the ids a finding may cite.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub text: String,
    /// Built from the children's reports.
    pub from_children: bool,
    /// Entity ids shown, in the community's order.
    pub entities: Vec<String>,
    /// Relation ids shown, in the community's order.
    pub relations: Vec<String>,
}

/// Tokens of `text` in model terms (estimated).
pub fn model_tokens(text: &str) -> u32 {
    (Counter::default().count(text) as f64 * MODEL_PER_CL100K).ceil() as u32
}

/// Cells of a `|` table: no line breaks, no `|`.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "/")
}

/// Ids with their rank, highest first.
type Ranked<'a> = Vec<(&'a String, u32)>;

/// The community's entities by degree, and its relations by the degrees of their ends,
/// highest first (ties by id).
fn by_degree<'a>(c: &'a Community, view: &View) -> (Ranked<'a>, Ranked<'a>) {
    let mut ents: Vec<(&String, u32)> = c
        .members
        .iter()
        .map(|m| (m, view.entities.get(m).map_or(0, |e| e.degree)))
        .collect();
    ents.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let degree = |id: &str| view.entities.get(id).map_or(0, |e| e.degree);
    let mut rels: Vec<(&String, u32)> = c
        .relations
        .iter()
        .map(|r| {
            let d = view
                .relations
                .get(r)
                .map_or(0, |x| degree(&x.ends.0) + degree(&x.ends.1));
            (r, d)
        })
        .collect();
    rels.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    (ents, rels)
}

/// The community's own tables within `budget`; `true` when everything fit.
pub fn member_context(c: &Community, view: &View, budget: &mut Budget) -> (Context, bool) {
    let (ents, rels) = by_degree(c, view);
    let mut ent_lines = vec![
        "-----Entities-----".to_string(),
        "id|name|type|degree|description".to_string(),
    ];
    let mut rel_lines = vec![
        "-----Relations-----".to_string(),
        "id|source|target|type|description".to_string(),
    ];
    for l in ent_lines.iter().chain(rel_lines.iter()) {
        budget.take(l);
    }
    let mut complete = true;
    let mut shown: HashSet<&str> = HashSet::new();
    // Entities first, then relations; each list in its order until the budget is spent.
    for (id, d) in &ents {
        let Some(e) = view.entities.get(*id) else {
            continue;
        };
        let line = format!(
            "{id}|{}|{}|{d}|{}",
            cell(&e.name),
            cell(&e.kind),
            cell(&e.description)
        );
        if !budget.take(&line) {
            complete = false;
            break;
        }
        ent_lines.push(line);
        shown.insert(id);
    }
    for (id, _) in &rels {
        let Some(r) = view.relations.get(*id) else {
            continue;
        };
        let line = format!(
            "{id}|{}|{}|{}|{}",
            cell(&r.source),
            cell(&r.target),
            cell(&r.kind),
            cell(&r.description)
        );
        if !budget.take(&line) {
            complete = false;
            break;
        }
        rel_lines.push(line);
        shown.insert(id);
    }
    ent_lines.push(String::new());
    ent_lines.extend(rel_lines);
    let of = |ids: &[String]| -> Vec<String> {
        ids.iter()
            .filter(|id| shown.contains(id.as_str()))
            .cloned()
            .collect()
    };
    let context = Context {
        text: ent_lines.join("\n"),
        from_children: false,
        entities: of(&c.members),
        relations: of(&c.relations),
    };
    (context, complete)
}

/// The children's reports (largest child first), then as much of the community's own
/// tables as still fits.
pub fn children_context(
    c: &Community,
    children: &[(&Community, &CommunityReport)],
    view: &View,
    budget: &mut Budget,
) -> Context {
    let mut kids: Vec<&(&Community, &CommunityReport)> = children.iter().collect();
    kids.sort_by(|a, b| b.0.size.cmp(&a.0.size).then(a.0.id.cmp(&b.0.id)));
    let mut lines = vec!["-----Sub-community reports-----".to_string()];
    budget.take(&lines[0]);
    for (child, rep) in kids {
        let mut block = format!(
            "## {} ({} members): {}\n{}",
            child.id,
            child.size,
            cell(&rep.title),
            cell(&rep.summary)
        );
        for f in &rep.findings {
            block.push_str(&format!(
                "\n- {}: {}",
                cell(&f.summary),
                cell(&f.explanation)
            ));
        }
        if !budget.take(&block) {
            break;
        }
        lines.push(block);
    }
    let (own, _) = member_context(c, view, budget);
    lines.push(String::new());
    lines.push(own.text);
    Context {
        text: lines.join("\n"),
        from_children: true,
        ..own
    }
}

/// The data of `c`'s report within `tokens`: its own tables when they fit whole, else,
/// when it has children with reports, those reports first; else as much of its own tables
/// as fits.
pub fn report_context(
    c: &Community,
    kids: &[(&Community, &CommunityReport)],
    view: &View,
    tokens: u32,
) -> Context {
    let (own, complete) = member_context(c, view, &mut Budget::new(tokens));
    if complete || kids.is_empty() {
        return own;
    }
    children_context(c, kids, view, &mut Budget::new(tokens))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outdir::finished::{Entity, Relation};

    fn setup() -> (Community, View) {
        let ents: Vec<Entity> = (0..6)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "id": format!("ent_{i}"), "name": format!("Name{i}"), "type": "T",
                    "description": "a description of some length ".repeat(8),
                }))
                .unwrap()
            })
            .collect();
        let rels: Vec<Relation> = (1..6)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "id": format!("rel_{i}"), "source": "ent_0", "target": format!("ent_{i}"),
                    "type": "R", "description": "linked",
                }))
                .unwrap()
            })
            .collect();
        let view = View::new(ents.clone(), rels.clone(), |id| {
            if id == "ent_0" {
                5
            } else {
                1
            }
        });
        let c = Community {
            id: "com_p".into(),
            level: 0,
            parent: None,
            children: vec!["com_k".into()],
            members: ents.iter().map(|e| e.id.clone()).collect(),
            relations: rels.iter().map(|r| r.id.clone()).collect(),
            size: 6,
            fingerprint: String::new(),
        };
        (c, view)
    }

    #[test]
    fn highest_degree_first_and_the_budget_holds() {
        let (c, view) = setup();
        let (all, complete) = member_context(&c, &view, &mut Budget::new(100_000));
        assert!(complete);
        let first = all.text.lines().nth(2).unwrap();
        assert!(first.starts_with("ent_0|Name0|T|5|"), "{first}");
        assert_eq!((all.entities.len(), all.relations.len()), (6, 5));
        let (some, complete) = member_context(&c, &view, &mut Budget::new(200));
        assert!(!complete);
        assert!(
            model_tokens(&some.text) <= 230,
            "{}",
            model_tokens(&some.text)
        );
        assert!(some.text.contains("ent_0|"));
        // The ids a finding may cite are exactly those whose lines were shown.
        for id in c.members.iter().chain(&c.relations) {
            let listed = some.entities.contains(id) || some.relations.contains(id);
            let line = some.text.lines().any(|l| l.starts_with(&format!("{id}|")));
            assert_eq!(listed, line, "{id}");
        }
        assert!(some.entities.len() < 6);
    }

    #[test]
    fn a_parent_that_does_not_fit_is_told_its_childrens_reports() {
        let (c, view) = setup();
        let mut kid = c.clone();
        kid.id = "com_k".into();
        kid.size = 3;
        let rep = CommunityReport {
            community: "com_k".into(),
            level: 1,
            title: "Child title".into(),
            summary: "Child summary".into(),
            findings: vec![],
            rating: 3.0,
            rating_explanation: String::new(),
            fingerprint: String::new(),
            dropped_citations: 0,
            from_children: false,
        };
        let ctx = children_context(&c, &[(&kid, &rep)], &view, &mut Budget::new(300));
        assert!(ctx.from_children);
        assert!(ctx
            .text
            .starts_with("-----Sub-community reports-----\n## com_k (3 members): Child title"));
        assert!(model_tokens(&ctx.text) <= 340);
    }
}
