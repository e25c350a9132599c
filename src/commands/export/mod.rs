//! `aegis-ingest export`: a finished run's `entities.jsonl` and `relations.jsonl`, written for
//! a graph database: CSV files for `neo4j-admin database import full`, a Cypher script for
//! `cypher-shell` (and openCypher servers), a psql script for PostgreSQL (or a direct load
//! through psql), or GraphML for Gephi, yEd and NetworkX. One module per format.
//!
//! It reads the outputs of the last finished run (never the checkpoint mid-run), one line at
//! a time: memory does not grow with the number of records. Every load is keyed by a
//! namespace (the corpus name by default) so two corpora share a database without touching
//! each other, and the Cypher and PostgreSQL loads are idempotent: loading the same export
//! twice changes nothing, and loading the export of a resumed run removes what the outputs
//! no longer hold (a deleted document's entities).
//!
//! When `aegis-ingest communities` has run, its summarized descriptions replace the
//! records' own, and its communities (with their reports) go into every format: community
//! nodes, an entity's membership at each level, the hierarchy (`community.rs` reads them).
//! Without its files every format is what it was before communities existed, byte for byte.

mod community;
mod cypher;
mod graph;
mod graphml;
mod neo4j;
mod postgres;
pub mod records;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::HumanBytes;

use super::shell::shell_quote;
use crate::cli::{ExportArgs, ExportFormat};
use crate::error::{ExitCode, RunError};
use crate::outdir::finished::{reader_error, FinishedRun};
use crate::outdir::{
    COMMUNITIES_FILE, COMMUNITY_REPORTS_FILE, DESCRIPTIONS_FILE, ENTITIES_FILE, RELATIONS_FILE,
    REPORT_FILE, SKIPPED_FILE, STATE_FILE,
};
use graph::{readable, Ctx, Input, Stats};

/// Where the export goes.
#[derive(Debug)]
enum Dest {
    File(PathBuf),
    Dir(PathBuf),
    Stdout,
    /// A connection URL for psql (never printed: it may hold a password).
    Postgres(String),
}

fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

fn dest_of(args: &ExportArgs) -> Result<Dest, RunError> {
    let out = &args.output.out;
    let given = args.dest.as_deref();
    Ok(match (args.to, given) {
        (ExportFormat::Neo4jAdmin, None) => Dest::Dir(out.join("neo4j-admin")),
        (ExportFormat::Neo4jAdmin, Some("-")) => {
            return Err(RunError::usage(
                "--to neo4j-admin writes several files: --dest must be a folder, not `-`",
            ))
        }
        (ExportFormat::Neo4jAdmin, Some(d)) if is_postgres_url(d) => {
            return Err(RunError::usage(
                "--dest postgres://... is for --to postgres; --to neo4j-admin needs a folder",
            ))
        }
        (ExportFormat::Neo4jAdmin, Some(d)) => Dest::Dir(PathBuf::from(d)),
        (ExportFormat::Postgres, Some(d)) if is_postgres_url(d) => Dest::Postgres(d.to_string()),
        (_, Some(d)) if is_postgres_url(d) => {
            return Err(RunError::usage(
                "--dest postgres://... loads into PostgreSQL: use it with --to postgres",
            ))
        }
        (_, Some("-")) => Dest::Stdout,
        (_, Some(d)) => Dest::File(PathBuf::from(d)),
        (ExportFormat::Cypher, None) => Dest::File(out.join("graph.cypher")),
        (ExportFormat::Postgres, None) => Dest::File(out.join("graph.sql")),
        (ExportFormat::Graphml, None) => Dest::File(out.join("graph.graphml")),
    })
}

/// The export must not replace the run's own files (it reads two of them as it writes).
fn refuse_run_files(out: &Path, dest: &Dest) -> Result<(), RunError> {
    let targets: Vec<PathBuf> = match dest {
        Dest::File(p) => vec![p.clone()],
        Dest::Dir(d) => [
            neo4j::NODES_FILE,
            neo4j::RELATIONSHIPS_FILE,
            neo4j::COMMUNITIES_NODES_FILE,
            neo4j::IN_COMMUNITY_FILE,
            neo4j::PARENT_OF_FILE,
        ]
        .iter()
        .map(|f| d.join(f))
        .collect(),
        _ => return Ok(()),
    };
    let canon = |p: &Path| -> Option<PathBuf> {
        let parent = p.parent().filter(|p| !p.as_os_str().is_empty())?;
        Some(std::fs::canonicalize(parent).ok()?.join(p.file_name()?))
    };
    let run_files = [
        ENTITIES_FILE,
        RELATIONS_FILE,
        REPORT_FILE,
        SKIPPED_FILE,
        STATE_FILE,
        COMMUNITIES_FILE,
        COMMUNITY_REPORTS_FILE,
        DESCRIPTIONS_FILE,
        crate::outdir::journal::FILE_NAME,
    ];
    for t in &targets {
        let Some(t) = canon(t) else { continue };
        if run_files
            .iter()
            .any(|f| canon(&out.join(f)).as_ref() == Some(&t))
        {
            return Err(RunError::out_dir(format!(
                "--dest {} would replace one of the run's own files: choose another name",
                t.display()
            )));
        }
    }
    Ok(())
}

/// A shared lock on the run's lock file (`lock.rs` takes it exclusively): a run cannot start
/// replacing the outputs while they are read, and a running run is refused. Shared, and
/// opened read-only, so several exports may read at once and a read-only folder exports.
fn shared_lock(out: &Path) -> Result<Option<std::fs::File>, RunError> {
    let path = out.join(crate::outdir::LOCK_FILE);
    let Ok(file) = std::fs::File::open(&path) else {
        return Ok(None);
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => {
            let owner = std::fs::read_to_string(&path).unwrap_or_default();
            let owner = owner.trim();
            Err(RunError::out_dir(format!(
                "a run{} is writing to {}: export when it has finished",
                if owner.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {owner})")
                },
                out.display()
            )))
        }
        // A file system without locks: nothing to coordinate with.
        Err(std::fs::TryLockError::Error(_)) => Ok(None),
    }
}

/// The namespace: `--namespace`, else the corpus folder's name.
fn namespace_of(given: Option<&str>, corpus: &str) -> Result<String, RunError> {
    let ns = match given {
        Some(n) => n.to_string(),
        None => Path::new(corpus)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_string()),
    };
    if ns.trim().is_empty() || ns.chars().any(char::is_control) || ns.chars().count() > 200 {
        return Err(RunError::usage(format!(
            "--namespace {ns:?}: give a name of 1 to 200 characters without control characters"
        )));
    }
    Ok(ns)
}

/// Hash of the namespace and both output files (read once more, in blocks), and of the
/// finishing step's files when they are there (a new set of communities is a new load).
fn stamp_of(run: &FinishedRun, namespace: &str) -> Result<String, RunError> {
    let mut h = blake3::Hasher::new();
    h.update(namespace.as_bytes());
    let finishing = [DESCRIPTIONS_FILE, COMMUNITIES_FILE, COMMUNITY_REPORTS_FILE]
        .into_iter()
        .map(|f| run.out.join(f))
        .filter(|p| p.is_file());
    for f in [run.entities_path(), run.relations_path()]
        .into_iter()
        .chain(finishing)
    {
        h.update(&[0x1f]);
        std::fs::File::open(&f)
            .and_then(|mut file| io::copy(&mut file, &mut h))
            .map_err(|e| RunError::io(&f, &e, format!("cannot read the outputs: {e}")))?;
    }
    Ok(h.finalize().to_hex()[..16].to_string())
}

/// Turns an error from a format writer into the user's sentence: the record reader's own
/// error (a damaged or unreadable output file) as it is; anything else is a write failure.
fn io_to_run(e: io::Error, writing: &Path) -> RunError {
    match reader_error(e) {
        Ok(read) => read,
        Err(e) => RunError::io(
            writing,
            &e,
            format!("cannot write {}: {e}", writing.display()),
        ),
    }
}

/// Writes a one-stream format to a file (atomically), stdout, or psql's stdin. Returns
/// false when standard output was closed before the end (`| head`).
fn write_stream(
    dest: &Dest,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<bool, RunError> {
    match dest {
        Dest::File(p) => {
            if let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    RunError::io(
                        parent,
                        &e,
                        format!("cannot create {}: {e}", parent.display()),
                    )
                })?;
            }
            crate::outdir::atomic::write_atomic(p, fill)
                .and_then(|_| readable(p))
                .map(|_| true)
                .map_err(|e| io_to_run(e, p))
        }
        Dest::Stdout => {
            let stdout = io::stdout();
            let mut w = io::BufWriter::with_capacity(1 << 16, stdout.lock());
            let r = fill(&mut w).and_then(|_| w.flush());
            match r {
                // A closed pipe (`| head`) is the reader's choice, not a failure.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
                r => r
                    .map(|_| true)
                    .map_err(|e| io_to_run(e, Path::new("standard output"))),
            }
        }
        Dest::Postgres(url) => postgres::load_with_psql(url, fill).map(|_| true),
        Dest::Dir(_) => unreachable!("folders are for neo4j-admin"),
    }
}

fn size_of(p: &Path) -> String {
    std::fs::metadata(p)
        .map(|m| HumanBytes(m.len()).to_string())
        .unwrap_or_default()
}

/// `aegis-ingest export`.
pub fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let out = &args.output.out;
    let run = FinishedRun::open(out)?;
    let dest = dest_of(args)?;
    refuse_run_files(out, &dest)?;
    let _lock = shared_lock(out)?;
    check_finished(&run, args.allow_partial)?;
    // A state written without the corpus (by hand, by an old version): the report's.
    let corpus = if run.state.corpus.is_empty() {
        run.report.corpus.clone()
    } else {
        run.state.corpus.clone()
    };
    let namespace = namespace_of(args.namespace.as_deref(), &corpus)?;
    let stamp = match args.to {
        ExportFormat::Cypher => stamp_of(&run, &namespace)?,
        _ => String::new(),
    };
    let ctx = Ctx {
        namespace,
        stamp,
        corpus,
    };
    let mut input = Input::new(&run, args.output.quiet)?;
    let written = write_export(&ctx, &mut input, &dest, args.to)?;
    input.bar.finish_and_clear();
    let stale = input.stale_memberships();
    if stale > 0 && written.is_some() {
        tracing::warn!(
            "{stale} community memberships name entities the outputs no longer hold (left out): \
             the communities are older than the outputs; rerun `aegis-ingest communities`, then export again"
        );
    }
    // None: the reader stopped reading (`| head`): its choice, not a failure.
    if let Some(written) = written {
        print_summary(&ctx, &input.stats, &written, started, args.output.quiet);
    }
    Ok(ExitCode::Done)
}

/// Refuses the outputs of a run that stopped before the end (loading them would remove the
/// rest of the corpus from the database) unless `--allow-partial`; warns about failures.
fn check_finished(run: &FinishedRun, allow_partial: bool) -> Result<(), RunError> {
    let r = &run.report;
    let code = i64::from(r.exit_code);
    if code == ExitCode::NoEngine as i64 || code == ExitCode::Interrupted as i64 {
        if !allow_partial {
            return Err(RunError::out_dir(format!(
                "the last run in {} stopped before the end ({}): its outputs hold only part of the corpus, \
                 and loading them would remove the rest of this corpus from the database. Rerun the same \
                 `aegis-ingest run` command to finish it, or pass --allow-partial to export what there is",
                run.out.display(),
                status_of(r)
            )));
        }
        tracing::warn!(
            "exporting the outputs of a run that stopped before the end ({})",
            status_of(r)
        );
    } else if r.documents.failed > 0 || r.chunks.failed > 0 {
        tracing::warn!(
            "the last run finished with failures ({} documents, {} chunks): what they hold is not in the outputs; rerun `aegis-ingest run` to retry them, then export again",
            r.documents.failed,
            r.chunks.failed
        );
    }
    Ok(())
}

/// The report's status, `unknown` when it has none.
fn status_of(r: &crate::outdir::report::Report) -> &str {
    if r.status.is_empty() {
        "unknown"
    } else {
        &r.status
    }
}

/// What an export wrote, and the command that loads it.
struct Written {
    what: String,
    load_command: Option<String>,
}

/// Writes the export; None when standard output was closed before the end.
fn write_export(
    ctx: &Ctx,
    input: &mut Input,
    dest: &Dest,
    to: ExportFormat,
) -> Result<Option<Written>, RunError> {
    if let Dest::Dir(dir) = dest {
        let files = neo4j::write(ctx, input, dir).map_err(|e| io_to_run(e, dir))?;
        let shown = |p: &Path| format!("{} ({})", p.display(), size_of(p));
        let mut what = format!(
            "{} and {}",
            shown(&files.nodes),
            shown(&files.relationships)
        );
        if let Some(c) = &files.communities {
            for p in [&c.nodes, &c.in_community, &c.parent_of] {
                what.push_str(&format!(", {}", shown(p)));
            }
        }
        return Ok(Some(Written {
            what,
            load_command: Some(neo4j::import_command(&files)),
        }));
    }
    let complete = write_stream(dest, |w| match to {
        ExportFormat::Cypher => cypher::write(ctx, input, w),
        ExportFormat::Postgres => postgres::write(ctx, input, w),
        ExportFormat::Graphml => graphml::write(ctx, input, w),
        ExportFormat::Neo4jAdmin => unreachable!("neo4j-admin always writes a folder"),
    })?;
    if !complete {
        return Ok(None);
    }
    Ok(Some(match dest {
        Dest::File(p) => Written {
            what: format!("{} ({})", p.display(), size_of(p)),
            load_command: Some(load_command(p, to)),
        },
        Dest::Postgres(_) => Written {
            what: "the PostgreSQL database at --dest (one transaction)".to_string(),
            load_command: None,
        },
        _ => Written {
            what: "standard output".to_string(),
            load_command: None,
        },
    }))
}

/// The command that loads the file `p` written in format `to`.
fn load_command(p: &Path, to: ExportFormat) -> String {
    let q = shell_quote(&p.display().to_string());
    match to {
        ExportFormat::Cypher => format!("cypher-shell -f {q}"),
        ExportFormat::Postgres => {
            format!("psql -X -v ON_ERROR_STOP=1 -d \"$DATABASE_URL\" -f {q}")
        }
        _ => format!(
            "python3 -c {}  # or open it in Gephi or yEd",
            shell_quote(&format!(
                "import networkx as nx; print(nx.read_graphml({:?}))",
                p.display().to_string()
            ))
        ),
    }
}

/// What was exported (stderr), and the load command (stdout, for scripts).
fn print_summary(ctx: &Ctx, s: &Stats, written: &Written, started: Instant, quiet: bool) {
    if !quiet {
        crate::errln!(
            "exported namespace {:?}: {} entities ({} types), {} relations ({} types){} to {} in {:.2} s",
            ctx.namespace,
            s.entities,
            s.entity_types.len(),
            s.relations,
            s.relation_types.len(),
            if s.communities > 0 {
                format!(", {} communities", s.communities)
            } else {
                String::new()
            },
            written.what,
            started.elapsed().as_secs_f64()
        );
    }
    if let Some(cmd) = &written.load_command {
        if !quiet {
            crate::errln!("load it with:");
        }
        crate::outln!("{cmd}");
    }
}

#[cfg(test)]
mod tests {
    use super::graph::{graph_type, node_label};
    use super::*;

    #[test]
    fn labels_and_types_are_safe_names() {
        assert_eq!(node_label("PERSON"), "Person");
        assert_eq!(node_label("DATA_CENTER"), "DataCenter");
        assert_eq!(node_label("Wei`rd type"), "Wei_rd_type");
        assert_eq!(graph_type("WORKS`FOR"), "WORKS_FOR");
        assert_eq!(graph_type("été 2"), "été_2");
        assert_eq!(graph_type("``"), "UNTYPED");
    }

    #[test]
    fn namespace_defaults_to_the_corpus_folder_name() {
        assert_eq!(namespace_of(None, "/data/docs").unwrap(), "docs");
        assert_eq!(namespace_of(Some("a b"), "/x").unwrap(), "a b");
        assert!(namespace_of(Some("a\nb"), "/x").is_err());
        assert!(namespace_of(Some(" "), "/x").is_err());
    }
}
