//! The deterministic "model": answers derived from the chunk text so tests can predict them.

use serde_json::{json, Map, Value};

use crate::config::Mistakes;

/// Marker line opening the chunk text inside the last user message.
pub const BEGIN_MARKER: &str = "---BEGIN TEXT---";
/// Marker line closing the chunk text inside the last user message.
pub const END_MARKER: &str = "---END TEXT---";

/// The chunk text inside a user message: what lies between the first `---BEGIN TEXT---`
/// and the last `---END TEXT---` after it, trimmed of surrounding whitespace. If the begin
/// marker is missing, the whole message (trimmed); if only the end marker is missing,
/// everything after the begin marker (trimmed).
pub fn extract_chunk_text(user_message: &str) -> &str {
    let Some(b) = user_message.find(BEGIN_MARKER) else {
        return user_message.trim();
    };
    let rest = &user_message[b + BEGIN_MARKER.len()..];
    match rest.rfind(END_MARKER) {
        Some(e) => rest[..e].trim(),
        None => rest.trim(),
    }
}

/// The key under which answered chunks are recorded in [`crate::Stats::answered_chunks`]:
/// lowercase hex blake3 of `text.trim()`.
pub fn chunk_key(text: &str) -> String {
    blake3::hash(text.trim().as_bytes()).to_hex().to_string()
}

/// Token estimate used everywhere in the fake: `ceil(chars / 4)` (Unicode scalar values).
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

fn hash_index(s: &str, len: usize) -> usize {
    let h = blake3::hash(s.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    (u64::from_le_bytes(b) % len as u64) as usize
}

/// The entity names the fake finds in `text`: the distinct words (split on
/// non-alphanumeric chars, Unicode-aware) that start with an uppercase letter and have at
/// least 3 chars, in order of first appearance. No limit applied.
pub fn fake_entity_names(text: &str) -> Vec<String> {
    names_limited(text, usize::MAX, None)
}

/// Names as in [`fake_entity_names`], each cut to `name_max` chars (then deduplicated),
/// at most `limit` of them.
fn names_limited(text: &str, limit: usize, name_max: Option<usize>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    if limit == 0 {
        return out;
    }
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else { continue };
        if !first.is_uppercase() || word.chars().count() < 3 {
            continue;
        }
        let name = match name_max {
            Some(m) if word.chars().count() > m => {
                if m == 0 {
                    continue;
                }
                word.char_indices().nth(m).map_or(word, |(i, _)| &word[..i])
            }
            _ => word,
        };
        if seen.insert(name) {
            out.push(name.to_string());
            if out.len() >= limit {
                break;
            }
        }
    }
    out
}

/// What the fake reads from the request's JSON schema.
#[derive(Debug, Clone, Default)]
pub(crate) struct SchemaInfo {
    entity_types: Vec<String>,
    relation_types: Vec<String>,
    entities_max: Option<usize>,
    name_max: Option<usize>,
    relations_max: Option<usize>,
    entity_desc_max: Option<usize>,
    relation_desc_max: Option<usize>,
    /// The answer holds entities / relations: those a closed schema names (both with an
    /// open schema or none).
    has_entities: bool,
    has_relations: bool,
    /// Relation items whose endpoints are enums (a relations pass): one per `anyOf`
    /// branch, or one for plain items.
    branches: Vec<Branch>,
}

/// One kind of relation item a schema allows: endpoint enums and relation types.
#[derive(Debug, Clone, Default)]
struct Branch {
    source: Vec<String>,
    target: Vec<String>,
    types: Vec<String>,
}

/// Follow a local `$ref` (`#/$defs/X`, `#/definitions/X`, any `#/a/b` pointer).
fn resolve<'a>(root: &'a Value, mut node: &'a Value) -> &'a Value {
    for _ in 0..8 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) if r.starts_with('#') => match root.pointer(&r[1..]) {
                Some(n) => node = n,
                None => return node,
            },
            _ => return node,
        }
    }
    node
}

fn get<'a>(root: &'a Value, node: &'a Value, key: &str) -> Option<&'a Value> {
    node.get(key).map(|n| resolve(root, n))
}

fn as_usize(v: Option<&Value>) -> Option<usize> {
    v.and_then(Value::as_u64).map(|n| n as usize)
}

fn string_enum(v: Option<&Value>) -> Vec<String> {
    v.and_then(|e| e.get("enum"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn field<'a>(root: &'a Value, p: Option<&'a Value>, f: &str) -> Option<&'a Value> {
    p.and_then(|p| get(root, p, f))
}

impl SchemaInfo {
    pub(crate) fn from_schema(schema: &Value) -> SchemaInfo {
        let root = schema;
        let top = resolve(root, schema);
        let props = get(root, top, "properties");
        let side = |name: &str| -> (Option<&Value>, Option<&Value>) {
            let arr = props.and_then(|p| get(root, p, name));
            let items = arr.and_then(|a| get(root, a, "items"));
            (arr, items.and_then(|i| get(root, i, "properties")))
        };
        let (ent_arr, ent_props) = side("entities");
        let (rel_arr, mut rel_props) = side("relations");
        let rel_items = rel_arr.and_then(|a| get(root, a, "items"));
        let alternatives: Vec<&Value> = match rel_items.and_then(|i| i.get("anyOf")) {
            Some(Value::Array(b)) => b.iter().map(|x| resolve(root, x)).collect(),
            _ => rel_items.into_iter().collect(),
        };
        let mut branches = Vec::new();
        for b in alternatives {
            let props = get(root, b, "properties");
            rel_props = rel_props.or(props);
            let source = string_enum(field(root, props, "source"));
            let target = string_enum(field(root, props, "target"));
            if !source.is_empty() && !target.is_empty() {
                let types = string_enum(field(root, props, "type"));
                branches.push(Branch {
                    source,
                    target,
                    types,
                });
            }
        }
        let mut relation_types = string_enum(field(root, rel_props, "type"));
        for b in &branches {
            for t in &b.types {
                if !relation_types.contains(t) {
                    relation_types.push(t.clone());
                }
            }
        }
        // A schema that closes the answer's object holds only the arrays it names.
        let open = props.is_none() || top.get("additionalProperties") != Some(&Value::Bool(false));
        SchemaInfo {
            has_entities: open || ent_arr.is_some(),
            has_relations: open || rel_arr.is_some(),
            branches,
            entity_types: string_enum(field(root, ent_props, "type")),
            relation_types,
            entities_max: as_usize(ent_arr.and_then(|a| a.get("maxItems"))),
            name_max: as_usize(field(root, ent_props, "name").and_then(|d| d.get("maxLength"))),
            relations_max: as_usize(rel_arr.and_then(|a| a.get("maxItems"))),
            entity_desc_max: as_usize(
                field(root, ent_props, "description").and_then(|d| d.get("maxLength")),
            ),
            relation_desc_max: as_usize(
                field(root, rel_props, "description").and_then(|d| d.get("maxLength")),
            ),
        }
    }
}

fn truncate_chars(s: String, max: Option<usize>) -> String {
    match max {
        Some(m) if s.chars().count() > m => s.chars().take(m).collect(),
        _ => s,
    }
}

fn pick(list: &[String], key: &str, fallback: &str) -> String {
    if list.is_empty() {
        fallback.to_string()
    } else {
        list[hash_index(key, list.len())].clone()
    }
}

/// The deterministic answer for chunk `text` under JSON schema `schema`
/// (`Value::Null` if none):
///
/// `{"entities":[{"name","type","description"}..],"relations":[{"source","target","type","description","strength"}..]}`
///
/// * entities: [`fake_entity_names`], each cut to `...name.maxLength` chars if the schema
///   has one (then deduplicated), limited to `properties.entities.maxItems`;
///   `type` = `properties.entities.items.properties.type.enum[h(name) % len]` (or
///   `"CONCEPT"` without an enum), where `h(s)` is the first 8 bytes of `blake3(s)` as a
///   little-endian u64; `description` = `"{name} as mentioned in the text."` cut to
///   `...description.maxLength` chars.
/// * relations: for consecutive entities `(e[i], e[i+1])`: `source`, `target`, `type` =
///   relation enum at `h("{source}|{target}") % len` (or `"RELATED_TO"`), `description` =
///   `"{source} and {target} appear together."` (cut to maxLength), `strength` 0.5;
///   at most `properties.relations.maxItems`.
///
/// Local `$ref`s in the schema are followed.
pub fn fake_extraction(text: &str, schema: &Value) -> Value {
    extraction_with(text, &SchemaInfo::from_schema(schema), &Mistakes::default())
}

/// The answer of a model that fills the schema: `maxItems` entities and relations, names
/// and descriptions of exactly `maxLength` characters, made of the text's own words (so
/// names are found in the text). Needs bounded arrays and strings (else 24 items, 80/160
/// characters).
pub(crate) fn filled_extraction(text: &str, info: &SchemaInfo) -> Value {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let words = if words.is_empty() {
        vec!["text"]
    } else {
        words
    };
    let mut at = 0usize;
    // Consecutive words of the text, as many as fit in `n` characters (at least one,
    // cut to `n`).
    let mut span = |n: usize| {
        let mut s = String::new();
        loop {
            let w = words[at % words.len()];
            at += 1;
            if !s.is_empty() && s.chars().count() + 1 + w.chars().count() > n {
                break;
            }
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(w);
            if s.chars().count() >= n {
                break;
            }
        }
        truncate_chars(s, Some(n))
    };
    let name_max = info.name_max.unwrap_or(80).max(1);
    let ents = info.entities_max.unwrap_or(24);
    let names: Vec<String> = (0..ents).map(|_| span(name_max)).collect();
    let pad = |s: String, n: usize| {
        let mut s = s;
        while s.chars().count() < n {
            s.push('.');
        }
        s
    };
    let desc = info.entity_desc_max.unwrap_or(160);
    let entities: Vec<Value> = names
        .iter()
        .map(|n| {
            json!({"name": n, "type": pick(&info.entity_types, n, "CONCEPT"), "description": pad(span(desc), desc)})
        })
        .collect();
    let rdesc = info.relation_desc_max.unwrap_or(160);
    let relations: Vec<Value> = (0..info.relations_max.unwrap_or(24))
        .map(|i| {
            let (s, t) = (&names[i % names.len().max(1)], &names[(i + 1) % names.len().max(1)]);
            json!({"source": s, "target": t, "type": pick(&info.relation_types, &format!("{s}|{t}"), "RELATED_TO"),
                   "description": pad(span(rdesc), rdesc), "strength": 0.5})
        })
        .collect();
    json!({ "entities": entities, "relations": relations })
}

/// `h(seed, key)` in `[0, 1)`.
fn unit(seed: u64, key: &str) -> f64 {
    let h = blake3::hash(format!("{seed}|{key}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

fn entity(name: &str, kind: String, info: &SchemaInfo) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::String(name.to_string()));
    m.insert("type".into(), Value::String(kind));
    m.insert(
        "description".into(),
        Value::String(truncate_chars(
            format!("{name} as mentioned in the text."),
            info.entity_desc_max,
        )),
    );
    Value::Object(m)
}

/// The entities of the answer, with type conflicts at the rate `m.type_conflict`.
fn entities_with(names: &[String], text: &str, info: &SchemaInfo, m: &Mistakes) -> Vec<Value> {
    let mut out = Vec::new();
    for n in names {
        let own = pick(&info.entity_types, n, "CONCEPT");
        let others: Vec<String> = info
            .entity_types
            .iter()
            .filter(|t| **t != own)
            .cloned()
            .collect();
        if others.is_empty() || unit(m.seed, &format!("conflict|{n}|{text}")) >= m.type_conflict {
            out.push(entity(n, own, info));
            continue;
        }
        out.push(entity(
            n,
            pick(&others, &format!("{n}|{text}"), "CONCEPT"),
            info,
        ));
        if unit(m.seed, &format!("where|{n}|{text}")) < 0.5 {
            out.push(entity(n, own.clone(), info));
            out.push(entity(n, own, info));
        }
    }
    out
}

fn relation(s: &str, t: &str, kind: String, info: &SchemaInfo) -> Value {
    json!({
        "source": s,
        "target": t,
        "type": kind,
        "description": truncate_chars(format!("{s} and {t} appear together."), info.relation_desc_max),
        "strength": 0.5,
    })
}

/// The relations of the answer: consecutive names, within the schema's endpoint enums and
/// signature branches (unless the model ignores them), with dangling endpoints and
/// self-loops at their rates.
fn relations_with(names: &[String], text: &str, info: &SchemaInfo, m: &Mistakes) -> Vec<Value> {
    let rel_max = info.relations_max.unwrap_or(usize::MAX);
    let mut out = Vec::new();
    let enums = !info.branches.is_empty() && !m.ignore_schema;
    // A relations pass (no entities in the schema) relates the text's names, within the
    // endpoint enums when it keeps to them.
    let names: Vec<String> = if info.has_entities {
        names.to_vec()
    } else {
        names_limited(text, usize::MAX, info.name_max)
            .into_iter()
            .filter(|n| {
                !enums
                    || info
                        .branches
                        .iter()
                        .any(|b| b.source.contains(n) || b.target.contains(n))
            })
            .collect()
    };
    for w in names.windows(2) {
        if out.len() >= rel_max {
            break;
        }
        let (s, mut t) = (w[0].clone(), w[1].clone());
        let pair = format!("{s}|{t}");
        let branch = if enums {
            match info
                .branches
                .iter()
                .find(|b| b.source.contains(&s) && b.target.contains(&t))
            {
                Some(b) => Some(b),
                None => continue,
            }
        } else {
            None
        };
        let kind = match branch {
            Some(b) => pick(&b.types, &pair, "RELATED_TO"),
            None => pick(&info.relation_types, &pair, "RELATED_TO"),
        };
        if unit(m.seed, &format!("loop|{pair}|{text}")) < m.self_loop {
            if branch.is_none_or(|b| b.target.contains(&s)) {
                t = s.clone();
            }
        } else if unit(m.seed, &format!("dangling|{pair}|{text}")) < m.dangling {
            t = match branch {
                Some(b) => {
                    let other: Vec<String> =
                        b.target.iter().filter(|x| **x != s).cloned().collect();
                    pick(&other, &pair, &t)
                }
                None => format!("{t}s"),
            };
        }
        out.push(relation(&s, &t, kind, info));
    }
    out
}

pub(crate) fn extraction_with(text: &str, info: &SchemaInfo, m: &Mistakes) -> Value {
    let names = names_limited(text, info.entities_max.unwrap_or(usize::MAX), info.name_max);
    let mut answer = Map::new();
    if info.has_entities {
        answer.insert(
            "entities".into(),
            Value::Array(entities_with(&names, text, info, m)),
        );
    }
    if info.has_relations {
        answer.insert(
            "relations".into(),
            Value::Array(relations_with(&names, text, info, m)),
        );
    }
    Value::Object(answer)
}

/// The [`crate::Fault::WrongSchema`] variant of the answer.
pub(crate) fn wrong_schema(answer: &Value, info: &SchemaInfo) -> Value {
    let mut a = answer.clone();
    if let Some(ents) = a.get_mut("entities").and_then(Value::as_array_mut) {
        for (i, e) in ents.iter_mut().enumerate() {
            if i % 2 == 1 {
                e["type"] = Value::String("NOT_IN_SCHEMA".into());
            }
        }
    }
    if let Some(rels) = a.get_mut("relations").and_then(Value::as_array_mut) {
        rels.push(json!({
            "source": "Phantom",
            "target": "Nowhere",
            "type": info.relation_types.first().cloned().unwrap_or_else(|| "RELATED_TO".into()),
            "description": "Phantom and Nowhere appear together.",
            "strength": 0.5,
        }));
    }
    a
}

/// Reasoning text for [`crate::Fault::ReasoningOnly`].
pub(crate) fn reasoning_text(text: &str) -> String {
    let names = names_limited(text, 5, None);
    format!(
        "Okay, let me read the text carefully and find the entities. I can see {}. \
         Now I need to decide the type of each one and how they relate, so let me think \
         about it step by step before writing the JSON",
        if names.is_empty() {
            "nothing obvious".to_string()
        } else {
            names.join(", ")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_markers() {
        let m = "Extract.\n---BEGIN TEXT---\nHello World\n---END TEXT---\nThanks";
        assert_eq!(extract_chunk_text(m), "Hello World");
        assert_eq!(extract_chunk_text("  plain  "), "plain");
        assert_eq!(extract_chunk_text("x ---BEGIN TEXT---\nabc"), "abc");
    }

    #[test]
    fn names() {
        let n =
            fake_entity_names("Alice met Bob and Alice; Émile went to Zürich. Ab xY Carol-Dave");
        assert_eq!(n, vec!["Alice", "Bob", "Émile", "Zürich", "Carol", "Dave"]);
    }

    #[test]
    fn extraction_follows_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "entities": {"type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/E"}},
                "relations": {"type": "array", "maxItems": 5, "items": {"type": "object", "properties": {
                    "type": {"enum": ["WORKS_WITH", "KNOWS"]},
                    "description": {"type": "string", "maxLength": 10}
                }}}
            },
            "$defs": {"E": {"type": "object", "properties": {
                "type": {"type": "string", "enum": ["PERSON", "ORG", "PLACE"]},
                "description": {"type": "string", "maxLength": 8}
            }}}
        });
        let v = fake_extraction("Alice met Bob and Carol", &schema);
        let ents = v["entities"].as_array().unwrap();
        assert_eq!(ents.len(), 2);
        assert_eq!(ents[0]["name"], "Alice");
        assert_eq!(ents[0]["description"], "Alice as");
        assert!(["PERSON", "ORG", "PLACE"].contains(&ents[0]["type"].as_str().unwrap()));
        let rels = v["relations"].as_array().unwrap();
        assert_eq!(rels.len(), 1);
        assert_eq!(rels[0]["source"], "Alice");
        assert_eq!(rels[0]["target"], "Bob");
        assert_eq!(rels[0]["description"], "Alice and ");
        let short = json!({"properties": {"entities": {"items": {"properties": {"name": {"maxLength": 4}}}}}});
        let v = fake_extraction("Alexander met Alexandra and Bob", &short);
        assert_eq!(v["entities"].as_array().unwrap().len(), 2);
        assert_eq!(v["entities"][0]["name"], "Alex");
        assert_eq!(v["relations"][0]["target"], "Bob");
        let none = fake_extraction("Alice met Bob", &Value::Null);
        assert_eq!(none["entities"][0]["type"], "CONCEPT");
        assert_eq!(none["relations"][0]["type"], "RELATED_TO");
    }
}
