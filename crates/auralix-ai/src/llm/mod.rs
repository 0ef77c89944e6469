//! Clients for third-party language models (PRODUCT A3): any OpenAI-compatible Chat
//! Completions API and Anthropic's Messages API, streamed, behind one [`ChatProvider`] trait.
//!
//! # Design
//!
//! * **One small client per provider** over `reqwest` (rustls, HTTP/1.1, pooled
//!   keep-alive connections), with our own server-sent-events parser ([`sse`]). We do not use
//!   `async-openai` (which DESIGN's dependency table first named): it would add a large
//!   dependency tree for one endpoint and a half, Anthropic needs its own client and SSE
//!   parsing anyway, and the OpenAI-compatible servers we target (Ollama, vLLM, llama.cpp,
//!   OpenRouter, gateways) are easier to tolerate with a lenient parser of our own.
//! * **[`ChatProvider::stream_chat`]** sends text deltas into a `tokio::sync::mpsc::Sender`
//!   as they arrive and returns the whole text with token usage ([`ChatOutcome`], for usage
//!   metering, PRODUCT A7). When the receiver is dropped (the visitor went away) the call
//!   stops at once, drops the response, which closes the upstream connection and so stops
//!   the generation being paid for, and returns [`LlmError::Cancelled`].
//!   [`ChatProvider::complete`] is the non-streamed variant, for short JSON answers such as
//!   classification (PRODUCT A4).
//! * **Resilience** ([`ResilienceConfig`]): a connect timeout (5 s); a total deadline for a
//!   whole call (30 s, retries included); an idle timeout between two chunks of a stream
//!   (15 s); up to 2 retries with exponential back-off and jitter on 429, 500, 502, 503, 504
//!   (and Anthropic's 529) and on connection errors, honouring a short `Retry-After`, and
//!   only before the answer has started (a success status ends retrying, so no text is ever
//!   streamed twice); a [`CircuitBreaker`] per provider, shared by clones, that fails calls
//!   fast for 30 s after 5 consecutive failures and then lets one trial call through.
//!   Failures are timeouts, connection and protocol errors and retryable statuses; a
//!   cancelled call or a refused request (400, 401, 404, …) says nothing about the
//!   provider's health and does not count.
//!   Callers fall back to the built-in answerer (PRODUCT A2) on any error.
//! * **Secrets**: API keys travel only in request headers. No error message carries one:
//!   errors hold a status, a fixed text, or a provider message with the key replaced; the
//!   clients' `Debug` hides the key; transport errors are stripped of their URL.
//!
//! A client is cheap to clone; keep one per configured provider (so its breaker and its
//! connection pool are shared), or share a breaker between instances with
//! `with_breaker`.

mod anthropic;
mod openai;
mod resilience;
pub mod sse;

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

pub use anthropic::Anthropic;
pub use openai::OpenAiCompatible;
pub use resilience::{CircuitBreaker, CircuitState, ResilienceConfig};

/// Who wrote a message of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The visitor.
    User,
    /// The agent (an earlier answer).
    Assistant,
}

impl Role {
    /// `"user"` or `"assistant"`, as both APIs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of the conversation so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    /// A visitor's message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An earlier answer of the agent.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// What to ask the model.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// The provider's model name, e.g. `gpt-4o-mini` or `claude-sonnet-4-5`.
    pub model: String,
    /// Instructions (the agent's prompt and the retrieved passages); not sent when empty.
    pub system: String,
    /// The conversation, oldest first; should end with a user message.
    pub messages: Vec<ChatMessage>,
    /// Sampling temperature; the provider's default when `None`. Anthropic accepts 0–1, so
    /// larger values are clamped to 1 there.
    pub temperature: Option<f32>,
    /// Longest answer in tokens; the provider's default when `None` (1024 for Anthropic,
    /// which requires one).
    pub max_tokens: Option<u32>,
}

/// A finished answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChatOutcome {
    /// The whole text (the concatenation of the streamed deltas).
    pub text: String,
    /// Prompt tokens as reported by the provider (0 when it reports none).
    pub input_tokens: u32,
    /// Answer tokens as reported by the provider (0 when it reports none).
    pub output_tokens: u32,
}

/// Why a call failed. No variant ever contains an API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The total deadline, or the idle timeout between streamed chunks, ran out.
    #[error("the model provider did not answer in time")]
    Timeout,
    /// The provider answered with an error status (after the retries, for retryable ones).
    #[error("the model provider answered with HTTP status {status}")]
    Http {
        status: u16,
        /// 429, 500, 502, 503, 504 or 529: worth trying again later.
        retryable: bool,
    },
    /// The provider could not be reached (connection refused, reset, TLS, DNS, …).
    #[error("could not reach the model provider: {0}")]
    Network(String),
    /// The answer did not follow the provider's documented format, or the stream reported
    /// an error.
    #[error("unexpected answer from the model provider: {0}")]
    Protocol(String),
    /// The provider failed repeatedly; calls fail fast for a while.
    #[error("the model provider is failing; calls are paused for a while")]
    CircuitOpen,
    /// The receiver of the deltas was dropped (the visitor went away).
    #[error("the answer was cancelled")]
    Cancelled,
    /// The client could not be built from its settings (e.g. a base URL that is not
    /// http(s)).
    #[error("invalid model provider settings: {0}")]
    Config(String),
}

impl LlmError {
    /// Whether the same call may succeed later (timeouts, network errors, retryable
    /// statuses, an open circuit).
    pub fn is_transient(&self) -> bool {
        match self {
            LlmError::Timeout | LlmError::Network(_) | LlmError::CircuitOpen => true,
            LlmError::Http { retryable, .. } => *retryable,
            LlmError::Protocol(_) | LlmError::Cancelled | LlmError::Config(_) => false,
        }
    }

    /// Whether the error counts against the provider's circuit breaker.
    fn is_provider_failure(&self) -> bool {
        match self {
            LlmError::Timeout | LlmError::Network(_) | LlmError::Protocol(_) => true,
            LlmError::Http { retryable, .. } => *retryable,
            LlmError::CircuitOpen | LlmError::Cancelled | LlmError::Config(_) => false,
        }
    }
}

/// A chat model behind some API.
#[async_trait]
pub trait ChatProvider: Send + Sync {
    /// Streams the answer: each piece of text is sent to `deltas` as it arrives (in order,
    /// never empty); the returned outcome's text is their concatenation. Returns
    /// `Err(Cancelled)` as soon as the receiver of `deltas` is dropped. On an error after
    /// some deltas were sent, those deltas stand (there is no retry once text has been
    /// streamed).
    async fn stream_chat(
        &self,
        req: &ChatRequest,
        deltas: &mpsc::Sender<String>,
    ) -> Result<ChatOutcome, LlmError>;

    /// The whole answer at once (no streaming), e.g. for a JSON classification.
    async fn complete(&self, req: &ChatRequest) -> Result<ChatOutcome, LlmError>;
}

/// The kinds of provider the API knows (`kind` of `/api/v1/providers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Any OpenAI-compatible Chat Completions API.
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
}

impl ProviderKind {
    /// `"openai"` or `"anthropic"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }

    /// The base URL used when none is configured.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => OpenAiCompatible::DEFAULT_BASE_URL,
            ProviderKind::Anthropic => Anthropic::DEFAULT_BASE_URL,
        }
    }

    /// A client of this kind.
    pub fn build(
        self,
        base_url: Option<&str>,
        api_key: Option<String>,
        config: ResilienceConfig,
    ) -> Result<Arc<dyn ChatProvider>, LlmError> {
        Ok(match self {
            ProviderKind::OpenAi => {
                Arc::new(OpenAiCompatible::with_config(base_url, api_key, config)?)
            }
            ProviderKind::Anthropic => Arc::new(Anthropic::with_config(base_url, api_key, config)?),
        })
    }
}

/// A provider kind that is neither `openai` nor `anthropic`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider kind (expected \"openai\" or \"anthropic\")")]
pub struct UnknownProviderKind;

impl FromStr for ProviderKind {
    type Err = UnknownProviderKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "openai" => Ok(ProviderKind::OpenAi),
            "anthropic" => Ok(ProviderKind::Anthropic),
            _ => Err(UnknownProviderKind),
        }
    }
}

/// A temperature as the JSON number a person would write (`0.3`, not the f32's exact
/// `0.30000001192092896`).
fn temperature_json(temperature: f32) -> serde_json::Value {
    temperature
        .to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// `Some("***")` for a configured key, for `Debug` output.
fn hidden(key: &Option<String>) -> Option<&'static str> {
    key.as_ref().map(|_| "***")
}
