//! OpenAI-compatible Chat Completions and embeddings.

use auralix_ai::llm::{ChatProvider, LlmError, OpenAiCompatible};
use serde_json::{Value, json};

use crate::fake::{End, Fake, Reply};
use crate::{KEY, collect, fast, request};

/// One `data:` event of a chat.completion.chunk.
pub fn chunk(delta: Value, finish: Option<&str>) -> String {
    let value = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    });
    format!("data: {value}\n\n")
}

/// A whole streamed answer: role chunk, one chunk per piece, finish chunk, usage chunk,
/// `[DONE]`.
pub fn stream(pieces: &[&str], prompt_tokens: u32, completion_tokens: u32) -> Vec<String> {
    let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    events.extend(pieces.iter().map(|p| chunk(json!({"content": p}), None)));
    events.push(chunk(json!({}), Some("stop")));
    let usage = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    });
    events.push(format!("data: {usage}\n\n"));
    events.push("data: [DONE]\n\n".into());
    events
}

pub fn client(fake: &Fake) -> OpenAiCompatible {
    OpenAiCompatible::with_config(Some(&format!("{}/v1", fake.url)), Some(KEY.into()), fast())
        .unwrap()
}

#[tokio::test]
async fn streams_deltas_in_order_and_reads_usage() {
    let fake = Fake::start(vec![Reply::sse(stream(
        &["Yes", ", we", " ship", " to Berlin", " 🚚."],
        42,
        7,
    ))])
    .await;
    let (result, deltas) = collect(&client(&fake), &request()).await;
    let outcome = result.unwrap();
    assert_eq!(deltas, ["Yes", ", we", " ship", " to Berlin", " 🚚."]);
    assert_eq!(outcome.text, deltas.concat());
    assert_eq!((outcome.input_tokens, outcome.output_tokens), (42, 7));

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(sent.header("x-api-key"), None);
    assert!(
        sent.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        sent.body,
        json!({
            "model": "test-model",
            "messages": [
                {"role": "system", "content": "You are the Acme shop assistant."},
                {"role": "user", "content": "Hi"},
                {"role": "assistant", "content": "Hello! How can I help?"},
                {"role": "user", "content": "Do you ship to Berlin?"},
            ],
            "temperature": 0.3,
            "max_tokens": 200,
            "stream": true,
            "stream_options": {"include_usage": true},
        })
    );
}

#[tokio::test]
async fn tolerates_crlf_comments_and_chunks_split_anywhere() {
    // The whole answer with CRLF line ends, keep-alive comments and an unknown field,
    // written in 5-byte pieces (splitting lines, CRLF pairs and a multibyte character).
    let mut body = String::from(": OPENROUTER PROCESSING\r\n\r\n");
    for (i, event) in stream(&["Привет", ", ", "мир"], 3, 4)
        .into_iter()
        .enumerate()
    {
        body.push_str(&event.replace('\n', "\r\n"));
        if i == 1 {
            body.push_str(": keep-alive\r\n\r\nretry: 1000\r\n\r\n");
        }
    }
    let chunks = body.as_bytes().chunks(5).map(<[u8]>::to_vec).collect();
    let fake = Fake::start(vec![Reply::Sse {
        chunks,
        delay: std::time::Duration::ZERO,
        end: End::Close,
    }])
    .await;
    // a base URL with a trailing slash
    let provider =
        OpenAiCompatible::with_config(Some(&format!("{}/v1/", fake.url)), None, fast()).unwrap();
    let (result, deltas) = collect(&provider, &request()).await;
    let outcome = result.unwrap();
    assert_eq!(deltas, ["Привет", ", ", "мир"]);
    assert_eq!(outcome.text, "Привет, мир");
    assert_eq!((outcome.input_tokens, outcome.output_tokens), (3, 4));
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    // no key configured (a local server): no Authorization header at all
    assert_eq!(sent.header("authorization"), None);
}

#[tokio::test]
async fn complete_is_not_streamed() {
    let fake = Fake::start(vec![Reply::Json(json!({
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "{\"intent\":\"sales\"}"},
            "finish_reason": "stop",
        }],
        "usage": {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35},
    }))])
    .await;
    let mut req = request();
    req.temperature = None;
    req.max_tokens = None;
    let outcome = client(&fake).complete(&req).await.unwrap();
    assert_eq!(outcome.text, "{\"intent\":\"sales\"}");
    assert_eq!((outcome.input_tokens, outcome.output_tokens), (30, 5));
    let body = &fake.requests()[0].body;
    assert_eq!(body["stream"], false);
    assert!(body.get("stream_options").is_none());
    assert!(body.get("temperature").is_none());
    assert!(body.get("max_tokens").is_none());
}

#[tokio::test]
async fn a_server_that_ignores_stream_true_still_answers() {
    let fake = Fake::start(vec![Reply::Json(json!({
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "whole"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1},
    }))])
    .await;
    let (result, deltas) = collect(&client(&fake), &request()).await;
    assert_eq!(result.unwrap().text, "whole");
    assert_eq!(deltas, ["whole"]);
}

#[tokio::test]
async fn an_error_chunk_or_a_truncated_stream_is_a_protocol_error() {
    let mut events = stream(&["Part"], 1, 1);
    events.truncate(2);
    events.push(format!(
        "data: {}\n\n",
        json!({"error": {"message": "upstream overloaded", "type": "server_error"}})
    ));
    let fake = Fake::start(vec![Reply::sse(events)]).await;
    let (result, deltas) = collect(&client(&fake), &request()).await;
    assert_eq!(deltas, ["Part"]);
    match result {
        Err(LlmError::Protocol(message)) => assert!(message.contains("upstream overloaded")),
        other => panic!("{other:?}"),
    }

    let mut events = stream(&["Part"], 1, 1);
    events.truncate(2); // no finish_reason, no [DONE]
    let fake = Fake::start(vec![Reply::sse(events)]).await;
    let (result, _) = collect(&client(&fake), &request()).await;
    assert!(matches!(result, Err(LlmError::Protocol(_))), "{result:?}");
    assert_eq!(
        fake.count(),
        1,
        "nothing is retried once text has been streamed"
    );
}

#[tokio::test]
async fn embed_returns_vectors_in_input_order() {
    let fake = Fake::start(vec![Reply::Json(json!({
        "object": "list",
        "data": [
            {"object": "embedding", "index": 2, "embedding": [0.0, 0.0, 1.0]},
            {"object": "embedding", "index": 0, "embedding": [1.0, 0.0, 0.0]},
            {"object": "embedding", "index": 1, "embedding": [0.0, 0.5, -0.25]},
        ],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 6, "total_tokens": 6},
    }))])
    .await;
    let inputs = vec!["one".to_string(), "two".into(), "three".into()];
    let vectors = client(&fake)
        .embed("text-embedding-3-small", &inputs)
        .await
        .unwrap();
    assert_eq!(
        vectors,
        vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 0.5, -0.25],
            vec![0.0, 0.0, 1.0]
        ]
    );
    let sent = &fake.requests()[0];
    assert_eq!(sent.path, "/v1/embeddings");
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(
        sent.body,
        json!({"model": "text-embedding-3-small", "input": ["one", "two", "three"]})
    );
    // nothing to embed: no request
    assert!(client(&fake).embed("m", &[]).await.unwrap().is_empty());
    assert_eq!(fake.count(), 1);
}
