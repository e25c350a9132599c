//! `--to neo4j-admin`: node and relationship CSV files for `neo4j-admin database import full`
//! (an offline bulk load into a new database), with typed headers:
//!
//! - `entities.csv`: `id:ID(Entity)`, `:LABEL` (`Entity;Person`: the entity type as a second
//!   label), `name`, `type`, `description`, `mentions:long`, `docs:string[]`,
//!   `sources:string[]`, `corpus`;
//! - `relations.csv`: `:START_ID(Entity)`, `:END_ID(Entity)`, `:TYPE` (the relation type:
//!   typed relationships), `id`, `type`, `description`, `weight:double`, `mentions:long`,
//!   `docs:string[]`, `sources:string[]`, `corpus`.
//!
//! RFC 4180 quoting (the `csv` crate: quotes doubled, fields quoted when needed); line breaks
//! inside values are flattened to spaces (the importer reads one record per line unless told
//! `--multiline-fields`). `;` is the array delimiter (the importer's default, also between
//! labels): inside an array element it is written `%3B` (and `%` as `%25`).
//! Header rules: https://neo4j.com/docs/operations-manual/current/import/header-format/

use std::io;
use std::path::{Path, PathBuf};

use super::graph::{graph_type, node_label, Ctx, Input};
use super::records::docs;
use crate::commands::shell::shell_quote;

pub const NODES_FILE: &str = "entities.csv";
pub const RELATIONSHIPS_FILE: &str = "relations.csv";

pub const NODE_HEADER: [&str; 9] = [
    "id:ID(Entity)",
    ":LABEL",
    "name",
    "type",
    "description",
    "mentions:long",
    "docs:string[]",
    "sources:string[]",
    "corpus",
];

pub const RELATIONSHIP_HEADER: [&str; 11] = [
    ":START_ID(Entity)",
    ":END_ID(Entity)",
    ":TYPE",
    "id",
    "type",
    "description",
    "weight:double",
    "mentions:long",
    "docs:string[]",
    "sources:string[]",
    "corpus",
];

pub struct Files {
    pub nodes: PathBuf,
    pub relationships: PathBuf,
}

/// Line breaks become spaces.
fn flat(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['\n', '\r']) {
        s.replace("\r\n", " ").replace(['\n', '\r'], " ").into()
    } else {
        s.into()
    }
}

/// One array element: flattened, with the delimiter escaped.
fn element(s: &str) -> String {
    flat(s).replace('%', "%25").replace(';', "%3B")
}

fn array<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.map(element).collect::<Vec<_>>().join(";")
}

fn sources_array(sources: &[super::records::Source]) -> String {
    sources
        .iter()
        .map(|s| element(&format!("{}#{}", s.doc, s.chunk)))
        .collect::<Vec<_>>()
        .join(";")
}

fn writer(w: &mut dyn io::Write) -> csv::Writer<&mut dyn io::Write> {
    csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Necessary)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(w)
}

fn csv_err(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

pub fn write(ctx: &Ctx, input: &mut Input, dir: &Path) -> io::Result<Files> {
    std::fs::create_dir_all(dir)?;
    let files = Files {
        nodes: dir.join(NODES_FILE),
        relationships: dir.join(RELATIONSHIPS_FILE),
    };
    let corpus = flat(&ctx.namespace).into_owned();
    crate::outdir::atomic::write_atomic(&files.nodes, |w| {
        let mut csv = writer(w);
        csv.write_record(NODE_HEADER).map_err(csv_err)?;
        input.entities(|e| {
            let label = format!("Entity;{}", node_label(&e.kind));
            let mentions = e.mentions.to_string();
            let docs = array(docs(&e.sources).into_iter());
            let sources = sources_array(&e.sources);
            csv.write_record([
                &*flat(&e.id),
                &label,
                &flat(&e.name),
                &flat(&e.kind),
                &flat(&e.description),
                &mentions,
                &docs,
                &sources,
                &corpus,
            ])
            .map_err(csv_err)
        })?;
        csv.flush()
    })?;
    super::graph::readable(&files.nodes)?;
    crate::outdir::atomic::write_atomic(&files.relationships, |w| {
        let mut csv = writer(w);
        csv.write_record(RELATIONSHIP_HEADER).map_err(csv_err)?;
        input.relations(|r| {
            let weight = format!("{:?}", r.weight);
            let mentions = r.mentions.to_string();
            let docs = array(docs(&r.sources).into_iter());
            let sources = sources_array(&r.sources);
            csv.write_record([
                &*flat(&r.source),
                &flat(&r.target),
                &graph_type(&r.kind),
                &flat(&r.id),
                &flat(&r.kind),
                &flat(&r.description),
                &weight,
                &mentions,
                &docs,
                &sources,
                &corpus,
            ])
            .map_err(csv_err)
        })?;
        csv.flush()
    })?;
    super::graph::readable(&files.relationships)?;
    Ok(files)
}

/// The command that loads the files into a new database called `neo4j` (stop it first;
/// the importer refuses a database that exists), then the uniqueness constraint.
pub fn import_command(files: &Files) -> String {
    format!(
        "neo4j-admin database import full --nodes={} --relationships={} --array-delimiter=';' --id-type=string neo4j\n\
         # then, with the database started: CREATE CONSTRAINT aegis_entity_key IF NOT EXISTS FOR (n:Entity) REQUIRE (n.corpus, n.id) IS UNIQUE;",
        shell_quote(&files.nodes.display().to_string()),
        shell_quote(&files.relationships.display().to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_elements_keep_the_delimiter_out() {
        assert_eq!(array(["a;b", "50%", "x\ny"].into_iter()), "a%3Bb;50%25;x y");
        assert_eq!(flat("a\r\nb\rc"), "a b c");
    }
}
