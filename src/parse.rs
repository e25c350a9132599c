//! Parse + validate: a model's answer -> a clean `Extraction`, or a typed reason why the
//! answer cannot be used. Safe repairs only (code fences, prose around the object, trailing
//! commas); after any repair the result is validated like everything else. Normalization:
//! names trimmed and whitespace-collapsed, types upper-snake-cased and checked against the
//! taxonomy, relations kept only between entities of the same answer.

use rustc_hash::{FxHashMap, FxHashSet};

use std::borrow::Cow;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::prompt::Taxonomy;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    /// The name does not occur in the chunk's text (kept because `--grounding flag`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub ungrounded: bool,
}

fn is_false(v: &bool) -> bool {
    !*v
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Relation {
    pub source: String,
    pub target: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub strength: f64,
}

/// What one chunk yielded, after validation. Relation endpoints are entity names of the
/// same extraction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    pub entities: Vec<Entity>,
    pub relations: Vec<Relation>,
    /// Items the validator dropped (all reasons; `drops` says which).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropped: u32,
    /// The same, per reason.
    #[serde(default, skip_serializing_if = "Drops::is_empty")]
    pub drops: Drops,
    /// The answer was cut off at its output budget: these are its complete records.
    #[serde(default, skip_serializing_if = "is_false")]
    pub partial: bool,
}

/// Why the validator dropped items of an answer: what a model does wrong, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Drops {
    /// An entity type outside the taxonomy.
    pub unknown_entity_type: u32,
    /// An entity without a usable name.
    pub empty_name: u32,
    /// An entity whose name does not occur in the chunk's text (prompt text, inventions).
    pub ungrounded: u32,
    /// The same name and type again in one answer.
    pub repeated_entity: u32,
    /// The same name under another type in one answer (the first type is kept).
    pub conflicting_type: u32,
    /// A relation type outside the taxonomy.
    pub unknown_relation_type: u32,
    /// A relation endpoint that names no entity of the answer.
    pub dangling_endpoint: u32,
    /// A relation endpoint whose entity was dropped (ungrounded, unknown type).
    pub dropped_endpoint: u32,
    /// A relation from an entity to itself.
    pub self_loop: u32,
    /// The same (source, type, target) again in one answer.
    pub repeated_relation: u32,
}

impl Drops {
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    pub fn total(&self) -> u32 {
        self.unknown_entity_type
            + self.empty_name
            + self.ungrounded
            + self.repeated_entity
            + self.conflicting_type
            + self.unknown_relation_type
            + self.dangling_endpoint
            + self.dropped_endpoint
            + self.self_loop
            + self.repeated_relation
    }

    pub fn add(&mut self, o: &Drops) {
        self.unknown_entity_type += o.unknown_entity_type;
        self.empty_name += o.empty_name;
        self.ungrounded += o.ungrounded;
        self.repeated_entity += o.repeated_entity;
        self.conflicting_type += o.conflicting_type;
        self.unknown_relation_type += o.unknown_relation_type;
        self.dangling_endpoint += o.dangling_endpoint;
        self.dropped_endpoint += o.dropped_endpoint;
        self.self_loop += o.self_loop;
        self.repeated_relation += o.repeated_relation;
    }
}

/// What to do with an entity whose name is not in its chunk's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Grounding {
    /// Drop it (and its relations), counted as `ungrounded`.
    #[default]
    Drop,
    /// Keep it, marked `"ungrounded": true` in the checkpoint and counted.
    Flag,
    /// No check.
    Off,
}

/// A chunk's text prepared for the grounding check: lower-cased words separated by single
/// spaces, with a space at each end, so that a name matches on word boundaries only.
#[derive(Debug, Clone)]
pub struct GroundText(String);

impl GroundText {
    pub fn new(text: &str) -> Self {
        let mut s = String::with_capacity(text.len() + 2);
        s.push(' ');
        ground_words_into(&mut s, text);
        s.push(' ');
        GroundText(s)
    }

    /// Whether `name`'s words occur in the text, in order and adjacent (case, punctuation
    /// and whitespace aside). A name with no letter or digit never does.
    pub fn contains(&self, name: &str) -> bool {
        let mut needle = String::with_capacity(name.len() + 2);
        needle.push(' ');
        ground_words_into(&mut needle, name);
        if needle.len() == 1 {
            return false;
        }
        needle.push(' ');
        self.0.contains(&needle)
    }
}

/// Appends the words of `text` (runs of letters and digits, lower-cased), one space apart.
fn ground_words_into(out: &mut String, text: &str) {
    let mut gap = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if gap && !out.ends_with(' ') {
                out.push(' ');
            }
            gap = false;
            for l in c.to_lowercase() {
                out.push(l);
            }
        } else {
            gap = true;
        }
    }
}

/// What validation checks an answer against.
#[derive(Debug, Clone, Copy)]
pub struct Checks<'a> {
    pub taxonomy: &'a Taxonomy,
    /// The chunk's text, for the grounding check (None: no check).
    pub text: Option<&'a GroundText>,
    pub grounding: Grounding,
}

impl<'a> Checks<'a> {
    /// Types and bounds only (no grounding).
    pub fn taxonomy(taxonomy: &'a Taxonomy) -> Self {
        Checks {
            taxonomy,
            text: None,
            grounding: Grounding::Off,
        }
    }
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

impl Extraction {
    /// Joins the extraction of a chunk's second half into the first's.
    pub fn absorb(&mut self, other: Extraction) {
        if self.entities.is_empty() && self.relations.is_empty() {
            let (dropped, drops, partial) = (self.dropped, self.drops, self.partial);
            *self = other;
            self.dropped += dropped;
            self.drops.add(&drops);
            self.partial |= partial;
            return;
        }
        // One type per name in a chunk's result, as in one answer: the first one.
        let known: std::collections::HashSet<String> =
            self.entities.iter().map(|e| name_key(&e.name)).collect();
        self.entities.extend(
            other
                .entities
                .into_iter()
                .filter(|e| !known.contains(&name_key(&e.name))),
        );
        let rels: std::collections::HashSet<(String, String, String)> = self
            .relations
            .iter()
            .map(|r| (name_key(&r.source), r.kind.clone(), name_key(&r.target)))
            .collect();
        self.relations
            .extend(other.relations.into_iter().filter(|r| {
                !rels.contains(&(name_key(&r.source), r.kind.clone(), name_key(&r.target)))
            }));
        self.dropped += other.dropped;
        self.drops.add(&other.drops);
        self.partial |= other.partial;
    }

    /// The records as the answer's JSON (no validation counters): what a follow-up request
    /// shows the model as its earlier answer.
    pub fn answer_json(&self) -> String {
        #[derive(Serialize)]
        struct E<'a> {
            name: &'a str,
            #[serde(rename = "type")]
            kind: &'a str,
            description: &'a str,
        }
        #[derive(Serialize)]
        struct A<'a> {
            entities: Vec<E<'a>>,
            relations: &'a [Relation],
        }
        let a = A {
            entities: self
                .entities
                .iter()
                .map(|e| E {
                    name: &e.name,
                    kind: &e.kind,
                    description: &e.description,
                })
                .collect(),
            relations: &self.relations,
        };
        serde_json::to_string(&a).unwrap_or_default()
    }

    /// Records of the answer: entities plus relations.
    pub fn records(&self) -> usize {
        self.entities.len() + self.relations.len()
    }
}

/// Why an answer is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// No content at all (a thinking model spent the budget reasoning, or an empty reply).
    Empty,
    /// The JSON is cut off (the answer hit its token budget).
    Truncated,
    /// Not JSON, even after safe repairs.
    Malformed(String),
    /// JSON, but not the shape of the contract.
    Invalid(String),
}

impl std::fmt::Display for AnswerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerError::Empty => write!(f, "empty answer"),
            AnswerError::Truncated => write!(f, "answer cut off at the output budget"),
            AnswerError::Malformed(m) => write!(f, "answer is not JSON: {m}"),
            AnswerError::Invalid(m) => write!(f, "answer does not fit the schema: {m}"),
        }
    }
}

/// Normalized key of a name: case-folded, whitespace collapsed, outer punctuation dropped.
pub fn name_key(name: &str) -> String {
    let mut key = String::new();
    name_key_into(&mut key, name);
    key
}

/// Display form of a name: trimmed, whitespace collapsed, outer quotes/punctuation dropped.
pub fn clean_name(name: &str) -> String {
    clean_name_cow(name).into_owned()
}

/// `clean_name`, borrowing when the name is clean already (most are).
fn clean_name_cow(name: &str) -> Cow<'_, str> {
    let outer = |c: char| {
        matches!(
            c,
            '"' | '\'' | '`' | '.' | ',' | ';' | ':' | '(' | ')' | '[' | ']' | '*' | '_'
        ) || c.is_whitespace()
    };
    let trimmed = name.trim_matches(outer);
    // Single spaces between words: nothing else to do.
    let mut prev_space = false;
    let regular = trimmed.chars().all(|c| {
        let ok = if c == ' ' {
            !prev_space
        } else {
            !c.is_whitespace()
        };
        prev_space = c == ' ';
        ok
    });
    if regular {
        return Cow::Borrowed(trimmed);
    }
    Cow::Owned(
        name.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .trim_matches(outer)
            .to_string(),
    )
}

/// `name_key` into a reused buffer.
fn name_key_into(buf: &mut String, name: &str) {
    buf.clear();
    let clean = clean_name_cow(name);
    if clean.is_ascii() {
        buf.extend(clean.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        buf.push_str(&clean.to_lowercase());
    }
}

/// Upper snake case: "works for" -> "WORKS_FOR".
pub fn type_key(t: &str) -> String {
    let t = t.trim();
    let canonical = !t.is_empty()
        && !t.starts_with('_')
        && !t.ends_with('_')
        && !t.contains("__")
        && t.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if canonical {
        return t.to_string();
    }
    t.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect::<String>()
        .split('_')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

/// Parses and validates one answer. `cut_off` says whether the engine reported that the
/// answer hit its budget (`finish_reason`/`done_reason` "length"): then the complete records
/// before the cut are kept as a partial result (`partial`), or, with none, it is `Truncated`.
pub fn parse_answer(
    content: &str,
    cut_off: bool,
    checks: &Checks,
) -> Result<Extraction, AnswerError> {
    if content.trim().is_empty() {
        return Err(if cut_off {
            AnswerError::Truncated
        } else {
            AnswerError::Empty
        });
    }
    // Fast path: the answer as the schema shapes it, read in one pass without a tree.
    let first_err = match serde_json::from_str::<RawAnswer>(content) {
        Ok(raw) => return Ok(validate(&raw, checks)),
        Err(e) => e,
    };
    // Valid JSON of another shape, or prose/fences/trailing commas around the object: the
    // lenient path (safe repairs, any field of any type read as absent).
    let value = match parse_json(content) {
        Ok(v) => v,
        Err(_) if cut_off => {
            let salvaged = salvage_cut_off(content)
                .and_then(|v| {
                    RawAnswer::from_value(&v)
                        .ok()
                        .map(|raw| validate(&raw, checks))
                })
                .filter(|x| x.records() > 0);
            return match salvaged {
                Some(mut x) => {
                    x.partial = true;
                    Ok(x)
                }
                None => Err(AnswerError::Truncated),
            };
        }
        Err(e) => {
            return Err(AnswerError::Malformed(if first_err.is_data() {
                first_err.to_string()
            } else {
                e
            }))
        }
    };
    Ok(validate(&RawAnswer::from_value(&value)?, checks))
}

/// The complete records of an answer cut off mid-way: the text up to the last item that
/// closed inside a top-level array (or the last array opened or closed there), with the
/// brackets still open closed. None when not even that much is there.
fn salvage_cut_off(content: &str) -> Option<serde_json::Value> {
    let start = content.find('{')?;
    let body = &content[start..];
    let mut stack: Vec<u8> = Vec::new();
    let (mut in_str, mut escaped) = (false, false);
    // (byte end of the kept prefix, the stack then).
    let mut cut: Option<(usize, Vec<u8>)> = None;
    for (i, b) in body.bytes().enumerate() {
        if in_str {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_str = false;
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                stack.push(b);
                if b == b'[' && stack.len() == 2 {
                    cut = Some((i + 1, stack.clone()));
                }
            }
            b'}' | b']' => {
                stack.pop()?;
                if stack.len() == 2 && stack[1] == b'[' || stack.len() == 1 && b == b']' {
                    cut = Some((i + 1, stack.clone()));
                }
                if stack.is_empty() {
                    break;
                }
            }
            _ => {}
        }
    }
    let (end, open) = cut?;
    let mut text = body[..end].to_string();
    for b in open.iter().rev() {
        text.push(if *b == b'{' { '}' } else { ']' });
    }
    serde_json::from_str(&text).ok()
}

/// Strict JSON first; then the safe repairs.
fn parse_json(content: &str) -> Result<serde_json::Value, String> {
    let first_err = match serde_json::from_str::<serde_json::Value>(content) {
        Ok(v) => return Ok(v),
        Err(e) => e.to_string(),
    };
    // Prose or fences around the object: take the outermost {...}.
    let start = content.find('{');
    let end = content.rfind('}');
    if let (Some(s), Some(e)) = (start, end) {
        if s < e {
            let inner = &content[s..=e];
            if let Ok(v) = serde_json::from_str(inner) {
                return Ok(v);
            }
            if let Ok(v) = serde_json::from_str(&strip_trailing_commas(inner)) {
                return Ok(v);
            }
        }
    }
    Err(first_err)
}

/// Removes commas directly before `]` or `}` outside strings.
fn strip_trailing_commas(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_str = false;
    let mut escaped = false;
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        if c == '"' {
            in_str = true;
        }
        if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some(']') | Some('}')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// An answer as the schema shapes it, borrowed from the answer text where it can be.
#[derive(Deserialize)]
struct RawAnswer<'a> {
    #[serde(borrow)]
    entities: Vec<RawEntity<'a>>,
    #[serde(borrow, default)]
    relations: Vec<RawRelation<'a>>,
}

#[derive(Deserialize, Default)]
struct RawEntity<'a> {
    #[serde(borrow, default)]
    name: Text<'a>,
    #[serde(rename = "type", borrow, default)]
    kind: Text<'a>,
    #[serde(borrow, default)]
    description: Text<'a>,
}

#[derive(Deserialize, Default)]
struct RawRelation<'a> {
    #[serde(borrow, default)]
    source: Text<'a>,
    #[serde(borrow, default)]
    target: Text<'a>,
    #[serde(rename = "type", borrow, default)]
    kind: Text<'a>,
    #[serde(borrow, default)]
    description: Text<'a>,
    #[serde(default)]
    strength: Number,
}

/// A string field read leniently: a value of any other type reads as absent ("").
#[derive(Default)]
struct Text<'a>(Option<Cow<'a, str>>);

impl Text<'_> {
    fn get(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }
}

/// A number field read leniently: a value of any other type reads as absent.
#[derive(Default)]
struct Number(Option<f64>);

/// Accepts any JSON value; keeps strings (Text) or numbers (Number), skips the rest.
struct Lenient<T>(std::marker::PhantomData<T>);

impl<'de, T: From<Scalar<'de>> + Default> Visitor<'de> for Lenient<T> {
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<T, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)).into())
    }
    fn visit_str<E>(self, v: &str) -> Result<T, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())).into())
    }
    fn visit_string<E>(self, v: String) -> Result<T, E> {
        Ok(Scalar::Str(Cow::Owned(v)).into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<T, E> {
        Ok(Scalar::Num(v).into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<T, E> {
        Ok(Scalar::Num(v as f64).into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<T, E> {
        Ok(Scalar::Num(v as f64).into())
    }
    fn visit_bool<E>(self, _: bool) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_none<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(T::default())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(T::default())
    }
}

enum Scalar<'a> {
    Str(Cow<'a, str>),
    Num(f64),
}

impl<'a> From<Scalar<'a>> for Text<'a> {
    fn from(s: Scalar<'a>) -> Self {
        match s {
            Scalar::Str(s) => Text(Some(s)),
            Scalar::Num(_) => Text(None),
        }
    }
}

impl From<Scalar<'_>> for Number {
    fn from(s: Scalar<'_>) -> Self {
        match s {
            Scalar::Num(n) => Number(Some(n)),
            Scalar::Str(_) => Number(None),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(std::marker::PhantomData))
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Lenient(std::marker::PhantomData))
    }
}

impl<'a> RawAnswer<'a> {
    /// The lenient reading of a repaired answer: items that are not objects count as
    /// items with no fields (dropped by validation), fields of another type as absent.
    fn from_value(value: &'a serde_json::Value) -> Result<Self, AnswerError> {
        let obj = value
            .as_object()
            .ok_or_else(|| AnswerError::Invalid("top level is not an object".into()))?;
        let entities = obj
            .get("entities")
            .and_then(|e| e.as_array())
            .ok_or_else(|| AnswerError::Invalid("no \"entities\" array".into()))?;
        let relations: &[serde_json::Value] = match obj.get("relations") {
            Some(r) => r
                .as_array()
                .map(Vec::as_slice)
                .ok_or_else(|| AnswerError::Invalid("\"relations\" is not an array".into()))?,
            None => &[],
        };
        let text = |v: &'a serde_json::Value, key: &str| {
            Text(v.get(key).and_then(|x| x.as_str()).map(Cow::Borrowed))
        };
        Ok(RawAnswer {
            entities: entities
                .iter()
                .map(|e| RawEntity {
                    name: text(e, "name"),
                    kind: text(e, "type"),
                    description: text(e, "description"),
                })
                .collect(),
            relations: relations
                .iter()
                .map(|r| RawRelation {
                    source: text(r, "source"),
                    target: text(r, "target"),
                    kind: text(r, "type"),
                    description: text(r, "description"),
                    strength: Number(r.get("strength").and_then(|x| x.as_f64())),
                })
                .collect(),
        })
    }
}

/// The first `max` characters of `s`.
fn truncated(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn validate(raw: &RawAnswer, checks: &Checks) -> Extraction {
    let t = checks.taxonomy;
    let max_name = t.limits.max_name_chars as usize;
    let max_desc = t.limits.max_description_chars as usize;
    let ground = match checks.grounding {
        Grounding::Off => None,
        mode => checks.text.map(|g| (g, mode)),
    };
    let mut out = Extraction {
        entities: Vec::with_capacity(raw.entities.len()),
        relations: Vec::with_capacity(raw.relations.len()),
        ..Extraction::default()
    };
    let d = &mut out.drops;
    // name key -> index in out.entities (one type per name: the first); `None` marks a
    // name whose entity was dropped, so that its relations count as `dropped_endpoint`.
    let mut by_name: FxHashMap<String, Option<usize>> = FxHashMap::default();
    let mut dropped_names: FxHashSet<String> = FxHashSet::default();
    let mut key = String::new();
    for e in &raw.entities {
        let clean = clean_name_cow(e.name.get());
        if clean.is_empty() {
            d.empty_name += 1;
            continue;
        }
        let name = truncated(&clean, max_name);
        name_key_into(&mut key, name);
        let kind = type_key(e.kind.get());
        if let Some(prev) = by_name.get(key.as_str()) {
            match prev {
                Some(i) if out.entities[*i].kind == kind => d.repeated_entity += 1,
                Some(_) => d.conflicting_type += 1,
                None => d.repeated_entity += 1,
            }
            continue;
        }
        if !t.entity_types.iter().any(|x| x.name == kind) {
            // Not recorded by name: the same name may still come with a known type.
            d.unknown_entity_type += 1;
            dropped_names.insert(key.clone());
            continue;
        }
        let mut ungrounded = false;
        if let Some((text, mode)) = ground {
            if !text.contains(name) {
                d.ungrounded += 1;
                if mode == Grounding::Drop {
                    by_name.insert(key.clone(), None);
                    continue;
                }
                ungrounded = true;
            }
        }
        by_name.insert(key.clone(), Some(out.entities.len()));
        out.entities.push(Entity {
            name: name.to_string(),
            kind,
            description: truncated(e.description.get().trim(), max_desc).to_string(),
            ungrounded,
        });
    }
    let mut seen_rel = FxHashSet::default();
    for r in &raw.relations {
        name_key_into(&mut key, r.source.get());
        let known = |k: &str| match by_name.get(k) {
            Some(v) => Some(*v),
            None => dropped_names.contains(k).then_some(None),
        };
        let src = known(key.as_str());
        name_key_into(&mut key, r.target.get());
        let dst = known(key.as_str());
        let kind = type_key(r.kind.get());
        let (s, dd) = match (src, dst) {
            (Some(Some(s)), Some(Some(dd))) => (s, dd),
            (None, _) | (_, None) => {
                d.dangling_endpoint += 1;
                continue;
            }
            _ => {
                d.dropped_endpoint += 1;
                continue;
            }
        };
        if s == dd {
            d.self_loop += 1;
            continue;
        }
        if !t.relation_types.iter().any(|x| x.name == kind) {
            d.unknown_relation_type += 1;
            continue;
        }
        if !seen_rel.insert((s, dd, kind.clone())) {
            d.repeated_relation += 1;
            continue;
        }
        let mut strength = r.strength.0.unwrap_or(0.5);
        if !strength.is_finite() {
            strength = 0.5;
        } else if strength > 1.0 && strength <= 10.0 {
            // Some models answer on a 1-10 scale despite the schema.
            strength /= 10.0;
        }
        out.relations.push(Relation {
            source: out.entities[s].name.clone(),
            target: out.entities[dd].name.clone(),
            kind,
            description: truncated(r.description.get().trim(), max_desc).to_string(),
            strength: strength.clamp(0.0, 1.0),
        });
    }
    out.dropped = out.drops.total();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::{default_prompts_root, PromptSet};

    fn tax() -> Taxonomy {
        PromptSet::load_domain(&default_prompts_root(), "general")
            .unwrap()
            .taxonomy
    }

    fn checks(t: &Taxonomy) -> Checks<'_> {
        Checks::taxonomy(t)
    }

    #[test]
    fn valid_answer_is_normalized() {
        let a = r#"{"entities":[{"name":"  Alice   Smith ","type":"person","description":"An engineer."},
            {"name":"Acme Corp.","type":"ORGANIZATION","description":"A company."}],
            "relations":[{"source":"alice smith","target":"ACME CORP","type":"works for","description":"Alice works at Acme.","strength":8}]}"#;
        let x = parse_answer(a, false, &checks(&tax())).unwrap();
        assert_eq!(x.entities[0].name, "Alice Smith");
        assert_eq!(x.entities[0].kind, "PERSON");
        assert_eq!(x.entities[1].name, "Acme Corp");
        assert_eq!(x.relations.len(), 1);
        let r = &x.relations[0];
        assert_eq!(
            (r.source.as_str(), r.target.as_str(), r.kind.as_str()),
            ("Alice Smith", "Acme Corp", "WORKS_FOR")
        );
        assert!((r.strength - 0.8).abs() < 1e-9);
        assert_eq!(x.dropped, 0);
    }

    #[test]
    fn names_and_types_normalize_the_same_on_every_path() {
        for (raw, clean) in [
            ("Alice Smith", "Alice Smith"),
            ("  Alice   Smith ", "Alice Smith"),
            ("\"Acme Corp.\"", "Acme Corp"),
            ("\" Alice\"", "Alice"),
            ("Tab\tSeparated", "Tab Separated"),
            ("(x)", "x"),
            ("...", ""),
        ] {
            assert_eq!(clean_name(raw), clean, "{raw:?}");
        }
        for (raw, key) in [
            ("WORKS_FOR", "WORKS_FOR"),
            ("works for", "WORKS_FOR"),
            ("_PART__OF_", "PART_OF"),
            (" Located-In ", "LOCATED_IN"),
            ("X2", "X2"),
        ] {
            assert_eq!(type_key(raw), key, "{raw:?}");
        }
    }

    #[test]
    fn fields_of_the_wrong_type_read_as_absent_on_both_paths() {
        // Strict JSON (the one-pass path) and the same answer in a fence (the repair path).
        let a = r#"{"entities":[{"name":"Oslo","type":"LOCATION","description":7},{"name":5,"type":"LOCATION"},"Bergen",
            {"name":"Norway","type":"LOCATION","description":{"a":[1]}}],
            "relations":[{"source":"Oslo","target":"Norway","type":"PART_OF","strength":"high"}]}"#;
        let fenced = format!("```json\n{a}\n```");
        for text in [a, fenced.as_str()] {
            let x = parse_answer(text, false, &checks(&tax())).unwrap();
            let names: Vec<&str> = x.entities.iter().map(|e| e.name.as_str()).collect();
            assert_eq!(names, ["Oslo", "Norway"], "{text}");
            assert_eq!(x.entities[0].description, "");
            assert_eq!(x.relations.len(), 1);
            assert!((x.relations[0].strength - 0.5).abs() < 1e-9);
            assert_eq!(x.dropped, 2, "{text}");
        }
    }

    #[test]
    fn one_entity_per_name_in_an_answer_repeats_and_other_types_counted() {
        let a = r#"{"entities":[{"name":"Paris","type":"LOCATION","description":"a"},{"name":"paris","type":"LOCATION","description":"b"},
            {"name":"Paris","type":"PERSON","description":"c"},{"name":"Paris","type":"LOCATION","description":"d"}],"relations":[]}"#;
        let x = parse_answer(a, false, &checks(&tax())).unwrap();
        let kinds: Vec<&str> = x.entities.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["LOCATION"]);
        assert_eq!(x.entities[0].description, "a");
        assert_eq!(x.drops.repeated_entity, 2);
        assert_eq!(x.drops.conflicting_type, 1);
        assert_eq!(x.dropped, 3);
    }

    #[test]
    fn out_of_taxonomy_types_and_dangling_relations_are_dropped() {
        let a = r#"{"entities":[{"name":"Bob","type":"ALIEN","description":""},{"name":"Paris","type":"LOCATION","description":""},{"name":"Rome","type":"LOCATION","description":""}],
            "relations":[{"source":"Bob","target":"Paris","type":"LOCATED_IN","description":"","strength":1},
                         {"source":"Paris","target":"Rome","type":"LIKES","description":"","strength":1},
                         {"source":"Paris","target":"Paris","type":"PART_OF","description":"","strength":1}]}"#;
        let x = parse_answer(a, false, &checks(&tax())).unwrap();
        assert_eq!(x.entities.len(), 2);
        assert!(x.relations.is_empty());
        assert_eq!(x.dropped, 4);
        let d = x.drops;
        assert_eq!(
            (
                d.unknown_entity_type,
                d.dropped_endpoint,
                d.unknown_relation_type,
                d.self_loop
            ),
            (1, 1, 1, 1)
        );
    }

    #[test]
    fn safe_repairs_then_validation() {
        let fenced = "Here is the JSON:\n```json\n{\"entities\":[{\"name\":\"Oslo\",\"type\":\"LOCATION\",\"description\":\"x\"},],\"relations\":[],}\n```";
        let x = parse_answer(fenced, false, &checks(&tax())).unwrap();
        assert_eq!(x.entities.len(), 1);
        // A comma inside a string is left alone.
        assert_eq!(strip_trailing_commas(r#"{"a":",}",}"#), r#"{"a":",}"}"#);
    }

    #[test]
    fn unusable_answers_say_why() {
        let tx = tax();
        let t = checks(&tx);
        assert_eq!(parse_answer("", false, &t), Err(AnswerError::Empty));
        assert_eq!(parse_answer("", true, &t), Err(AnswerError::Truncated));
        assert_eq!(
            parse_answer(r#"{"entities":[{"name":"Os"#, true, &t),
            Err(AnswerError::Truncated)
        );
        assert!(matches!(
            parse_answer("no json here", false, &t),
            Err(AnswerError::Malformed(_))
        ));
        assert!(matches!(
            parse_answer("[1,2]", false, &t),
            Err(AnswerError::Invalid(_))
        ));
        assert!(matches!(
            parse_answer(r#"{"relations":[]}"#, false, &t),
            Err(AnswerError::Invalid(_))
        ));
    }

    #[test]
    fn names_not_in_the_chunk_are_dropped_or_flagged_and_their_relations_counted() {
        let t = tax();
        let text = GroundText::new("Ada Lovelace wrote notes on the Analytical  Engine in London.");
        let a = r#"{"entities":[{"name":"Ada Lovelace","type":"PERSON","description":""},
            {"name":"BEGIN TEXT","type":"PERSON","description":""},
            {"name":"analytical engine","type":"PRODUCT","description":""},
            {"name":"Lon","type":"LOCATION","description":""}],
            "relations":[{"source":"Ada Lovelace","target":"BEGIN TEXT","type":"KNOWS","description":"","strength":1},
                         {"source":"Ada Lovelace","target":"Analytical Engine","type":"CREATED","description":"","strength":1}]}"#;
        let drop = Checks {
            taxonomy: &t,
            text: Some(&text),
            grounding: Grounding::Drop,
        };
        let x = parse_answer(a, false, &drop).unwrap();
        let names: Vec<&str> = x.entities.iter().map(|e| e.name.as_str()).collect();
        // Case and spacing aside; whole words only ("Lon" is not "London").
        assert_eq!(names, ["Ada Lovelace", "analytical engine"]);
        assert_eq!(x.drops.ungrounded, 2);
        assert_eq!(x.drops.dropped_endpoint, 1);
        assert_eq!(
            x.relations.len(),
            usize::from(t.relation_types.iter().any(|r| r.name == "CREATED"))
        );
        let flag = Checks {
            grounding: Grounding::Flag,
            ..drop
        };
        let x = parse_answer(a, false, &flag).unwrap();
        assert_eq!(x.entities.len(), 4);
        assert_eq!(x.entities.iter().filter(|e| e.ungrounded).count(), 2);
        assert_eq!(x.drops.ungrounded, 2);
        let off = Checks {
            grounding: Grounding::Off,
            ..drop
        };
        assert_eq!(parse_answer(a, false, &off).unwrap().drops.ungrounded, 0);
        assert!(!GroundText::new("x").contains("..."));
    }

    #[test]
    fn a_cut_off_answer_keeps_its_complete_records() {
        let tx = tax();
        let t = checks(&tx);
        let full = r#"{"entities":[{"name":"Oslo","type":"LOCATION","description":"a \"quoted\" }{ text"},{"name":"Norway","type":"LOCATION","description":"b"}],"relations":[{"source":"Oslo","target":"Norway","type":"PART_OF","description":"c","strength":0.9},{"source":"Norway","target":"Oslo","type":"PART_OF","description":"d","strength":0.5}]}"#;
        // Cut at every byte: never an error once one record is complete, never a record
        // that was not complete, and the records only grow as the cut moves right.
        let mut last = 0;
        for cut in 1..full.len() {
            if !full.is_char_boundary(cut) {
                continue;
            }
            match parse_answer(&full[..cut], true, &t) {
                Ok(x) => {
                    assert!(x.partial, "{cut}");
                    assert!(x.records() >= last, "{cut}: {} < {last}", x.records());
                    last = x.records();
                }
                Err(e) => {
                    assert_eq!(e, AnswerError::Truncated, "{cut}");
                    assert_eq!(last, 0, "{cut}: lost records");
                }
            }
        }
        assert_eq!(last, 4, "everything once only the closing brace is missing");
        let cut = full.find(r#"{"source":"Norway""#).unwrap() + 20;
        let x = parse_answer(&full[..cut], true, &t).unwrap();
        assert_eq!((x.entities.len(), x.relations.len()), (2, 1));
        assert_eq!(x.entities[0].description, "a \"quoted\" }{ text");
    }
}
