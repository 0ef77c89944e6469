//! Retries, timeouts, cancellation, the circuit breaker and secrecy of the key.

use std::time::{Duration, Instant};

use auralix_ai::llm::{
    Anthropic, ChatProvider, CircuitState, LlmError, OpenAiCompatible, ProviderKind,
    ResilienceConfig,
};
use serde_json::json;
use tokio::sync::mpsc;

use crate::fake::{End, Fake, Reply};
use crate::{KEY, anthropic, collect, fast, openai, request};

fn with(config: ResilienceConfig, fake: &Fake) -> OpenAiCompatible {
    OpenAiCompatible::with_config(Some(&fake.url), Some(KEY.into()), config).unwrap()
}

#[tokio::test]
async fn a_500_then_200_succeeds_after_a_retry() {
    let fake = Fake::start(vec![
        Reply::status(500),
        Reply::sse(openai::stream(&["Hi"], 1, 1)),
    ])
    .await;
    let (result, deltas) = collect(&openai::client(&fake), &request()).await;
    assert_eq!(result.unwrap().text, "Hi");
    assert_eq!(deltas, ["Hi"]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].body, requests[1].body,
        "the same request is sent again"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_asked_delay() {
    let fake = Fake::start(vec![
        Reply::Status {
            status: 429,
            headers: vec![("retry-after", "1".into())],
            body: r#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#
                .into(),
        },
        Reply::sse(anthropic::stream(&["Hi"], 1, 1)),
    ])
    .await;
    let started = Instant::now();
    let (result, _) = collect(&anthropic::client(&fake), &request()).await;
    assert_eq!(result.unwrap().text, "Hi");
    assert_eq!(fake.count(), 2);
    // the test config's own back-off is at most 50 ms: the second second is Retry-After's
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_long_retry_after_is_not_waited_for() {
    let fake = Fake::start(vec![Reply::Status {
        status: 429,
        headers: vec![("retry-after", "120".into())],
        body: "{}".into(),
    }])
    .await;
    let started = Instant::now();
    let result = openai::client(&fake).complete(&request()).await;
    assert_eq!(
        result.unwrap_err(),
        LlmError::Http {
            status: 429,
            retryable: true
        }
    );
    assert_eq!(fake.count(), 1);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_persistent_500_fails_after_bounded_attempts() {
    let fake = Fake::start(vec![Reply::status(500)]).await;
    let (result, deltas) = collect(&openai::client(&fake), &request()).await;
    assert_eq!(
        result.unwrap_err(),
        LlmError::Http {
            status: 500,
            retryable: true
        }
    );
    assert!(deltas.is_empty());
    assert_eq!(fake.count(), 3, "one attempt and max_retries = 2 retries");
}

#[tokio::test]
async fn a_refused_request_is_not_retried() {
    let fake = Fake::start(vec![Reply::status(400)]).await;
    let result = anthropic::client(&fake).complete(&request()).await;
    assert_eq!(
        result.unwrap_err(),
        LlmError::Http {
            status: 400,
            retryable: false
        }
    );
    assert_eq!(fake.count(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    // a port that was just free: nothing listens there
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let provider = OpenAiCompatible::with_config(
        Some(&format!("http://127.0.0.1:{port}/v1")),
        Some(KEY.into()),
        fast(),
    )
    .unwrap();
    let started = Instant::now();
    let (result, _) = collect(&provider, &request()).await;
    match result {
        Err(LlmError::Network(message)) => assert!(!message.contains(KEY)),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_hanging_server_times_out_within_the_deadline() {
    let fake = Fake::start(vec![Reply::Hang]).await;
    let config = ResilienceConfig {
        total_deadline: Duration::from_millis(300),
        ..fast()
    };
    for provider in [
        Box::new(with(config.clone(), &fake)) as Box<dyn ChatProvider>,
        Box::new(Anthropic::with_config(Some(&fake.url), Some(KEY.into()), config).unwrap()),
    ] {
        let started = Instant::now();
        let (result, deltas) = collect(provider.as_ref(), &request()).await;
        let elapsed = started.elapsed();
        assert_eq!(result.unwrap_err(), LlmError::Timeout);
        assert!(deltas.is_empty());
        assert!(elapsed >= Duration::from_millis(290), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
        let started = Instant::now();
        assert_eq!(provider.complete(&request()).await, Err(LlmError::Timeout));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

#[tokio::test]
async fn a_stream_that_stalls_hits_the_idle_timeout() {
    let mut events = openai::stream(&["First", "never"], 1, 1);
    events.truncate(2); // the role chunk and "First", then silence
    let fake = Fake::start(vec![Reply::Sse {
        chunks: events.into_iter().map(String::into_bytes).collect(),
        delay: Duration::ZERO,
        end: End::Stall,
    }])
    .await;
    let config = ResilienceConfig {
        idle_timeout: Duration::from_millis(300),
        total_deadline: Duration::from_secs(10),
        ..fast()
    };
    let started = Instant::now();
    let (result, deltas) = collect(&with(config, &fake), &request()).await;
    let elapsed = started.elapsed();
    assert_eq!(result.unwrap_err(), LlmError::Timeout);
    assert_eq!(deltas, ["First"]);
    assert!(elapsed >= Duration::from_millis(290), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(fake.count(), 1, "no retry once text has been streamed");
    assert!(
        fake.wait_client_gone(Duration::from_secs(2)).await,
        "the connection is closed"
    );
}

#[tokio::test]
async fn dropping_the_receiver_cancels_the_upstream_request() {
    for (provider_name, events) in [
        (
            "openai",
            openai::stream(&["One", "Two"], 1, 1)[..2].to_vec(),
        ),
        (
            "anthropic",
            anthropic::stream(&["One", "Two"], 1, 1)[..4].to_vec(),
        ),
    ] {
        let fake = Fake::start(vec![Reply::Sse {
            chunks: events.into_iter().map(String::into_bytes).collect(),
            delay: Duration::ZERO,
            end: End::KeepAliveUntilClosed,
        }])
        .await;
        let provider: Box<dyn ChatProvider> = if provider_name == "openai" {
            Box::new(openai::client(&fake))
        } else {
            Box::new(anthropic::client(&fake))
        };
        let (tx, mut rx) = mpsc::channel(4);
        let visitor = async move {
            let first = rx.recv().await;
            drop(rx); // the visitor goes away after the first piece
            first
        };
        let started = Instant::now();
        let req = request();
        let (result, first) = tokio::join!(provider.stream_chat(&req, &tx), visitor);
        assert_eq!(first.as_deref(), Some("One"), "{provider_name}");
        assert_eq!(result.unwrap_err(), LlmError::Cancelled, "{provider_name}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{provider_name}"
        );
        assert!(
            fake.wait_client_gone(Duration::from_secs(2)).await,
            "{provider_name}: the fake sees the connection close"
        );
    }
}

#[tokio::test]
async fn a_visitor_leaving_before_the_first_token_cancels_too() {
    // headers sent, then nothing (the model is "thinking")
    let fake = Fake::start(vec![Reply::Sse {
        chunks: Vec::new(),
        delay: Duration::ZERO,
        end: End::Stall,
    }])
    .await;
    let provider = openai::client(&fake);
    let (tx, rx) = mpsc::channel(4);
    let leave = async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(rx);
    };
    let started = Instant::now();
    let req = request();
    let (result, ()) = tokio::join!(provider.stream_chat(&req, &tx), leave);
    assert_eq!(result.unwrap_err(), LlmError::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(fake.wait_client_gone(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn the_circuit_opens_after_repeated_failures_and_fails_fast() {
    let fake = Fake::start(vec![
        Reply::status(503),
        Reply::status(503),
        Reply::status(503),
        Reply::sse(openai::stream(&["back"], 1, 1)),
    ])
    .await;
    let config = ResilienceConfig {
        max_retries: 0,
        breaker_threshold: 3,
        breaker_open_for: Duration::from_millis(400),
        ..fast()
    };
    let provider = with(config, &fake);
    let clone = provider.clone();
    for _ in 0..3 {
        let (result, _) = collect(&provider, &request()).await;
        assert!(matches!(result, Err(LlmError::Http { status: 503, .. })));
    }
    assert_eq!(provider.breaker().state(), CircuitState::Open);
    // open: both the client and its clone fail at once, without a request
    for p in [&provider, &clone] {
        let started = Instant::now();
        let (result, _) = collect(p, &request()).await;
        assert_eq!(result.unwrap_err(), LlmError::CircuitOpen);
        assert!(started.elapsed() < Duration::from_millis(50));
        assert_eq!(p.complete(&request()).await, Err(LlmError::CircuitOpen));
    }
    assert_eq!(fake.count(), 3);
    // after the open period one trial goes through, and its success closes the circuit
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(clone.breaker().state(), CircuitState::HalfOpen);
    let (result, _) = collect(&clone, &request()).await;
    assert_eq!(result.unwrap().text, "back");
    assert_eq!(provider.breaker().state(), CircuitState::Closed);
    assert_eq!(fake.count(), 4);
}

#[tokio::test]
async fn the_key_never_appears_in_errors_or_debug_output() {
    let key_echo = format!("Incorrect API key provided: {KEY}.");
    let fake = Fake::start(vec![
        // 401 whose body quotes the key
        Reply::Status {
            status: 401,
            headers: vec![],
            body: json!({"error": {"message": key_echo}}).to_string(),
        },
        // an error inside a 200 stream that quotes the key
        Reply::sse(vec![format!(
            "data: {}\n\n",
            json!({"error": {"message": key_echo}})
        )]),
        // an Anthropic error event that quotes the key
        Reply::sse(vec![anthropic::event(
            "error",
            json!({"type": "error", "error": {"type": "authentication_error", "message": key_echo}}),
        )]),
    ])
    .await;
    let openai = openai::client(&fake);
    let anthropic = anthropic::client(&fake);
    let mut errors = vec![
        collect(&openai, &request()).await.0.unwrap_err(),
        collect(&openai, &request()).await.0.unwrap_err(),
        collect(&anthropic, &request()).await.0.unwrap_err(),
        LlmError::Timeout,
        LlmError::CircuitOpen,
        LlmError::Cancelled,
    ];
    assert_eq!(
        errors[0],
        LlmError::Http {
            status: 401,
            retryable: false
        }
    );
    assert!(matches!(errors[1], LlmError::Protocol(_)));
    assert!(matches!(errors[2], LlmError::Protocol(_)));
    errors.push(
        OpenAiCompatible::with_config(Some("ftp://x"), Some(KEY.into()), fast()).unwrap_err(),
    );
    for err in &errors {
        let display = err.to_string();
        let debug = format!("{err:?}");
        assert!(
            !display.contains(KEY) && !debug.contains(KEY),
            "{display} / {debug}"
        );
        assert!(!display.is_empty());
    }
    let debug = format!("{openai:?} {anthropic:?}");
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("***"));
}

#[tokio::test]
async fn provider_kinds_build_clients() {
    let fake = Fake::start(vec![Reply::sse(anthropic::stream(&["via kind"], 1, 1))]).await;
    let kind: ProviderKind = "anthropic".parse().unwrap();
    assert_eq!(kind.as_str(), "anthropic");
    assert!("gemini".parse::<ProviderKind>().is_err());
    assert_eq!(
        ProviderKind::OpenAi.default_base_url(),
        "https://api.openai.com/v1"
    );
    assert_eq!(
        ProviderKind::Anthropic.default_base_url(),
        "https://api.anthropic.com"
    );
    let provider = kind
        .build(Some(&fake.url), Some(KEY.into()), fast())
        .unwrap();
    let (result, _) = collect(provider.as_ref(), &request()).await;
    assert_eq!(result.unwrap().text, "via kind");
    assert_eq!(
        serde_json::to_value(ProviderKind::OpenAi).unwrap(),
        json!("openai")
    );
}

#[tokio::test]
async fn a_visitor_leaving_while_the_provider_has_not_answered_cancels_at_once() {
    let fake = Fake::start(vec![Reply::Hang]).await;
    let provider = anthropic::client(&fake);
    let (tx, rx) = mpsc::channel(4);
    let leave = async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(rx);
    };
    let started = Instant::now();
    let req = request();
    let (result, ()) = tokio::join!(provider.stream_chat(&req, &tx), leave);
    assert_eq!(result.unwrap_err(), LlmError::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(1));

    // already gone before the call: no request at all
    let (tx, rx) = mpsc::channel(4);
    drop(rx);
    let before = fake.count();
    assert_eq!(
        provider.stream_chat(&req, &tx).await,
        Err(LlmError::Cancelled)
    );
    assert_eq!(fake.count(), before);
}
