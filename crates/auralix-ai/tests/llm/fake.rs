//! A scriptable fake provider: an axum server on 127.0.0.1:0 that records every request
//! (method, path, headers, JSON body) and answers with the next scripted reply (the last
//! one repeats).

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::{Notify, mpsc};

/// What the fake does after the scripted chunks of a stream.
#[derive(Clone, Debug)]
pub enum End {
    /// Ends the body.
    Close,
    /// Sends nothing more and keeps the body open until the client goes away.
    Stall,
    /// Sends an SSE comment every 20 ms until writing fails (the client went away).
    KeepAliveUntilClosed,
}

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A status with headers and a body.
    Status {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// 200 with a JSON document.
    Json(Value),
    /// 200 `text/event-stream`: each chunk written separately, `delay` before each.
    Sse {
        chunks: Vec<Vec<u8>>,
        delay: Duration,
        end: End,
    },
    /// Accepts the request and never answers.
    Hang,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply::Status {
            status,
            headers: Vec::new(),
            body: format!("{{\"error\":{{\"message\":\"status {status}\"}}}}"),
        }
    }

    pub fn sse(events: Vec<String>) -> Self {
        Reply::Sse {
            chunks: events.into_iter().map(String::into_bytes).collect(),
            delay: Duration::ZERO,
            end: End::Close,
        }
    }
}

/// A request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct Shared {
    replies: Vec<Reply>,
    next: AtomicUsize,
    requests: Mutex<Vec<Recorded>>,
    closed: Notify,
    closed_count: AtomicUsize,
}

pub struct Fake {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    shared: Arc<Shared>,
}

impl Fake {
    pub async fn start(replies: Vec<Reply>) -> Fake {
        assert!(!replies.is_empty());
        let shared = Arc::new(Shared {
            replies,
            next: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            closed: Notify::new(),
            closed_count: AtomicUsize::new(0),
        });
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Fake { url, shared }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }

    /// Waits until a streamed body noticed that its client went away.
    pub async fn wait_client_gone(&self, within: Duration) -> bool {
        if self.shared.closed_count.load(Ordering::SeqCst) > 0 {
            return true;
        }
        tokio::time::timeout(within, self.shared.closed.notified())
            .await
            .is_ok()
    }
}

fn mark_closed(shared: &Shared) {
    shared.closed_count.fetch_add(1, Ordering::SeqCst);
    shared.closed.notify_one();
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    shared.requests.lock().unwrap().push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.to_string(),
        headers: parts.headers,
        body,
    });
    let n = shared.next.fetch_add(1, Ordering::SeqCst);
    let reply = shared.replies[n.min(shared.replies.len() - 1)].clone();
    match reply {
        Reply::Status {
            status,
            headers,
            body,
        } => {
            let mut response = (StatusCode::from_u16(status).unwrap(), body).into_response();
            for (name, value) in headers {
                response
                    .headers_mut()
                    .insert(name, HeaderValue::from_str(&value).unwrap());
            }
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Reply::Json(value) => axum::Json(value).into_response(),
        Reply::Hang => std::future::pending().await,
        Reply::Sse { chunks, delay, end } => {
            let (tx, rx) = mpsc::channel::<Vec<u8>>(1);
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                for chunk in chunks {
                    tokio::time::sleep(delay).await;
                    if tx.send(chunk).await.is_err() {
                        mark_closed(&shared);
                        return;
                    }
                }
                match end {
                    End::Close => {}
                    End::Stall => {
                        tx.closed().await;
                        mark_closed(&shared);
                    }
                    End::KeepAliveUntilClosed => loop {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        if tx.send(b": keep-alive\n\n".to_vec()).await.is_err() {
                            mark_closed(&shared);
                            return;
                        }
                    },
                }
            });
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv()
                    .await
                    .map(|chunk| (Ok::<_, Infallible>(chunk), rx))
            });
            let mut response = Body::from_stream(stream).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            );
            response
        }
    }
}
