//! `aegis-ingest status`: what the checkpoint in `--out` holds against the corpus as it is
//! now (documents and chunks done, failed, pending), the engines used, the last activity,
//! and the exact command that resumes. It reads; it never changes the checkpoint.

use std::collections::HashSet;
use std::path::PathBuf;

use crate::chunk::{ChunkSettings, Chunker};
use crate::cli::StatusArgs;
use crate::error::{ExitCode, RunError};
use crate::journal::Journal;
use crate::pipeline::{chunk_key, RunState, STATE_FILE};
use crate::prompt::PromptSet;
use crate::walk::{walk, PathFilter, WalkItem};

fn shell_quote(a: &str) -> String {
    if !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,+".contains(&b))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

pub async fn status(args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let out = &args.output.out;
    let state_path = out.join(STATE_FILE);
    let state: RunState = match std::fs::read(&state_path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| {
            RunError::config(format!("{} is unreadable: {e}", state_path.display()))
        })?,
        Err(_) if !out.join(crate::journal::FILE_NAME).exists() => {
            return Err(RunError::config(format!(
                "no checkpoint in {}: start one with `aegis-ingest run <CORPUS> --out {}`",
                out.display(),
                out.display()
            ))
            .into());
        }
        Err(_) => RunState::default(),
    };
    // Opening recovers a torn tail, as a run would; status takes no lock, so it only reads
    // when no run holds the folder.
    let journal = Journal::open(out).map_err(|e| RunError::config(e.to_string()))?;
    println!("checkpoint: {}", journal.path().display());
    println!(
        "  records:        {} chunks ({} bytes)",
        journal.len(),
        std::fs::metadata(journal.path())
            .map(|m| m.len())
            .unwrap_or(0)
    );
    if journal.opened.last_activity > 0 {
        let ago = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            .saturating_sub(journal.opened.last_activity);
        println!("  last activity:  {ago} s ago");
    }
    let at_open = journal.at_open();
    for (model, n) in &at_open.done_by_model() {
        println!("  model {model}: {n} chunks");
    }
    if state.corpus.is_empty() {
        println!("no finished run recorded yet (run.json missing): the corpus is unknown");
        return Ok(ExitCode::SomeFailed);
    }
    let corpus = PathBuf::from(&state.corpus);
    println!("corpus: {}", corpus.display());
    let loaded = PromptSet::load_dir(std::path::Path::new(&state.prompts_dir))
        .map_err(|e| RunError::config(e.to_string()))?;
    // The run's plan may have used other bounds or the compact template (small contexts).
    let prompts = match state.limits {
        Some(l) => loaded
            .variant(l, state.compact)
            .map_err(|e| RunError::config(e.to_string()))?,
        None => loaded,
    };
    let settings = ChunkSettings {
        tokens: state.chunk_tokens,
        overlap: state.chunk_overlap,
    };
    let chunker = Chunker::new(settings).map_err(RunError::config)?;
    let (mut docs, mut docs_done, mut skipped) = (0u64, 0u64, 0u64);
    let (mut chunks, mut chunks_done, mut chunks_failed) = (0u64, 0u64, 0u64);
    let mut seen = HashSet::new();
    let filter = PathFilter::new(&state.include, &state.exclude)
        .map_err(|e| RunError::config(e.to_string()))?;
    for item in walk(&corpus, filter) {
        let WalkItem::Doc(entry) = item else {
            skipped += 1;
            continue;
        };
        let Ok(doc) = crate::read::read_document(&entry, state.max_file_size.unwrap_or(u64::MAX))
        else {
            skipped += 1;
            continue;
        };
        docs += 1;
        let mut all = true;
        for ch in chunker.chunk(&doc) {
            chunks += 1;
            let user = prompts.user_message(&ch.text, &entry.rel, ch.section.as_deref());
            let key = chunk_key(
                &crate::pipeline::key_fingerprint(&prompts.fingerprint, state.gleaning),
                settings,
                &user,
            );
            seen.insert(key);
            match at_open.get(&key) {
                Some(e) if e.ok => chunks_done += 1,
                Some(_) => {
                    chunks_failed += 1;
                    all = false;
                }
                None => all = false,
            }
        }
        if all {
            docs_done += 1;
        }
    }
    let pending = chunks - chunks_done - chunks_failed;
    println!("  documents:      {docs_done}/{docs} done, {skipped} skipped or unreadable");
    println!(
        "  chunks:         {chunks_done}/{chunks} done, {chunks_failed} failed, {pending} pending"
    );
    if state.exit_code != 0 || pending + chunks_failed > 0 {
        let cmd: Vec<String> = state.command.iter().map(|a| shell_quote(a)).collect();
        println!("resume with:      {}", cmd.join(" "));
    } else {
        println!("complete: outputs in {} match the corpus", out.display());
    }
    Ok(if pending + chunks_failed == 0 {
        ExitCode::Done
    } else {
        ExitCode::SomeFailed
    })
}
