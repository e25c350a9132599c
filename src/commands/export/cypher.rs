//! `--to cypher`: one script for `cypher-shell -f` (statements end with `;`; parameters set
//! with `:param name => value`), whose statements also run unchanged on openCypher servers
//! such as FalkorDB (given the parameters), except Neo4j's `CREATE CONSTRAINT`.
//!
//! 1. a uniqueness constraint on `(Entity.corpus, Entity.id)` (the same entity id can exist
//!    in two corpora: ids are hashes of name and type);
//! 2. entities in batches, grouped by type: `UNWIND $rows AS row MERGE (n:Entity:Label
//!    {corpus, id}) SET n.name = ...` with absolute `SET`s, so a second load changes nothing.
//!    Both labels go in the `MERGE` (an id is a hash of name and type, so a node's type
//!    label never changes): a separate `SET n:Label` made FalkorDB's load 15 times slower;
//! 3. relations in batches, grouped by type, the type made a safe name (`graph_type`) and
//!    back-quoted: `MATCH` both ends, `MERGE (a)-[r:TYPE {id}]->(b) SET ...`;
//! 4. cleanup: every node and relationship of this namespace carries `aegis_export`, a hash of
//!    the outputs; those whose stamp differs (what the current outputs no longer hold, such
//!    as a deleted document's entities) are deleted. Other namespaces are never touched.
//!
//! 5. communities, when the finishing step has written them (`communities.jsonl`): a
//!    `:Community {corpus, id}` node each (level, parent, size, and its report's title,
//!    summary, rating, rating_explanation and findings as a JSON string), `IN_COMMUNITY`
//!    from every entity to each community it is in (one per level, with `level`), and
//!    `PARENT_OF` from a community to each of its children; stamped and cleaned up like
//!    the rest. Without that file the script is what it was before communities existed.
//!
//! Batches are buffered per type up to `BATCH` rows: memory is bounded by the number of
//! types, not of records. Numbers are written as literals of their own type (`0.9`, `2.0`,
//! `3`), never through `toFloat('...')`.

use std::collections::HashMap;
use std::io::{self, Write};

use super::community::{findings_json, Communities};
use super::graph::{graph_type, node_label, Ctx, Input};
use super::records::{docs, Source};

/// Rows per `UNWIND`.
pub const BATCH: usize = 500;

/// A Cypher string literal: single quotes, backslash escapes for quote, backslash and line
/// breaks. Other characters are written as they are (FalkorDB does not read `\uXXXX`).
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A back-quoted name (label or relationship type); `graph_type` has already kept it to
/// letters, digits and `_`.
fn quoted(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn float(x: f64) -> String {
    if x.is_finite() {
        format!("{x:?}")
    } else {
        "0.0".to_string()
    }
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::from("[");
    for (i, s) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&string(s));
    }
    out.push(']');
    out
}

fn sources_list(sources: &[Source]) -> String {
    let items: Vec<String> = sources
        .iter()
        .map(|s| format!("{}#{}", s.doc, s.chunk))
        .collect();
    list(items.iter().map(String::as_str))
}

/// Rows waiting to be written, per label or type.
struct Batches {
    rows: HashMap<String, Vec<String>>,
}

impl Batches {
    fn new() -> Self {
        Self {
            rows: HashMap::new(),
        }
    }

    /// Adds a row; returns the full batch for `key` when it reached `BATCH` rows.
    fn push(&mut self, key: &str, row: String) -> Option<Vec<String>> {
        let v = match self.rows.get_mut(key) {
            Some(v) => v,
            None => self.rows.entry(key.to_string()).or_default(),
        };
        v.push(row);
        (v.len() >= BATCH).then(|| std::mem::take(v))
    }

    /// What is left, in a fixed order (sorted by key) so the script is reproducible.
    fn drain(&mut self) -> Vec<(String, Vec<String>)> {
        let mut all: Vec<_> = self.rows.drain().filter(|(_, v)| !v.is_empty()).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

fn param_rows(w: &mut dyn Write, rows: &[String]) -> io::Result<()> {
    w.write_all(b":param rows => [")?;
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            w.write_all(b", ")?;
        }
        w.write_all(r.as_bytes())?;
    }
    w.write_all(b"]\n")
}

fn entity_batch(w: &mut dyn Write, label: &str, rows: &[String]) -> io::Result<()> {
    param_rows(w, rows)?;
    writeln!(
        w,
        "UNWIND $rows AS row MERGE (n:Entity:{} {{corpus: $corpus, id: row.id}}) \
         SET n.name = row.name, n.type = row.type, n.description = row.description, \
         n.mentions = row.mentions, n.docs = row.docs, n.sources = row.sources, \
         n.aegis_export = $export;",
        quoted(label)
    )
}

fn relation_batch(w: &mut dyn Write, kind: &str, rows: &[String]) -> io::Result<()> {
    param_rows(w, rows)?;
    writeln!(
        w,
        "UNWIND $rows AS row MATCH (a:Entity {{corpus: $corpus, id: row.source}}) \
         MATCH (b:Entity {{corpus: $corpus, id: row.target}}) \
         MERGE (a)-[r:{} {{id: row.id}}]->(b) \
         SET r.corpus = $corpus, r.type = row.type, r.description = row.description, \
         r.weight = row.weight, r.mentions = row.mentions, r.docs = row.docs, \
         r.sources = row.sources, r.aegis_export = $export;",
        quoted(kind)
    )
}

pub fn write(ctx: &Ctx, input: &mut Input, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "// aegis-ingest export of {} as namespace {}: run with `cypher-shell -f FILE`.\n\
         // Loading it again changes nothing; nodes and relationships of this namespace that\n\
         // the outputs no longer hold are deleted at the end; other namespaces are untouched.",
        string(&ctx.corpus),
        string(&ctx.namespace)
    )?;
    writeln!(
        w,
        "CREATE CONSTRAINT aegis_entity_key IF NOT EXISTS FOR (n:Entity) REQUIRE (n.corpus, n.id) IS UNIQUE;"
    )?;
    if input.communities.is_some() {
        writeln!(
            w,
            "CREATE CONSTRAINT aegis_community_key IF NOT EXISTS FOR (c:Community) REQUIRE (c.corpus, c.id) IS UNIQUE;"
        )?;
    }
    writeln!(w, ":param corpus => {}", string(&ctx.namespace))?;
    writeln!(w, ":param export => {}", string(&ctx.stamp))?;

    let mut batches = Batches::new();
    input.entities(|e| {
        let row = format!(
            "{{id: {}, name: {}, type: {}, description: {}, mentions: {}, docs: {}, sources: {}}}",
            string(&e.id),
            string(&e.name),
            string(&e.kind),
            string(&e.description),
            e.mentions,
            list(docs(&e.sources).into_iter()),
            sources_list(&e.sources),
        );
        let label = node_label(&e.kind);
        match batches.push(&label, row) {
            Some(full) => entity_batch(w, &label, &full),
            None => Ok(()),
        }
    })?;
    for (label, rows) in batches.drain() {
        entity_batch(w, &label, &rows)?;
    }

    input.relations(|r| {
        let row = format!(
            "{{id: {}, source: {}, target: {}, type: {}, description: {}, weight: {}, mentions: {}, docs: {}, sources: {}}}",
            string(&r.id),
            string(&r.source),
            string(&r.target),
            string(&r.kind),
            string(&r.description),
            float(r.weight),
            r.mentions,
            list(docs(&r.sources).into_iter()),
            sources_list(&r.sources),
        );
        let kind = graph_type(&r.kind);
        match batches.push(&kind, row) {
            Some(full) => relation_batch(w, &kind, &full),
            None => Ok(()),
        }
    })?;
    for (kind, rows) in batches.drain() {
        relation_batch(w, &kind, &rows)?;
    }
    if let Some(c) = &input.communities {
        write_communities(c, w)?;
    }

    writeln!(
        w,
        "// Cleanup: what this namespace held before and the outputs no longer hold."
    )?;
    writeln!(
        w,
        "MATCH (:Entity {{corpus: $corpus}})-[r]->(:Entity {{corpus: $corpus}}) \
         WHERE coalesce(r.aegis_export, '') <> $export DELETE r;"
    )?;
    writeln!(
        w,
        "MATCH (n:Entity {{corpus: $corpus}}) WHERE coalesce(n.aegis_export, '') <> $export DETACH DELETE n;"
    )?;
    if input.communities.is_some() {
        writeln!(
            w,
            "MATCH (:Entity {{corpus: $corpus}})-[r:IN_COMMUNITY]->(:Community {{corpus: $corpus}}) \
             WHERE coalesce(r.aegis_export, '') <> $export DELETE r;\n\
             MATCH (:Community {{corpus: $corpus}})-[r:PARENT_OF]->(:Community {{corpus: $corpus}}) \
             WHERE coalesce(r.aegis_export, '') <> $export DELETE r;\n\
             MATCH (c:Community {{corpus: $corpus}}) \
             WHERE coalesce(c.aegis_export, '') <> $export DETACH DELETE c;"
        )?;
    }
    Ok(())
}

/// An optional string: the literal, or `null`.
fn opt_string(s: Option<&str>) -> String {
    s.map_or_else(|| "null".to_string(), string)
}

/// Writes `rows` in batches of `BATCH`, each with `statement`.
fn batched(
    w: &mut dyn Write,
    rows: impl Iterator<Item = String>,
    statement: &str,
) -> io::Result<()> {
    let mut batch = Vec::with_capacity(BATCH);
    for row in rows {
        batch.push(row);
        if batch.len() == BATCH {
            param_rows(w, &batch)?;
            writeln!(w, "{statement}")?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        param_rows(w, &batch)?;
        writeln!(w, "{statement}")?;
    }
    Ok(())
}

/// The `:Community` nodes, then `IN_COMMUNITY` and `PARENT_OF`.
fn write_communities(c: &Communities, w: &mut dyn Write) -> io::Result<()> {
    let nodes = c.list.iter().map(|com| {
        let r = c.report(&com.id);
        format!(
            "{{id: {}, level: {}, parent: {}, size: {}, title: {}, summary: {}, rating: {}, \
             rating_explanation: {}, findings: {}}}",
            string(&com.id),
            com.level,
            opt_string(com.parent.as_deref()),
            com.size,
            opt_string(r.map(|r| r.title.as_str())),
            opt_string(r.map(|r| r.summary.as_str())),
            r.map_or_else(|| "null".to_string(), |r| float(r.rating)),
            opt_string(r.map(|r| r.rating_explanation.as_str())),
            opt_string(r.map(findings_json).as_deref()),
        )
    });
    batched(
        w,
        nodes,
        "UNWIND $rows AS row MERGE (c:Community {corpus: $corpus, id: row.id}) \
         SET c.level = row.level, c.parent = row.parent, c.size = row.size, c.title = row.title, \
         c.summary = row.summary, c.rating = row.rating, c.rating_explanation = row.rating_explanation, \
         c.findings = row.findings, c.aegis_export = $export;",
    )?;
    let members = c.memberships().map(|(entity, com)| {
        format!(
            "{{entity: {}, community: {}, level: {}}}",
            string(entity),
            string(&com.id),
            com.level
        )
    });
    batched(
        w,
        members,
        "UNWIND $rows AS row MATCH (e:Entity {corpus: $corpus, id: row.entity}) \
         MATCH (c:Community {corpus: $corpus, id: row.community}) \
         MERGE (e)-[r:IN_COMMUNITY]->(c) \
         SET r.corpus = $corpus, r.level = row.level, r.aegis_export = $export;",
    )?;
    let parents = c.parents().map(|(parent, child)| {
        format!(
            "{{parent: {}, child: {}}}",
            string(parent),
            string(&child.id)
        )
    });
    batched(
        w,
        parents,
        "UNWIND $rows AS row MATCH (p:Community {corpus: $corpus, id: row.parent}) \
         MATCH (c:Community {corpus: $corpus, id: row.child}) \
         MERGE (p)-[r:PARENT_OF]->(c) SET r.corpus = $corpus, r.aegis_export = $export;",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("it's \\ \"x\"\n"), r#"'it\'s \\ "x"\n'"#);
        assert_eq!(string("\u{1}😀"), "'\u{1}😀'");
        assert_eq!(float(2.0), "2.0");
        assert_eq!(float(0.9), "0.9");
    }
}
