//! Scenario `export`: a synthetic finished run of 10,000 entities and 20,000 relations
//! (× `--scale`) exported in each format by the release binary (time, size, peak memory),
//! the GraphML loaded by networkx when python3 has it, and, with `--export-pg-url`, the SQL
//! script loaded into that PostgreSQL database by `psql` (twice: the second load changes
//! nothing) and loaded directly by `export --dest`. The figures quoted in the README.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::json;

use crate::measure;
use crate::report::ScenarioResult;

/// What the scenario needs from the harness.
pub struct ExportFigures<'a> {
    pub aegis: &'a Path,
    /// The synthetic run's folder (replaced).
    pub out: PathBuf,
    pub logs: PathBuf,
    pub scale: f64,
    /// A PostgreSQL database to load into (its tables `entities`, `relations`, ... are
    /// replaced).
    pub pg_url: Option<&'a str>,
}

const FORMATS: [(&str, &str); 4] = [
    ("neo4j-admin", "neo4j-admin"),
    ("cypher", "graph.cypher"),
    ("postgres", "graph.sql"),
    ("graphml", "graph.graphml"),
];

/// Runs the scenario once (the figures are single measurements).
pub fn run(s: &ExportFigures) -> anyhow::Result<ScenarioResult> {
    let n_ent = ((10_000.0 * s.scale).round() as usize).max(1);
    let n_rel = 2 * n_ent;
    write_run(&s.out, n_ent, n_rel)?;
    let mut res = ScenarioResult::new(
        "export",
        format!("a synthetic run of {n_ent} entities and {n_rel} relations exported in each format, then loaded"),
    );
    res.command("target/release/aegis-ingest export --out RUN --to FORMAT".into());
    let mut peak_mb = 0f64;
    for (to, dest) in FORMATS {
        let m = export(s, &["--to", to], &format!("export-{to}"))?;
        figure(
            &format!("export --to {to}"),
            m.wall_s,
            &size(&s.out.join(dest)),
        );
        res.metric(&format!("export --to {to}"), "s", vec![m.wall_s], None);
        peak_mb = peak_mb.max(m.maxrss_mb);
    }
    eprintln!(
        "FIGURE export peak RSS (largest of the four): {peak_mb:.1} MB for {n_ent} entities, {n_rel} relations"
    );
    res.metric(
        "export peak RSS (largest of the four)",
        "MB",
        vec![peak_mb],
        None,
    );
    networkx(&s.out.join("graph.graphml"));
    match s.pg_url {
        Some(url) => postgres(s, url, &mut res)?,
        None => res.note("PostgreSQL loads not measured: pass --export-pg-url"),
    }
    Ok(res)
}

fn figure(label: &str, secs: f64, extra: &str) {
    eprintln!("FIGURE {label}: {secs:.2} s {extra}");
}

/// `aegis-ingest export --out OUT <args>`, measured; an export that fails is an error.
fn export(s: &ExportFigures, args: &[&str], tag: &str) -> anyhow::Result<measure::Measured> {
    let mut cmd = Command::new(s.aegis);
    cmd.arg("export").arg("--out").arg(&s.out).args(args);
    let log = s.logs.join(format!("{tag}.log"));
    let m = measure::run(&mut cmd, &log, None)?;
    if m.exit_code != 0 {
        bail!(
            "export {args:?} exited with {}; see {}",
            m.exit_code,
            log.display()
        );
    }
    Ok(m)
}

/// Size of a file, or of the files of a folder, in MB.
fn size(p: &Path) -> String {
    let b: u64 = if p.is_dir() {
        std::fs::read_dir(p)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum()
    } else {
        std::fs::metadata(p).map_or(0, |m| m.len())
    };
    format!("{:.1} MB", b as f64 / 1e6)
}

/// The synthetic finished run: entities, relations, run.json and report.json.
fn write_run(out: &Path, n_ent: usize, n_rel: usize) -> anyhow::Result<()> {
    use std::io::Write;
    let types = [
        "PERSON",
        "ORGANIZATION",
        "LOCATION",
        "PRODUCT",
        "TECHNOLOGY",
        "EVENT",
    ];
    let rtypes = [
        "WORKS_FOR",
        "LOCATED_IN",
        "PART_OF",
        "USES",
        "PRODUCES",
        "RELATES_TO",
    ];
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(out.join("entities.jsonl"))?);
    for i in 0..n_ent {
        let e = json!({"id": format!("ent_{i:016x}"), "name": format!("Entity number {i}, \"n{i}\""),
            "type": types[i % types.len()], "description": format!("The {i}th entity of the synthetic corpus, with some text."),
            "mentions": 1 + i % 7, "sources": (0..3).map(|k| json!({"doc": format!("docs/doc{:04}.md", (i + k * 17) % 2000), "chunk": k, "section": "Intro"})).collect::<Vec<_>>()});
        writeln!(f, "{e}")?;
    }
    f.flush()?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(out.join("relations.jsonl"))?);
    for i in 0..n_rel {
        let (s, t) = (i % n_ent, (i * 7 + 1) % n_ent);
        let r = json!({"id": format!("rel_{i:016x}"), "source": format!("ent_{s:016x}"), "target": format!("ent_{t:016x}"),
            "type": rtypes[i % rtypes.len()], "description": "synthetic relation", "weight": 0.5 + (i % 5) as f64 / 10.0,
            "mentions": 1 + i % 3, "sources": [{"doc": format!("docs/doc{:04}.md", i % 2000), "chunk": 0}]});
        writeln!(f, "{r}")?;
    }
    f.flush()?;
    let run = json!({"corpus": "/data/bench", "exit_code": 0});
    std::fs::write(out.join("run.json"), run.to_string())?;
    let report = json!({"status": "done", "exit_code": 0});
    std::fs::write(out.join("report.json"), report.to_string())?;
    Ok(())
}

/// The GraphML loaded by networkx, when python3 has it.
fn networkx(graphml: &Path) {
    let nx = Command::new("python3")
        .args([
            "-c",
            "import sys, time, networkx as nx; t = time.time(); g = nx.read_graphml(sys.argv[1]); \
             print('%.2f %d %d' % (time.time() - t, g.number_of_nodes(), g.number_of_edges()))",
        ])
        .arg(graphml)
        .output();
    match nx {
        Ok(o) if o.status.success() => eprintln!(
            "FIGURE graphml loaded by networkx.read_graphml: {}",
            String::from_utf8_lossy(&o.stdout).trim()
        ),
        _ => eprintln!(
            "FIGURE graphml into networkx: not measured (python3 with networkx not found)"
        ),
    }
}

/// `psql` (AEGIS_PSQL or the one on PATH) against `url`: `-c sql` or `-f file`.
fn psql(url: &str, args: &[&str]) -> anyhow::Result<String> {
    let bin = std::env::var("AEGIS_PSQL").unwrap_or_else(|_| "psql".into());
    let out = Command::new(&bin)
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {bin}"))?;
    if !out.status.success() {
        bail!("psql {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The SQL script loaded twice by psql, then the direct load by `export --dest`.
fn postgres(s: &ExportFigures, url: &str, res: &mut ScenarioResult) -> anyhow::Result<()> {
    let script = s.out.join("graph.sql");
    let script = script.to_str().context("the run's path is not UTF-8")?;
    for label in [
        "postgres first load (psql -f)",
        "postgres second load (no change)",
    ] {
        let t = Instant::now();
        psql(url, &["-f", script])?;
        let d = t.elapsed().as_secs_f64();
        let counts = if label.contains("first") {
            psql(url, &["-c", "SELECT (SELECT count(*) FROM entities) || ' entities, ' || (SELECT count(*) FROM relations) || ' relations, ' || (SELECT count(*) FROM entity_sources) || ' entity sources'"])?
        } else {
            String::new()
        };
        figure(label, d, &counts);
        res.metric(label, "s", vec![d], None);
    }
    let m = export(
        s,
        &["--to", "postgres", "--dest", url],
        "export-postgres-dest",
    )?;
    let label = "postgres direct load (export --dest postgres://, includes the export)";
    figure(label, m.wall_s, "");
    res.metric(label, "s", vec![m.wall_s], None);
    Ok(())
}
