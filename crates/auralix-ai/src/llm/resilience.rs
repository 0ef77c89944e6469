//! Timeouts, bounded retries and a circuit breaker shared by every provider client.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use reqwest::header::HeaderMap;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::LlmError;
use super::sse::{SseEvent, SseParser};

/// Statuses worth another attempt: rate limiting, server errors and gateways, plus
/// Anthropic's 529 "overloaded".
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504 | 529)
}

/// How hard a provider client tries, and when it gives up.
///
/// The defaults suit a visitor waiting in a chat widget, who would rather get the built-in
/// answer (PRODUCT A3's fallback) than wait long for a failing provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ResilienceConfig {
    /// Establishing the TCP (and TLS) connection. Default 5 s.
    pub connect_timeout: Duration,
    /// The whole call, from sending the first request to the last byte of the answer,
    /// retries and back-off included. Default 30 s.
    pub total_deadline: Duration,
    /// Longest silence between two chunks of a streamed answer. Default 15 s.
    pub idle_timeout: Duration,
    /// Retries after the first attempt, on 429/500/502/503/504/529 and connection errors,
    /// only before any text has been streamed. Default 2.
    pub max_retries: u32,
    /// Back-off before the first retry; doubled for each next one, with jitter. Default 250 ms.
    pub backoff_base: Duration,
    /// Upper bound of the computed back-off. Default 2 s.
    pub backoff_max: Duration,
    /// A `Retry-After` up to this long is waited for; a longer one ends the call at once
    /// (the answer would come too late anyway). Default 5 s.
    pub max_retry_after: Duration,
    /// Consecutive failed calls that open the circuit; 0 disables the breaker. Default 5.
    pub breaker_threshold: u32,
    /// How long an open circuit fails calls fast before letting one trial call through.
    /// Default 30 s.
    pub breaker_open_for: Duration,
}

impl Default for ResilienceConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            total_deadline: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(15),
            max_retries: 2,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(5),
            breaker_threshold: 5,
            breaker_open_for: Duration::from_secs(30),
        }
    }
}

impl ResilienceConfig {
    /// The back-off before retry number `retry` (0 for the first), "equal jitter": a random
    /// duration between half and all of `min(base * 2^retry, max)`.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(2u32.saturating_pow(retry.min(16)))
            .min(self.backoff_max);
        exp.mul_f64(0.5 + rand::random::<f64>() * 0.5)
    }
}

/// What a [`CircuitBreaker`] currently does with calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls go through.
    Closed,
    /// Calls fail at once with [`LlmError::CircuitOpen`].
    Open,
    /// The open period is over: the next call is let through as a trial; others fail fast
    /// while it runs. Its success closes the circuit, its failure opens it again.
    HalfOpen,
}

#[derive(Debug, Default)]
struct BreakerState {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    trial_in_flight: bool,
}

/// A per-provider circuit breaker. Clones share their state, so every clone of a provider
/// client (and any client given the same breaker with `with_breaker`) sees the same
/// failures.
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    state: Arc<Mutex<BreakerState>>,
    threshold: u32,
    open_for: Duration,
}

impl CircuitBreaker {
    /// Opens after `threshold` consecutive failed calls (0: never) for `open_for`.
    pub fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            state: Arc::default(),
            threshold,
            open_for,
        }
    }

    /// The breaker described by `config`.
    pub fn from_config(config: &ResilienceConfig) -> Self {
        Self::new(config.breaker_threshold, config.breaker_open_for)
    }

    /// The current state.
    pub fn state(&self) -> CircuitState {
        let state = self.lock();
        match state.open_until {
            None => CircuitState::Closed,
            Some(until) if Instant::now() < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        }
    }

    /// Consecutive failed calls counted so far.
    pub fn consecutive_failures(&self) -> u32 {
        self.lock().consecutive_failures
    }

    fn lock(&self) -> MutexGuard<'_, BreakerState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Asks to make a call: a permit, or `CircuitOpen`.
    pub(crate) fn acquire(&self) -> Result<Permit, LlmError> {
        let mut state = self.lock();
        let trial = match state.open_until {
            None => false,
            Some(until) if Instant::now() < until => return Err(LlmError::CircuitOpen),
            Some(_) if state.trial_in_flight => return Err(LlmError::CircuitOpen),
            Some(_) => {
                state.trial_in_flight = true;
                true
            }
        };
        Ok(Permit {
            breaker: self.clone(),
            trial,
            done: false,
        })
    }

    fn record(&self, trial: bool, outcome: Outcome) {
        let mut state = self.lock();
        if trial {
            state.trial_in_flight = false;
        }
        match outcome {
            Outcome::Success => {
                if state.open_until.is_some() {
                    tracing::info!("LLM provider recovered; circuit closed");
                }
                *state = BreakerState::default();
            }
            Outcome::Failure => {
                state.consecutive_failures = state.consecutive_failures.saturating_add(1);
                let open = self.threshold > 0
                    && (trial || state.consecutive_failures >= self.threshold)
                    // a late failure of a call started before the circuit opened does not
                    // extend the open period
                    && state.open_until.is_none_or(|until| until <= Instant::now());
                if open {
                    tracing::warn!(
                        failures = state.consecutive_failures,
                        open_for_ms = self.open_for.as_millis() as u64,
                        "LLM provider failing; circuit opened"
                    );
                    state.open_until = Some(Instant::now() + self.open_for);
                }
            }
            Outcome::Neutral => {}
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Success,
    Failure,
    /// Says nothing about the provider's health: the caller cancelled, or the request was
    /// refused for its own content (4xx other than 429).
    Neutral,
}

/// Leave to make one call; reports how it went when finished, or as neutral when dropped
/// unfinished (the caller's future was dropped).
pub(crate) struct Permit {
    breaker: CircuitBreaker,
    trial: bool,
    done: bool,
}

impl Permit {
    pub(crate) fn finish<T>(mut self, result: &Result<T, LlmError>) {
        let outcome = match result {
            Ok(_) => Outcome::Success,
            Err(err) if err.is_provider_failure() => Outcome::Failure,
            Err(_) => Outcome::Neutral,
        };
        self.done = true;
        self.breaker.record(self.trial, outcome);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.record(self.trial, Outcome::Neutral);
        }
    }
}

/// Replaces every occurrence of the secret in a provider-supplied text (error messages
/// sometimes quote the key they refused) and keeps it short.
pub(crate) fn sanitize(text: &str, secret: Option<&str>) -> String {
    let mut text = match secret {
        Some(secret) if secret.len() >= 4 => text.replace(secret, "[REDACTED]"),
        _ => text.to_owned(),
    };
    const MAX: usize = 300;
    if text.len() > MAX {
        let mut cut = MAX;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push('…');
    }
    text
}

fn map_transport_error(err: reqwest::Error) -> LlmError {
    if err.is_timeout() {
        LlmError::Timeout
    } else {
        // without_url: a base URL may carry credentials in its query string
        LlmError::Network(err.without_url().to_string())
    }
}

/// The delay a `Retry-After` (seconds) or `retry-after-ms` (OpenAI) header asks for; an
/// HTTP-date is not honoured (the computed back-off is used instead).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok();
    let delay = value("retry-after-ms")
        .map(|ms| ms / 1000.0)
        .or_else(|| value("retry-after"))?;
    (delay.is_finite() && delay >= 0.0).then(|| Duration::from_secs_f64(delay.min(86_400.0)))
}

/// Everything a call needs from its provider client.
pub(crate) struct CallContext<'a> {
    pub config: &'a ResilienceConfig,
    pub breaker: &'a CircuitBreaker,
    pub secret: Option<&'a str>,
    /// For logs: "openai" or "anthropic".
    pub provider: &'static str,
}

impl CallContext<'_> {
    /// Runs one call: the breaker's permission, then attempts of `build()` until a success
    /// status (retrying as configured), then `handle` on the response, all within the total
    /// deadline. `handle` runs at most once: once a success status has arrived nothing is
    /// retried, so no text is ever streamed twice. When `deltas` is given, the call ends with
    /// `Cancelled` as soon as its receiver is gone, whatever it is doing (connecting, waiting
    /// for a retry, reading); dropping the work drops the response and so closes the
    /// connection.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        deltas: Option<&mpsc::Sender<String>>,
        build: impl Fn() -> reqwest::RequestBuilder,
        handle: F,
    ) -> Result<T, LlmError>
    where
        F: FnOnce(reqwest::Response) -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        if deltas.is_some_and(mpsc::Sender::is_closed) {
            return Err(LlmError::Cancelled);
        }
        let permit = self.breaker.acquire()?;
        let deadline = Instant::now() + self.config.total_deadline;
        let work = async {
            let response = self.send_with_retries(&build, deadline).await?;
            handle(response).await
        };
        let bounded = async {
            match tokio::time::timeout_at(deadline, work).await {
                Ok(result) => result,
                Err(_elapsed) => Err(LlmError::Timeout),
            }
        };
        let result = match deltas {
            Some(deltas) => tokio::select! {
                biased;
                () = deltas.closed() => Err(LlmError::Cancelled),
                result = bounded => result,
            },
            None => bounded.await,
        };
        if let Err(err) = &result {
            tracing::debug!(provider = self.provider, error = %err, "LLM call failed");
        }
        permit.finish(&result);
        result
    }

    async fn send_with_retries(
        &self,
        build: &impl Fn() -> reqwest::RequestBuilder,
        deadline: Instant,
    ) -> Result<reqwest::Response, LlmError> {
        let mut retry = 0;
        loop {
            let (err, asked_delay) = match build().send().await {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let asked = retry_after(response.headers());
                    let body = read_error_body(response).await;
                    tracing::warn!(
                        provider = self.provider,
                        status,
                        attempt = retry + 1,
                        "LLM provider answered with an error status"
                    );
                    tracing::debug!(
                        provider = self.provider,
                        status,
                        body = %sanitize(&body, self.secret),
                        "LLM provider error body"
                    );
                    let retryable = is_retryable_status(status);
                    (LlmError::Http { status, retryable }, asked)
                }
                Err(err) if err.is_connect() => {
                    let err = map_transport_error(err);
                    tracing::warn!(
                        provider = self.provider,
                        error = %err,
                        attempt = retry + 1,
                        "could not connect to the LLM provider"
                    );
                    (err, None)
                }
                Err(err) => return Err(map_transport_error(err)),
            };
            let retryable = match &err {
                LlmError::Http { retryable, .. } => *retryable,
                LlmError::Network(_) | LlmError::Timeout => true, // connect errors only here
                _ => false,
            };
            if !retryable || retry >= self.config.max_retries {
                return Err(err);
            }
            let delay = match asked_delay {
                Some(asked) if asked > self.config.max_retry_after => return Err(err),
                Some(asked) => asked,
                None => self.config.backoff(retry),
            };
            if Instant::now() + delay >= deadline {
                return Err(err);
            }
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }
}

/// The start of an error response's body, for the logs (and so that the connection can be
/// reused when the body is short).
async fn read_error_body(mut response: reqwest::Response) -> String {
    const MAX: usize = 4096;
    let mut body = Vec::new();
    while body.len() < MAX {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(MAX - body.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// Reads server-sent events from a streamed response, with the idle timeout between
/// chunks.
pub(crate) struct EventReader<S> {
    stream: std::pin::Pin<Box<S>>,
    parser: SseParser,
    pending: std::collections::VecDeque<SseEvent>,
    scratch: Vec<SseEvent>,
    idle: Duration,
    ended: bool,
}

impl<S, B> EventReader<S>
where
    S: Stream<Item = reqwest::Result<B>>,
    B: AsRef<[u8]>,
{
    pub(crate) fn new(stream: S, idle: Duration) -> Self {
        Self {
            stream: Box::pin(stream),
            parser: SseParser::new(),
            pending: Default::default(),
            scratch: Vec::new(),
            idle,
            ended: false,
        }
    }

    /// The next event; `None` at the end of the body; `Timeout` after `idle` without a
    /// byte.
    pub(crate) async fn next(&mut self) -> Result<Option<SseEvent>, LlmError> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Ok(Some(event));
            }
            if self.ended {
                return Ok(None);
            }
            let next = tokio::time::timeout(self.idle, self.stream.next()).await;
            match next.map_err(|_elapsed| LlmError::Timeout)? {
                Some(Ok(bytes)) => self.parser.feed(bytes.as_ref(), &mut self.scratch)?,
                Some(Err(err)) => return Err(map_transport_error(err)),
                None => {
                    self.ended = true;
                    self.parser.finish(&mut self.scratch);
                }
            }
            self.pending.extend(self.scratch.drain(..));
        }
    }
}

/// Sends one piece of text to the visitor; `Cancelled` when nobody listens any more.
pub(crate) async fn send_delta(deltas: &mpsc::Sender<String>, text: &str) -> Result<(), LlmError> {
    if text.is_empty() {
        return Ok(());
    }
    deltas
        .send(text.to_owned())
        .await
        .map_err(|_| LlmError::Cancelled)
}

/// Reads a whole (non-streamed) JSON body.
pub(crate) async fn read_json(response: reqwest::Response) -> Result<serde_json::Value, LlmError> {
    let body = response.bytes().await.map_err(map_transport_error)?;
    serde_json::from_slice(&body)
        .map_err(|err| LlmError::Protocol(format!("the answer is not valid JSON: {err}")))
}

/// True when the response is a plain JSON document rather than an event stream (a server
/// that ignored `stream: true`).
pub(crate) fn is_json(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

/// `base` (without trailing slashes) joined with `path`, keeping a query string of the base
/// URL at the end (`https://host/openai/v1?api-version=x` + `/chat/completions`).
pub(crate) fn endpoint(base: &str, path: &str) -> String {
    match base.split_once('?') {
        Some((base, query)) => format!("{}{path}?{query}", base.trim_end_matches('/')),
        None => format!("{}{path}", base.trim_end_matches('/')),
    }
}

/// Checks and normalises a configured base URL (trims spaces and trailing slashes).
pub(crate) fn normalize_base_url(base: Option<&str>, default: &str) -> Result<String, LlmError> {
    let base = base
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .unwrap_or(default);
    let lower = base.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(LlmError::Config(
            "the provider base URL must start with http:// or https://".into(),
        ));
    }
    Ok(match base.split_once('?') {
        Some((path, query)) => format!("{}?{query}", path.trim_end_matches('/')),
        None => base.trim_end_matches('/').to_owned(),
    })
}

/// The HTTP client for one provider: connect timeout, pooled keep-alive connections, no
/// overall timeout (the call's own deadline applies).
pub(crate) fn build_client(config: &ResilienceConfig) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .user_agent(concat!("auralix/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| LlmError::Config(format!("cannot build the HTTP client: {err}")))
}

/// Saturating conversion of a token count read from JSON.
pub(crate) fn tokens(value: Option<&serde_json::Value>) -> Option<u32> {
    value
        .and_then(serde_json::Value::as_u64)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let config = ResilienceConfig::default();
        for _ in 0..100 {
            let first = config.backoff(0);
            assert!(first >= Duration::from_millis(125) && first <= Duration::from_millis(250));
            let third = config.backoff(2);
            assert!(third >= Duration::from_millis(500) && third <= Duration::from_secs(1));
            assert!(config.backoff(40) <= config.backoff_max);
        }
    }

    #[test]
    fn retry_after_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(150)));
        let mut date = HeaderMap::new();
        date.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&date), None);
    }

    #[test]
    fn base_urls_and_endpoints() {
        let d = "https://api.openai.com/v1";
        assert_eq!(normalize_base_url(None, d).unwrap(), d);
        assert_eq!(normalize_base_url(Some("  "), d).unwrap(), d);
        assert_eq!(
            normalize_base_url(Some("http://localhost:11434/v1/"), d).unwrap(),
            "http://localhost:11434/v1"
        );
        assert!(matches!(
            normalize_base_url(Some("localhost:11434"), d),
            Err(LlmError::Config(_))
        ));
        assert_eq!(
            endpoint("http://h/v1", "/chat/completions"),
            "http://h/v1/chat/completions"
        );
        assert_eq!(
            endpoint("http://h/openai/v1?api-version=x", "/chat/completions"),
            "http://h/openai/v1/chat/completions?api-version=x"
        );
    }

    #[test]
    fn sanitize_removes_the_key_and_truncates() {
        let key = "sk-secret-1234567890";
        let text = format!("Incorrect API key provided: {key}. {}", "x".repeat(1000));
        let clean = sanitize(&text, Some(key));
        assert!(!clean.contains(key));
        assert!(clean.chars().count() <= 301);
    }

    #[tokio::test]
    async fn breaker_opens_half_opens_and_closes() {
        let breaker = CircuitBreaker::new(2, Duration::from_millis(50));
        let fail: Result<(), LlmError> = Err(LlmError::Timeout);
        breaker.acquire().unwrap().finish(&fail);
        assert_eq!(breaker.state(), CircuitState::Closed);
        breaker.clone().acquire().unwrap().finish(&fail);
        assert_eq!(breaker.state(), CircuitState::Open);
        assert_eq!(breaker.acquire().err(), Some(LlmError::CircuitOpen));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(breaker.state(), CircuitState::HalfOpen);
        let trial = breaker.acquire().unwrap();
        assert_eq!(breaker.acquire().err(), Some(LlmError::CircuitOpen));
        drop(trial); // a cancelled trial lets the next call try
        let trial = breaker.acquire().unwrap();
        trial.finish(&fail);
        assert_eq!(breaker.state(), CircuitState::Open);
        tokio::time::sleep(Duration::from_millis(60)).await;
        breaker.acquire().unwrap().finish(&Ok::<(), LlmError>(()));
        assert_eq!(breaker.state(), CircuitState::Closed);
        assert_eq!(breaker.consecutive_failures(), 0);
        // refusals of the request itself do not count
        let bad_request: Result<(), LlmError> = Err(LlmError::Http {
            status: 400,
            retryable: false,
        });
        for _ in 0..5 {
            breaker.acquire().unwrap().finish(&bad_request);
        }
        assert_eq!(breaker.state(), CircuitState::Closed);
    }
}
