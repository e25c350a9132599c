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
//! When the finishing step has written communities, three more files (the rest unchanged):
//!
//! - `communities.csv`: `id:ID(Community)`, `:LABEL` (`Community`), `level:int`, `parent`,
//!   `size:long`, `title`, `summary`, `rating:double`, `rating_explanation`, `findings`
//!   (the report's findings as one JSON array), `corpus` (report fields empty without a
//!   report);
//! - `in_community.csv`: `:START_ID(Entity)`, `:END_ID(Community)`, `:TYPE`
//!   (`IN_COMMUNITY`), `level:int`, `corpus`: an entity to each community it is in;
//! - `parent_of.csv`: `:START_ID(Community)`, `:END_ID(Community)`, `:TYPE` (`PARENT_OF`),
//!   `corpus`.
//!
//! RFC 4180 quoting (the `csv` crate: quotes doubled, fields quoted when needed); line breaks
//! inside values are flattened to spaces (the importer reads one record per line unless told
//! `--multiline-fields`). `;` is the array delimiter (the importer's default, also between
//! labels): inside an array element it is written `%3B` (and `%` as `%25`).
//! Header rules: https://neo4j.com/docs/operations-manual/current/import/header-format/

use std::io;
use std::path::{Path, PathBuf};

use super::community::{findings_json, Communities};
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

pub const COMMUNITIES_NODES_FILE: &str = "communities.csv";
pub const IN_COMMUNITY_FILE: &str = "in_community.csv";
pub const PARENT_OF_FILE: &str = "parent_of.csv";

pub const COMMUNITY_HEADER: [&str; 11] = [
    "id:ID(Community)",
    ":LABEL",
    "level:int",
    "parent",
    "size:long",
    "title",
    "summary",
    "rating:double",
    "rating_explanation",
    "findings",
    "corpus",
];

pub const IN_COMMUNITY_HEADER: [&str; 5] = [
    ":START_ID(Entity)",
    ":END_ID(Community)",
    ":TYPE",
    "level:int",
    "corpus",
];

pub const PARENT_OF_HEADER: [&str; 4] = [
    ":START_ID(Community)",
    ":END_ID(Community)",
    ":TYPE",
    "corpus",
];

pub struct Files {
    pub nodes: PathBuf,
    pub relationships: PathBuf,
    /// The community files, when the run has communities.
    pub communities: Option<CommunityFiles>,
}

pub struct CommunityFiles {
    pub nodes: PathBuf,
    pub in_community: PathBuf,
    pub parent_of: PathBuf,
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
    let mut files = Files {
        nodes: dir.join(NODES_FILE),
        relationships: dir.join(RELATIONSHIPS_FILE),
        communities: None,
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
    let community_files = CommunityFiles {
        nodes: dir.join(COMMUNITIES_NODES_FILE),
        in_community: dir.join(IN_COMMUNITY_FILE),
        parent_of: dir.join(PARENT_OF_FILE),
    };
    match &input.communities {
        Some(c) => {
            // The importer refuses a relationship to a node it does not have.
            write_communities(c, &corpus, &community_files, |e| input.has_entity(e))?;
            files.communities = Some(community_files);
        }
        // A former export's community files would be loaded with the new ones by mistake.
        None => {
            for f in [
                &community_files.nodes,
                &community_files.in_community,
                &community_files.parent_of,
            ] {
                match std::fs::remove_file(f) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
        }
    }
    Ok(files)
}

/// One CSV file, written atomically and made readable.
fn csv_file(
    path: &Path,
    header: &[&str],
    rows: impl FnOnce(&mut csv::Writer<&mut dyn io::Write>) -> csv::Result<()>,
) -> io::Result<()> {
    crate::outdir::atomic::write_atomic(path, |w| {
        let mut csv = writer(w);
        csv.write_record(header).map_err(csv_err)?;
        rows(&mut csv).map_err(csv_err)?;
        csv.flush()
    })?;
    super::graph::readable(path)
}

fn write_communities(
    c: &Communities,
    corpus: &str,
    files: &CommunityFiles,
    has_entity: impl Fn(&str) -> bool,
) -> io::Result<()> {
    csv_file(&files.nodes, &COMMUNITY_HEADER, |csv| {
        for com in &c.list {
            let r = c.report(&com.id);
            let text = |f: fn(&super::records::CommunityReport) -> &str| {
                r.map_or_else(String::new, |r| flat(f(r)).into_owned())
            };
            csv.write_record([
                &*flat(&com.id),
                "Community",
                &com.level.to_string(),
                &flat(com.parent.as_deref().unwrap_or_default()),
                &com.size.to_string(),
                &text(|r| &r.title),
                &text(|r| &r.summary),
                &r.map_or_else(String::new, |r| format!("{:?}", r.rating)),
                &text(|r| &r.rating_explanation),
                &r.map_or_else(String::new, findings_json),
                corpus,
            ])?;
        }
        Ok(())
    })?;
    csv_file(&files.in_community, &IN_COMMUNITY_HEADER, |csv| {
        for (entity, com) in c.memberships().filter(|(e, _)| has_entity(e)) {
            csv.write_record([
                &*flat(entity),
                &flat(&com.id),
                "IN_COMMUNITY",
                &com.level.to_string(),
                corpus,
            ])?;
        }
        Ok(())
    })?;
    csv_file(&files.parent_of, &PARENT_OF_HEADER, |csv| {
        for (parent, child) in c.parents() {
            csv.write_record([&*flat(parent), &flat(&child.id), "PARENT_OF", corpus])?;
        }
        Ok(())
    })
}

/// The command that loads the files into a new database called `neo4j` (stop it first;
/// the importer refuses a database that exists), then the uniqueness constraint.
pub fn import_command(files: &Files) -> String {
    let q = |p: &Path| shell_quote(&p.display().to_string());
    let (more, constraint) = match &files.communities {
        Some(c) => (
            format!(
                " --nodes={} --relationships={} --relationships={}",
                q(&c.nodes),
                q(&c.in_community),
                q(&c.parent_of)
            ),
            " CREATE CONSTRAINT aegis_community_key IF NOT EXISTS FOR (c:Community) REQUIRE (c.corpus, c.id) IS UNIQUE;",
        ),
        None => (String::new(), ""),
    };
    format!(
        "neo4j-admin database import full --nodes={} --relationships={}{more} --array-delimiter=';' --id-type=string neo4j\n\
         # then, with the database started: CREATE CONSTRAINT aegis_entity_key IF NOT EXISTS FOR (n:Entity) REQUIRE (n.corpus, n.id) IS UNIQUE;{constraint}",
        q(&files.nodes),
        q(&files.relationships),
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
