//! The names of the files in `--out` that more than one module reads or writes. The
//! journal's and the file cache's own names are in their modules.

/// `run.json`: the last run's identity (settings, models, exit code), written at its end.
pub const STATE_FILE: &str = "run.json";
/// The outputs: one entity, one relation a line.
pub const ENTITIES_FILE: &str = "entities.jsonl";
pub const RELATIONS_FILE: &str = "relations.jsonl";
/// What the run saw, did, skipped and failed.
pub const REPORT_FILE: &str = "report.json";
/// The documents skipped or failed, one a row.
pub const SKIPPED_FILE: &str = "skipped.csv";
/// The run's lock: exclusive for a run, shared for readers.
pub const LOCK_FILE: &str = ".lock";
/// What the outputs were merged from (see `merge::outputs`).
pub const OUTPUTS_FILE: &str = "outputs.json";
/// The finishing step's outputs (`aegis-ingest communities`): the hierarchy of communities,
/// one a line, and one report per community that got one.
pub const COMMUNITIES_FILE: &str = "communities.jsonl";
pub const COMMUNITY_REPORTS_FILE: &str = "community_reports.jsonl";
/// One summarized description per entity or relation whose fragments were summarized.
pub const DESCRIPTIONS_FILE: &str = "descriptions.jsonl";
