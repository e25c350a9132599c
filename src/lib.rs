//! aegis-ingest: a corpus of documents -> typed entities and relations, extracted by a
//! local vLLM server (Ollama as fallback), checkpointed per chunk so a rerun resumes.
//!
//! The stages of the pipeline are modules: `walk` -> `read` -> `chunk` -> `prompt` ->
//! `engine` (clients + `router`) -> `parse` -> `journal` (one writer) -> `merge` ->
//! `report`. `pipeline` drives them; `main.rs` only maps the outcome to an exit code.

// All printing goes through `console` (`outln!`, `errln!`...): std's macros panic when
// the reader has gone away.
#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod chunk;
pub mod cli;
pub mod commands;
pub mod community;
pub mod console;
pub mod engine;
pub mod error;
pub mod merge;
pub mod outdir;
pub mod parse;
pub mod progress;
pub mod prompt;
pub mod quality;
pub mod read;
pub mod run;

use crate::cli::{Cli, Command, LogFormat};
use crate::error::{exit_code_of, ExitCode};

fn init_logging(format: LogFormat, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if quiet { "warn" } else { "info" };
    // The certificate verifier logs its own ERROR for an untrusted certificate; the engine
    // probe says the same with what to do (--ca-cert), once. RUST_LOG may still ask for it.
    let mut directives = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_string());
    if !directives.contains("rustls_platform_verifier") {
        directives.push_str(",rustls_platform_verifier=off");
    }
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(progress::log_writer)
        .with_ansi(console::stderr_colour())
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.without_time().try_init(),
    };
}

/// Runs a parsed command line; returns the exit code.
pub async fn execute(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => {
            init_logging(args.output.log_format, args.output.quiet);
            let finishing = commands::communities::settings_for_run(&args)?;
            let settings = run::settings::RunSettings::from_args(*args)?;
            if settings.dry_run {
                return run::dry_run(settings).await;
            }
            let code = run::run(settings).await?;
            match finishing {
                // `--communities`: the finishing step on the outputs just written.
                Some(s) if matches!(code, ExitCode::Done | ExitCode::SomeFailed) => {
                    let step = commands::communities::finish_run(s).await?;
                    Ok(if step == ExitCode::Done { code } else { step })
                }
                _ => Ok(code),
            }
        }
        Command::Communities(args) => {
            init_logging(args.output.log_format, args.output.quiet);
            commands::communities::communities(&args).await
        }
        Command::Status(args) => {
            init_logging(args.output.log_format, args.output.quiet);
            commands::status::status(&args).await
        }
        Command::Doctor(args) => {
            init_logging(args.log_format, false);
            commands::doctor::doctor(&args).await
        }
        Command::Merge(args) => {
            init_logging(args.output.log_format, args.output.quiet);
            commands::merge::merge(
                &args.shards,
                &args.output.out,
                args.allow_partial,
                args.output.quiet,
            )
        }
        Command::Batch(crate::cli::BatchCommand::Export(args)) => {
            init_logging(args.run.output.log_format, args.run.output.quiet);
            commands::batch::export(*args).await
        }
        Command::Batch(crate::cli::BatchCommand::Import(args)) => {
            init_logging(args.output.log_format, args.output.quiet);
            tokio::task::spawn_blocking(move || commands::batch::import(&args))
                .await
                .unwrap_or_else(|e| Err(anyhow::anyhow!("internal error: {e}")))
        }
        Command::Eval(args) => {
            init_logging(args.output.log_format, args.output.quiet);
            commands::eval::eval(&args)
        }
        Command::Export(args) => {
            init_logging(args.output.log_format, args.output.quiet);
            tokio::task::spawn_blocking(move || commands::export::export(&args))
                .await
                .unwrap_or_else(|e| Err(anyhow::anyhow!("internal error: {e}")))
        }
        Command::Config(args) => cli::config_file::show(cli.config, &args),
        Command::Completions(args) => cli::completions::completions(&args),
        Command::Man(args) => cli::completions::man(&args),
    }
}

/// The whole program: parse, run, report the error in one sentence, map to an exit code.
pub fn main_entry() -> i32 {
    // The command line over the settings file (aegis.toml): flag > env > file > default.
    let cli = match cli::config_file::parse_command_line(std::env::args_os().collect()) {
        Ok(parsed) => {
            if let (Some(f), Command::Run(a)) = (&parsed.file, &parsed.cli.command) {
                if !a.output.quiet {
                    crate::errln!(
                        "aegis-ingest: settings from {} (`aegis-ingest config` shows each one's source)",
                        f.path.display()
                    );
                }
            }
            parsed.cli
        }
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            crate::errln!("aegis-ingest: cannot start the async runtime: {e}; the system refused threads or memory (check `ulimit -u` and free memory)");
            return ExitCode::Usage as i32;
        }
    };
    // The pipeline runs on a worker thread, not on this one (`block_on`): the dispatcher
    // then spawns its per-chunk tasks into its own worker's queue instead of waking a
    // worker from outside for each (measured: ~2 futex calls a chunk).
    let result = runtime.block_on(async move {
        tokio::spawn(execute(cli))
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("internal error: {e}; this is a bug: please report it with the command line (a rerun resumes from the checkpoint)")))
    });
    // In-flight HTTP requests may still hold tasks; do not wait for them.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    // Output lost other than to a reader that left (a full disk under `> file`).
    let result = match (result, console::stdout_failure()) {
        (Ok(_), Some(why)) => Err(anyhow::anyhow!(
            "cannot write the output: {why}; check the disk or the file stdout goes to"
        )),
        (r, _) => r,
    };
    match result {
        Ok(code) => code as i32,
        Err(e) => {
            crate::errln!("aegis-ingest: {e:#}");
            exit_code_of(&e) as i32
        }
    }
}
