//! Any OpenAI-compatible Chat Completions API: OpenAI, Azure OpenAI's v1 API, OpenRouter,
//! Ollama, vLLM, llama.cpp's server, gateways.

use std::fmt;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::resilience::{
    self, CallContext, CircuitBreaker, EventReader, ResilienceConfig, sanitize, send_delta, tokens,
};
use super::{ChatOutcome, ChatProvider, ChatRequest, LlmError, hidden, temperature_json};

/// A client of an OpenAI-compatible API.
///
/// `POST {base_url}/chat/completions` with `Authorization: Bearer <key>` (no header without
/// a key, for local servers), streamed with `stream_options.include_usage` so that the last
/// chunk carries token usage; `POST {base_url}/embeddings` for vectors.
#[derive(Clone)]
pub struct OpenAiCompatible {
    base_url: String,
    api_key: Option<String>,
    client: reqwest::Client,
    config: ResilienceConfig,
    breaker: CircuitBreaker,
}

impl fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompatible")
            .field("base_url", &self.base_url)
            .field("api_key", &hidden(&self.api_key))
            .field("config", &self.config)
            .field("breaker", &self.breaker.state())
            .finish()
    }
}

impl OpenAiCompatible {
    /// OpenAI's own API.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";

    /// A client with the default [`ResilienceConfig`]. `base_url` (with or without a
    /// trailing slash) defaults to [`Self::DEFAULT_BASE_URL`].
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
            provider: "openai",
        }
    }

    fn post(&self, path: &str, body: &[u8]) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .post(resilience::endpoint(&self.base_url, path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        request
    }

    /// Embeds each input with `model`: one vector per input, in the order of `inputs`
    /// (the answer's `data[]` is put in order by its `index`).
    pub async fn embed(&self, model: &str, inputs: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let body = serde_json::to_vec(&json!({ "model": model, "input": inputs }))
            .map_err(|err| LlmError::Protocol(err.to_string()))?;
        let expected = inputs.len();
        self.ctx()
            .call(
                None,
                || self.post("/embeddings", &body),
                |response| async move {
                    let value = resilience::read_json(response).await?;
                    parse_embeddings(&value, expected)
                },
            )
            .await
    }
}

/// The request body of a chat completion.
fn chat_body(req: &ChatRequest, stream: bool) -> Value {
    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if !req.system.is_empty() {
        messages.push(json!({ "role": "system", "content": req.system }));
    }
    messages.extend(
        req.messages
            .iter()
            .map(|m| json!({ "role": m.role.as_str(), "content": m.content })),
    );
    let mut body = json!({
        "model": req.model,
        "messages": messages,
        "stream": stream,
    });
    if let Some(temperature) = req.temperature {
        body["temperature"] = temperature_json(temperature);
    }
    if let Some(max_tokens) = req.max_tokens {
        body["max_tokens"] = json!(max_tokens);
    }
    if stream {
        body["stream_options"] = json!({ "include_usage": true });
    }
    body
}

/// An `error` object inside a 200 answer or a stream chunk, as a protocol error.
fn embedded_error(value: &Value, secret: Option<&str>) -> Option<LlmError> {
    let error = value.get("error")?;
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| error.to_string());
    Some(LlmError::Protocol(format!(
        "the provider reported an error: {}",
        sanitize(&message, secret)
    )))
}

fn read_usage(value: &Value, outcome: &mut ChatOutcome) {
    if let Some(usage) = value.get("usage").filter(|u| u.is_object()) {
        if let Some(n) = tokens(usage.get("prompt_tokens")) {
            outcome.input_tokens = n;
        }
        if let Some(n) = tokens(usage.get("completion_tokens")) {
            outcome.output_tokens = n;
        }
    }
}

/// A whole (non-streamed) chat completion.
fn parse_completion(value: &Value, secret: Option<&str>) -> Result<ChatOutcome, LlmError> {
    if let Some(err) = embedded_error(value, secret) {
        return Err(err);
    }
    let message = value
        .pointer("/choices/0/message")
        .ok_or_else(|| LlmError::Protocol("no choices[0].message in the answer".into()))?;
    let mut outcome = ChatOutcome {
        text: message
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        ..ChatOutcome::default()
    };
    read_usage(value, &mut outcome);
    Ok(outcome)
}

fn parse_embeddings(value: &Value, expected: usize) -> Result<Vec<Vec<f32>>, LlmError> {
    let bad = |what: &str| LlmError::Protocol(format!("embeddings answer: {what}"));
    let data = value
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no data array"))?;
    if data.len() != expected {
        return Err(bad(&format!(
            "{} vectors for {expected} inputs",
            data.len()
        )));
    }
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; expected];
    for (position, item) in data.iter().enumerate() {
        let index = match item.get("index") {
            None => position,
            Some(index) => index
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&i| i < expected)
                .ok_or_else(|| bad("index out of range"))?,
        };
        let embedding = item
            .get("embedding")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("an item without an embedding array (base64 is not requested)"))?
            .iter()
            .map(|x| x.as_f64().map(|x| x as f32))
            .collect::<Option<Vec<f32>>>()
            .ok_or_else(|| bad("a non-numeric embedding component"))?;
        if vectors[index].replace(embedding).is_some() {
            return Err(bad("a duplicate index"));
        }
    }
    // all slots are filled: `expected` distinct indexes below `expected`
    Ok(vectors.into_iter().flatten().collect())
}

#[async_trait]
impl ChatProvider for OpenAiCompatible {
    async fn stream_chat(
        &self,
        req: &ChatRequest,
        deltas: &mpsc::Sender<String>,
    ) -> Result<ChatOutcome, LlmError> {
        let body = serde_json::to_vec(&chat_body(req, true))
            .map_err(|err| LlmError::Protocol(err.to_string()))?;
        let secret = self.api_key.as_deref();
        let idle = self.config.idle_timeout;
        self.ctx()
            .call(
                Some(deltas),
                || self.post("/chat/completions", &body),
                |response| async move {
                    if resilience::is_json(&response) {
                        // a server that ignored `stream: true`
                        let outcome =
                            parse_completion(&resilience::read_json(response).await?, secret)?;
                        send_delta(deltas, &outcome.text).await?;
                        return Ok(outcome);
                    }
                    let mut events = EventReader::new(response.bytes_stream(), idle);
                    let mut outcome = ChatOutcome::default();
                    let mut finished = false;
                    while let Some(event) = events.next().await? {
                        let data = event.data.trim();
                        if data == "[DONE]" {
                            return Ok(outcome);
                        }
                        let chunk: Value = serde_json::from_str(data).map_err(|err| {
                            LlmError::Protocol(format!("a stream chunk is not valid JSON: {err}"))
                        })?;
                        if let Some(err) = embedded_error(&chunk, secret) {
                            return Err(err);
                        }
                        read_usage(&chunk, &mut outcome);
                        if let Some(choice) = chunk.pointer("/choices/0") {
                            if let Some(text) =
                                choice.pointer("/delta/content").and_then(Value::as_str)
                            {
                                send_delta(deltas, text).await?;
                                outcome.text.push_str(text);
                            }
                            if choice.get("finish_reason").is_some_and(|r| !r.is_null()) {
                                finished = true;
                            }
                        }
                    }
                    // no [DONE]: accept an answer whose end was announced
                    if finished {
                        Ok(outcome)
                    } else {
                        Err(LlmError::Protocol(
                            "the stream ended before the answer did".into(),
                        ))
                    }
                },
            )
            .await
    }

    async fn complete(&self, req: &ChatRequest) -> Result<ChatOutcome, LlmError> {
        let body = serde_json::to_vec(&chat_body(req, false))
            .map_err(|err| LlmError::Protocol(err.to_string()))?;
        let secret = self.api_key.as_deref();
        self.ctx()
            .call(
                None,
                || self.post("/chat/completions", &body),
                |response| async move {
                    parse_completion(&resilience::read_json(response).await?, secret)
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
            model: "m".into(),
            system: "be brief".into(),
            messages: vec![ChatMessage::user("hi"), ChatMessage::assistant("hello")],
            temperature: None,
            max_tokens: Some(5),
        };
        let body = chat_body(&req, true);
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "be brief"})
        );
        assert_eq!(
            body["messages"][2],
            json!({"role": "assistant", "content": "hello"})
        );
        assert!(body.get("temperature").is_none());
        assert_eq!(body["max_tokens"], 5);
        assert_eq!(body["stream_options"]["include_usage"], true);
        let plain = chat_body(
            &ChatRequest {
                system: String::new(),
                ..req
            },
            false,
        );
        assert_eq!(plain["messages"].as_array().unwrap().len(), 2);
        assert!(plain.get("stream_options").is_none());
    }

    #[test]
    fn embeddings_need_every_index_once() {
        let v = |i: u64| json!({"index": i, "embedding": [i as f64]});
        assert_eq!(
            parse_embeddings(&json!({"data": [v(1), v(0)]}), 2).unwrap(),
            vec![vec![0.0], vec![1.0]]
        );
        assert!(parse_embeddings(&json!({"data": [v(0), v(0)]}), 2).is_err());
        assert!(parse_embeddings(&json!({"data": [v(0), v(2)]}), 2).is_err());
        assert!(parse_embeddings(&json!({"data": [v(0)]}), 2).is_err());
    }
}
