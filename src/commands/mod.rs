//! The commands that work on a run's `--out` folder or on the engines, one module each.
//! Each reads a finished run through `outdir::finished` (never the files by itself).

pub mod batch;
pub mod communities;
pub mod doctor;
pub mod eval;
pub mod export;
pub mod merge;
pub mod shell;
pub mod status;
