//! `aegis.toml`: the flags of `run` kept in a file, so a run with a dozen settings is not
//! retyped. Keys are the long flag names without the dashes (`vllm-url = "http://gpu1:8001"`,
//! `no-ollama = true`, `include = ["*.md"]`); the precedence is flag > environment > file >
//! built-in default.
//!
//! This works over clap's definition of the command line, not over a list of its own: a key
//! is valid when `run` has a flag of that long name, and its value becomes that argument's
//! default before parsing. clap then lays the environment and the command line over it, and
//! `ArgMatches::value_source` tells afterwards which layer won. A flag added to `RunArgs`
//! is therefore a valid key, checked and shown by `aegis-ingest config`, with no change here.
//! The same values serve every subcommand that has the flag (`status` reads `out`, `doctor`
//! the engine flags).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, FromArgMatches};
use serde::Serialize;
use serde_json::Value;
use toml::de::{DeTable, DeValue};

use crate::cli::{Cli, ConfigArgs, OutputFormat};
use crate::error::ExitCode;

/// Looked for in the current folder when neither `--config` nor `AEGIS_CONFIG` names a file.
pub const FILE_NAME: &str = "aegis.toml";
/// Names the settings file (as `--config` does).
pub const ENV_VAR: &str = "AEGIS_CONFIG";
/// The subcommand whose long flags are the file's keys.
const KEYS_FROM: &str = "run";
/// Shape of `config --format json`; raised when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// One key of the file, its values as command-line strings, and where it is.
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub values: Vec<String>,
    pub line: usize,
}

/// A loaded and checked settings file.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

impl ConfigFile {
    fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.key == key)
    }
}

/// The command line parsed with the settings file under it.
pub struct Parsed {
    pub cli: Cli,
    pub file: Option<ConfigFile>,
}

/// `--config FILE` as typed (read before clap parses, since the file changes the parse).
fn explicit_path(argv: &[OsString]) -> Option<PathBuf> {
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(rest) = a.to_str().and_then(|s| s.strip_prefix("--config=")) {
            return Some(PathBuf::from(rest));
        }
    }
    None
}

/// Which file to read: `--config`, else `AEGIS_CONFIG`, else `./aegis.toml` if present.
fn locate(explicit: Option<PathBuf>) -> Result<Option<PathBuf>, String> {
    if let Some(p) = explicit {
        if !p.is_file() {
            return Err(format!(
                "--config {}: no such file; pass an existing TOML file (or drop --config to use ./{FILE_NAME} when present)",
                p.display()
            ));
        }
        return Ok(Some(p));
    }
    if let Some(v) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        if !p.is_file() {
            return Err(format!(
                "{ENV_VAR}={}: no such file; point it at an existing TOML file or unset it",
                p.display()
            ));
        }
        return Ok(Some(p));
    }
    let here = PathBuf::from(FILE_NAME);
    Ok(here.is_file().then_some(here))
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Arguments that can be keys: named flags, not help/version, not `--config` itself.
fn is_settable(a: &Arg) -> bool {
    a.get_long().is_some()
        && !a.is_positional()
        && a.get_id() != "config"
        && !matches!(
            a.get_action(),
            ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
        )
}

fn takes_many(a: &Arg) -> bool {
    matches!(a.get_action(), ArgAction::Append)
        || a.get_num_args().is_some_and(|r| r.max_values() > 1)
}

fn scalar(v: &DeValue<'_>) -> Option<String> {
    match v {
        DeValue::String(s) => Some(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .ok()
            .map(|n| n.to_string()),
        DeValue::Float(f) => Some(f.as_str().to_string()),
        DeValue::Boolean(b) => Some(b.to_string()),
        DeValue::Datetime(_) | DeValue::Array(_) | DeValue::Table(_) => None,
    }
}

/// Runs the values through the argument's own parser (a one-argument command), so a bad
/// value is reported with the file's line rather than as a puzzling default.
fn check_values(arg: &Arg, long: &str, values: &[String]) -> Result<(), String> {
    let mut probe = Arg::new("value")
        .long(long.to_string())
        .action(arg.get_action().clone())
        .value_parser(arg.get_value_parser().clone())
        .allow_hyphen_values(true);
    if let Some(n) = arg.get_num_args() {
        probe = probe.num_args(n);
    }
    if let Some(names) = arg.get_value_names() {
        probe = probe.value_names(names.to_vec());
    }
    let argv = values.iter().map(|v| format!("--{long}={v}"));
    match Command::new(FILE_NAME)
        .no_binary_name(true)
        .arg(probe)
        .try_get_matches_from(argv)
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = e.to_string();
            let first: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            Err(first.join(" ").trim_start_matches("error: ").to_string())
        }
    }
}

/// Reads and checks the file against `run`'s arguments (`run` must be built, so that its
/// arguments are complete).
pub fn load(path: &Path, run: &Command) -> Result<ConfigFile, String> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!("cannot read the settings file {shown}: {e}; fix its permissions or point --config at another file")
    })?;
    let table = DeTable::parse(&text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(&text, s.start));
        format!(
            "{shown}:{line}: not valid TOML ({}); fix that line (a key per line, e.g. vllm-url = \"http://gpu1:8001\")",
            e.message()
        )
    })?;
    let settable: Vec<&Arg> = run.get_arguments().filter(|a| is_settable(a)).collect();
    let mut entries = Vec::new();
    for (key, value) in table.get_ref().iter() {
        let line = line_of(&text, key.span().start);
        let name = key.get_ref().as_ref();
        let Some(arg) = settable.iter().find(|a| a.get_long() == Some(name)) else {
            let near = settable
                .iter()
                .filter_map(|a| a.get_long())
                .map(|l| (strsim::levenshtein(name, l), l))
                .min()
                .filter(|(d, _)| *d <= 3)
                .map(|(_, l)| format!("did you mean `{l}`? "))
                .unwrap_or_default();
            return Err(format!(
                "{shown}:{line}: unknown key `{name}`: {near}keys are the long flags of `aegis-ingest run` without the dashes (see `aegis-ingest run --help`); fix or remove it"
            ));
        };
        let at = format!("{shown}:{line}: `{name}`");
        let values = values_of(arg, name, value.get_ref(), &at)?;
        if arg.get_action().takes_values() {
            check_values(arg, name, &values).map_err(|e| format!("{at}: {e}; fix the value"))?;
        }
        entries.push(Entry {
            key: name.to_string(),
            values,
            line,
        });
    }
    entries.sort_by_key(|e| e.line);
    check_conflicts(run, &settable, &entries, &shown.to_string())?;
    Ok(ConfigFile {
        path: path.to_path_buf(),
        entries,
    })
}

/// A key's value(s) as command-line strings, checked against the flag's shape (a switch, one
/// value, or a list).
fn values_of(arg: &Arg, name: &str, value: &DeValue<'_>, at: &str) -> Result<Vec<String>, String> {
    Ok(if !arg.get_action().takes_values() {
        let ok = match arg.get_action() {
            ArgAction::Count => value.is_integer(),
            _ => value.is_bool(),
        };
        if !ok {
            return Err(format!(
                "{at} is a switch: write `{name} = true` (or false)"
            ));
        }
        vec![scalar(value).unwrap_or_default()]
    } else {
        match value {
            DeValue::Array(items) if takes_many(arg) => items
                .iter()
                .map(|i| scalar(i.get_ref()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| format!("{at}: write a list of strings or numbers"))?,
            DeValue::Array(_) => {
                return Err(format!(
                    "{at} takes one value, not a list: write `{name} = \"...\"`"
                ))
            }
            v => vec![scalar(v).ok_or_else(|| {
                format!(
                    "{at}: write a string, a number or true/false (not a {})",
                    v.type_str()
                )
            })?],
        }
    })
}

/// Two keys the command line would refuse together (e.g. `domain` and `prompts`).
fn check_conflicts(
    run: &Command,
    settable: &[&Arg],
    entries: &[Entry],
    shown: &str,
) -> Result<(), String> {
    for e in entries {
        let Some(arg) = settable.iter().find(|a| a.get_long() == Some(&e.key)) else {
            continue;
        };
        for other in run.get_arg_conflicts_with(arg) {
            if let Some(o) = other
                .get_long()
                .and_then(|l| entries.iter().find(|x| x.key == l))
            {
                // clap lists a conflict on one side only: report the later line.
                let (first, second) = if o.line < e.line { (o, e) } else { (e, o) };
                return Err(format!(
                    "{shown}:{}: `{}` cannot be used with `{}` (line {}): keep one of them",
                    second.line, second.key, first.key, first.line
                ));
            }
        }
    }
    Ok(())
}

/// Makes the file's values the defaults of every (sub)command that has the flag, except
/// the keys in `skip`.
fn with_defaults(mut cmd: Command, file: &ConfigFile, skip: &[String]) -> Command {
    for e in &file.entries {
        if skip.contains(&e.key) {
            continue;
        }
        let found = cmd
            .get_arguments()
            .find(|a| is_settable(a) && a.get_long() == Some(e.key.as_str()))
            .map(|a| (a.get_id().clone(), a.is_hide_env_values_set()));
        if let Some((id, secret)) = found {
            let values = e.values.clone();
            // A secret (an API key) must not show up in `--help` as a default.
            cmd = cmd.mut_arg(id, |a| a.default_values(values).hide_default_value(secret));
        }
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in subs {
        cmd = cmd.mut_subcommand(name, |sc| with_defaults(sc, file, skip));
    }
    cmd
}

/// The innermost subcommand invoked, as built (with its global arguments) and matched.
fn leaf<'a>(cmd: &'a Command, m: &'a ArgMatches) -> (&'a Command, &'a ArgMatches) {
    match m.subcommand() {
        Some((name, sub)) => match cmd.find_subcommand(name) {
            Some(sc) => leaf(sc, sub),
            None => (cmd, m),
        },
        None => (cmd, m),
    }
}

fn explicit(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// File keys in force that conflict with a flag or variable given explicitly: the file
/// yields to them (as a default would), e.g. `domain` in the file and `--prompts` typed.
fn yielded(built: &Command, m: &ArgMatches, file: &ConfigFile) -> Vec<String> {
    let (cmd, m) = leaf(built, m);
    let mut out = Vec::new();
    for arg in cmd.get_arguments().filter(|a| is_settable(a)) {
        let Some(long) = arg.get_long() else { continue };
        if file.entry(long).is_none() || explicit(m, arg.get_id().as_str()) {
            continue;
        }
        if cmd
            .get_arg_conflicts_with(arg)
            .iter()
            .any(|c| explicit(m, c.get_id().as_str()))
        {
            out.push(long.to_string());
        }
    }
    out
}

fn built(cmd: &Command) -> Command {
    let mut b = cmd.clone();
    b.build();
    b
}

/// Parses `argv` over `base` with the settings file under it. `Err` is the exit code after
/// clap or the file's check printed why.
fn parse_layered(
    base: &Command,
    argv: &[OsString],
    explicit_config: Option<PathBuf>,
) -> Result<(ArgMatches, Command, Option<ConfigFile>), i32> {
    let file = locate(explicit_config)
        .and_then(|path| {
            let b = built(base);
            let run = b
                .find_subcommand(KEYS_FROM)
                .ok_or_else(|| format!("internal error: no `{KEYS_FROM}` subcommand"))?;
            path.map(|p| load(&p, run)).transpose()
        })
        .map_err(|msg| {
            crate::errln!("aegis-ingest: {msg}");
            ExitCode::Usage as i32
        })?;
    let mut skip: Vec<String> = Vec::new();
    loop {
        let cmd = match &file {
            Some(f) => with_defaults(base.clone(), f, &skip),
            None => base.clone(),
        };
        let matches = match cmd.clone().try_get_matches_from(argv) {
            Ok(m) => m,
            Err(e) => {
                let _ = e.print();
                return Err(if e.use_stderr() {
                    ExitCode::Usage as i32
                } else {
                    0
                });
            }
        };
        let b = built(&cmd);
        if let Some(f) = &file {
            let more = yielded(&b, &matches, f);
            if !more.is_empty() && skip.is_empty() {
                skip = more;
                continue;
            }
        }
        return Ok((matches, b, file));
    }
}

/// The whole command line: locate and check the settings file, parse with it, build `Cli`.
pub fn parse_command_line(argv: Vec<OsString>) -> Result<Parsed, i32> {
    let wants_long_version = argv.iter().skip(1).any(|a| a == "--version");
    let base = crate::cli::command(wants_long_version);
    let (matches, _, file) = parse_layered(&base, &argv, explicit_path(&argv))?;
    match Cli::from_arg_matches(&matches) {
        Ok(cli) => Ok(Parsed { cli, file }),
        Err(e) => {
            let _ = e.print();
            Err(ExitCode::Usage as i32)
        }
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum Source {
    Flag,
    Env { env: String },
    File { file: String, line: usize },
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag => write!(f, "flag"),
            Source::Env { env } => write!(f, "env {env}"),
            Source::File { file, line } => write!(f, "file {file}:{line}"),
            Source::Default => write!(f, "default"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    /// A string, a list of strings (repeatable flags), a boolean (switches), or null (unset).
    pub value: Value,
    #[serde(flatten)]
    pub source: Source,
}

/// `config --format json` (README: "Machine-readable output").
#[derive(Debug, Clone, Serialize)]
pub struct EffectiveSettings {
    pub schema_version: u32,
    /// The settings file read, or null.
    pub config_file: Option<String>,
    /// Every flag of `run`, by long name.
    pub settings: BTreeMap<String, Setting>,
}

/// The effective settings of `run` with `run_args`, and the layer each came from.
pub fn effective(config: Option<PathBuf>, run_args: &[OsString]) -> Result<EffectiveSettings, i32> {
    // CORPUS is not a setting: leave it optional here.
    let base = crate::cli::command(false).mut_subcommand(KEYS_FROM, |sc| {
        sc.mut_args(|a| {
            if a.is_positional() {
                a.required(false)
            } else {
                a
            }
        })
    });
    let mut argv: Vec<OsString> = vec!["aegis-ingest".into(), KEYS_FROM.into()];
    argv.extend(run_args.iter().cloned());
    // `--config` may also sit among the run flags (`config --concurrency 8 --config x.toml`).
    let explicit_config = config.or_else(|| explicit_path(&argv));
    let (matches, b, file) = parse_layered(&base, &argv, explicit_config)?;
    let (cmd, m) = leaf(&b, &matches);
    let mut settings = BTreeMap::new();
    for arg in cmd.get_arguments().filter(|a| is_settable(a)) {
        let Some(long) = arg.get_long() else { continue };
        let id = arg.get_id().as_str();
        let raw: Option<Vec<String>> = m
            .get_raw(id)
            .map(|vs| vs.map(|v| v.to_string_lossy().into_owned()).collect());
        let source = match m.value_source(id) {
            Some(ValueSource::CommandLine) => Source::Flag,
            Some(ValueSource::EnvVariable) => Source::Env {
                env: arg
                    .get_env()
                    .map(|e| e.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            },
            _ => match file.as_ref().and_then(|f| f.entry(long).map(|e| (f, e))) {
                Some((f, e)) if raw.as_deref() == Some(e.values.as_slice()) => Source::File {
                    file: f.path.display().to_string(),
                    line: e.line,
                },
                _ => Source::Default,
            },
        };
        let value = match raw {
            None => Value::Null,
            Some(_) if arg.is_hide_env_values_set() => Value::String("(hidden)".into()),
            Some(v) if !arg.get_action().takes_values() => match v.first().map(String::as_str) {
                Some("true") => Value::Bool(true),
                Some("false") => Value::Bool(false),
                other => Value::String(other.unwrap_or_default().to_string()),
            },
            Some(v) if takes_many(arg) => Value::from(v),
            Some(mut v) => Value::String(v.pop().unwrap_or_default()),
        };
        settings.insert(long.to_string(), Setting { value, source });
    }
    Ok(EffectiveSettings {
        schema_version: SCHEMA_VERSION,
        config_file: file.map(|f| f.path.display().to_string()),
        settings,
    })
}

/// `aegis-ingest config`.
pub fn show(config: Option<PathBuf>, args: &ConfigArgs) -> anyhow::Result<ExitCode> {
    let eff = match effective(config, &args.run_args) {
        Ok(e) => e,
        Err(code) => {
            return Ok(if code == 0 {
                ExitCode::Done
            } else {
                ExitCode::Usage
            })
        }
    };
    let text = match args.format {
        OutputFormat::Json => serde_json::to_string_pretty(&eff)? + "\n",
        OutputFormat::Text => {
            let mut s = match &eff.config_file {
                Some(p) => format!("settings file: {p}\n"),
                None => format!(
                    "settings file: none (no --config, {ENV_VAR} unset, no ./{FILE_NAME})\n"
                ),
            };
            let width = eff.settings.keys().map(String::len).max().unwrap_or(0);
            for (k, v) in &eff.settings {
                let value = match &v.value {
                    Value::Null => "(unset)".to_string(),
                    other => other.to_string(),
                };
                s.push_str(&format!("{k:<width$}  {value:<32}  {}\n", v.source));
            }
            s
        }
    };
    crate::progress::print_stdout(&text)?;
    Ok(ExitCode::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_cmd() -> Command {
        let b = built(&crate::cli::command(false));
        b.find_subcommand(KEYS_FROM).unwrap().clone()
    }

    fn load_text(text: &str) -> Result<ConfigFile, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE_NAME);
        std::fs::write(&p, text).unwrap();
        load(&p, &run_cmd())
    }

    #[test]
    fn keys_become_command_line_values() {
        let f = load_text(
            "out = \"graph-out\"\n# a comment\nno-ollama = true\nconcurrency = 64\ninclude = [\"*.md\", \"*.txt\"]\n",
        )
        .unwrap();
        let got: Vec<(&str, Vec<&str>, usize)> = f
            .entries
            .iter()
            .map(|e| {
                (
                    e.key.as_str(),
                    e.values.iter().map(String::as_str).collect(),
                    e.line,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("out", vec!["graph-out"], 1),
                ("no-ollama", vec!["true"], 3),
                ("concurrency", vec!["64"], 4),
                ("include", vec!["*.md", "*.txt"], 5),
            ]
        );
    }

    #[test]
    fn bad_values_name_the_line_and_the_fix() {
        let e = load_text("out = \"x\"\nrequest-timeout = \"soon\"\n").unwrap_err();
        assert!(e.contains(":2: `request-timeout`"), "{e}");
        assert!(e.contains("soon"), "{e}");
        let e = load_text("no-vllm = \"yes\"\n").unwrap_err();
        assert!(e.contains("is a switch: write `no-vllm = true`"), "{e}");
        let e = load_text("domain = [\"a\", \"b\"]\n").unwrap_err();
        assert!(e.contains("takes one value"), "{e}");
        let e = load_text("log-format = \"xml\"\n").unwrap_err();
        assert!(e.contains(":1:") && e.contains("xml"), "{e}");
        let e = load_text("vllm-url = \n").unwrap_err();
        assert!(e.contains(":1: not valid TOML"), "{e}");
        let e = load_text("domain = \"general\"\nprompts = \"./p\"\n").unwrap_err();
        assert!(
            e.contains(":2: `prompts` cannot be used with `domain` (line 1)"),
            "{e}"
        );
    }

    #[test]
    fn a_misspelt_key_gets_a_suggestion() {
        let e = load_text("\n\nvllm_url = \"http://x\"\n").unwrap_err();
        assert!(e.contains(":3: unknown key `vllm_url`"), "{e}");
        assert!(e.contains("did you mean `vllm-url`?"), "{e}");
    }

    #[test]
    fn explicit_path_reads_both_spellings_and_stops_at_double_dash() {
        let v = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            explicit_path(&v(&["x", "run", "--config", "a.toml", "d"])),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            explicit_path(&v(&["x", "--config=b.toml", "status"])),
            Some(PathBuf::from("b.toml"))
        );
        assert_eq!(explicit_path(&v(&["x", "run", "--", "--config"])), None);
    }
}
