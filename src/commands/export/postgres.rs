//! `--to postgres`: a psql script that creates the schema if needed and upserts the run, in
//! one transaction:
//!
//! - tables `entities (corpus, id, name, type, description, mentions)`, `relations (corpus,
//!   id, source, target, type, description, weight, mentions)` with foreign keys to
//!   `entities`, and `entity_sources` / `relation_sources (corpus, ..._id, doc, chunk,
//!   section)` as child tables (one row per source, indexed by document);
//! - the records go into temporary staging tables with `COPY ... FROM STDIN` (sources as a
//!   JSON array per record), then `INSERT ... ON CONFLICT DO UPDATE` (rows that did not change
//!   are not rewritten), then every row of this corpus that the staging tables do not hold is
//!   deleted (a deleted document's entities, and what cascades from them).
//! - when the finishing step has written communities: `communities (corpus, id, level,
//!   parent, size)`, `community_members (corpus, community_id, entity_id, level)` (an
//!   entity in each community it is in, one per level; foreign keys to both, cascading) and
//!   `community_reports (corpus, community_id, level, title, summary, findings jsonb,
//!   rating, rating_explanation, from_children, dropped_citations)`, loaded and cleaned up
//!   the same way (a member the entities do not hold is left out). Without communities the
//!   script is what it was before they existed, and leaves those tables alone.
//!
//! `--dest postgres://...` pipes the same script into `psql` (`AEGIS_PSQL` names another
//! binary), so authentication, TLS and `.pgpass` work as they do for the user's own psql.

use std::io::{self, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;

use super::community::{findings_json, Communities};
use super::graph::{Ctx, Input};
use super::records::Source;
use crate::error::RunError;
use crate::outdir::finished::reader_error;

/// A SQL string literal (standard_conforming_strings is set on by the script).
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A value in COPY's text format.
fn copy_field(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b => out.push(b),
        }
    }
}

#[derive(Serialize)]
struct SourceRow<'a> {
    doc: &'a str,
    chunk: u64,
    section: Option<&'a str>,
}

fn sources_json(sources: &[Source]) -> String {
    let rows: Vec<SourceRow> = sources
        .iter()
        .map(|s| SourceRow {
            doc: &s.doc,
            chunk: s.chunk,
            section: s.section.as_deref(),
        })
        .collect();
    serde_json::to_string(&rows).unwrap_or_else(|_| "[]".to_string())
}

const SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS entities (
    corpus      text   NOT NULL,
    id          text   NOT NULL,
    name        text   NOT NULL,
    type        text   NOT NULL,
    description text   NOT NULL,
    mentions    bigint NOT NULL,
    PRIMARY KEY (corpus, id)
);
CREATE INDEX IF NOT EXISTS entities_type ON entities (corpus, type);
CREATE TABLE IF NOT EXISTS relations (
    corpus      text             NOT NULL,
    id          text             NOT NULL,
    source      text             NOT NULL,
    target      text             NOT NULL,
    type        text             NOT NULL,
    description text             NOT NULL,
    weight      double precision NOT NULL,
    mentions    bigint           NOT NULL,
    PRIMARY KEY (corpus, id),
    FOREIGN KEY (corpus, source) REFERENCES entities (corpus, id) ON DELETE CASCADE,
    FOREIGN KEY (corpus, target) REFERENCES entities (corpus, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS relations_source ON relations (corpus, source);
CREATE INDEX IF NOT EXISTS relations_target ON relations (corpus, target);
CREATE TABLE IF NOT EXISTS entity_sources (
    corpus    text    NOT NULL,
    entity_id text    NOT NULL,
    doc       text    NOT NULL,
    chunk     integer NOT NULL,
    section   text,
    PRIMARY KEY (corpus, entity_id, doc, chunk),
    FOREIGN KEY (corpus, entity_id) REFERENCES entities (corpus, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS entity_sources_doc ON entity_sources (corpus, doc);
CREATE TABLE IF NOT EXISTS relation_sources (
    corpus      text    NOT NULL,
    relation_id text    NOT NULL,
    doc         text    NOT NULL,
    chunk       integer NOT NULL,
    section     text,
    PRIMARY KEY (corpus, relation_id, doc, chunk),
    FOREIGN KEY (corpus, relation_id) REFERENCES relations (corpus, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS relation_sources_doc ON relation_sources (corpus, doc);
CREATE TEMP TABLE aegis_stage_entities (
    id text, name text, type text, description text, mentions bigint, sources jsonb
) ON COMMIT DROP;
CREATE TEMP TABLE aegis_stage_relations (
    id text, source text, target text, type text, description text,
    weight double precision, mentions bigint, sources jsonb
) ON COMMIT DROP;
";

/// The upsert and cleanup, with `{ns}` the namespace literal.
const MERGE: &str = "\
CREATE TEMP TABLE aegis_stage_entity_sources ON COMMIT DROP AS
    SELECT DISTINCT ON (e.id, s.doc, s.chunk) e.id AS entity_id, s.doc, s.chunk, s.section
    FROM aegis_stage_entities e, jsonb_to_recordset(e.sources) AS s(doc text, chunk integer, section text)
    ORDER BY e.id, s.doc, s.chunk;
CREATE TEMP TABLE aegis_stage_relation_sources ON COMMIT DROP AS
    SELECT DISTINCT ON (r.id, s.doc, s.chunk) r.id AS relation_id, s.doc, s.chunk, s.section
    FROM aegis_stage_relations r, jsonb_to_recordset(r.sources) AS s(doc text, chunk integer, section text)
    ORDER BY r.id, s.doc, s.chunk;
ANALYZE aegis_stage_entities;
ANALYZE aegis_stage_relations;

INSERT INTO entities (corpus, id, name, type, description, mentions)
    SELECT DISTINCT ON (id) {ns}, id, name, type, description, mentions
    FROM aegis_stage_entities ORDER BY id
ON CONFLICT (corpus, id) DO UPDATE
    SET name = EXCLUDED.name, type = EXCLUDED.type,
        description = EXCLUDED.description, mentions = EXCLUDED.mentions
    WHERE (entities.name, entities.type, entities.description, entities.mentions)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.type, EXCLUDED.description, EXCLUDED.mentions);

INSERT INTO relations (corpus, id, source, target, type, description, weight, mentions)
    SELECT DISTINCT ON (id) {ns}, id, source, target, type, description, weight, mentions
    FROM aegis_stage_relations ORDER BY id
ON CONFLICT (corpus, id) DO UPDATE
    SET source = EXCLUDED.source, target = EXCLUDED.target, type = EXCLUDED.type,
        description = EXCLUDED.description, weight = EXCLUDED.weight, mentions = EXCLUDED.mentions
    WHERE (relations.source, relations.target, relations.type, relations.description,
           relations.weight, relations.mentions)
          IS DISTINCT FROM (EXCLUDED.source, EXCLUDED.target, EXCLUDED.type,
           EXCLUDED.description, EXCLUDED.weight, EXCLUDED.mentions);

DELETE FROM relations t WHERE t.corpus = {ns}
    AND NOT EXISTS (SELECT 1 FROM aegis_stage_relations s WHERE s.id = t.id);
DELETE FROM entities t WHERE t.corpus = {ns}
    AND NOT EXISTS (SELECT 1 FROM aegis_stage_entities s WHERE s.id = t.id);

INSERT INTO entity_sources (corpus, entity_id, doc, chunk, section)
    SELECT {ns}, entity_id, doc, chunk, section FROM aegis_stage_entity_sources
ON CONFLICT (corpus, entity_id, doc, chunk) DO UPDATE SET section = EXCLUDED.section
    WHERE entity_sources.section IS DISTINCT FROM EXCLUDED.section;
DELETE FROM entity_sources t WHERE t.corpus = {ns}
    AND NOT EXISTS (SELECT 1 FROM aegis_stage_entity_sources s
                    WHERE s.entity_id = t.entity_id AND s.doc = t.doc AND s.chunk = t.chunk);

INSERT INTO relation_sources (corpus, relation_id, doc, chunk, section)
    SELECT {ns}, relation_id, doc, chunk, section FROM aegis_stage_relation_sources
ON CONFLICT (corpus, relation_id, doc, chunk) DO UPDATE SET section = EXCLUDED.section
    WHERE relation_sources.section IS DISTINCT FROM EXCLUDED.section;
DELETE FROM relation_sources t WHERE t.corpus = {ns}
    AND NOT EXISTS (SELECT 1 FROM aegis_stage_relation_sources s
                    WHERE s.relation_id = t.relation_id AND s.doc = t.doc AND s.chunk = t.chunk);
";

const COMMUNITY_SCHEMA: &str = "\
CREATE TABLE IF NOT EXISTS communities (
    corpus text    NOT NULL,
    id     text    NOT NULL,
    level  integer NOT NULL,
    parent text,
    size   bigint  NOT NULL,
    PRIMARY KEY (corpus, id)
);
CREATE INDEX IF NOT EXISTS communities_parent ON communities (corpus, parent);
CREATE TABLE IF NOT EXISTS community_members (
    corpus       text    NOT NULL,
    community_id text    NOT NULL,
    entity_id    text    NOT NULL,
    level        integer NOT NULL,
    PRIMARY KEY (corpus, community_id, entity_id),
    FOREIGN KEY (corpus, community_id) REFERENCES communities (corpus, id) ON DELETE CASCADE,
    FOREIGN KEY (corpus, entity_id) REFERENCES entities (corpus, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS community_members_entity ON community_members (corpus, entity_id);
CREATE TABLE IF NOT EXISTS community_reports (
    corpus             text             NOT NULL,
    community_id       text             NOT NULL,
    level              integer          NOT NULL,
    title              text             NOT NULL,
    summary            text             NOT NULL,
    findings           jsonb            NOT NULL,
    rating             double precision NOT NULL,
    rating_explanation text             NOT NULL,
    from_children      boolean          NOT NULL,
    dropped_citations  bigint           NOT NULL,
    PRIMARY KEY (corpus, community_id),
    FOREIGN KEY (corpus, community_id) REFERENCES communities (corpus, id) ON DELETE CASCADE
);
CREATE TEMP TABLE aegis_stage_communities (
    id text, level integer, parent text, size bigint, members jsonb
) ON COMMIT DROP;
CREATE TEMP TABLE aegis_stage_community_reports (
    community_id text, level integer, title text, summary text, findings jsonb,
    rating double precision, rating_explanation text, from_children boolean,
    dropped_citations bigint
) ON COMMIT DROP;
";

/// The communities' upsert and cleanup, after the entities', with `{ns}` the namespace.
const COMMUNITY_MERGE: &str = "\
CREATE TEMP TABLE aegis_stage_community_members ON COMMIT DROP AS
    SELECT DISTINCT ON (c.id, m.entity_id) c.id AS community_id, m.entity_id, c.level
    FROM aegis_stage_communities c, jsonb_array_elements_text(c.members) AS m(entity_id)
    WHERE EXISTS (SELECT 1 FROM entities e WHERE e.corpus = {ns} AND e.id = m.entity_id)
    ORDER BY c.id, m.entity_id;

INSERT INTO communities (corpus, id, level, parent, size)
    SELECT DISTINCT ON (id) {ns}, id, level, parent, size
    FROM aegis_stage_communities ORDER BY id
ON CONFLICT (corpus, id) DO UPDATE
    SET level = EXCLUDED.level, parent = EXCLUDED.parent, size = EXCLUDED.size
    WHERE (communities.level, communities.parent, communities.size)
          IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.parent, EXCLUDED.size);
DELETE FROM communities t WHERE t.corpus = {ns}
    AND NOT EXISTS (SELECT 1 FROM aegis_stage_communities s WHERE s.id = t.id);

INSERT INTO community_members (corpus, community_id, entity_id, level)
    SELECT {ns}, community_id, entity_id, level FROM aegis_stage_community_members
ON CONFLICT (corpus, community_id, entity_id) DO UPDATE SET level = EXCLUDED.level
    WHERE community_members.level IS DISTINCT FROM EXCLUDED.level;
DELETE FROM community_members t WHERE t.corpus = {ns}
    AND NOT EXISTS (SELECT 1 FROM aegis_stage_community_members s
                    WHERE s.community_id = t.community_id AND s.entity_id = t.entity_id);

INSERT INTO community_reports (corpus, community_id, level, title, summary, findings, rating,
                               rating_explanation, from_children, dropped_citations)
    SELECT DISTINCT ON (community_id) {ns}, community_id, level, title, summary, findings,
           rating, rating_explanation, from_children, dropped_citations
    FROM aegis_stage_community_reports r
    WHERE EXISTS (SELECT 1 FROM aegis_stage_communities c WHERE c.id = r.community_id)
    ORDER BY community_id
ON CONFLICT (corpus, community_id) DO UPDATE
    SET level = EXCLUDED.level, title = EXCLUDED.title, summary = EXCLUDED.summary,
        findings = EXCLUDED.findings, rating = EXCLUDED.rating,
        rating_explanation = EXCLUDED.rating_explanation,
        from_children = EXCLUDED.from_children, dropped_citations = EXCLUDED.dropped_citations
    WHERE (community_reports.level, community_reports.title, community_reports.summary,
           community_reports.findings, community_reports.rating,
           community_reports.rating_explanation, community_reports.from_children,
           community_reports.dropped_citations)
          IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.title, EXCLUDED.summary, EXCLUDED.findings,
           EXCLUDED.rating, EXCLUDED.rating_explanation, EXCLUDED.from_children,
           EXCLUDED.dropped_citations);
DELETE FROM community_reports t WHERE t.corpus = {ns}
    AND NOT EXISTS (SELECT 1 FROM aegis_stage_community_reports s
                    WHERE s.community_id = t.community_id);
";

/// One COPY line from text fields and raw (already formatted) ones, in order.
fn copy_line(line: &mut Vec<u8>, fields: &[(&str, bool)]) {
    line.clear();
    for (i, (f, text)) in fields.iter().enumerate() {
        if i > 0 {
            line.push(b'\t');
        }
        if *text {
            copy_field(line, f);
        } else {
            line.extend_from_slice(f.as_bytes());
        }
    }
    line.push(b'\n');
}

/// COPY of the communities and their reports into the staging tables.
fn copy_communities(c: &Communities, w: &mut dyn Write) -> io::Result<()> {
    let mut line = Vec::with_capacity(1024);
    writeln!(
        w,
        "COPY aegis_stage_communities (id, level, parent, size, members) FROM STDIN;"
    )?;
    for com in &c.list {
        let members = serde_json::to_string(&com.members).map_err(io::Error::other)?;
        copy_line(
            &mut line,
            &[
                (&com.id, true),
                (&com.level.to_string(), false),
                // COPY's NULL.
                (com.parent.as_deref().unwrap_or("\\N"), com.parent.is_some()),
                (&com.size.to_string(), false),
                (&members, true),
            ],
        );
        w.write_all(&line)?;
    }
    writeln!(w, "\\.")?;
    writeln!(
        w,
        "COPY aegis_stage_community_reports (community_id, level, title, summary, findings, rating, \
         rating_explanation, from_children, dropped_citations) FROM STDIN;"
    )?;
    for com in &c.list {
        let Some(r) = c.report(&com.id) else { continue };
        let rating = if r.rating.is_finite() { r.rating } else { 0.0 };
        copy_line(
            &mut line,
            &[
                (&com.id, true),
                (&com.level.to_string(), false),
                (&r.title, true),
                (&r.summary, true),
                (&findings_json(r), true),
                (&format!("{rating:?}"), false),
                (&r.rating_explanation, true),
                (if r.from_children { "t" } else { "f" }, false),
                (&r.dropped_citations.to_string(), false),
            ],
        );
        w.write_all(&line)?;
    }
    writeln!(w, "\\.")
}

pub fn write(ctx: &Ctx, input: &mut Input, w: &mut dyn Write) -> io::Result<()> {
    let ns = literal(&ctx.namespace);
    writeln!(
        w,
        "-- aegis-ingest export of {} as corpus {ns}: run with\n\
         --   psql -X -v ON_ERROR_STOP=1 -d \"$DATABASE_URL\" -f FILE\n\
         -- One transaction: the tables are created if missing, the records upserted, and the\n\
         -- rows of this corpus that the outputs no longer hold deleted; other corpora untouched.\n\
         \\set ON_ERROR_STOP on\n\
         SET client_encoding = 'UTF8';\n\
         SET standard_conforming_strings = on;\n\
         BEGIN;\n\
         SELECT pg_advisory_xact_lock(hashtext('aegis-ingest export ' || {ns})) \\g /dev/null",
        literal(&ctx.corpus)
    )?;
    w.write_all(SCHEMA.as_bytes())?;
    if input.communities.is_some() {
        w.write_all(COMMUNITY_SCHEMA.as_bytes())?;
    }

    let mut line = Vec::with_capacity(1024);
    writeln!(
        w,
        "COPY aegis_stage_entities (id, name, type, description, mentions, sources) FROM STDIN;"
    )?;
    input.entities(|e| {
        line.clear();
        for (i, f) in [&e.id, &e.name, &e.kind, &e.description].iter().enumerate() {
            if i > 0 {
                line.push(b'\t');
            }
            copy_field(&mut line, f);
        }
        line.push(b'\t');
        line.extend_from_slice(e.mentions.to_string().as_bytes());
        line.push(b'\t');
        copy_field(&mut line, &sources_json(&e.sources));
        line.push(b'\n');
        w.write_all(&line)
    })?;
    writeln!(w, "\\.")?;
    writeln!(
        w,
        "COPY aegis_stage_relations (id, source, target, type, description, weight, mentions, sources) FROM STDIN;"
    )?;
    input.relations(|r| {
        line.clear();
        for (i, f) in [&r.id, &r.source, &r.target, &r.kind, &r.description]
            .iter()
            .enumerate()
        {
            if i > 0 {
                line.push(b'\t');
            }
            copy_field(&mut line, f);
        }
        let weight = if r.weight.is_finite() { r.weight } else { 0.0 };
        line.extend_from_slice(format!("\t{weight:?}\t{}\t", r.mentions).as_bytes());
        copy_field(&mut line, &sources_json(&r.sources));
        line.push(b'\n');
        w.write_all(&line)
    })?;
    writeln!(w, "\\.")?;
    if let Some(c) = &input.communities {
        copy_communities(c, w)?;
    }
    w.write_all(MERGE.replace("{ns}", &ns).as_bytes())?;
    if input.communities.is_some() {
        w.write_all(COMMUNITY_MERGE.replace("{ns}", &ns).as_bytes())?;
    }
    writeln!(w, "COMMIT;")?;
    Ok(())
}

/// `--dest postgres://...`: streams the script into psql. psql's own messages go to stderr.
pub fn load_with_psql(
    url: &str,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), RunError> {
    let psql = std::env::var("AEGIS_PSQL").unwrap_or_else(|_| "psql".to_string());
    let mut child = Command::new(&psql)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            RunError::usage(format!(
                "cannot start {psql} ({e}): --dest postgres://... loads through psql, PostgreSQL's \
                 client; install it (Debian: apt-get install postgresql-client), name it with \
                 AEGIS_PSQL, or write a file with --dest FILE.sql and load that"
            ))
        })?;
    let written = match child.stdin.take() {
        Some(stdin) => {
            let mut w = io::BufWriter::with_capacity(1 << 16, stdin);
            fill(&mut w).and_then(|_| w.flush())
        }
        None => Err(io::Error::other("psql's input is not open")),
    };
    let status = child
        .wait()
        .map_err(|e| RunError::io(Path::new(&psql), &e, format!("waiting for {psql}: {e}")))?;
    if !status.success() {
        return Err(RunError::usage(format!(
            "{psql} stopped with {status} (its message is above): nothing was changed, the load is \
             one transaction; check the URL given with --dest and the database's permissions"
        )));
    }
    match written.map_err(reader_error) {
        Ok(()) => Ok(()),
        // The outputs could not be read: the reader's own sentence.
        Err(Ok(read)) => Err(read),
        Err(Err(e)) => Err(RunError::io(
            Path::new(&psql),
            &e,
            format!("cannot send the load to {psql}: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes() {
        let mut v = Vec::new();
        copy_field(&mut v, "a\tb\\c\nd\r");
        assert_eq!(v, b"a\\tb\\\\c\\nd\\r");
        assert_eq!(literal("O'Hara"), "'O''Hara'");
    }
}
