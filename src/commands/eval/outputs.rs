//! A finished run's outputs as `eval` scores them: the run (through `outdir::finished`),
//! its records, and the taxonomy the gold types are checked against.

use std::path::{Path, PathBuf};

use crate::error::RunError;
use crate::outdir::finished::{Entity, FinishedRun, Relation};
use crate::prompt::{default_prompts_root, PromptSet, Taxonomy};

/// A finished run and its output records, as `eval` scores them.
pub struct RunOutputs {
    pub run: FinishedRun,
    pub entities: Vec<Entity>,
    pub relations: Vec<Relation>,
}

impl RunOutputs {
    pub fn open(out: &Path) -> Result<Self, RunError> {
        let run = FinishedRun::open(out)?;
        Ok(RunOutputs {
            entities: run.entities()?,
            relations: run.relations()?,
            run,
        })
    }

    /// The taxonomy the run used: its prompts folder, else the built-in domain named in
    /// the report.
    pub fn taxonomy(&self) -> Result<Taxonomy, RunError> {
        let dir = PathBuf::from(&self.run.state.prompts_dir);
        match PromptSet::load_dir(&dir) {
            Ok(p) => Ok(p.taxonomy),
            Err(first) => {
                let domain = self.run.report.settings["domain"]
                    .as_str()
                    .unwrap_or("general");
                PromptSet::load_domain(&default_prompts_root(), domain)
                    .map(|p| p.taxonomy)
                    .map_err(|_| {
                        RunError::usage(format!(
                            "cannot load the run's taxonomy to check the gold types: {first}"
                        ))
                    })
            }
        }
    }
}
