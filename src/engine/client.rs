//! The two engine clients (vLLM's OpenAI API, Ollama's) behind one interface, for the
//! router and the start-up probe.

use super::ollama::OllamaClient;
use super::openai::OpenAiClient;
use super::{ChatAnswer, ChatRequest, EngineError, EngineKind};

/// The two engines behind one interface.
#[derive(Debug, Clone)]
pub enum EngineClient {
    OpenAi(OpenAiClient),
    Ollama(OllamaClient),
}

impl EngineClient {
    pub fn kind(&self) -> EngineKind {
        match self {
            EngineClient::OpenAi(_) => EngineKind::Vllm,
            EngineClient::Ollama(_) => EngineKind::Ollama,
        }
    }

    pub fn url(&self) -> &str {
        match self {
            EngineClient::OpenAi(c) => c.base_url(),
            EngineClient::Ollama(c) => c.base_url(),
        }
    }

    pub fn model(&self) -> String {
        match self {
            EngineClient::OpenAi(c) => c.model(),
            EngineClient::Ollama(c) => c.model().to_string(),
        }
    }

    pub async fn chat(&self, req: &ChatRequest) -> Result<ChatAnswer, EngineError> {
        match self {
            EngineClient::OpenAi(c) => c.chat(req).await,
            EngineClient::Ollama(c) => c.chat(req).await,
        }
    }

    /// Cheap readiness check used while an engine is down; returns the context length
    /// when the engine tells it.
    pub async fn ready(&self) -> Result<Option<u32>, EngineError> {
        match self {
            EngineClient::OpenAi(c) => c.ready().await,
            EngineClient::Ollama(c) => c.ready().await.map(|()| None),
        }
    }
}
