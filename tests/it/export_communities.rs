//! `aegis-ingest export` of a run the finishing step has completed: its summarized
//! descriptions replace the records' own in every format, and its communities (nodes,
//! membership at each level, the hierarchy, the reports) go into every format, loaded
//! idempotently into PostgreSQL and FalkorDB. The finishing step's files are written here
//! by hand from a real run's entity and relation ids.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::Path;

use serde_json::{json, Value};

use crate::export::{
    camel, expected_graph, export, lit, read_graphml, read_neo4j_csv, Corpus, Falkor, Pg, Resp,
};
use crate::support::*;

/// A `com_` id from a name (std's SipHash with its fixed keys: the same in every run).
fn com_id(name: &str) -> String {
    let mut h = std::hash::DefaultHasher::new();
    name.hash(&mut h);
    format!("com_{:016x}", h.finish())
}

/// The finishing step's records, as written.
pub(crate) struct Finishing {
    pub communities: Vec<Value>,
    pub reports: Vec<Value>,
    pub descriptions: Vec<Value>,
}

impl Finishing {
    /// (entity, community, level) for every membership.
    fn memberships(&self) -> BTreeSet<(String, String, u64)> {
        let mut m = BTreeSet::new();
        for c in &self.communities {
            for e in c["members"].as_array().unwrap() {
                m.insert((
                    e.as_str().unwrap().to_string(),
                    c["id"].as_str().unwrap().to_string(),
                    c["level"].as_u64().unwrap(),
                ));
            }
        }
        m
    }

    /// (parent, child) pairs.
    fn parents(&self) -> BTreeSet<(String, String)> {
        self.communities
            .iter()
            .filter_map(|c| {
                Some((
                    c["parent"].as_str()?.to_string(),
                    c["id"].as_str().unwrap().to_string(),
                ))
            })
            .collect()
    }

    fn report(&self, id: &str) -> &Value {
        self.reports
            .iter()
            .find(|r| r["community"] == id)
            .unwrap_or_else(|| panic!("no report for {id}"))
    }

    fn description(&self, id: &str) -> Option<&str> {
        self.descriptions
            .iter()
            .find(|d| d["id"] == id)
            .map(|d| d["description"].as_str().unwrap())
    }
}

fn write_jsonl(path: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// Writes `communities.jsonl`, `community_reports.jsonl` and `descriptions.jsonl` into
/// `out` from its entities and relations: one level-0 community per document (an entity
/// goes with the document it was first seen in), split into two children at level 1 when
/// it has 4 members or more; a report for each (the first one's text awkward: quotes, a
/// line break, `;` and `%`); summarized descriptions for the first 3 entities and the
/// first 2 relations. `salt` changes every community id (a new detection).
pub(crate) fn write_finishing(out: &Path, salt: &str) -> Finishing {
    let ents = read_jsonl(&out.join("entities.jsonl"));
    let rels = read_jsonl(&out.join("relations.jsonl"));
    let name_of: BTreeMap<&str, &str> = ents
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["name"].as_str().unwrap()))
        .collect();
    let mut by_doc: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in &ents {
        let doc = e["sources"][0]["doc"].as_str().unwrap();
        by_doc
            .entry(doc)
            .or_default()
            .push(e["id"].as_str().unwrap());
    }
    let internal = |members: &[&str]| -> Vec<String> {
        let set: BTreeSet<&str> = members.iter().copied().collect();
        let mut v: Vec<String> = rels
            .iter()
            .filter(|r| {
                set.contains(r["source"].as_str().unwrap())
                    && set.contains(r["target"].as_str().unwrap())
            })
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    let mut communities = Vec::new();
    let mut reports = Vec::new();
    let mut add = |id: &str,
                   level: u32,
                   parent: Option<&str>,
                   children: Vec<String>,
                   members: &[&str]| {
        let mut members = members.to_vec();
        members.sort();
        let relations = internal(&members);
        communities.push(json!({
            "id": id, "level": level, "parent": parent, "children": children,
            "members": members, "relations": relations, "size": members.len(),
            "fingerprint": format!("fp-{id}"),
        }));
        let (a, b) = (members[0], members[members.len().min(2) - 1]);
        let title = if reports.is_empty() {
            format!("{}'s \"circle\"\nof 50%; friends", name_of[a])
        } else {
            format!("{} and partners", name_of[a])
        };
        reports.push(json!({
            "community": id, "level": level, "title": title,
            "summary": format!("{} works with {}.", name_of[b], name_of[a]),
            "findings": [
                {"summary": format!("{} leads", name_of[a]), "explanation": "It says so.",
                 "entities": [a, b], "relations": relations.iter().take(1).collect::<Vec<_>>()},
                {"summary": "Context", "explanation": "Background.", "entities": [], "relations": []},
            ],
            "rating": 6.5, "rating_explanation": "Moderate.", "fingerprint": format!("fp-{id}"),
            "dropped_citations": 1, "from_children": level == 0 && members.len() > 8,
        }));
    };
    for (doc, members) in &by_doc {
        let id = com_id(&format!("{salt}{doc}"));
        let split = members.len() >= 4;
        let mut sorted = members.clone();
        sorted.sort();
        let half = sorted.len() / 2;
        let kids: Vec<(String, &[&str])> = if split {
            vec![
                (com_id(&format!("{salt}{doc}/a")), &sorted[..half]),
                (com_id(&format!("{salt}{doc}/b")), &sorted[half..]),
            ]
        } else {
            Vec::new()
        };
        add(
            &id,
            0,
            None,
            kids.iter().map(|k| k.0.clone()).collect(),
            &sorted,
        );
        for (kid, m) in &kids {
            add(kid, 1, Some(&id), Vec::new(), m);
        }
    }
    let mut descriptions = Vec::new();
    for e in ents.iter().take(3) {
        descriptions.push(json!({
            "id": e["id"], "fragments": 2, "hash": "h",
            "description": format!("Summarized: {} is \"key\"; it's 100% sure.", e["name"].as_str().unwrap()),
        }));
    }
    for r in rels.iter().take(2) {
        descriptions.push(json!({
            "id": r["id"], "fragments": 3, "hash": "h",
            "description": format!("Summarized relation {}.", r["type"].as_str().unwrap()),
        }));
    }
    write_jsonl(&out.join("communities.jsonl"), &communities);
    write_jsonl(&out.join("community_reports.jsonl"), &reports);
    write_jsonl(&out.join("descriptions.jsonl"), &descriptions);
    Finishing {
        communities,
        reports,
        descriptions,
    }
}

/// The description an export must carry for a record: the summarized one when there is one.
fn want_description<'a>(f: &'a Finishing, record: &'a Value) -> &'a str {
    f.description(record["id"].as_str().unwrap())
        .unwrap_or_else(|| record["description"].as_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphml_and_neo4j_admin_carry_communities_and_summarized_descriptions() {
    let c = Corpus::new().await;
    let out = c.out();
    export(out, &["--to", "graphml"], &[]).await;
    let before = std::fs::read_to_string(out.join("graph.graphml")).unwrap();
    assert!(!before.contains("community_level"), "no communities yet");
    let f = write_finishing(out, "");
    let levels: BTreeSet<u64> = f
        .communities
        .iter()
        .map(|c| c["level"].as_u64().unwrap())
        .collect();
    assert_eq!(levels, BTreeSet::from([0, 1]), "the case has two levels");

    // The finishing step's files are the run's own: an export does not replace them.
    for file in [
        "communities.jsonl",
        "community_reports.jsonl",
        "descriptions.jsonl",
    ] {
        let dest = out.join(file);
        let args = ["export", "--out", out.to_str().unwrap(), "--to", "graphml"];
        let ran = run(&[&args[..], &["--dest", dest.to_str().unwrap()]].concat()).await;
        assert_eq!(ran.code, 2, "{file}: {}", ran.stderr);
        assert!(ran.stderr.contains("the run's own files"), "{}", ran.stderr);
    }

    // GraphML: summarized descriptions; the community at each level as node data.
    let ran = export(out, &["--to", "graphml"], &[]).await;
    assert!(
        ran.stderr
            .contains(&format!("{} communities", f.communities.len())),
        "{}",
        ran.stderr
    );
    let text = std::fs::read_to_string(out.join("graph.graphml")).unwrap();
    for l in 0..2 {
        assert!(
            text.contains(&format!("<key id=\"community_level_{l}\" for=\"node\" attr.name=\"community_level_{l}\" attr.type=\"string\"/>")),
            "key for level {l} declared"
        );
    }
    let (nodes, edges) = read_graphml(&out.join("graph.graphml"));
    let ents = read_jsonl(&out.join("entities.jsonl"));
    let rels = read_jsonl(&out.join("relations.jsonl"));
    let mut want: BTreeMap<(String, String), String> = BTreeMap::new();
    for (e, com, level) in f.memberships() {
        want.insert((e, format!("community_level_{level}")), com);
    }
    let mut got: BTreeMap<(String, String), String> = BTreeMap::new();
    for e in &ents {
        let id = e["id"].as_str().unwrap();
        let n = &nodes[id];
        assert_eq!(n["n_description"], want_description(&f, e), "{id}");
        for (k, v) in n.iter().filter(|(k, _)| k.starts_with("community_level_")) {
            got.insert((id.to_string(), k.clone()), v.clone());
        }
    }
    assert_eq!(
        got, want,
        "every entity's community at every level it reaches"
    );
    for ((id, _, _, d), r) in edges.iter().zip(&rels) {
        assert_eq!(id, r["id"].as_str().unwrap());
        assert_eq!(d["e_description"], want_description(&f, r));
    }
    assert_eq!(f.descriptions.len(), 5);

    // neo4j-admin: the community nodes and both relationship files, typed headers.
    let dir = c.case.tmp.path().join("neo4j");
    let ran = export(
        out,
        &["--to", "neo4j-admin", "--dest", dir.to_str().unwrap()],
        &[],
    )
    .await;
    for file in ["communities.csv", "in_community.csv", "parent_of.csv"] {
        assert!(
            ran.stdout.contains(file),
            "the import command loads {file}: {}",
            ran.stdout
        );
    }
    assert!(ran.stdout.contains("aegis_community_key"), "{}", ran.stdout);
    let nodes = read_neo4j_csv(&dir.join("entities.csv"), true);
    for (n, e) in nodes.iter().zip(&ents) {
        assert_eq!(n["description"], want_description(&f, e).replace('\n', " "));
    }
    let coms = read_neo4j_csv(&dir.join("communities.csv"), true);
    assert_eq!(coms.len(), f.communities.len());
    for (row, com) in coms.iter().zip(&f.communities) {
        let id = com["id"].as_str().unwrap();
        let r = f.report(id);
        assert_eq!(row["id"], id);
        assert_eq!(row[":LABEL"], "Community");
        assert_eq!(row["level"], com["level"].to_string());
        assert_eq!(row["size"], com["size"].to_string());
        assert_eq!(row["parent"], com["parent"].as_str().unwrap_or(""));
        assert_eq!(
            row["title"],
            r["title"].as_str().unwrap().replace('\n', " ")
        );
        assert_eq!(row["rating"].parse::<f64>().unwrap(), 6.5);
        assert_eq!(row["corpus"], "corpus");
        let findings: Value = serde_json::from_str(&row["findings"]).unwrap();
        assert_eq!(findings, r["findings"], "findings as one JSON array");
    }
    let members = read_neo4j_csv(&dir.join("in_community.csv"), false);
    let got: BTreeSet<(String, String, u64)> = members
        .iter()
        .map(|m| {
            assert_eq!(m[":TYPE"], "IN_COMMUNITY");
            (
                m[":START_ID"].clone(),
                m[":END_ID"].clone(),
                m["level"].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        (got, members.len()),
        (f.memberships(), f.memberships().len())
    );
    let parents = read_neo4j_csv(&dir.join("parent_of.csv"), false);
    let got: BTreeSet<(String, String)> = parents
        .iter()
        .map(|p| {
            assert_eq!(p[":TYPE"], "PARENT_OF");
            (p[":START_ID"].clone(), p[":END_ID"].clone())
        })
        .collect();
    assert_eq!(got, f.parents());
    assert!(!got.is_empty());

    // Communities older than the outputs: a member the outputs no longer hold is left
    // out (the importer would refuse the relationship), with a warning.
    let mut stale = f.communities.clone();
    stale[0]["members"]
        .as_array_mut()
        .unwrap()
        .push(json!("ent_gone"));
    let text: String = stale.iter().map(|c| format!("{c}\n")).collect();
    std::fs::write(out.join("communities.jsonl"), text).unwrap();
    let ran = export(
        out,
        &["--to", "neo4j-admin", "--dest", dir.to_str().unwrap()],
        &[],
    )
    .await;
    assert!(
        ran.stderr
            .contains("1 community memberships name entities the outputs no longer hold"),
        "{}",
        ran.stderr
    );
    let members = read_neo4j_csv(&dir.join("in_community.csv"), false);
    assert_eq!(members.len(), f.memberships().len());
    assert!(members.iter().all(|m| m[":START_ID"] != "ent_gone"));

    // Without the finishing step's files: the exports are what they were, and the
    // community files of the former export are gone from the folder.
    for file in [
        "communities.jsonl",
        "community_reports.jsonl",
        "descriptions.jsonl",
    ] {
        std::fs::remove_file(out.join(file)).unwrap();
    }
    export(out, &["--to", "graphml"], &[]).await;
    assert_eq!(
        std::fs::read_to_string(out.join("graph.graphml")).unwrap(),
        before
    );
    let ran = export(
        out,
        &["--to", "neo4j-admin", "--dest", dir.to_str().unwrap()],
        &[],
    )
    .await;
    assert!(!ran.stdout.contains("communities.csv"), "{}", ran.stdout);
    assert!(!dir.join("communities.csv").exists() && !dir.join("in_community.csv").exists());
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

/// The community tables of one corpus, in a comparable form.
fn pg_communities(pg: &Pg, ns: &str) -> Value {
    let ns = lit(ns);
    json!({
        "communities": pg.json(&format!(
            "SELECT coalesce(json_agg(json_build_array(id, level, parent, size) ORDER BY id), '[]') \
             FROM communities WHERE corpus = {ns}")),
        "members": pg.json(&format!(
            "SELECT coalesce(json_agg(json_build_array(entity_id, community_id, level) \
             ORDER BY entity_id, community_id), '[]') FROM community_members WHERE corpus = {ns}")),
        "reports": pg.json(&format!(
            "SELECT coalesce(json_agg(json_build_array(community_id, level, title, summary, findings, \
             rating, rating_explanation, from_children, dropped_citations) ORDER BY community_id), '[]') \
             FROM community_reports WHERE corpus = {ns}")),
        "descriptions": pg.json(&format!(
            "SELECT json_build_array( \
             (SELECT coalesce(json_agg(json_build_array(id, description) ORDER BY id), '[]') FROM entities WHERE corpus = {ns}), \
             (SELECT coalesce(json_agg(json_build_array(id, description) ORDER BY id), '[]') FROM relations WHERE corpus = {ns}))")),
    })
}

/// What the files hold, in `pg_communities`' form.
fn expected_pg_communities(out: &Path, f: &Finishing) -> Value {
    let mut coms: Vec<Value> = f
        .communities
        .iter()
        .map(|c| json!([c["id"], c["level"], c["parent"], c["size"]]))
        .collect();
    coms.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
    let members: Vec<Value> = f
        .memberships()
        .into_iter()
        .map(|(e, c, l)| json!([e, c, l]))
        .collect();
    let mut reports: Vec<Value> = f
        .reports
        .iter()
        .map(|r| {
            json!([
                r["community"],
                r["level"],
                r["title"],
                r["summary"],
                r["findings"],
                r["rating"],
                r["rating_explanation"],
                r["from_children"],
                r["dropped_citations"]
            ])
        })
        .collect();
    reports.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
    let described = |file: &str| -> Value {
        let mut v: Vec<Value> = read_jsonl(&out.join(file))
            .iter()
            .map(|r| json!([r["id"], want_description(f, r)]))
            .collect();
        v.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
        Value::Array(v)
    };
    json!({
        "communities": coms, "members": members, "reports": reports,
        "descriptions": [described("entities.jsonl"), described("relations.jsonl")],
    })
}

fn pg_versions(pg: &Pg, ns: &str) -> String {
    let ns = lit(ns);
    pg.sql(&format!(
        "SELECT string_agg(id || ':' || xmin::text, ',' ORDER BY id) FROM communities WHERE corpus = {ns}; \
         SELECT string_agg(community_id || entity_id || ':' || xmin::text, ',' ORDER BY community_id, entity_id) \
         FROM community_members WHERE corpus = {ns}; \
         SELECT string_agg(community_id || ':' || xmin::text, ',' ORDER BY community_id) \
         FROM community_reports WHERE corpus = {ns}"
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (scripts/db/install.sh); make test runs it, or skips it and says so"]
async fn communities_round_trip_on_postgres_is_idempotent_and_follows_new_communities() {
    let Some(pg) = Pg::start() else { return };
    let c = Corpus::new().await;
    let psql = pg.psql_path();
    let env = [("AEGIS_PSQL", psql.as_str())];
    let url = pg.url();
    let args = ["--to", "postgres", "--dest", url.as_str()];
    let load = || export(c.out(), &args, &env);

    // A load without communities first (tables absent), then with them.
    load().await;
    let f = write_finishing(c.out(), "");
    load().await;
    let first = pg_communities(&pg, c.ns());
    assert_eq!(first, expected_pg_communities(c.out(), &f));
    assert!(first["members"].as_array().unwrap().len() > 20);

    // Again: nothing changes, no row rewritten.
    let versions = pg_versions(&pg, c.ns());
    load().await;
    assert_eq!(pg_communities(&pg, c.ns()), first);
    assert_eq!(
        pg_versions(&pg, c.ns()),
        versions,
        "a second load rewrote rows"
    );

    // A second namespace beside it.
    export(
        c.out(),
        &["--to", "postgres", "--dest", &url, "--namespace", "other"],
        &env,
    )
    .await;
    assert_eq!(pg_communities(&pg, "other"), first);

    // A new detection (new ids) on a resumed run whose outputs changed: the old
    // communities, their members and reports are gone; the other namespace stays.
    c.edit_and_resume().await;
    // First with the former communities, older than the outputs now: the members that
    // are gone are left out, the load goes through.
    let ran = load().await;
    assert!(
        ran.stderr
            .contains("community memberships name entities the outputs no longer hold"),
        "{}",
        ran.stderr
    );
    let members = pg.sql(&format!(
        "SELECT count(*) FROM community_members WHERE corpus = {}",
        lit(c.ns())
    ));
    assert!(
        (members.trim().parse::<usize>().unwrap()) < f.memberships().len(),
        "the deleted document's entities are no members"
    );
    let f2 = write_finishing(c.out(), "second");
    load().await;
    let after = pg_communities(&pg, c.ns());
    assert_eq!(after, expected_pg_communities(c.out(), &f2));
    let stale: i64 = pg
        .sql(&format!(
            "SELECT count(*) FROM communities WHERE corpus = {} AND id = {}",
            lit(c.ns()),
            lit(f.communities[0]["id"].as_str().unwrap())
        ))
        .trim()
        .parse()
        .unwrap();
    assert_eq!(stale, 0, "the former detection's communities are deleted");
    assert_eq!(pg_communities(&pg, "other"), first);

    // Without reports: the communities stay, their reports are deleted.
    std::fs::remove_file(c.out().join("community_reports.jsonl")).unwrap();
    load().await;
    let now = pg_communities(&pg, c.ns());
    assert_eq!(now["communities"], after["communities"]);
    assert_eq!(now["members"], after["members"]);
    assert_eq!(now["reports"], json!([]));
}

// ---------------------------------------------------------------------------------------
// FalkorDB

fn cell(r: &Resp) -> Value {
    match r {
        Resp::Nil => Value::Null,
        other => json!(other.text()),
    }
}

/// The communities of one namespace in FalkorDB, in a comparable form.
fn falkor_communities(db: &mut Falkor, ns: &str) -> Value {
    let ns = format!("'{}'", ns.replace('\'', "\\'"));
    let mut rows = |q: String| -> Vec<Value> {
        let mut v: Vec<Value> = db
            .query("g", &q)
            .unwrap()
            .iter()
            .map(|r| Value::Array(r.iter().map(cell).collect()))
            .collect();
        v.sort_by_key(|a| a.to_string());
        v
    };
    json!({
        "communities": rows(format!(
            "MATCH (c:Community {{corpus: {ns}}}) RETURN c.id, c.level, c.parent, c.size, c.title, \
             c.summary, c.rating, c.rating_explanation, c.findings")),
        "members": rows(format!(
            "MATCH (e:Entity {{corpus: {ns}}})-[r:IN_COMMUNITY]->(c:Community {{corpus: {ns}}}) \
             RETURN e.id, c.id, r.level")),
        "parents": rows(format!(
            "MATCH (p:Community {{corpus: {ns}}})-[:PARENT_OF]->(c:Community {{corpus: {ns}}}) RETURN p.id, c.id")),
    })
}

fn expected_falkor_communities(f: &Finishing) -> Value {
    let sort = |mut v: Vec<Value>| {
        v.sort_by_key(|a| a.to_string());
        v
    };
    let coms = f
        .communities
        .iter()
        .map(|c| {
            let r = f.report(c["id"].as_str().unwrap());
            // The findings string, re-read: what FalkorDB holds is the export's JSON text.
            json!([
                c["id"],
                c["level"].to_string(),
                c["parent"],
                c["size"].to_string(),
                r["title"],
                r["summary"],
                "6.5",
                r["rating_explanation"],
                "findings"
            ])
        })
        .collect();
    let members = f
        .memberships()
        .into_iter()
        .map(|(e, c, l)| json!([e, c, l.to_string()]))
        .collect();
    let parents = f
        .parents()
        .into_iter()
        .map(|(p, c)| json!([p, c]))
        .collect();
    json!({"communities": sort(coms), "members": sort(members), "parents": sort(parents)})
}

/// Replaces each community's findings JSON text by `"findings"` after checking it.
fn check_findings(got: &mut Value, f: &Finishing) {
    for row in got["communities"].as_array_mut().unwrap() {
        let r = f.report(row[0].as_str().unwrap());
        let findings: Value = serde_json::from_str(row[8].as_str().unwrap()).unwrap();
        assert_eq!(findings, r["findings"]);
        row[8] = json!("findings");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs FalkorDB (scripts/db/install.sh); make test runs it, or skips it and says so"]
async fn communities_round_trip_on_falkordb_is_idempotent_and_follows_new_communities() {
    let Some(mut db) = Falkor::start() else {
        return;
    };
    let c = Corpus::new().await;
    let script = c.case.tmp.path().join("graph.cypher");
    let dest = script.to_str().unwrap();
    let load = |db: &mut Falkor| {
        db.load_cypher("g", &std::fs::read_to_string(&script).unwrap());
    };
    export(c.out(), &["--to", "cypher", "--dest", dest], &[]).await;
    load(&mut db);
    let f = write_finishing(c.out(), "");
    export(c.out(), &["--to", "cypher", "--dest", dest], &[]).await;
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(
        text.contains("CREATE CONSTRAINT aegis_community_key"),
        "constraint"
    );
    load(&mut db);
    let mut first = falkor_communities(&mut db, c.ns());
    check_findings(&mut first, &f);
    assert_eq!(first, expected_falkor_communities(&f));
    // The entities carry the summarized descriptions.
    let want = expected_graph(c.out(), camel, |t| t.to_string());
    let got = db.snapshot("g", c.ns());
    for (g, w) in got["entities"]
        .as_array()
        .unwrap()
        .iter()
        .zip(want["entities"].as_array().unwrap())
    {
        assert_eq!(g["id"], w["id"]);
        let id = g["id"].as_str().unwrap();
        let expect = f
            .description(id)
            .unwrap_or_else(|| w["description"].as_str().unwrap());
        assert_eq!(g["description"], expect, "{id}");
    }
    let rel_count = read_jsonl(&c.out().join("relations.jsonl")).len();
    assert_eq!(
        db.count("g", "MATCH (:Entity)-[r]->(:Entity) RETURN count(r)") as usize,
        rel_count
    );

    // Loading again changes nothing.
    load(&mut db);
    let mut again = falkor_communities(&mut db, c.ns());
    check_findings(&mut again, &f);
    assert_eq!(again, first);
    assert_eq!(
        db.count("g", "MATCH (c:Community) RETURN count(c)") as usize,
        f.communities.len()
    );

    // A new detection on a resumed run: only the new communities are there.
    c.edit_and_resume().await;
    // The former communities on the new outputs load (the members that are gone match
    // nothing).
    export(c.out(), &["--to", "cypher", "--dest", dest], &[]).await;
    load(&mut db);
    let f2 = write_finishing(c.out(), "second");
    export(c.out(), &["--to", "cypher", "--dest", dest], &[]).await;
    load(&mut db);
    let mut after = falkor_communities(&mut db, c.ns());
    check_findings(&mut after, &f2);
    assert_eq!(after, expected_falkor_communities(&f2));
    assert_eq!(
        db.count("g", "MATCH (c:Community) RETURN count(c)") as usize,
        f2.communities.len()
    );

    // Without reports: the communities stay, without a title or findings.
    std::fs::remove_file(c.out().join("community_reports.jsonl")).unwrap();
    export(c.out(), &["--to", "cypher", "--dest", dest], &[]).await;
    load(&mut db);
    assert_eq!(
        db.count(
            "g",
            "MATCH (c:Community) WHERE c.title IS NULL AND c.findings IS NULL RETURN count(c)"
        ) as usize,
        f2.communities.len()
    );
    let now = falkor_communities(&mut db, c.ns());
    assert_eq!(now["members"], after["members"]);
    assert_eq!(now["parents"], after["parents"]);
}
