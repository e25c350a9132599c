//! A fault-injecting fake of vLLM's OpenAI-compatible server and of Ollama's native API,
//! over real HTTP on 127.0.0.1, for aegis-ingest's integration tests, benchmarks and
//! crash tests.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use fake_engine::{FakeConfig, FakeEngine, Fault, FaultRule};
//! let fake = FakeEngine::start(
//!     FakeConfig::new().slots(4).fault(FaultRule::first_n(Fault::Status500, 2)),
//! )
//! .await?;
//! let base = fake.url(); // http://127.0.0.1:PORT
//! // ... point the client at `base`, then:
//! assert!(fake.stats().max_in_flight <= 4);
//! # Ok(()) }
//! ```
//!
//! The answer to a chat request is a pure function of the chunk text (see
//! [`fake_extraction`]), so tests can predict it.

mod chat;
mod config;
mod extract;
mod faults;
mod ollama;
mod openai;
mod report;
mod routes;
mod server;
mod share;
mod stats;

pub use config::{Api, ColdStart, FakeConfig, Fault, FaultRule, Latency, Mistakes, When};
pub use extract::{
    chunk_key, estimate_tokens, extract_chunk_text, fake_entity_names, fake_extraction,
    BEGIN_MARKER, END_MARKER,
};
pub use report::FOREIGN_ID;
pub use server::{FakeEngine, FakeHandle};
pub use stats::Stats;

/// Parse fault rules from JSON: either `[rule, ...]` or `{"faults":[rule, ...]}`.
pub fn parse_fault_rules(json: &str) -> anyhow::Result<Vec<FaultRule>> {
    routes::parse_rules(json.as_bytes()).map_err(anyhow::Error::msg)
}
