//! Local fakes of the OpenAI Chat Completions and Anthropic Messages APIs, following
//! their documented request and streaming formats, recording what they receive.

use std::{
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};

#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Streams these pieces; a non-streaming call (classification) gets `classification`.
    Answer {
        pieces: Vec<String>,
        classification: String,
    },
    Fail500,
    Hang,
    /// Streams a piece every 100 ms for a minute; notes if the client goes away.
    Trickle,
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Clone)]
pub struct FakeLlm {
    pub base: String,
    behaviour: Arc<Mutex<Behaviour>>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    /// Set when a trickling stream was dropped before its end (the client cancelled).
    pub cancelled: Arc<std::sync::atomic::AtomicBool>,
}

impl FakeLlm {
    pub async fn start(behaviour: Behaviour) -> FakeLlm {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeLlm {
            base,
            behaviour: Arc::new(Mutex::new(behaviour)),
            recorded: Arc::default(),
            cancelled: Arc::default(),
        };
        let app = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/v1/messages", post(anthropic))
            .route("/v1/embeddings", post(embeddings))
            .with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        fake
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }

    /// The streamed (answering) requests, not the classification ones.
    pub fn chat_requests(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.body["stream"] == true)
            .collect()
    }

    fn record(&self, path: &str, headers: &HeaderMap, body: &Bytes) -> (Behaviour, Value) {
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        self.recorded.lock().unwrap().push(Recorded {
            path: path.to_owned(),
            headers: headers.clone(),
            body: body.clone(),
        });
        (self.behaviour.lock().unwrap().clone(), body)
    }
}

fn sse(events: Vec<String>) -> Response {
    let stream = futures_util::stream::iter(
        events
            .into_iter()
            .map(|e| Ok::<_, Infallible>(Bytes::from(e))),
    );
    (
        [("content-type", "text/event-stream")],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn failure(behaviour: &Behaviour) -> Option<Response> {
    match behaviour {
        Behaviour::Fail500 => Some(
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "{\"error\":{\"message\":\"boom\"}}",
            )
                .into_response(),
        ),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            None
        }
        Behaviour::Answer { .. } | Behaviour::Trickle => None,
    }
}

/// Notes in `flag` when it is dropped before `finished` is set.
struct DropGuard {
    flag: Arc<std::sync::atomic::AtomicBool>,
    finished: bool,
}

impl DropGuard {
    fn finish(&mut self) {
        self.finished = true;
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if !self.finished {
            self.flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

fn trickle(fake: &FakeLlm) -> Response {
    let guard = DropGuard {
        flag: fake.cancelled.clone(),
        finished: false,
    };
    let stream = futures_util::stream::unfold((0u32, guard), |(i, mut guard)| async move {
        if i >= 600 {
            guard.finish();
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let chunk = format!(
            "data: {}\n\n",
            json!({"choices": [{"index": 0, "delta": {"content": format!("word{i} ")}}]})
        );
        Some((Ok::<_, Infallible>(Bytes::from(chunk)), (i + 1, guard)))
    });
    (
        [("content-type", "text/event-stream")],
        Body::from_stream(stream),
    )
        .into_response()
}

async fn openai(State(fake): State<FakeLlm>, headers: HeaderMap, body: Bytes) -> Response {
    let (behaviour, request) = fake.record("/v1/chat/completions", &headers, &body);
    if let Some(response) = failure(&behaviour).await {
        return response;
    }
    if matches!(behaviour, Behaviour::Trickle) {
        return trickle(&fake);
    }
    let Behaviour::Answer {
        pieces,
        classification,
    } = behaviour
    else {
        unreachable!()
    };
    if request["stream"] != true {
        return axum::Json(json!({
            "id": "cmpl-1", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": classification}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 10, "total_tokens": 40}
        }))
        .into_response();
    }
    let mut events: Vec<String> = pieces
        .iter()
        .map(|p| format!("data: {}\n\n", json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]})))
        .collect();
    events.push(format!("data: {}\n\n", json!({"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})));
    events.push(format!("data: {}\n\n", json!({"id": "c1", "object": "chat.completion.chunk", "choices": [], "usage": {"prompt_tokens": 120, "completion_tokens": 17, "total_tokens": 137}})));
    events.push("data: [DONE]\n\n".to_owned());
    sse(events)
}

async fn anthropic(State(fake): State<FakeLlm>, headers: HeaderMap, body: Bytes) -> Response {
    let (behaviour, request) = fake.record("/v1/messages", &headers, &body);
    if let Some(response) = failure(&behaviour).await {
        return response;
    }
    if matches!(behaviour, Behaviour::Trickle) {
        return trickle(&fake);
    }
    let Behaviour::Answer {
        pieces,
        classification,
    } = behaviour
    else {
        unreachable!()
    };
    if request["stream"] != true {
        return axum::Json(json!({
            "id": "msg_1", "type": "message", "role": "assistant",
            "content": [{"type": "text", "text": classification}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 30, "output_tokens": 10}
        }))
        .into_response();
    }
    let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
    let mut events = vec![
        event(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "content": [], "usage": {"input_tokens": 95, "output_tokens": 1}}}),
        ),
        event(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        ),
        event("ping", json!({"type": "ping"})),
    ];
    for p in &pieces {
        events.push(event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}})));
    }
    events.push(event(
        "content_block_stop",
        json!({"type": "content_block_stop", "index": 0}),
    ));
    events.push(event("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 21}})));
    events.push(event("message_stop", json!({"type": "message_stop"})));
    sse(events)
}

/// A toy embedding: hashed bag of words in 32 dimensions, with a few synonyms folded
/// together so that "car rental" lands near "automobile hire" (which full-text misses).
pub fn toy_embedding(text: &str) -> Vec<f32> {
    let mut v = vec![0f32; 32];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_lowercase();
        let word = match word.as_str() {
            "car" | "cars" => "automobile",
            "rental" | "rent" => "hire",
            other => other,
        }
        .to_owned();
        let hash = word.bytes().fold(2166136261u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(16777619)
        });
        v[(hash % 32) as usize] += 1.0;
    }
    v
}

async fn embeddings(State(fake): State<FakeLlm>, headers: HeaderMap, body: Bytes) -> Response {
    let (_, request) = fake.record("/v1/embeddings", &headers, &body);
    let inputs: Vec<String> = request["input"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .rev() // out of order on purpose: clients must sort by index
        .map(|(i, text)| json!({"object": "embedding", "index": i, "embedding": toy_embedding(text)}))
        .collect();
    axum::Json(json!({"object": "list", "data": data, "model": request["model"], "usage": {"prompt_tokens": 5, "total_tokens": 5}})).into_response()
}
