//! The gold file `eval` scores a run against: JSONL, one line per document, checked as it
//! is read (known types, relation ends that name an entity of the same line, each
//! document once), each error naming the file and the line.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

use crate::error::RunError;
use crate::merge::resolve::resolved_key;
use crate::prompt::Taxonomy;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldEntity {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldRelation {
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldDoc {
    pub doc: String,
    #[serde(default)]
    pub entities: Vec<GoldEntity>,
    #[serde(default)]
    pub relations: Vec<GoldRelation>,
    /// Line number in the gold file.
    #[serde(skip)]
    pub line: usize,
}

/// The taxonomy's type names, to check the gold types against.
struct TypeNames<'a> {
    taxonomy: &'a Taxonomy,
    entities: BTreeSet<&'a str>,
    relations: BTreeSet<&'a str>,
}

impl<'a> TypeNames<'a> {
    fn new(taxonomy: &'a Taxonomy) -> Self {
        TypeNames {
            taxonomy,
            entities: taxonomy
                .entity_types
                .iter()
                .map(|t| t.name.as_str())
                .collect(),
            relations: taxonomy
                .relation_types
                .iter()
                .map(|t| t.name.as_str())
                .collect(),
        }
    }
}

fn list(s: &BTreeSet<&str>) -> String {
    s.iter().copied().collect::<Vec<_>>().join(", ")
}

/// Reads and checks a gold file: JSONL, known types, relation ends that name an entity of
/// the same line, each document once. Errors name the file and the line.
pub fn read_gold(path: &Path, taxonomy: &Taxonomy) -> Result<Vec<GoldDoc>, RunError> {
    let file = std::fs::File::open(path).map_err(|e| {
        RunError::io(
            path,
            &e,
            format!("cannot read the gold file {}: {e}", path.display()),
        )
    })?;
    let types = TypeNames::new(taxonomy);
    let mut docs: Vec<GoldDoc> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let at = |m: String| RunError::usage(format!("{}:{n}: {m}", path.display()));
        let line = line.map_err(|e| {
            RunError::io(
                path,
                &e,
                format!("{}:{n}: cannot read: {e}", path.display()),
            )
        })?;
        let line = line.trim_start_matches('\u{feff}');
        if line.trim().is_empty() {
            continue;
        }
        let doc = parse_line(line, n).map_err(at)?;
        if let Some(first) = seen.insert(doc.doc.clone(), n) {
            return Err(at(format!(
                "document {:?} is already on line {first}: one line per document",
                doc.doc
            )));
        }
        check_doc(&doc, &types).map_err(at)?;
        docs.push(doc);
    }
    if docs.is_empty() {
        return Err(RunError::usage(format!(
            "the gold file {} has no documents",
            path.display()
        )));
    }
    Ok(docs)
}

/// One line as a gold document, its path written as the outputs write paths.
fn parse_line(line: &str, n: usize) -> Result<GoldDoc, String> {
    let mut doc: GoldDoc = serde_json::from_str(line).map_err(|e| {
        format!(
            "not a gold record ({e}); expected one JSON object per line: \
             {{\"doc\": \"path/in/corpus.md\", \"entities\": [{{\"name\", \"type\", \"aliases\"?}}], \
             \"relations\": [{{\"source\", \"type\", \"target\"}}]}}"
        )
    })?;
    doc.line = n;
    // Paths as the outputs write them: '/' separators, no leading "./".
    doc.doc = doc.doc.replace('\\', "/");
    while let Some(rest) = doc.doc.strip_prefix("./") {
        doc.doc = rest.to_string();
    }
    if doc.doc.trim().is_empty() {
        return Err("\"doc\" is empty: give the document's path relative to the corpus".into());
    }
    Ok(doc)
}

/// Known types, named entities, and relation ends that name one of them.
fn check_doc(doc: &GoldDoc, types: &TypeNames) -> Result<(), String> {
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for e in &doc.entities {
        if e.name.trim().is_empty() {
            return Err("an entity has an empty name".into());
        }
        if !types.entities.contains(e.kind.as_str()) {
            return Err(format!(
                "entity {:?} has type {:?}, which is not in the taxonomy `{}` (entity types: {})",
                e.name,
                e.kind,
                types.taxonomy.name,
                list(&types.entities)
            ));
        }
        keys.insert(resolved_key(&e.name));
        keys.extend(e.aliases.iter().map(|a| resolved_key(a)));
    }
    for r in &doc.relations {
        if !types.relations.contains(r.kind.as_str()) {
            return Err(format!(
                "relation {:?} -> {:?} has type {:?}, which is not in the taxonomy `{}` (relation types: {})",
                r.source,
                r.target,
                r.kind,
                types.taxonomy.name,
                list(&types.relations)
            ));
        }
        for end in [&r.source, &r.target] {
            if !keys.contains(&resolved_key(end)) {
                return Err(format!(
                    "relation end {end:?} is not an entity of this line: list it under \"entities\" (or as an alias)"
                ));
            }
        }
    }
    Ok(())
}
