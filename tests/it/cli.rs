//! What surrounds a run: the settings file and its precedence (flag > environment > file >
//! default), `config`, shell completions, man pages, `--version`, `run --help`, and the
//! JSON shapes of `status` and `doctor` (golden files in tests/golden/, times, paths and
//! ports redacted; `AEGIS_UPDATE_GOLDEN=1` rewrites them).

use std::path::{Path, PathBuf};
use std::time::Duration;

use fake_engine::{FakeConfig, FakeEngine};
use serde_json::Value;

use crate::support::*;

/// The binary in `dir` (where it looks for aegis.toml), with `env` set and AEGIS_CONFIG unset.
async fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut cmd = command(args);
    cmd.current_dir(dir).env_remove("AEGIS_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("aegis-ingest {args:?} did not finish"))
        .expect("run aegis-ingest");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: Duration::ZERO,
    }
}

fn json(r: &Ran) -> Value {
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", r.stdout, r.stderr))
}

/// `config --format json` in `dir`: the setting `key` as (value, source, detail).
async fn setting(dir: &Path, extra: &[&str], env: &[(&str, &str)], key: &str) -> Value {
    let mut args = vec!["config", "--format", "json"];
    args.extend_from_slice(extra);
    let r = run_in(dir, &args, env).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["schema_version"], 1);
    v["settings"][key].clone()
}

const FILE: &str =
    "# settings for the GPU box\nout = \"file-out\"\nconcurrency = 8\nno-ollama = true\n";

fn dir_with_file(text: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("aegis.toml"), text).unwrap();
    d
}

#[tokio::test]
async fn precedence_default_layer_when_nothing_sets_a_flag() {
    let d = tempfile::tempdir().unwrap();
    let s = setting(d.path(), &[], &[], "out").await;
    assert_eq!(s["value"], "./aegis-out");
    assert_eq!(s["source"], "default");
    let s = setting(d.path(), &[], &[], "no-ollama").await;
    assert_eq!(
        (s["value"].clone(), s["source"].clone()),
        (false.into(), "default".into())
    );
}

#[tokio::test]
async fn precedence_file_layer_over_the_default_with_its_line() {
    let d = dir_with_file(FILE);
    let s = setting(d.path(), &[], &[], "out").await;
    assert_eq!(s["value"], "file-out");
    assert_eq!(s["source"], "file");
    assert_eq!(s["line"], 2);
    assert_eq!(s["file"], "aegis.toml");
    let s = setting(d.path(), &[], &[], "concurrency").await;
    assert_eq!(
        (s["value"].clone(), s["line"].clone()),
        ("8".into(), 3.into())
    );
    let s = setting(d.path(), &[], &[], "no-ollama").await;
    assert_eq!(
        (s["value"].clone(), s["source"].clone()),
        (true.into(), "file".into())
    );
    // Keys the file does not set keep their defaults.
    let s = setting(d.path(), &[], &[], "chunk-tokens").await;
    assert_eq!(
        (s["value"].clone(), s["source"].clone()),
        ("1200".into(), "default".into())
    );
}

#[tokio::test]
async fn precedence_env_layer_over_the_file() {
    let d = dir_with_file(FILE);
    let env = [("AEGIS_OUT", "env-out"), ("AEGIS_CONCURRENCY", "16")];
    let s = setting(d.path(), &[], &env, "out").await;
    assert_eq!(s["value"], "env-out");
    assert_eq!(s["source"], "env");
    assert_eq!(s["env"], "AEGIS_OUT");
    let s = setting(d.path(), &[], &env, "concurrency").await;
    assert_eq!(
        (s["value"].clone(), s["source"].clone()),
        ("16".into(), "env".into())
    );
}

#[tokio::test]
async fn precedence_flag_layer_over_env_and_file() {
    let d = dir_with_file(FILE);
    let env = [("AEGIS_OUT", "env-out")];
    let s = setting(d.path(), &["--out", "flag-out"], &env, "out").await;
    assert_eq!(s["value"], "flag-out");
    assert_eq!(s["source"], "flag");
    // The text form names the layer of every setting.
    let r = run_in(d.path(), &["config", "--out", "flag-out"], &env).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let line = |k: &str| {
        r.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(k))
            .unwrap_or_else(|| panic!("no {k} in {}", r.stdout))
            .to_string()
    };
    assert!(line("out").ends_with("flag"), "{}", r.stdout);
    assert!(
        line("concurrency").ends_with("file aegis.toml:3"),
        "{}",
        r.stdout
    );
    assert!(line("vllm-url").ends_with("default"), "{}", r.stdout);
}

#[tokio::test]
async fn a_flag_that_conflicts_with_a_file_key_wins_over_it() {
    // `domain` and `prompts` cannot go together: the typed --prompts sets the file's
    // domain aside, as it would a default.
    let d = dir_with_file("domain = \"legal\"\n");
    let s = setting(d.path(), &["--prompts", "./mine"], &[], "domain").await;
    assert_eq!(
        (s["value"].clone(), s["source"].clone()),
        ("general".into(), "default".into())
    );
    let s = setting(d.path(), &[], &[], "domain").await;
    assert_eq!(
        (s["value"].clone(), s["source"].clone()),
        ("legal".into(), "file".into())
    );
}

#[tokio::test]
async fn a_run_takes_its_settings_from_the_file_and_status_finds_its_out() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let c = case(3, 2);
    let url = fake.url();
    std::fs::write(
        c.tmp.path().join("aegis.toml"),
        format!(
            "vllm-url = \"{url}\"\nno-ollama = true\nout = \"graph-out\"\nchunk-tokens = 60\nchunk-overlap = 0\nquiet = true\n"
        ),
    )
    .unwrap();
    let r = run_in(c.tmp.path(), &["run", "corpus"], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let out = c.tmp.path().join("graph-out");
    check_outputs(&out);
    assert_eq!(
        entities_by_doc(&read_jsonl(&out.join("entities.jsonl"))),
        expected_entities(&c.corpus, 60, 0)
    );
    // `status` has --out too: the file serves it as well.
    let r = run_in(c.tmp.path(), &["status"], &[]).await;
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("complete: outputs in graph-out"),
        "{}",
        r.stdout
    );
}

#[tokio::test]
async fn an_unknown_key_is_an_error_naming_the_key_and_the_line() {
    let d = dir_with_file("out = \"x\"\n\nvllm_url = \"http://gpu1:8001\"\n");
    let r = run_in(d.path(), &["run", "."], &[]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("aegis.toml:3: unknown key `vllm_url`"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("did you mean `vllm-url`?"),
        "{}",
        r.stderr
    );
    // Every subcommand reads the file, so every one refuses it.
    let r = run_in(d.path(), &["status"], &[]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    // A bad value names its line too.
    let d = dir_with_file("request-timeout = \"soon\"\n");
    let r = run_in(d.path(), &["config"], &[]).await;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("aegis.toml:1: `request-timeout`"),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn config_flag_and_env_choose_the_file() {
    let d = dir_with_file(FILE);
    std::fs::write(d.path().join("other.toml"), "out = \"other-out\"\n").unwrap();
    let s = setting(d.path(), &["--config", "other.toml"], &[], "out").await;
    assert_eq!(
        (s["value"].clone(), s["file"].clone()),
        ("other-out".into(), "other.toml".into())
    );
    let s = setting(d.path(), &[], &[("AEGIS_CONFIG", "other.toml")], "out").await;
    assert_eq!(s["value"], "other-out");
    // Among the run flags that `config` shows, too.
    let s = setting(
        d.path(),
        &["--concurrency", "8", "--config", "other.toml"],
        &[],
        "out",
    )
    .await;
    assert_eq!(s["value"], "other-out");
    let r = run_in(d.path(), &["run", ".", "--config", "missing.toml"], &[]).await;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--config missing.toml: no such file"),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn completions_for_each_shell_name_the_subcommands_and_flags() {
    let d = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let r = run_in(d.path(), &["completions", shell], &[]).await;
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        for word in [
            "run",
            "status",
            "doctor",
            "config",
            "completions",
            "vllm-url",
            "no-ollama",
        ] {
            assert!(r.stdout.contains(word), "{shell} completions lack {word}");
        }
    }
    let r = run_in(d.path(), &["completions", "tcsh"], &[]).await;
    assert_eq!(r.code, 2);
}

#[tokio::test]
async fn man_pages_come_from_the_same_definitions() {
    let d = tempfile::tempdir().unwrap();
    let r = run_in(d.path(), &["man"], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(".ie") || r.stdout.contains(".TH"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("aegis\\-ingest") && r.stdout.contains("doctor"));
    let pages = d.path().join("man1");
    let r = run_in(d.path(), &["man", "--dir", "man1"], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let run_page = std::fs::read_to_string(pages.join("aegis-ingest-run.1")).unwrap();
    assert!(run_page.contains("vllm\\-url") && run_page.contains("AEGIS_VLLM_URL"));
    for page in [
        "aegis-ingest.1",
        "aegis-ingest-status.1",
        "aegis-ingest-doctor.1",
    ] {
        assert!(pages.join(page).is_file(), "{page} missing");
    }
}

#[tokio::test]
async fn version_names_the_commit_and_the_default_prompt_fingerprint() {
    let d = tempfile::tempdir().unwrap();
    let r = run_in(d.path(), &["--version"], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with(&format!("aegis-ingest {}\n", env!("CARGO_PKG_VERSION"))),
        "{}",
        r.stdout
    );
    let general = aegis_ingest::prompt::PromptSet::load_domain(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts"),
        "general",
    )
    .unwrap();
    assert!(
        r.stdout.contains(&format!(
            "prompt fingerprint (general): {}",
            general.fingerprint
        )),
        "{}",
        r.stdout
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    match head {
        // Built from this checkout: the commit it was built at (HEAD, unless a commit
        // happened since the last build).
        Some(_) => {
            let line = r
                .stdout
                .lines()
                .find(|l| l.starts_with("commit: "))
                .unwrap();
            let hash = line.trim_start_matches("commit: ");
            assert!(
                hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
                "{line}"
            );
        }
        None => assert!(r.stdout.contains("commit: unknown"), "{}", r.stdout),
    }
    let r = run_in(d.path(), &["-V"], &[]).await;
    assert!(r.stdout.starts_with(&format!(
        "aegis-ingest {} (commit ",
        env!("CARGO_PKG_VERSION")
    )));
}

#[tokio::test]
async fn run_help_shows_the_examples_of_readme_usage() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let usage = &readme[readme.find("## Usage").unwrap()..];
    let block = &usage[usage.find("Examples:\n\n").unwrap() + 11..usage.find("### ").unwrap()];
    let from_readme: Vec<&str> = block.trim_end().lines().map(|l| l.trim()).collect();
    let d = tempfile::tempdir().unwrap();
    let r = run_in(d.path(), &["run", "--help"], &[]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let help = &r.stdout[r
        .stdout
        .find("Examples:\n")
        .expect("no examples in run --help")
        + 10..];
    let from_help: Vec<&str> = help.trim_end().lines().map(|l| l.trim()).collect();
    assert_eq!(from_help, from_readme);
}

/// Replaces what differs between runs: the temp folder, the fake's URL, the binary's path,
/// clocks and rates
/// (checked to be numbers first).
fn redact(v: &mut Value, tmp: &str, url: &str) {
    match v {
        Value::String(s) => {
            *s = s
                .replace(url, "[URL]")
                .replace(tmp, "[TMP]")
                .replace(BIN, "[BIN]")
        }
        Value::Array(a) => a.iter_mut().for_each(|x| redact(x, tmp, url)),
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                let volatile = [
                    "last_activity_unix",
                    "last_activity_secs_ago",
                    "finished_at_unix",
                    "wall_seconds",
                    "chunks_per_second",
                    "eta_seconds",
                    "bytes",
                ];
                if volatile.contains(&k.as_str()) && !x.is_null() {
                    assert!(x.as_f64().is_some_and(|n| n >= 0.0), "{k}: {x}");
                    *x = Value::String("[redacted]".into());
                } else {
                    redact(x, tmp, url);
                }
            }
        }
        _ => {}
    }
}

fn assert_golden(name: &str, actual: &Value) {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
    if std::env::var_os("AEGIS_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (AEGIS_UPDATE_GOLDEN=1 writes it)", path.display()));
    assert!(
        text == want,
        "{name} changed shape; if on purpose, document it in README (raise schema_version when a \
         field changes meaning or goes away) and rerun with AEGIS_UPDATE_GOLDEN=1\n--- got\n{text}--- want\n{want}"
    );
}

#[tokio::test]
async fn status_json_shape_with_an_eta_from_the_last_run() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let c = case(3, 2);
    let url = fake.url();
    let r = run(&c.args(&url, &["--quiet"])).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The corpus grows by two short documents (a chunk each): two chunks pending.
    for i in 0..2 {
        std::fs::write(
            c.corpus.join(format!("new{i}.md")),
            format!(
                "# New {i}\n\nNewcorp{i} hired Newperson{i} in Newcity{i}, and the board approved the plan after a long review of the budget.\n\n\
                 Otherco{i} opened an office in Othertown{i} and the team shipped a product on time after a long review of the risks.\n"
            ),
        )
        .unwrap();
    }
    let out = c.out.to_str().unwrap();
    let r = run_in(
        c.tmp.path(),
        &["status", "--out", out, "--format", "json"],
        &[],
    )
    .await;
    assert_eq!(r.code, 1, "pending chunks: exit 1\n{}", r.stderr);
    let mut v = json(&r);
    assert_eq!(v["chunks"]["pending"], 2, "{v:#}");
    assert_eq!(
        (
            v["documents"]["done"].clone(),
            v["documents"]["total"].clone()
        ),
        (3.into(), 5.into())
    );
    let rate = v["last_run"]["chunks_per_second"].as_f64().unwrap();
    let eta = v["eta_seconds"].as_f64().unwrap();
    assert!((eta - 2.0 / rate).abs() <= 0.006, "eta {eta}, rate {rate}");
    assert!(v["resume_command"].as_str().unwrap().contains(&url));
    redact(&mut v, c.tmp.path().to_str().unwrap(), &url);
    assert_golden("status.json", &v);
    // The text form gives the same ETA.
    let r = run_in(c.tmp.path(), &["status", "--out", out], &[]).await;
    assert!(r.stdout.contains("time left:      about "), "{}", r.stdout);
}

#[tokio::test]
async fn doctor_json_shape() {
    let fake = FakeEngine::start(FakeConfig::new()).await.unwrap();
    let url = fake.url();
    let d = tempfile::tempdir().unwrap();
    let r = run_in(
        d.path(),
        &[
            "doctor",
            "--vllm-url",
            &url,
            "--no-ollama",
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut v = json(&r);
    assert_eq!(v["usable"], true);
    redact(&mut v, d.path().to_str().unwrap(), &url);
    assert_golden("doctor.json", &v);
    // Nothing usable: the same shape, exit 3.
    let r = run_in(
        d.path(),
        &[
            "doctor",
            "--vllm-url",
            "http://127.0.0.1:9",
            "--no-ollama",
            "--format",
            "json",
        ],
        &[],
    )
    .await;
    assert_eq!(r.code, 3, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["usable"], false);
    assert_eq!(v["engines"][0]["reachable"], false);
    assert!(v["engines"][0]["error"].is_string(), "{v:#}");
}
