//! The house rules of the source tree, checked on every `make test` (ARCHITECTURE.md says
//! why each exists):
//! - no import circle: among the top-level modules of `src/`, and among its files (a
//!   folder's `mod.rs` and its children included);
//! - no function over 120 lines, and at most 5 over 80;
//! - no file over 800 lines.
//!
//! A module "uses" another when its code (tests left out) names a path into it:
//! `crate::a::b::Item`, `super::Item`, `super::b::Item`, or a child module `b::Item`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_FN_LINES: usize = 120;
const LONG_FN_LINES: usize = 80;
const MAX_LONG_FNS: usize = 5;
const MAX_FILE_LINES: usize = 800;

/// Every `.rs` file under `src/` with its module path (`run::producer`; `""` for the crate root).
fn modules() -> BTreeMap<String, PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|l| l == "mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] {
                parts.clear();
            }
            out.insert(parts.join("::"), p);
        }
    }
    out
}

/// The code of a file without its unit tests and comments.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The `::`-separated identifiers of the path starting at `at` in `code`, and the names in a
/// `{ ... }` group when the path ends in one (`super::{a, b::C}` gives `a` and `b::C`).
fn paths_at(code: &str, at: usize) -> Vec<Vec<String>> {
    let rest = &code[at..];
    if let Some(group) = rest.strip_prefix('{') {
        let end = group.find('}').unwrap_or(group.len());
        return group[..end]
            .split(',')
            .map(|p| p.trim())
            .filter(|p| !p.is_empty() && *p != "self" && *p != "*")
            .map(|p| p.split("::").map(str::to_string).collect())
            .collect();
    }
    let mut parts = Vec::new();
    let mut s = rest;
    loop {
        let n = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
        if n == 0 {
            break;
        }
        parts.push(s[..n].to_string());
        match s[n..].strip_prefix("::") {
            Some(more) if more.starts_with(is_ident) => s = more,
            _ => break,
        }
    }
    vec![parts]
}

/// The longest prefix of `base + parts` that is a module.
fn resolve(mods: &BTreeMap<String, PathBuf>, base: &[String], parts: &[String]) -> Option<String> {
    let full: Vec<&str> = base.iter().chain(parts).map(String::as_str).collect();
    (0..=full.len())
        .rev()
        .map(|k| full[..k].join("::"))
        .find(|m| mods.contains_key(m))
}

/// Which modules each module uses.
fn uses(mods: &BTreeMap<String, PathBuf>) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges = BTreeMap::new();
    for (m, path) in mods {
        let code = code_of(path);
        let segs: Vec<String> = m
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let parent: Vec<String> = segs[..segs.len().saturating_sub(1)].to_vec();
        let mut to = BTreeSet::new();
        for (needle, base) in [("crate::", Vec::new()), ("super::", parent.clone())] {
            for (i, _) in code.match_indices(needle) {
                if i > 0 && code[..i].ends_with(is_ident) {
                    continue;
                }
                if needle == "super::" && code[i + needle.len()..].starts_with('*') {
                    to.insert(parent.join("::"));
                }
                for p in paths_at(&code, i + needle.len()) {
                    to.extend(resolve(mods, &base, &p));
                }
            }
        }
        // Children named directly (`tokens::Counter`, `pub use document::Document`).
        for child in mods.keys() {
            let Some(name) = child
                .strip_prefix(&format!("{m}::"))
                .filter(|_| !m.is_empty())
                .or_else(|| (m.is_empty()).then_some(child.as_str()))
            else {
                continue;
            };
            if name.contains("::") {
                continue;
            }
            let needle = format!("{name}::");
            let named = code
                .match_indices(&needle)
                .any(|(i, _)| i == 0 || !code[..i].ends_with(|c: char| is_ident(c) || c == ':'));
            if named {
                to.insert(child.clone());
            }
        }
        to.remove(m);
        to.remove("");
        edges.insert(m.clone(), to);
    }
    edges
}

/// The groups of modules that use each other in a circle (Tarjan's strongly connected
/// components of more than one module).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        if let Some(ws) = t.edges.get(v) {
            for w in ws {
                let w = w.as_str();
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let lw = t.low[w];
                    let lv = t.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if t.on.contains(w) {
                    let iw = t.index[w];
                    let lv = t.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut group = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                group.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                t.out.push(group);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_import_circle_among_files() {
    let mods = modules();
    let found = circles(&uses(&mods));
    assert!(found.is_empty(), "modules that use each other: {found:?}");
}

#[test]
fn no_import_circle_among_top_level_modules() {
    let mods = modules();
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (a, bs) in uses(&mods) {
        let ta = a.split("::").next().unwrap_or("").to_string();
        for b in bs {
            let tb = b.split("::").next().unwrap_or("").to_string();
            if !ta.is_empty() && ta != tb {
                top.entry(ta.clone()).or_default().insert(tb);
            }
        }
    }
    let found = circles(&top);
    assert!(
        found.is_empty(),
        "top-level modules that use each other: {found:?}"
    );
}

/// The circle finder finds a planted circle (so the two tests above can fail).
#[test]
fn the_circle_finder_finds_a_planted_circle() {
    let mut mods = BTreeMap::new();
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("a", "use crate::b::Thing;\n"),
        ("b", "pub struct Thing; fn f() { crate::c::g() }\n"),
        ("c", "pub fn g() { super::a::h() }\n"),
        ("d", "use crate::a;\n"),
    ] {
        let p = dir.path().join(format!("{name}.rs"));
        std::fs::write(&p, text).unwrap();
        mods.insert(name.to_string(), p);
    }
    assert_eq!(
        circles(&uses(&mods)),
        vec![vec!["a".to_string(), "b".into(), "c".into()]]
    );
}

/// Lengths of the `fn` items of `code`: from the line of `fn` to its closing brace at the
/// same indentation.
fn fn_lengths(code: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim_start();
        let indent = l.len() - t.len();
        let decl = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "pub(super) fn ",
            "async fn ",
            "pub async fn ",
            "pub(crate) async fn ",
            "pub(super) async fn ",
        ]
        .iter()
        .find_map(|p| t.strip_prefix(p));
        let Some(decl) = decl else { continue };
        let name: String = decl.chars().take_while(|c| is_ident(*c)).collect();
        let close = " ".repeat(indent) + "}";
        if let Some(end) = lines[i..]
            .iter()
            .position(|x| *x == close || x.starts_with(&(close.clone() + " ")))
        {
            out.push((name, end + 1));
        }
    }
    out
}

#[test]
fn functions_and_files_stay_short() {
    let mut long = Vec::new();
    let mut too_long = Vec::new();
    let mut big_files = Vec::new();
    for path in modules().values() {
        let text = std::fs::read_to_string(path).unwrap();
        if text.lines().count() > MAX_FILE_LINES {
            big_files.push(format!(
                "{} ({} lines)",
                path.display(),
                text.lines().count()
            ));
        }
        for (name, n) in fn_lengths(&text) {
            let at = format!("{}: {name} ({n} lines)", path.display());
            if n > MAX_FN_LINES {
                too_long.push(at);
            } else if n > LONG_FN_LINES {
                long.push(at);
            }
        }
    }
    assert!(
        too_long.is_empty(),
        "functions over {MAX_FN_LINES} lines: {too_long:#?}"
    );
    assert!(
        long.len() <= MAX_LONG_FNS,
        "{} functions over {LONG_FN_LINES} lines (at most {MAX_LONG_FNS}): {long:#?}",
        long.len()
    );
    assert!(
        big_files.is_empty(),
        "files over {MAX_FILE_LINES} lines: {big_files:#?}"
    );
}
