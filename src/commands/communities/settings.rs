//! The finishing step's settings: the flags checked (every mistake one sentence, exit 2)
//! and the templates loaded.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{CommunitiesArgs, CommunityFlags, EngineArgs, OutputArgs, PaceArgs, PromptArgs};
use crate::community::Params;
use crate::engine::setup::EngineSettings;
use crate::error::RunError;
use crate::prompt::default_prompts_root;

/// The report template's file name in a prompts folder.
pub const REPORT_TEMPLATE: &str = "community_report.j2";
/// The summary template's file name in a prompts folder.
pub const SUMMARY_TEMPLATE: &str = "summarize.j2";

/// One template: where it was read from and its text.
#[derive(Debug, Clone)]
pub struct Template {
    pub path: PathBuf,
    pub text: String,
}

impl Template {
    /// Renders the template with `ctx`; one sentence naming the file on failure.
    pub fn render(&self, ctx: minijinja::Value) -> Result<String, RunError> {
        let env = minijinja::Environment::new();
        env.render_str(&self.text, ctx).map_err(|e| {
            RunError::usage(format!(
                "the template {} does not render: {e}; fix it or remove it to use the built-in one",
                self.path.display()
            ))
        })
    }
}

/// Validated settings of one `communities` run.
pub struct Settings {
    pub out: PathBuf,
    pub quiet: bool,
    pub params: Params,
    pub min_size: usize,
    pub max_input_tokens: u32,
    pub summarize_fragments: usize,
    pub summarize_tokens: usize,
    pub report_template: Template,
    pub summary_template: Template,
    pub engines: EngineSettings,
    pub engine_wait: Duration,
    pub stop_grace: Duration,
}

impl Settings {
    pub fn from_args(a: &CommunitiesArgs) -> Result<Self, RunError> {
        Self::new(&a.output, &a.community, &a.engines, &a.pace, &a.prompt)
    }

    /// The settings of `run --communities`: the run's own flags.
    pub fn from_run_args(a: &crate::cli::RunArgs) -> Result<Self, RunError> {
        Self::new(&a.output, &a.community, &a.engines, &a.pace, &a.prompt)
    }

    /// Settings from the flags, templates from the prompts folder's domain (the general
    /// domain's where it has none).
    fn new(
        o: &OutputArgs,
        c: &CommunityFlags,
        engines: &EngineArgs,
        e: &PaceArgs,
        p: &PromptArgs,
    ) -> Result<Self, RunError> {
        let params = check_flags(c)?;
        let prompts_dir = templates_dir(p.prompts.as_deref(), &p.domain);
        let prompts_dir = prompts_dir.as_path();
        Ok(Settings {
            out: o.out.clone(),
            quiet: o.quiet,
            params,
            min_size: c.min_community_size.max(1),
            max_input_tokens: c.max_input_tokens,
            summarize_fragments: c.summarize_fragments,
            summarize_tokens: c.summarize_tokens,
            report_template: template(prompts_dir, REPORT_TEMPLATE)?,
            summary_template: template(prompts_dir, SUMMARY_TEMPLATE)?,
            engines: EngineSettings::from_args(engines, e.concurrency, e.ollama_concurrency)?,
            engine_wait: Duration::from_secs(e.engine_wait),
            stop_grace: Duration::from_secs(e.stop_grace),
        })
    }
}

/// The detection flags checked.
fn check_flags(c: &CommunityFlags) -> Result<Params, RunError> {
    if c.max_cluster_size == 0 {
        return Err(RunError::usage(
            "--max-cluster-size must be at least 1 (the default is 10)",
        ));
    }
    if c.max_levels == 0 {
        return Err(RunError::usage(
            "--max-levels must be at least 1 (the default is 8)",
        ));
    }
    if !(c.resolution.is_finite() && c.resolution > 0.0) {
        return Err(RunError::usage(format!(
            "--resolution {} must be a number above 0 (1.0 is standard modularity)",
            c.resolution
        )));
    }
    if c.max_input_tokens < 512 {
        return Err(RunError::usage(
            "--max-input-tokens must be at least 512 (the default is 8000)",
        ));
    }
    if c.summarize_fragments == 0 || c.summarize_tokens == 0 {
        return Err(RunError::usage(
            "--summarize-fragments and --summarize-tokens must be at least 1 (defaults 8 and 1000)",
        ));
    }
    Ok(Params {
        resolution: c.resolution,
        seed: c.seed,
        max_cluster_size: c.max_cluster_size,
        max_levels: c.max_levels,
    })
}

/// `name` from `dir`, else from the built-in general domain.
fn template(dir: &Path, name: &str) -> Result<Template, RunError> {
    let own = dir.join(name);
    let path = if own.is_file() {
        own
    } else {
        default_prompts_root().join("general").join(name)
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        RunError::usage(format!(
            "cannot read the template {}: {e}; put {name} in the --prompts folder or reinstall the built-in prompts",
            path.display()
        ))
    })?;
    let t = Template { path, text };
    // Rendered once now so a broken template fails at start, not per request.
    t.render(minijinja::context! {
        context => "", from_children => false, kind => "entity", name => "probe",
        fragments => vec!["a", "b"], max_words => 10, level => 0, size => 2,
    })?;
    Ok(t)
}

/// Where the templates come from: `--prompts DIR`, else the domain's folder.
fn templates_dir(prompts: Option<&std::path::Path>, domain: &str) -> std::path::PathBuf {
    prompts.map_or_else(|| default_prompts_root().join(domain), |d| d.to_path_buf())
}
