//! Batch files: offline extraction through `vllm run-batch`, an OpenAI-compatible batch API
//! or a Ray Data job, with the guarantees of a live run.
//!
//! ```text
//! batch export CORPUS --out DIR --batch FILE
//!     walk -> read -> chunk -> key -> [in the checkpoint? skip]      (the run's producer)
//!     -> FILE: {"custom_id": key, "method", "url", "body": the exact chat request}
//!     -> DIR/batch/chunks.jsonl (key, document, chunk, user message, where its text is)
//!     -> DIR/batch/export.json  (model, prompts, answer schema, bounds: what import checks)
//! batch import RESULTS... --out DIR
//!     check every result file first (nothing is written when one is wrong)
//!     -> validate each answer like a live one (schema, types, grounding in its chunk)
//!     -> journal it under its key; a failure goes to DIR/batch/retry.jsonl as a request
//! run CORPUS --out DIR      resumes: no request for an imported chunk
//! ```
//!
//! With `--relations two-pass` the export holds the entities pass; its import journals the
//! chunks that keep fewer than two entities and writes the relations pass of the others to
//! `DIR/batch/relations.jsonl` (custom_id `KEY#relations`), whose results a second import
//! journals (`two_pass`).
//!
//! Import needs neither the corpus nor the prompts folder: the export keeps what validation
//! needs (taxonomy, schema, grounding mode, each chunk's text).

mod export;
mod files;
mod import;
mod results;
mod two_pass;

pub use export::export;
pub use files::DIR_NAME;
pub use import::import;
