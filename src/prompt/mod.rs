//! Prompt: a domain's taxonomy (entity and relation types with one-line definitions, and the
//! answer's bounds) plus system and user templates, loaded from `prompts/<domain>/` or
//! `--prompts DIR`. The system message holds everything fixed (instructions, taxonomy) and
//! comes first, byte-identical across requests, so vLLM's prefix cache serves it; only the
//! user message carries the chunk. The JSON schema that the engines enforce is built from
//! the same taxonomy, with the types as enums and every array and string bounded.

mod schema;
mod taxonomy;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;

pub use schema::{answer_schema, entity_schema, relation_schema, Ordered};
use taxonomy::{check_signatures, validate_taxonomy};
pub use taxonomy::{End, Limits, Taxonomy, TypeDef};

/// The domain `run` uses without `--domain`/`--prompts`.
pub const DEFAULT_DOMAIN: &str = "general";

/// The relation type that is allowed only as a last resort.
pub const GENERIC_RELATION: &str = "RELATES_TO";

/// Errors a user can fix in their prompts folder.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("cannot read {path}: {source}; point --prompts (or AEGIS_PROMPTS_DIR) at a folder with taxonomy.toml")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid taxonomy: {message}; fix it (prompts/general/taxonomy.toml shows the format)")]
    Taxonomy { path: PathBuf, message: String },
    #[error("template {path} does not render: {message}; fix its Jinja syntax (or delete it to use the general one)")]
    Template { path: PathBuf, message: String },
    #[error("no domain named '{domain}' in {dir} (available: {available}): pass one of those to --domain, or a folder to --prompts")]
    UnknownDomain {
        domain: String,
        dir: PathBuf,
        available: String,
    },
}

/// How a chunk's relations are asked for (`--relations`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum RelationsMode {
    /// One request per chunk answers entities and relations together.
    #[default]
    Joint,
    /// A request for the entities, then one for the relations whose endpoints are enums of
    /// the entities kept (none when fewer than two were kept).
    TwoPass,
    /// Joint; then, for a chunk whose answer lost relations to an endpoint that is not one
    /// of its entities (dangling or dropped), the relations request of two-pass over the
    /// entities kept.
    Repair,
}

/// A pass of `--relations two-pass`.
#[derive(Debug, Clone, Copy)]
pub enum Pass<'a> {
    Entities,
    /// The chunk's entities (name, type) that the first pass kept.
    Relations(&'a [(&'a str, &'a str)]),
}

/// What the entities pass asks, after the chunk's text.
pub const ENTITIES_ASK: &str = "Extract the entities of the text above, as the instructions say. Answer with ONE JSON object {\"entities\": [...]} only: the relations are asked for next.";

/// What the relations pass asks, after the chunk's text and before the entity list.
pub const RELATIONS_ASK: &str = "Extract the relations that the text above states between these entities, as the instructions say. \"source\" and \"target\" are names exactly as in this list. Answer with ONE JSON object {\"relations\": [...]} only.";

/// The user message of one pass of `--relations two-pass`: the chunk's text first, the same
/// bytes in both passes (the engine's prefix cache serves the second prefill), then what the
/// pass asks. No template: the same for every domain, so a batch import builds the
/// relations request without the prompts folder.
pub fn pass_message(text: &str, pass: Pass) -> String {
    let mut m = format!("---BEGIN TEXT---\n{text}\n---END TEXT---\n\n");
    match pass {
        Pass::Entities => m.push_str(ENTITIES_ASK),
        Pass::Relations(entities) => {
            m.push_str(RELATIONS_ASK);
            for (name, kind) in entities {
                m.push_str(&format!("\n- {name} ({kind})"));
            }
        }
    }
    m
}

/// A loaded, validated prompt set: renders the messages of one chunk.
#[derive(Debug, Clone)]
pub struct PromptSet {
    pub taxonomy: Taxonomy,
    pub dir: PathBuf,
    /// Rendered system message; identical for every request.
    pub system: Arc<str>,
    user_template: String,
    /// The JSON schema of the answer, as sent: its keys in the order the prompt explains
    /// the fields (a grammar makes the model write them in this order).
    pub schema: Arc<str>,
    /// The schema of the entities pass (`--relations two-pass`).
    pub entity_schema: Arc<str>,
    /// blake3 of the taxonomy, the templates and the schema: part of every chunk key.
    pub fingerprint: String,
    /// The compact system template is in use (small contexts).
    pub compact: bool,
    sources: Arc<Sources>,
}

/// The files a prompt set was built from, kept to build variants (other limits, the
/// compact template) for small model contexts.
#[derive(Debug)]
struct Sources {
    taxonomy: Taxonomy,
    system: (PathBuf, String),
    compact: (PathBuf, String),
    user: (PathBuf, String),
}

/// Where the built-in domains live: `AEGIS_PROMPTS_DIR`, else `prompts/` next to the
/// executable's project (for `cargo run` and installed copies) or `share/aegis-ingest/prompts`
/// beside its `bin/` (`make install`), else `./prompts`.
pub fn default_prompts_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("AEGIS_PROMPTS_DIR") {
        return PathBuf::from(dir);
    }
    let here = PathBuf::from("prompts");
    if here.is_dir() {
        return here;
    }
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("prompts");
    if built.is_dir() {
        return built;
    }
    if let Ok(exe) = std::env::current_exe() {
        for anc in exe.ancestors().skip(1).take(4) {
            for p in [anc.join("prompts"), anc.join("share/aegis-ingest/prompts")] {
                if p.is_dir() {
                    return p;
                }
            }
        }
    }
    here
}

fn read(path: &Path) -> Result<String, PromptError> {
    std::fs::read_to_string(path).map_err(|source| PromptError::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl PromptSet {
    /// Loads `--domain NAME` from the prompts root.
    pub fn load_domain(root: &Path, domain: &str) -> Result<Self, PromptError> {
        let dir = root.join(domain);
        if !dir.join("taxonomy.toml").is_file() {
            let mut available: Vec<String> = std::fs::read_dir(root)
                .map(|rd| {
                    rd.filter_map(Result::ok)
                        .filter(|e| e.path().join("taxonomy.toml").is_file())
                        .filter_map(|e| e.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default();
            available.sort();
            return Err(PromptError::UnknownDomain {
                domain: domain.to_string(),
                dir: root.to_path_buf(),
                available: if available.is_empty() {
                    "none".into()
                } else {
                    available.join(", ")
                },
            });
        }
        Self::load_dir(&dir)
    }

    /// Loads `taxonomy.toml`, `system.j2` and `user.j2` from `dir`. Missing templates fall
    /// back to the ones of the built-in `general` domain.
    pub fn load_dir(dir: &Path) -> Result<Self, PromptError> {
        let tax_path = dir.join("taxonomy.toml");
        let text = read(&tax_path)?;
        let bad = |message: String| PromptError::Taxonomy {
            path: tax_path.clone(),
            message,
        };
        let taxonomy: Taxonomy = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        validate_taxonomy(&taxonomy).map_err(bad)?;
        check_signatures(&text, &taxonomy).map_err(bad)?;
        let template = |name: &str| -> Result<(PathBuf, String), PromptError> {
            let own = dir.join(name);
            if own.is_file() {
                return Ok((own.clone(), read(&own)?));
            }
            let fallback = default_prompts_root().join("general").join(name);
            Ok((fallback.clone(), read(&fallback)?))
        };
        let sources = Arc::new(Sources {
            system: template("system.j2")?,
            compact: template("system-compact.j2")?,
            user: template("user.j2")?,
            taxonomy,
        });
        // Render once now so a broken user template fails at start, not per chunk.
        render(
            &sources.user.0,
            &sources.user.1,
            user_context("probe", None, None),
        )?;
        let limits = sources.taxonomy.limits;
        Self::build(sources, dir, limits, false)
    }

    fn build(
        sources: Arc<Sources>,
        dir: &Path,
        limits: Limits,
        compact: bool,
    ) -> Result<Self, PromptError> {
        let mut taxonomy = sources.taxonomy.clone();
        taxonomy.limits = limits;
        let schema = answer_schema(&taxonomy).to_string();
        let entity_schema = entity_schema(&taxonomy).to_string();
        let (sys_path, system_template) = if compact {
            &sources.compact
        } else {
            &sources.system
        };
        let system = render(sys_path, system_template, system_context(&taxonomy))?;
        let user_template = sources.user.1.clone();
        let mut h = blake3::Hasher::new();
        for part in [
            toml::to_string(&taxonomy).unwrap_or_default().as_str(),
            system.as_ref(),
            user_template.as_str(),
            &schema,
        ] {
            h.update(part.as_bytes());
            h.update(&[0]);
        }
        Ok(Self {
            fingerprint: h.finalize().to_hex()[..32].to_string(),
            taxonomy,
            dir: dir.to_path_buf(),
            system: Arc::from(system),
            user_template,
            schema: Arc::from(schema),
            entity_schema: Arc::from(entity_schema),
            compact,
            sources,
        })
    }

    /// The same prompt set with other answer bounds and/or the compact system template.
    pub fn variant(&self, limits: Limits, compact: bool) -> Result<Self, PromptError> {
        Self::build(self.sources.clone(), &self.dir, limits, compact)
    }

    /// The user message for one chunk.
    pub fn user_message(&self, text: &str, doc: &str, section: Option<&str>) -> String {
        // The template rendered at load time; a failure here means the template depends
        // on the chunk in a way that breaks (e.g. a filter on missing data): fall back to
        // the text alone rather than fail the chunk.
        render(
            Path::new("user.j2"),
            &self.user_template,
            user_context(text, Some(doc), section),
        )
        .unwrap_or_else(|_| format!("---BEGIN TEXT---\n{text}\n---END TEXT---"))
    }

    /// A generous upper bound of the answer's size in tokens, from the schema's bounds.
    pub fn max_answer_tokens(&self) -> u32 {
        // ~3 characters per token covers tokenizers that are worse than English BPE.
        self.max_answer_chars().div_ceil(3)
    }

    /// An answer that fills every bound of the schema (every array full, every string at
    /// its longest, written with words of the system prompt), in the schema's field order:
    /// what the served tokenizer is asked to count to size the output budget.
    pub fn largest_answer(&self) -> String {
        let l = self.taxonomy.limits;
        // Plain words only: no character that JSON escapes.
        let words: Vec<&str> = self
            .system
            .split_whitespace()
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '-'))
            .collect();
        let mut at = 0usize;
        let mut filler = |n: u32| {
            let mut s = String::new();
            while s.chars().count() < n as usize {
                if !s.is_empty() {
                    s.push(' ');
                }
                s.push_str(
                    words
                        .get(at % words.len().max(1))
                        .copied()
                        .unwrap_or("text"),
                );
                at += 1;
            }
            s.chars().take(n as usize).collect::<String>()
        };
        let longest = |v: &[TypeDef]| {
            v.iter()
                .map(|t| t.name.clone())
                .max_by_key(String::len)
                .unwrap_or_default()
        };
        let (et, rt) = (
            longest(&self.taxonomy.entity_types),
            longest(&self.taxonomy.relation_types),
        );
        let entities: Vec<Ordered> = (0..l.max_entities)
            .map(|_| {
                Ordered::Object(vec![
                    ("name", Ordered::Value(json!(filler(l.max_name_chars)))),
                    ("type", Ordered::Value(json!(et))),
                    (
                        "description",
                        Ordered::Value(json!(filler(l.max_description_chars))),
                    ),
                ])
            })
            .collect();
        let relations: Vec<Ordered> = (0..l.max_relations)
            .map(|_| {
                Ordered::Object(vec![
                    ("source", Ordered::Value(json!(filler(l.max_name_chars)))),
                    ("target", Ordered::Value(json!(filler(l.max_name_chars)))),
                    ("type", Ordered::Value(json!(rt))),
                    (
                        "description",
                        Ordered::Value(json!(filler(l.max_description_chars))),
                    ),
                    ("strength", Ordered::Value(json!(0.75))),
                ])
            })
            .collect();
        let list = |items: Vec<Ordered>| {
            items
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        format!(
            "{{\"entities\":[{}],\"relations\":[{}]}}",
            list(entities),
            list(relations)
        )
    }

    /// The longest answer the schema allows, in characters (JSON punctuation included).
    pub fn max_answer_chars(&self) -> u32 {
        let l = self.taxonomy.limits;
        let type_chars = self
            .taxonomy
            .entity_types
            .iter()
            .chain(&self.taxonomy.relation_types)
            .map(|t| t.name.len() as u32)
            .max()
            .unwrap_or(16);
        let entity = l.max_name_chars + type_chars + l.max_description_chars + 40;
        let relation = 2 * l.max_name_chars + type_chars + l.max_description_chars + 70;
        40 + l.max_entities * entity + l.max_relations * relation
    }
}

fn system_context(t: &Taxonomy) -> minijinja::Value {
    minijinja::context! {
        domain => t.name.clone(),
        description => t.description.clone(),
        entity_types => minijinja::Value::from(minijinja::value::Serde(&t.entity_types)),
        relation_types => minijinja::Value::from(minijinja::value::Serde(&t.relation_types)),
        generic_relation => GENERIC_RELATION,
        limits => minijinja::Value::from(minijinja::value::Serde(t.limits)),
    }
}

fn user_context(text: &str, doc: Option<&str>, section: Option<&str>) -> minijinja::Value {
    minijinja::context! { text => text, doc => doc, section => section }
}

fn render(path: &Path, source: &str, ctx: minijinja::Value) -> Result<String, PromptError> {
    let mut env = minijinja::Environment::new();
    let err = |e: minijinja::Error| PromptError::Template {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    env.add_template("t", source).map_err(err)?;
    env.get_template("t").map_err(err)?.render(ctx).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn general() -> PromptSet {
        PromptSet::load_domain(&default_prompts_root(), "general").unwrap()
    }

    #[test]
    fn general_domain_has_a_typed_vocabulary() {
        let p = general();
        let rels: Vec<&str> = p
            .taxonomy
            .relation_types
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        assert!(rels.len() >= 16, "{} relation types", rels.len());
        assert!(rels.contains(&GENERIC_RELATION));
        // The prompt names the generic type as a last resort.
        assert!(p.system.contains(GENERIC_RELATION));
        assert!(p.system.to_lowercase().contains("last resort"));
        for r in &p.taxonomy.relation_types {
            assert!(
                p.system.contains(&r.name),
                "{} missing from the prompt",
                r.name
            );
        }
    }

    #[test]
    fn schema_enums_come_from_the_taxonomy_and_everything_is_bounded() {
        let p = general();
        let s: Value = serde_json::from_str(&p.schema).unwrap();
        let ent = &s["properties"]["entities"];
        let rel = &s["properties"]["relations"];
        assert_eq!(
            ent["items"]["properties"]["type"]["enum"]
                .as_array()
                .unwrap()
                .len(),
            p.taxonomy.entity_types.len()
        );
        assert_eq!(
            rel["items"]["properties"]["type"]["enum"]
                .as_array()
                .unwrap()
                .len(),
            p.taxonomy.relation_types.len()
        );
        assert!(ent["maxItems"].as_u64().unwrap() > 0);
        assert!(rel["items"]["properties"]["description"]["maxLength"]
            .as_u64()
            .is_some());
        assert_eq!(s["additionalProperties"], false);
    }

    #[test]
    fn fixed_part_first_and_chunk_only_in_user_message() {
        let p = general();
        let u = p.user_message("Zebulon met Quirinus.", "a.md", Some("Intro"));
        assert!(u.contains("---BEGIN TEXT---\nZebulon met Quirinus.\n---END TEXT---"));
        assert!(!p.system.contains("Zebulon"));
        // The fingerprint is stable for the same files.
        assert_eq!(p.fingerprint, general().fingerprint);
        assert!(p.max_answer_tokens() > 1000);
    }

    #[test]
    fn broken_taxonomy_and_unknown_domain_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("bad");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(
            d.join("taxonomy.toml"),
            "name='bad'\n[[entity_types]]\nname='person'\ndefinition='x'\n[[relation_types]]\nname='X'\ndefinition='y'\n",
        )
        .unwrap();
        let e = PromptSet::load_dir(&d).unwrap_err().to_string();
        assert!(e.contains("UPPER_SNAKE_CASE"), "{e}");
        let e = PromptSet::load_domain(dir.path(), "nope")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no domain named 'nope'") && e.contains("bad"),
            "{e}"
        );
    }

    /// The order of the schema's keys is the order the model writes the fields in.
    #[test]
    fn schema_fields_come_in_the_order_a_model_should_decide_them() {
        let p = general();
        // Each field found after the one before it.
        let order = |fields: &[&str]| {
            let mut from = 0;
            for f in fields {
                let at = p.schema[from..].find(&format!("\"{f}\":{{"));
                assert!(at.is_some(), "{f} after byte {from} in {}", p.schema);
                from += at.unwrap_or(0) + 1;
            }
        };
        order(&["entities", "name", "type", "description", "relations"]);
        order(&[
            "relations",
            "source",
            "target",
            "type",
            "description",
            "strength",
        ]);
        let s: Value = serde_json::from_str(&p.schema).unwrap();
        assert_eq!(
            s["properties"]["relations"]["items"]["required"],
            json!(["source", "target", "type", "description", "strength"])
        );
    }

    #[test]
    fn the_largest_answer_fills_every_bound_and_fits_the_schema() {
        let p = general();
        let a: Value = serde_json::from_str(&p.largest_answer()).unwrap();
        let l = p.taxonomy.limits;
        assert_eq!(
            a["entities"].as_array().unwrap().len(),
            l.max_entities as usize
        );
        assert_eq!(
            a["relations"].as_array().unwrap().len(),
            l.max_relations as usize
        );
        let name = a["relations"][0]["target"].as_str().unwrap();
        assert_eq!(name.chars().count(), l.max_name_chars as usize);
        let x = crate::parse::parse_answer(
            &p.largest_answer(),
            false,
            &crate::parse::Checks::taxonomy(&p.taxonomy),
        )
        .unwrap();
        assert!(x.entities.len() > 1);
        assert!(p.largest_answer().len() as u32 <= p.max_answer_chars());
    }

    fn taxonomy_dir(relations: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("taxonomy.toml"),
            format!("name = 'x'\n[[entity_types]]\nname = 'PERSON'\ndefinition = 'p'\n[[entity_types]]\nname = 'ORGANIZATION'\ndefinition = 'o'\n[[entity_types]]\nname = 'LOCATION'\ndefinition = 'l'\n{relations}"),
        )
        .unwrap();
        dir
    }

    #[test]
    fn a_bad_signature_names_the_file_and_the_line() {
        let d = taxonomy_dir("[[relation_types]]\nname = 'WORKS_FOR'\ndefinition = 'w'\nsource = ['PERSON']\ntarget = ['ORGANISATION']\n");
        let e = PromptSet::load_dir(d.path()).unwrap_err().to_string();
        assert!(e.contains("taxonomy.toml") && e.contains("line 15"), "{e}");
        assert!(e.contains("'ORGANISATION'"), "{e}");
        let d = taxonomy_dir(
            "[[relation_types]]\nname = 'WORKS_FOR'\ndefinition = 'w'\n\nsource = []\n",
        );
        let e = PromptSet::load_dir(d.path()).unwrap_err().to_string();
        assert!(
            e.contains("line 15") && e.contains("empty source list"),
            "{e}"
        );
    }

    #[test]
    fn the_passes_have_their_own_schemas_and_share_the_text_prefix() {
        let d = taxonomy_dir("[[relation_types]]\nname = 'WORKS_FOR'\ndefinition = 'w'\nsource = ['PERSON']\ntarget = ['ORGANIZATION']\n[[relation_types]]\nname = 'LOCATED_IN'\ndefinition = 'l'\ntarget = ['LOCATION']\n[[relation_types]]\nname = 'RELATES_TO'\ndefinition = 'r'\n");
        let p = PromptSet::load_dir(d.path()).unwrap();
        let e: Value = serde_json::from_str(&p.entity_schema).unwrap();
        assert!(e["properties"]["relations"].is_null());
        assert_eq!(e["required"], json!(["entities"]));
        let ents = [("Ada", "PERSON"), ("Acme", "ORGANIZATION")];
        let r: Value =
            serde_json::from_str(&relation_schema(&p.taxonomy, &ents).unwrap().to_string())
                .unwrap();
        let branches = r["properties"]["relations"]["items"]["anyOf"]
            .as_array()
            .unwrap();
        // WORKS_FOR (Ada -> Acme) and RELATES_TO (any -> any); LOCATED_IN has no location.
        assert_eq!(branches.len(), 2, "{r}");
        assert_eq!(branches[0]["properties"]["source"]["enum"], json!(["Ada"]));
        assert_eq!(branches[0]["properties"]["target"]["enum"], json!(["Acme"]));
        assert_eq!(
            branches[0]["properties"]["type"]["enum"],
            json!(["WORKS_FOR"])
        );
        assert_eq!(
            branches[1]["properties"]["type"]["enum"],
            json!(["RELATES_TO"])
        );
        assert_eq!(
            branches[1]["properties"]["source"]["enum"],
            json!(["Ada", "Acme"])
        );
        // Fewer than two entities: no relation request.
        assert!(relation_schema(&p.taxonomy, &ents[..1]).is_none());
        let a = pass_message("Ada works at Acme.", Pass::Entities);
        let b = pass_message("Ada works at Acme.", Pass::Relations(&ents));
        let shared = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
        assert!(
            a[..shared].contains("Ada works at Acme.\n---END TEXT---"),
            "{a}"
        );
        assert!(b.contains("- Acme (ORGANIZATION)"));
        // The prompt shows the signatures.
        assert!(
            p.system.contains("WORKS_FOR: w (PERSON -> ORGANIZATION)"),
            "{}",
            p.system
        );
    }
}
