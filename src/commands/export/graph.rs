//! What every format writer gets: the load's context, the run's records (read once, in
//! order, with counts), names made safe for a graph database, and readable files.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::community::{descriptions, Communities};
use super::records::{CleanRecord, Entity, Relation};
use crate::error::RunError;
use crate::outdir::finished::{FinishedRun, JsonlReader};

/// What every format needs to know about the load.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Stored with every node, relationship and row; cleanup never leaves it.
    pub namespace: String,
    /// A hash of the namespace and the two output files: the same outputs give the same
    /// stamp, so loading them again sets every property to the value it already has.
    pub stamp: String,
    /// The corpus folder the run read.
    pub corpus: String,
}

/// Counts of what was exported, for the summary.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub entities: u64,
    pub relations: u64,
    pub entity_types: BTreeMap<String, u64>,
    pub relation_types: BTreeMap<String, u64>,
    /// Communities written (0 when the finishing step has not run).
    pub communities: u64,
}

/// The run's outputs, read record by record, with progress; the summarized descriptions
/// (`descriptions.jsonl`) replace the records' own, and the communities come along when
/// the finishing step has written them.
pub struct Input {
    entities: PathBuf,
    relations: PathBuf,
    /// Summarized descriptions by entity or relation id.
    descriptions: HashMap<String, String>,
    /// `None` when there is no `communities.jsonl`: every format then writes what it
    /// wrote before communities existed, byte for byte.
    pub communities: Option<Communities>,
    /// The entity ids read, kept when there are communities: a membership naming an
    /// entity the outputs no longer hold (communities older than the outputs) is left out.
    entity_ids: Option<HashSet<String>>,
    pub(super) bar: ProgressBar,
    pub stats: Stats,
}

impl Input {
    pub(super) fn new(run: &FinishedRun, quiet: bool) -> Result<Self, RunError> {
        let (entities, relations) = (run.entities_path(), run.relations_path());
        let total = [&entities, &relations]
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        let bar = if quiet || !io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let b = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template(
                    "{msg:>10} [{bar:30}] {binary_bytes}/{binary_total_bytes} {elapsed}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        };
        let communities = Communities::load(run)?;
        let stats = Stats {
            communities: communities.as_ref().map_or(0, |c| c.list.len() as u64),
            ..Stats::default()
        };
        Ok(Self {
            entities,
            relations,
            descriptions: descriptions(run)?,
            entity_ids: communities.as_ref().map(|_| HashSet::new()),
            communities,
            bar,
            stats,
        })
    }

    /// Calls `f` on every entity, in file order.
    pub fn entities(&mut self, mut f: impl FnMut(&Entity) -> io::Result<()>) -> io::Result<()> {
        self.bar.set_message("entities");
        let mut r = JsonlReader::open(&self.entities)?;
        while let Some((mut e, n)) = r.read::<Entity>()? {
            if let Some(d) = self.descriptions.get(&e.id) {
                e.description.clone_from(d);
            }
            e.clean_record();
            if let Some(ids) = &mut self.entity_ids {
                ids.insert(e.id.clone());
            }
            self.stats.entities += 1;
            bump(&mut self.stats.entity_types, &e.kind);
            f(&e)?;
            self.bar.inc(n);
        }
        Ok(())
    }

    /// After `entities`: whether the outputs hold the entity `id`.
    pub fn has_entity(&self, id: &str) -> bool {
        self.entity_ids.as_ref().is_none_or(|ids| ids.contains(id))
    }

    /// After `entities`: memberships of the communities that name an entity the outputs
    /// do not hold.
    pub fn stale_memberships(&self) -> usize {
        self.communities.as_ref().map_or(0, |c| {
            c.memberships().filter(|(e, _)| !self.has_entity(e)).count()
        })
    }

    /// Calls `f` on every relation, in file order.
    pub fn relations(&mut self, mut f: impl FnMut(&Relation) -> io::Result<()>) -> io::Result<()> {
        self.bar.set_message("relations");
        let mut r = JsonlReader::open(&self.relations)?;
        while let Some((mut rel, n)) = r.read::<Relation>()? {
            if let Some(d) = self.descriptions.get(&rel.id) {
                rel.description.clone_from(d);
            }
            rel.clean_record();
            self.stats.relations += 1;
            bump(&mut self.stats.relation_types, &rel.kind);
            f(&rel)?;
            self.bar.inc(n);
        }
        Ok(())
    }
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// A relationship type for a graph database: letters, digits and `_` kept, anything else
/// (spaces, backticks, quotes, punctuation) replaced by `_`, so the name is the same in
/// every database (FalkorDB, for one, does not accept escaped backticks in names). The
/// type exactly as extracted stays in the `type` property.
pub fn graph_type(kind: &str) -> String {
    let s: String = kind
        .trim()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    if s.chars().all(|c| c == '_') {
        "UNTYPED".to_string()
    } else {
        s
    }
}

/// A node label for an entity type: `PERSON` -> `Person`, `DATA_CENTER` -> `DataCenter`
/// (labels are CamelCase by convention); other spellings as in `graph_type`.
pub fn node_label(kind: &str) -> String {
    let t = graph_type(kind);
    let upper_snake = t.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && t.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !upper_snake {
        return t;
    }
    let mut out = String::with_capacity(t.len());
    for word in t.split('_').filter(|w| !w.is_empty()) {
        let mut cs = word.chars();
        if let Some(first) = cs.next() {
            out.push(first);
            out.extend(cs.map(|c| c.to_ascii_lowercase()));
        }
    }
    out
}

/// Export files are for a database server to read (neo4j-admin often runs as its own user):
/// mode 0644 instead of the temp file's 0600.
pub fn readable(p: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = p;
    Ok(())
}
