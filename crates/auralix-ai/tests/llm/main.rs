//! The LLM provider clients against fake servers that speak the documented formats.

mod anthropic;
mod fake;
mod openai;
mod resilience;

use std::time::Duration;

use auralix_ai::llm::{
    ChatMessage, ChatOutcome, ChatProvider, ChatRequest, LlmError, ResilienceConfig,
};
use tokio::sync::mpsc;

pub const KEY: &str = "sk-test-SECRET-0123456789abcdef";

/// Short timeouts and back-offs so that the tests run fast; the breaker stays out of the
/// way unless a test turns it on.
pub fn fast() -> ResilienceConfig {
    ResilienceConfig {
        connect_timeout: Duration::from_secs(1),
        total_deadline: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(2),
        max_retries: 2,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
        breaker_threshold: 0,
        breaker_open_for: Duration::from_secs(30),
    }
}

pub fn request() -> ChatRequest {
    ChatRequest {
        model: "test-model".into(),
        system: "You are the Acme shop assistant.".into(),
        messages: vec![
            ChatMessage::user("Hi"),
            ChatMessage::assistant("Hello! How can I help?"),
            ChatMessage::user("Do you ship to Berlin?"),
        ],
        temperature: Some(0.3),
        max_tokens: Some(200),
    }
}

/// Streams with a receiver that collects every delta; returns the result and the deltas.
pub async fn collect(
    provider: &dyn ChatProvider,
    req: &ChatRequest,
) -> (Result<ChatOutcome, LlmError>, Vec<String>) {
    let (tx, mut rx) = mpsc::channel(4);
    let receiver = async move {
        let mut got = Vec::new();
        while let Some(delta) = rx.recv().await {
            got.push(delta);
        }
        got
    };
    let call = async move {
        let result = provider.stream_chat(req, &tx).await;
        drop(tx);
        result
    };
    tokio::join!(call, receiver)
}
