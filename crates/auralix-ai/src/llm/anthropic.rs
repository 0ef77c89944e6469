//! Anthropic's Messages API.

use std::fmt;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::resilience::{
    self, CallContext, CircuitBreaker, EventReader, ResilienceConfig, sanitize, send_delta, tokens,
};
use super::{ChatOutcome, ChatProvider, ChatRequest, LlmError, hidden, temperature_json};

/// The API version sent in `anthropic-version`.
const API_VERSION: &str = "2023-06-01";

/// `max_tokens` when the request sets none (the API requires one).
pub(crate) const DEFAULT_MAX_TOKENS: u32 = 1024;

/// A client of Anthropic's Messages API.
///
/// `POST {base_url}/v1/messages` with `x-api-key` and `anthropic-version: 2023-06-01`,
/// streamed as the named events `message_start`, `content_block_start`,
/// `content_block_delta`, `content_block_stop`, `message_delta`, `message_stop`, `ping` and
/// `error`.
#[derive(Clone)]
pub struct Anthropic {
    base_url: String,
    api_key: Option<String>,
    client: reqwest::Client,
    config: ResilienceConfig,
    breaker: CircuitBreaker,
}

impl fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anthropic")
            .field("base_url", &self.base_url)
            .field("api_key", &hidden(&self.api_key))
            .field("config", &self.config)
            .field("breaker", &self.breaker.state())
            .finish()
    }
}

impl Anthropic {
    /// Anthropic's own API (without the `/v1`).
    pub const DEFAULT_BASE_URL: &'static str = "https://api.anthropic.com";

    /// A client with the default [`ResilienceConfig`]. `base_url` (with or without a
    /// trailing slash) defaults to [`Self::DEFAULT_BASE_URL`]; the key is optional only for
    /// gateways that add their own.
    pub fn new(base_url: Option<&str>, api_key: Option<String>) -> Result<Self, LlmError> {
        Self::with_config(base_url, api_key, ResilienceConfig::default())
    }

    /// A client with its own timeouts, retries and breaker settings.
    pub fn with_config(
        base_url: Option<&str>,
        api_key: Option<String>,
        config: ResilienceConfig,
    ) -> Result<Self, LlmError> {
        Ok(Self {
            base_url: resilience::normalize_base_url(base_url, Self::DEFAULT_BASE_URL)?,
            api_key: api_key.filter(|k| !k.trim().is_empty()),
            client: resilience::build_client(&config)?,
            breaker: CircuitBreaker::from_config(&config),
            config,
        })
    }

    /// Uses `breaker` instead of this client's own (to share one between instances).
    pub fn with_breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.breaker = breaker;
        self
    }

    /// This client's circuit breaker.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// The normalised base URL (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The resilience settings.
    pub fn config(&self) -> &ResilienceConfig {
        &self.config
    }

    fn ctx(&self) -> CallContext<'_> {
        CallContext {
            config: &self.config,
            breaker: &self.breaker,
            secret: self.api_key.as_deref(),
            provider: "anthropic",
        }
    }

    fn post(&self, body: &[u8]) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .post(resilience::endpoint(&self.base_url, "/v1/messages"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("anthropic-version", API_VERSION)
            .body(body.to_vec());
        if let Some(key) = &self.api_key {
            request = request.header("x-api-key", key);
        }
        request
    }
}

/// The request body of a message.
fn message_body(req: &ChatRequest, stream: bool) -> Value {
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| json!({ "role": m.role.as_str(), "content": m.content }))
        .collect();
    let mut body = json!({
        "model": req.model,
        "messages": messages,
        "max_tokens": req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
        "stream": stream,
    });
    if !req.system.is_empty() {
        body["system"] = json!(req.system);
    }
    if let Some(temperature) = req.temperature {
        body["temperature"] = temperature_json(temperature.clamp(0.0, 1.0));
    }
    body
}

/// An `error` object (a stream's `error` event, or an error document), as a protocol error.
fn provider_error(value: &Value, secret: Option<&str>) -> LlmError {
    let error = value.get("error").unwrap_or(value);
    let kind = error.get("type").and_then(Value::as_str).unwrap_or("error");
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    LlmError::Protocol(format!(
        "the provider reported {}: {}",
        sanitize(kind, secret),
        sanitize(message, secret)
    ))
}

fn read_usage(usage: Option<&Value>, outcome: &mut ChatOutcome) {
    let Some(usage) = usage else { return };
    if let Some(n) = tokens(usage.get("input_tokens")) {
        outcome.input_tokens = n;
    }
    if let Some(n) = tokens(usage.get("output_tokens")) {
        outcome.output_tokens = n;
    }
}

/// A whole (non-streamed) message: the text blocks joined.
fn parse_message(value: &Value, secret: Option<&str>) -> Result<ChatOutcome, LlmError> {
    if value.get("type").and_then(Value::as_str) == Some("error") {
        return Err(provider_error(value, secret));
    }
    let content = value
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| LlmError::Protocol("no content array in the answer".into()))?;
    let mut outcome = ChatOutcome::default();
    for block in content {
        if block.get("type").and_then(Value::as_str) == Some("text")
            && let Some(text) = block.get("text").and_then(Value::as_str)
        {
            outcome.text.push_str(text);
        }
    }
    read_usage(value.get("usage"), &mut outcome);
    Ok(outcome)
}

#[async_trait]
impl ChatProvider for Anthropic {
    async fn stream_chat(
        &self,
        req: &ChatRequest,
        deltas: &mpsc::Sender<String>,
    ) -> Result<ChatOutcome, LlmError> {
        let body = serde_json::to_vec(&message_body(req, true))
            .map_err(|err| LlmError::Protocol(err.to_string()))?;
        let secret = self.api_key.as_deref();
        let idle = self.config.idle_timeout;
        self.ctx()
            .call(
                Some(deltas),
                || self.post(&body),
                |response| async move {
                    if resilience::is_json(&response) {
                        // a gateway that ignored `stream: true`
                        let outcome =
                            parse_message(&resilience::read_json(response).await?, secret)?;
                        send_delta(deltas, &outcome.text).await?;
                        return Ok(outcome);
                    }
                    let mut events = EventReader::new(response.bytes_stream(), idle);
                    let mut outcome = ChatOutcome::default();
                    while let Some(event) = events.next().await? {
                        let data: Value = serde_json::from_str(&event.data).map_err(|err| {
                            LlmError::Protocol(format!("an event is not valid JSON: {err}"))
                        })?;
                        // the event name is also in the data's `type`; either will do
                        let kind = if event.event.is_empty() {
                            data.get("type").and_then(Value::as_str).unwrap_or_default()
                        } else {
                            event.event.as_str()
                        };
                        match kind {
                            "message_start" => {
                                read_usage(data.pointer("/message/usage"), &mut outcome);
                            }
                            "content_block_delta" => {
                                let delta = data.get("delta");
                                let is_text =
                                    delta.and_then(|d| d.get("type")).and_then(Value::as_str)
                                        == Some("text_delta");
                                if is_text
                                    && let Some(text) =
                                        delta.and_then(|d| d.get("text")).and_then(Value::as_str)
                                {
                                    send_delta(deltas, text).await?;
                                    outcome.text.push_str(text);
                                }
                            }
                            "message_delta" => read_usage(data.get("usage"), &mut outcome),
                            "message_stop" => return Ok(outcome),
                            "error" => return Err(provider_error(&data, secret)),
                            // content_block_start/stop, ping, and event types added later
                            _ => {}
                        }
                    }
                    Err(LlmError::Protocol(
                        "the stream ended before message_stop".into(),
                    ))
                },
            )
            .await
    }

    async fn complete(&self, req: &ChatRequest) -> Result<ChatOutcome, LlmError> {
        let body = serde_json::to_vec(&message_body(req, false))
            .map_err(|err| LlmError::Protocol(err.to_string()))?;
        let secret = self.api_key.as_deref();
        self.ctx()
            .call(
                None,
                || self.post(&body),
                |response| async move {
                    parse_message(&resilience::read_json(response).await?, secret)
                },
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ChatMessage;

    #[test]
    fn body_shape() {
        let req = ChatRequest {
            model: "claude".into(),
            system: "be brief".into(),
            messages: vec![ChatMessage::user("hi")],
            temperature: Some(1.5),
            max_tokens: None,
        };
        let body = message_body(&req, true);
        assert_eq!(body["system"], "be brief");
        assert_eq!(body["messages"], json!([{"role": "user", "content": "hi"}]));
        assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
        assert_eq!(body["temperature"], 1.0);
        assert_eq!(body["stream"], true);
        let plain = message_body(
            &ChatRequest {
                system: String::new(),
                ..req
            },
            false,
        );
        assert!(plain.get("system").is_none());
    }

    #[test]
    fn whole_message_joins_text_blocks() {
        let value = json!({
            "type": "message",
            "content": [{"type": "text", "text": "a"}, {"type": "tool_use"}, {"type": "text", "text": "b"}],
            "usage": {"input_tokens": 3, "output_tokens": 2}
        });
        let outcome = parse_message(&value, None).unwrap();
        assert_eq!(
            (
                outcome.text.as_str(),
                outcome.input_tokens,
                outcome.output_tokens
            ),
            ("ab", 3, 2)
        );
        let err = parse_message(
            &json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("overloaded_error"));
    }
}
