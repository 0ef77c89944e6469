//! The widget API (`/api/v1/widget/{public_id}/…`) and the widget's own files.
//!
//! No cookies and no account auth: the agent's public id scopes every call, CORS and the
//! `Origin` check follow the agent's allow-list, and the visitor proves who they are with
//! a signed visitor token (`Authorization: Bearer vt1…`).

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use auralix_core::Agent;
use auralix_store::{ConversationRecord, NewConversation, StoreError};
use axum::{
    Extension, Json, Router,
    extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Path, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::{Next, from_fn_with_state},
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
    routing::{get, post},
};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{
    errors::{ApiError, ApiResult},
    extract::ApiJson,
};
use crate::{
    services::{
        answerer::ReplyLanguage,
        chat::{self, ReplyOutcome, message_view},
        consent::consent_text,
        leads::{self, Contact, ContactInput},
        visitor_token::is_visitor_id,
    },
    state::AppState,
};

/// Largest widget request body (API.md).
pub const MAX_WIDGET_BODY: usize = 65_536;
/// Longest visitor message, in Unicode scalar values (API.md).
pub const MAX_MESSAGE_CHARS: usize = 4_000;
const MAX_URL_CHARS: usize = 2_048;

pub fn routes(state: AppState) -> Router<AppState> {
    let api = Router::new()
        .route("/sessions", post(create_session))
        .route("/conversations", post(create_conversation))
        .route(
            "/conversations/{id}/messages",
            post(post_message).get(list_messages),
        )
        .route("/conversations/{id}/events", get(events))
        .route("/conversations/{id}/contact", post(contact))
        .layer(DefaultBodyLimit::max(MAX_WIDGET_BODY))
        .layer(from_fn_with_state(state, agent_and_cors));
    Router::new()
        .nest("/api/v1/widget/{public_id}", api)
        .route("/widget.js", get(loader_js))
        .route("/widget/ui.js", get(ui_js))
}

async fn loader_js(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // The pasted URL has no version, so the loader is cached briefly and revalidated.
    state.widget.loader.respond(
        &headers,
        "public, max-age=3600, stale-while-revalidate=86400",
    )
}

async fn ui_js(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // Always requested with ?v=<content digest>: safe to cache for a year.
    state
        .widget
        .ui
        .respond(&headers, "public, max-age=31536000, immutable")
}

fn cors_headers(response: &mut Response, origin: &str) {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// Loads the agent named in the path, answers preflights, and enforces the agent's
/// origin allow-list; the agent travels on to the handlers as an extension.
async fn agent_and_cors(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    // Nested routers see their path without the prefix; the original URI has it.
    let public_id = request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(
            || request.uri().path().to_owned(),
            |uri| uri.path().to_owned(),
        );
    let public_id = public_id
        .strip_prefix("/api/v1/widget/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("")
        .to_owned();
    let agent = match state.store.agents().by_public_id(&public_id).await {
        Ok(agent) => agent,
        Err(StoreError::NotFound) => {
            return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such agent")
                .into_response();
        }
        Err(error) => return ApiError::from(error).into_response(),
    };
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // The service's own pages (the dashboard's "try it") may always talk to the widget API.
    let allowed = agent.allows_origin(origin.as_deref())
        || origin.as_deref() == Some(&state.settings.public_origin());
    if !allowed {
        return ApiError::forbidden("this site is not allowed to use this agent").into_response();
    }
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        if let Some(origin) = &origin {
            cors_headers(&mut response, origin);
            let headers = response.headers_mut();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, OPTIONS"),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type, accept"),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        return response;
    }
    request.extensions_mut().insert(Arc::new(agent));
    let mut response = next.run(request).await;
    if let Some(origin) = &origin {
        cors_headers(&mut response, origin);
    }
    response
}

/// A visitor proven by their token, talking to one agent.
pub struct Visitor {
    pub agent: Arc<Agent>,
    pub visitor_id: String,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let agent = parts
            .extensions
            .get::<Arc<Agent>>()
            .cloned()
            .ok_or_else(ApiError::unauthorized)?;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "not_authenticated",
                    "send the visitor token",
                )
            })?;
        let visitor_id = state
            .visitor_tokens
            .verify(token.trim(), &agent.public_id, state.now())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "not_authenticated",
                    "the visitor token is not valid",
                )
            })?;
        Ok(Visitor { agent, visitor_id })
    }
}

impl Visitor {
    async fn conversation(&self, state: &AppState, id: &str) -> ApiResult<ConversationRecord> {
        Ok(state
            .store
            .conversations()
            .for_visitor(&self.agent.id, &self.visitor_id, id)
            .await?)
    }
}

/// An optional URL field: trimmed, at most 2,048 characters, http(s) only.
fn optional_url(field: &str, raw: Option<&str>) -> ApiResult<Option<String>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(ApiError::invalid_field(
            field,
            format!("must be at most {MAX_URL_CHARS} characters"),
        ));
    }
    match url::Url::parse(raw) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(Some(url.to_string())),
        _ => Err(ApiError::invalid_field(field, "must be an http(s) URL")),
    }
}

#[derive(Deserialize)]
struct SessionInput {
    visitor_id: Option<String>,
    page_url: Option<String>,
    referrer: Option<String>,
    locale: Option<String>,
}

async fn create_session(
    State(state): State<AppState>,
    Extension(agent): Extension<Arc<Agent>>,
    ApiJson(input): ApiJson<SessionInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    optional_url("page_url", input.page_url.as_deref())?;
    optional_url("referrer", input.referrer.as_deref())?;
    let visitor_id = match input.visitor_id.as_deref() {
        Some(id) if is_visitor_id(id) => id.to_owned(),
        _ => auralix_core::new_id("vis"),
    };
    let token = state
        .visitor_tokens
        .sign(&agent.public_id, &visitor_id, state.now());
    let locale = agent
        .language
        .clone()
        .or(input.locale.clone())
        .unwrap_or_else(|| "en".into());
    let language = if locale.starts_with("ru") {
        ReplyLanguage::Ru
    } else {
        ReplyLanguage::En
    };
    let consent = consent_text(language);
    let config = json!({
        "title": agent.appearance.title.clone().unwrap_or_else(|| agent.name.as_str().to_owned()),
        "greeting": agent.greeting,
        "color": agent.appearance.color,
        "position": agent.appearance.position,
        "lead_fields": agent.lead_capture.fields,
        "required_fields": agent.lead_capture.required,
        "consent_text": consent.text,
        "consent_version": consent.version,
        "privacy_url": agent.privacy_url,
        "locale": if language == ReplyLanguage::Ru { "ru" } else { "en" },
        "max_message_chars": MAX_MESSAGE_CHARS,
    });
    Ok((
        StatusCode::CREATED,
        Json(json!({"visitor_id": visitor_id, "visitor_token": token, "config": config})),
    ))
}

#[derive(Deserialize, Default)]
struct ConversationInput {
    page_url: Option<String>,
    referrer: Option<String>,
}

async fn create_conversation(
    State(state): State<AppState>,
    visitor: Visitor,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ConversationInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let page_url = optional_url("page_url", input.page_url.as_deref())?;
    let referrer = optional_url("referrer", input.referrer.as_deref())?;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(512).collect::<String>());
    let ip = addr.ip().to_string();
    let conversation = state
        .store
        .conversations()
        .create(NewConversation {
            workspace_id: &visitor.agent.workspace_id,
            agent_id: &visitor.agent.id,
            visitor_id: &visitor.visitor_id,
            page_url: page_url.as_deref(),
            referrer: referrer.as_deref(),
            ip: Some(&ip),
            user_agent: user_agent.as_deref(),
            now: state.now(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": conversation.id}))))
}

#[derive(Deserialize)]
struct MessageInput {
    text: Option<String>,
}

/// Checks the text rule of API.md: present, not blank, at most 4,000 characters.
fn message_text(input: &MessageInput) -> ApiResult<String> {
    let text = input.text.as_deref().unwrap_or("");
    if text.trim().is_empty() {
        return Err(ApiError::invalid_field("text", "must not be empty"));
    }
    let chars = text.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        let message = format!("must be at most {MAX_MESSAGE_CHARS} characters (got {chars})");
        let mut error = ApiError::invalid_field("text", message);
        error.set_detail(format!(
            "the message is longer than the limit of {MAX_MESSAGE_CHARS} characters"
        ));
        return Err(error);
    }
    Ok(text.trim().to_owned())
}

fn reply_json(outcome: &ReplyOutcome) -> Value {
    let mut value = serde_json::to_value(message_view(&outcome.message)).unwrap_or_default();
    value["ask_contact"] = json!(outcome.ask_contact);
    if !outcome.contact_prefill.is_empty() {
        value["contact_prefill"] = json!(outcome.contact_prefill);
    }
    value["conversation_status"] = json!(outcome.status);
    value
}

fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"))
}

async fn post_message(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<MessageInput>,
) -> ApiResult<Response> {
    let text = message_text(&input)?;
    let conversation = visitor.conversation(&state, &id).await?;
    let (message, warnings) = chat::accept(&state, &conversation, &text).await?;
    let accepted = json!({"message": message_view(&message), "warnings": warnings});
    if !wants_stream(&headers) {
        // Nobody watches the pieces, but the visitor is still here: drain them rather
        // than close the channel (a closed channel means "the visitor left").
        let (deltas, mut pieces) = mpsc::channel::<String>(64);
        tokio::spawn(async move { while pieces.recv().await.is_some() {} });
        let outcome = chat::reply(&state, &visitor.agent, &conversation, &text, deltas).await?;
        let mut body = accepted;
        body["reply"] = reply_json(&outcome);
        return Ok((StatusCode::CREATED, Json(body)).into_response());
    }
    let (events, receiver) = mpsc::channel::<Event>(64);
    let _ = events.send(sse_event("accepted", &accepted)).await;
    // The reply is produced and stored even if the visitor disconnects mid-stream.
    tokio::spawn(stream_reply(
        state,
        visitor.agent,
        conversation,
        text,
        events,
    ));
    Ok(sse(receiver).into_response())
}

fn sse_event(name: &'static str, data: &Value) -> Event {
    Event::default().event(name).data(data.to_string())
}

fn sse(receiver: mpsc::Receiver<Event>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures_util::stream::unfold(receiver, |mut rx| async move {
        rx.recv().await.map(|e| (Ok(e), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

async fn stream_reply(
    state: AppState,
    agent: Arc<Agent>,
    conversation: ConversationRecord,
    text: String,
    events: mpsc::Sender<Event>,
) {
    let (deltas, pieces) = mpsc::channel::<String>(64);
    let reply = chat::reply(&state, &agent, &conversation, &text, deltas);
    tokio::pin!(reply);
    // `None` once the visitor has gone: no more reading, which tells the answerer to stop
    // (a model's upstream request is cancelled); what was produced is still stored.
    let mut pieces = Some(pieces);
    let result = loop {
        let next = async {
            match pieces.as_mut() {
                Some(p) => p.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            Some(piece) = next => {
                if events.send(sse_event("delta", &json!({"text": piece}))).await.is_err() {
                    pieces = None;
                }
            }
            result = &mut reply => break result,
        }
    };
    if let Some(pieces) = pieces.as_mut() {
        while let Ok(piece) = pieces.try_recv() {
            let _ = events
                .send(sse_event("delta", &json!({"text": piece})))
                .await;
        }
    }
    let last = match result {
        Ok(outcome) => sse_event("done", &reply_json(&outcome)),
        Err(error) => sse_event(
            "error",
            &serde_json::to_value(ApiError::from(error).problem()).unwrap_or_default(),
        ),
    };
    let _ = events.send(last).await;
}

async fn list_messages(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((_, id)): Path<(String, String)>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> ApiResult<Json<Value>> {
    let conversation = visitor.conversation(&state, &id).await?;
    let after = query.as_deref().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "after")
            .map(|(_, v)| v.into_owned())
    });
    let messages = state
        .store
        .conversations()
        .messages(
            &conversation.workspace_id,
            &conversation.id,
            after.as_deref(),
            500,
        )
        .await?;
    Ok(Json(
        json!({"items": messages.iter().map(message_view).collect::<Vec<_>>()}),
    ))
}

async fn events(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((_, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let conversation = visitor.conversation(&state, &id).await?;
    let mut live = state.events.subscribe(&conversation.id);
    let (events, receiver) = mpsc::channel::<Event>(16);
    tokio::spawn(async move {
        loop {
            // Also watch for the visitor going away: on a quiet conversation nothing else
            // would end this task and its subscription.
            let received = tokio::select! {
                _ = events.closed() => break,
                received = live.recv() => received,
            };
            let event = match received {
                Ok(event) => sse_event(event.name, &event.data),
                // A slow reader missed some: tell it to refetch with ?after=.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    sse_event("resync", &json!({}))
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            };
            if events.send(event).await.is_err() {
                break;
            }
        }
    });
    Ok(sse(receiver).into_response())
}

async fn contact(
    State(state): State<AppState>,
    visitor: Visitor,
    Path((_, id)): Path<(String, String)>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(input): ApiJson<ContactInput>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let conversation = visitor.conversation(&state, &id).await?;
    let contact = Contact::parse(&input, &visitor.agent)?;
    let lead_id =
        leads::capture(&state, &conversation, contact, Some(&addr.ip().to_string())).await?;
    Ok((StatusCode::CREATED, Json(json!({"lead_id": lead_id}))))
}
