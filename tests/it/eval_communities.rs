//! `aegis-ingest eval` of a run the finishing step has completed: modularity and sizes per
//! level, the reports' coverage, citation precision and recall, cited findings and schema
//! compliance (each computed here again from its definition, from the files), in the table
//! and in eval.json; and the gates on them (pass, fail, and fail when there is nothing to
//! measure). The finishing step's files are written by hand from a real run's ids.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use fake_engine::{FakeConfig, FakeEngine};
use serde_json::{json, Value};

use crate::export_communities::write_finishing;
use crate::support::*;

fn gold_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/gold")
}

async fn eval(out: &Path, extra: &[&str]) -> Ran {
    let gold = gold_dir().join("gold.jsonl");
    let mut args = vec![
        "eval",
        "--gold",
        gold.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args).await
}

fn eval_json(out: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(out.join("eval.json")).unwrap()).unwrap()
}

/// Modularity as the sum over node pairs: (1/2m) sum_ij (A_ij - k_i k_j / 2m) [c_i = c_j].
fn modularity_by_pairs(adj: &BTreeMap<(usize, usize), f64>, labels: &[usize]) -> f64 {
    let n = labels.len();
    let mut k = vec![0.0; n];
    for (&(i, j), w) in adj {
        k[i] += w;
        k[j] += w;
    }
    let two_m: f64 = k.iter().sum();
    let a = |i: usize, j: usize| adj.get(&(i.min(j), i.max(j))).copied().unwrap_or(0.0);
    let mut q = 0.0;
    for i in 0..n {
        for j in 0..n {
            if labels[i] == labels[j] {
                // A_ij is symmetric: both (i, j) and (j, i) count the edge once each.
                q += a(i, j) - k[i] * k[j] / two_m;
            }
        }
    }
    q / two_m
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-3
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_measures_communities_and_reports_and_gates_them() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let corpus = gold_dir().join("corpus");
    let ran = run_vllm(
        &corpus,
        &out,
        &fake.url(),
        &[],
        std::time::Duration::from_secs(120),
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);

    // Without communities: no community figures; a community gate fails and says why.
    let ran = eval(&out, &["--min-modularity", "0"]).await;
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("modularity (level 0) could not be measured (no communities.jsonl in --out: run `aegis-ingest communities` first)"),
        "{}",
        ran.stderr
    );
    assert!(eval_json(&out).get("communities").is_none());

    // The finishing step's files, then reports written to exercise every counter: the
    // first cites an entity of another community; the second has a rating of 11; one line
    // is not a report at all.
    let f = write_finishing(&out, "");
    let mut reports = f.reports.clone();
    let other_member = f
        .communities
        .iter()
        .filter(|c| c["level"] == 0)
        .nth(1)
        .unwrap()["members"][0]
        .clone();
    reports[0]["findings"][0]["entities"]
        .as_array_mut()
        .unwrap()
        .push(other_member);
    reports[1]["rating"] = json!(11.0);
    reports[2]["fingerprint"] = json!("an earlier state");
    reports.push(json!({"community": "com_nothing", "title": "not a report"}));
    let text: String = reports.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(out.join("community_reports.jsonl"), text).unwrap();

    let ran = eval(&out, &[]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let got = &eval_json(&out)["communities"];

    // The expectation, from the definitions.
    let ents = read_jsonl(&out.join("entities.jsonl"));
    let rels = read_jsonl(&out.join("relations.jsonl"));
    let index: HashMap<&str, usize> = ents
        .iter()
        .enumerate()
        .map(|(i, e)| (e["id"].as_str().unwrap(), i))
        .collect();
    let mut adj: BTreeMap<(usize, usize), f64> = BTreeMap::new();
    let mut degree = vec![0u64; ents.len()];
    for r in &rels {
        let (a, b) = (
            index[r["source"].as_str().unwrap()],
            index[r["target"].as_str().unwrap()],
        );
        degree[a] += 1;
        if a == b {
            continue;
        }
        degree[b] += 1;
        let w = r["weight"].as_f64().unwrap();
        let w = if w > 0.0 {
            w
        } else {
            r["mentions"].as_f64().unwrap()
        };
        *adj.entry((a.min(b), a.max(b))).or_default() += w;
    }
    assert!(!adj.is_empty());
    let coms = &f.communities;
    assert_eq!(got["communities"], coms.len());
    assert_eq!(got["entities"], ents.len());
    assert_eq!(got["unassigned_entities"], 0);
    assert_eq!(
        got["isolated_entities"],
        degree.iter().filter(|&&d| d == 0).count()
    );
    for level in 0..2u64 {
        // An entity keeps its deepest community at or above the level.
        let labels: Vec<usize> = ents
            .iter()
            .map(|e| {
                coms.iter()
                    .enumerate()
                    .filter(|(_, c)| c["level"].as_u64().unwrap() <= level)
                    .filter(|(_, c)| c["members"].as_array().unwrap().contains(&e["id"]))
                    .max_by_key(|(_, c)| c["level"].as_u64().unwrap())
                    .unwrap()
                    .0
            })
            .collect();
        let q = modularity_by_pairs(&adj, &labels);
        let l = &got["levels"][level as usize];
        assert!(
            close(l["modularity"].as_f64().unwrap(), q),
            "level {level}: {l} vs {q}"
        );
        let mut sizes: Vec<u64> = coms
            .iter()
            .filter(|c| c["level"] == level)
            .map(|c| c["size"].as_u64().unwrap())
            .collect();
        sizes.sort();
        assert_eq!(l["communities"], sizes.len());
        assert_eq!(
            (l["min_size"].as_u64(), l["max_size"].as_u64()),
            (sizes.first().copied(), sizes.last().copied())
        );
    }
    let q0 = got["levels"][0]["modularity"].as_f64().unwrap();
    assert!(
        q0 > 0.3,
        "communities by document are a good partition: {q0}"
    );

    // Reports.
    let by_id: HashMap<&str, &Value> = coms
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c))
        .collect();
    let (mut top, mut covered, mut cited_top) = (0u64, 0u64, 0u64);
    let (mut inside, mut outside, mut dropped) = (0u64, 0u64, 0u64);
    let (mut findings, mut cited_findings, mut compliant) = (0u64, 0u64, 0u64);
    for r in &reports {
        let Some(c) = by_id.get(r["community"].as_str().unwrap()) else {
            continue;
        };
        let members: BTreeSet<&str> = c["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        let rating = r["rating"].as_f64().unwrap();
        if (0.0..=10.0).contains(&rating) {
            compliant += 1;
        }
        let mut text = format!(
            "{}\n{}",
            r["title"].as_str().unwrap(),
            r["summary"].as_str().unwrap()
        );
        let mut cited: BTreeSet<&str> = BTreeSet::new();
        for fd in r["findings"].as_array().unwrap() {
            findings += 1;
            text += &format!(
                "\n{}\n{}",
                fd["summary"].as_str().unwrap(),
                fd["explanation"].as_str().unwrap()
            );
            let es = fd["entities"].as_array().unwrap();
            let rs = fd["relations"].as_array().unwrap();
            if !es.is_empty() || !rs.is_empty() {
                cited_findings += 1;
            }
            for e in es {
                cited.insert(e.as_str().unwrap());
                if members.contains(e.as_str().unwrap()) {
                    inside += 1
                } else {
                    outside += 1
                }
            }
            // The relations written are internal ones.
            inside += rs.len() as u64;
        }
        dropped += r["dropped_citations"].as_u64().unwrap();
        let mut ranked: Vec<&Value> = members.iter().map(|m| &ents[index[m]]).collect();
        ranked.sort_by(|a, b| {
            let d = |e: &Value| degree[index[e["id"].as_str().unwrap()]];
            d(b).cmp(&d(a))
                .then(b["mentions"].as_u64().cmp(&a["mentions"].as_u64()))
                .then(a["id"].as_str().cmp(&b["id"].as_str()))
        });
        let text = text.to_lowercase();
        for e in ranked.into_iter().take(5) {
            top += 1;
            let is_cited = cited.contains(e["id"].as_str().unwrap());
            cited_top += u64::from(is_cited);
            let named = text.contains(&e["name"].as_str().unwrap().to_lowercase());
            covered += u64::from(is_cited || named);
        }
    }
    let share = |a: u64, b: u64| a as f64 / b as f64;
    let r = &got["reports"];
    assert_eq!(r["reports"], reports.len());
    assert_eq!(r["communities_with_report"], coms.len());
    assert_eq!(r["stale_reports"], 1);
    assert_eq!(got["unknown_members"], 0);
    assert_eq!(
        (
            r["top_entities"].as_u64().unwrap(),
            r["covered_entities"].as_u64().unwrap()
        ),
        (top, covered)
    );
    assert!(close(
        r["entity_coverage"].as_f64().unwrap(),
        share(covered, top)
    ));
    assert_eq!(
        (
            r["citations_in_community"].as_u64().unwrap(),
            r["citations_outside"].as_u64().unwrap(),
            r["dropped_citations"].as_u64().unwrap()
        ),
        (inside, outside, dropped)
    );
    assert_eq!(outside, 1, "the one citation of another community's entity");
    assert!(close(
        r["citation_precision"].as_f64().unwrap(),
        share(inside, inside + outside + dropped)
    ));
    assert!(close(
        r["citation_recall"].as_f64().unwrap(),
        share(cited_top, top)
    ));
    assert!(close(
        r["cited_findings_share"].as_f64().unwrap(),
        share(cited_findings, findings)
    ));
    assert_eq!(cited_findings * 2, findings, "one finding of two cites");
    assert_eq!(r["compliant_reports"].as_u64().unwrap(), compliant);
    assert_eq!(
        compliant as usize,
        reports.len() - 2,
        "the rating of 11 and the non-report"
    );
    assert!(close(
        r["schema_compliance"].as_f64().unwrap(),
        share(compliant, reports.len() as u64)
    ));

    // The table says the same.
    for line in [
        "communities: ".to_string(),
        format!("{:.3}", q0),
        format!(
            "  citation precision {:>10.3}",
            r["citation_precision"].as_f64().unwrap()
        ),
        format!(
            "  schema compliance {:>11.3}",
            r["schema_compliance"].as_f64().unwrap()
        ),
        format!("{covered} of {top} top entities named or cited"),
        "; 1 written for an earlier state of their community".to_string(),
    ] {
        assert!(ran.stdout.contains(&line), "{line:?} in:\n{}", ran.stdout);
    }

    // Gates: at the measured figures they pass; above them they fail, exit 1, one
    // sentence each; a bad limit is a usage error.
    let p = r["citation_precision"].as_f64().unwrap();
    let at = |x: f64| format!("{:.4}", (x * 10000.0).floor() / 10000.0);
    let (q_at, p_at) = (at(q0), at(p));
    let ran = eval(
        &out,
        &[
            "--min-modularity",
            &q_at,
            "--min-citation-precision",
            &p_at,
            "--min-report-coverage",
            "0",
            "--min-citation-recall",
            "0",
            "--min-schema-compliance",
            "0.5",
        ],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let ran = eval(
        &out,
        &[
            "--min-modularity",
            "0.99",
            "--min-citation-precision",
            "0.999",
            "--min-schema-compliance",
            "1",
        ],
    )
    .await;
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    for m in [
        format!("quality gate failed: modularity (level 0) {q0:.3} is below --min-modularity 0.99"),
        format!("quality gate failed: citation precision {p:.3} is below --min-citation-precision 0.999"),
        format!("quality gate failed: report schema compliance {:.3} is below --min-schema-compliance 1", r["schema_compliance"].as_f64().unwrap()),
    ] {
        assert!(ran.stderr.contains(&m), "{m:?} in {}", ran.stderr);
    }
    assert_eq!(eval_json(&out)["gates_failed"].as_array().unwrap().len(), 3);
    let ran = eval(&out, &["--min-citation-recall", "1.5"]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("--min-citation-recall 1.5 is not between 0 and 1"),
        "{}",
        ran.stderr
    );

    // Without a gold file: the same community figures, no scores; a gate on a score fails
    // (nothing to measure it on), the community gates still apply.
    let before = got.clone();
    let ran = run(&["eval", "--out", out.to_str().unwrap()]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.contains("without a gold file") && ran.stdout.contains("communities: "),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("exact, typed"), "{}", ran.stdout);
    let ev = eval_json(&out);
    assert_eq!(ev["communities"], before);
    assert!(ev["entities"]["exact_typed"]["f1"].is_null());
    assert_eq!(ev["run"]["entities"], ents.len());
    let ran = run(&[
        "eval",
        "--out",
        out.to_str().unwrap(),
        "--min-entity-f1",
        "0.1",
        "--min-modularity",
        "0.99",
    ])
    .await;
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("entity F1 could not be measured")
            && ran.stderr.contains("below --min-modularity 0.99"),
        "{}",
        ran.stderr
    );

    // Communities without reports: the report gates say what is missing. One member names
    // no entity (communities older than the outputs): counted and said.
    std::fs::remove_file(out.join("community_reports.jsonl")).unwrap();
    let mut stale = f.communities.clone();
    stale[0]["members"]
        .as_array_mut()
        .unwrap()
        .push(json!("ent_gone"));
    let text: String = stale.iter().map(|c| format!("{c}\n")).collect();
    std::fs::write(out.join("communities.jsonl"), text).unwrap();
    let ran = eval(
        &out,
        &["--min-citation-precision", "0.1", "--min-modularity", "0"],
    )
    .await;
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("citation precision could not be measured (no community_reports.jsonl"),
        "{}",
        ran.stderr
    );
    assert!(
        !ran.stderr.contains("modularity"),
        "the modularity gate passes: {}",
        ran.stderr
    );
    assert!(
        ran.stdout.contains("no community reports"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains("1 members are no entity of the outputs"),
        "{}",
        ran.stdout
    );
    let ev = eval_json(&out);
    assert_eq!(ev["communities"]["unknown_members"], 1);
    for l in 0..2 {
        assert_eq!(
            ev["communities"]["levels"][l]["modularity"], before["levels"][l]["modularity"],
            "the modularity is that of the entities"
        );
    }
}
