//! `aegis-ingest completions` and `aegis-ingest man`: shell completions (clap_complete) and
//! man pages (clap_mangen), generated from the same clap definitions as the command line.

use crate::cli::{command, CompletionsArgs, ManArgs};
use crate::error::{ExitCode, RunError};
use crate::progress::print_stdout;

/// The completion script for `shell`.
pub fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    let mut cmd = command(false);
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "aegis-ingest", &mut buf);
    buf
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    print_stdout(completion_script(args.shell))?;
    Ok(ExitCode::Done)
}

pub fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .and_then(|()| clap_mangen::generate_to(command(false), dir))
                .map_err(|e| {
                    RunError::io(
                        dir,
                        &e,
                        format!(
                            "cannot write the man pages to {}: {e}; pass a writable --dir",
                            dir.display()
                        ),
                    )
                })?;
        }
        None => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(command(false)).render(&mut buf)?;
            print_stdout(buf)?;
        }
    }
    Ok(ExitCode::Done)
}
