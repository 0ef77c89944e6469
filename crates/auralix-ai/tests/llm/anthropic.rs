//! Anthropic's Messages API.

use auralix_ai::llm::{Anthropic, ChatProvider, LlmError};
use serde_json::{Value, json};

use crate::fake::{Fake, Reply};
use crate::{KEY, collect, fast, request};

pub fn event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

/// A whole streamed message as the API documents it.
pub fn stream(pieces: &[&str], input_tokens: u32, output_tokens: u32) -> Vec<String> {
    let mut events = vec![
        event(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "content": [],
                "model": "test-model", "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1},
            }}),
        ),
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        event("ping", json!({"type": "ping"})),
    ];
    events.extend(pieces.iter().map(|p| {
        event(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}),
        )
    }));
    events.push(event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(event(
        "message_delta",
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"output_tokens": output_tokens}}),
    ));
    events.push(event("message_stop", json!({"type": "message_stop"})));
    events
}

pub fn client(fake: &Fake) -> Anthropic {
    Anthropic::with_config(Some(&fake.url), Some(KEY.into()), fast()).unwrap()
}

#[tokio::test]
async fn streams_named_events_in_order_and_reads_usage() {
    let fake = Fake::start(vec![Reply::sse(stream(
        &["Yes", ", we ship", " to Berlin."],
        25,
        15,
    ))])
    .await;
    let (result, deltas) = collect(&client(&fake), &request()).await;
    let outcome = result.unwrap();
    assert_eq!(deltas, ["Yes", ", we ship", " to Berlin."]);
    assert_eq!(outcome.text, deltas.concat());
    assert_eq!((outcome.input_tokens, outcome.output_tokens), (25, 15));

    let sent = &fake.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(
        sent.body,
        json!({
            "model": "test-model",
            "system": "You are the Acme shop assistant.",
            "messages": [
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello! How can I help?"},
                {"role": "user", "content": "Do you ship to Berlin?"},
            ],
            "max_tokens": 200,
            "temperature": 0.3,
            "stream": true,
        })
    );
}

#[tokio::test]
async fn max_tokens_defaults_to_1024_and_trailing_slash_is_accepted() {
    let fake = Fake::start(vec![Reply::sse(stream(&["ok"], 1, 1))]).await;
    let provider =
        Anthropic::with_config(Some(&format!("{}/", fake.url)), Some(KEY.into()), fast()).unwrap();
    let mut req = request();
    req.max_tokens = None;
    req.temperature = None;
    let (result, _) = collect(&provider, &req).await;
    assert_eq!(result.unwrap().text, "ok");
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.body["max_tokens"], 1024);
    assert!(sent.body.get("temperature").is_none());
}

#[tokio::test]
async fn an_error_event_ends_the_stream() {
    let mut events = stream(&["Par"], 5, 1);
    events.truncate(4); // message_start, content_block_start, ping, one delta
    events.push(event(
        "error",
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ));
    let fake = Fake::start(vec![Reply::sse(events)]).await;
    let (result, deltas) = collect(&client(&fake), &request()).await;
    assert_eq!(deltas, ["Par"]);
    match result {
        Err(LlmError::Protocol(message)) => {
            assert!(message.contains("overloaded_error"), "{message}");
            assert!(message.contains("Overloaded"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.count(), 1);
}

#[tokio::test]
async fn a_stream_without_message_stop_is_a_protocol_error() {
    let mut events = stream(&["Par"], 5, 1);
    events.truncate(4);
    let fake = Fake::start(vec![Reply::sse(events)]).await;
    let (result, _) = collect(&client(&fake), &request()).await;
    assert!(matches!(result, Err(LlmError::Protocol(_))), "{result:?}");
}

#[tokio::test]
async fn complete_is_not_streamed() {
    let fake = Fake::start(vec![Reply::Json(json!({
        "id": "msg_2", "type": "message", "role": "assistant", "model": "test-model",
        "content": [{"type": "text", "text": "{\"intent\":"}, {"type": "text", "text": "\"support\"}"}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 40, "output_tokens": 6},
    }))])
    .await;
    let outcome = client(&fake).complete(&request()).await.unwrap();
    assert_eq!(outcome.text, "{\"intent\":\"support\"}");
    assert_eq!((outcome.input_tokens, outcome.output_tokens), (40, 6));
    let sent = &fake.requests()[0];
    assert_eq!(sent.body["stream"], false);
    assert_eq!(sent.header("x-api-key"), Some(KEY));
}
