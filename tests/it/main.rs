//! Integration tests: the real binary against fake engines over real HTTP on 127.0.0.1.
//! One binary, a module per area (ripgrep's layout); each test gets fresh temp folders.

mod answers;
mod batch;
mod cli;
mod communities;
mod endpoints;
mod engines;
mod errors;
mod eval;
mod eval_communities;
mod export;
mod export_communities;
mod first_run;
mod golden;
mod pace;
mod relations_two_pass;
mod resume;
mod run;
mod setup_feedback;
mod shards;
mod signals;
mod support;
