//! AI: the workspace's language-model providers, an agent's AI settings, and a playground
//! that answers as the widget would without storing anything. Changes go through the JSON
//! API's own handlers, so both paths check the same things and neither ever shows a key.

use std::collections::BTreeMap;

use askama::Template;
use auralix_core::{Agent, AgentInput, AiInput, AiMode, PrivacyInput};
use auralix_store::StoreError;
use axum::{
    Form,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};

use super::{
    Chrome, DashboardSession, FormPairs, api_refusal, csrf_refusal, field, forbidden_role, has,
    knowledge::PassageRow, load_agent, query_pairs, render, render_loaded, store_failure,
};
use crate::{
    i18n::{Lang, Texts},
    state::AppState,
};

/// Passages the playground retrieves, as many as a visitor's question gets.
const PLAYGROUND_PASSAGES: u32 = 5;

/// The field errors of a refused API call, the first one per field.
fn problem_errors(error: &crate::http::errors::ApiError) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let problem = error.problem();
    for e in problem.errors {
        map.entry(e.field).or_insert(e.message);
    }
    if map.is_empty()
        && let Some(detail) = problem.detail
    {
        map.insert(String::new(), detail);
    }
    map
}

/// A provider type as the page names it.
fn provider_kind_label(t: &Texts, kind: &str) -> String {
    match kind {
        "openai" => t.kind_openai.to_owned(),
        "anthropic" => t.kind_anthropic.to_owned(),
        other => other.to_owned(),
    }
}

/// How the agent answers, in a few words: the built-in answerer, or mode · provider · model.
pub(super) async fn ai_summary(
    state: &AppState,
    t: &Texts,
    agent: &Agent,
) -> Result<String, StoreError> {
    let provider_id = match (&agent.ai.mode, &agent.ai.provider_id) {
        (AiMode::Llm, Some(id)) => id,
        _ => return Ok(t.mode_builtin.to_owned()),
    };
    match state
        .store
        .providers()
        .get(&agent.workspace_id, provider_id)
        .await
    {
        Ok(provider) => {
            let model = agent.ai.model.clone().or(provider.default_model);
            Ok(match model {
                Some(model) => format!("{} · {} · {model}", t.mode_llm, provider.name),
                None => format!("{} · {}", t.mode_llm, provider.name),
            })
        }
        Err(StoreError::NotFound) => Ok(format!("{} ({})", t.mode_builtin, t.provider_missing)),
        Err(error) => Err(error),
    }
}

/// The outcome of "Test connection", shown on the provider's card.
struct ConnectionTest {
    ok: bool,
    detail: String,
}

impl ConnectionTest {
    /// From the API's `{ok, model, latency_ms, error?}`.
    fn from_answer(answer: &serde_json::Value, t: &Texts) -> Self {
        let ok = answer["ok"].as_bool().unwrap_or(false);
        let model = answer["model"].as_str().unwrap_or("");
        let latency = answer["latency_ms"].as_u64().unwrap_or(0);
        let detail = if ok {
            format!("{model} · {latency} {}", t.milliseconds)
        } else {
            let error = answer["error"].as_str().unwrap_or("");
            format!("{model}: {error}")
        };
        Self { ok, detail }
    }
}

/// One provider as the list shows it: never the key, only its hint.
struct ProviderRow {
    id: String,
    name: String,
    kind: String,
    base_url: String,
    default_model: String,
    embedding_model: String,
    key_hint: String,
    test: Option<ConnectionTest>,
}

impl ProviderRow {
    fn new(p: crate::http::providers::ProviderView, t: &Texts) -> Self {
        Self {
            kind: provider_kind_label(t, &p.kind),
            base_url: p.base_url.unwrap_or_default(),
            default_model: p.default_model.unwrap_or_default(),
            embedding_model: p.embedding_model.unwrap_or_default(),
            key_hint: p.api_key_hint.unwrap_or_default(),
            name: p.name,
            id: p.id,
            test: None,
        }
    }
}

/// The add form's values; the key is never sent back to the browser.
#[derive(Default)]
struct ProviderForm {
    kind: String,
    name: String,
    base_url: String,
    default_model: String,
    embedding_model: String,
}

impl ProviderForm {
    fn from_post(form: &FormPairs) -> Self {
        Self {
            kind: field(form, "kind").to_owned(),
            name: field(form, "name").to_owned(),
            base_url: field(form, "base_url").to_owned(),
            default_model: field(form, "default_model").to_owned(),
            embedding_model: field(form, "embedding_model").to_owned(),
        }
    }

    fn is_anthropic(&self) -> bool {
        self.kind == "anthropic"
    }
}

#[derive(Template)]
#[template(path = "providers.html")]
struct ProvidersPage {
    c: Chrome,
    rows: Vec<ProviderRow>,
    can_edit: bool,
    form: ProviderForm,
    errors: BTreeMap<String, String>,
    notice: Option<&'static str>,
}

async fn load_providers(
    state: &AppState,
    session: &DashboardSession,
    c: Chrome,
) -> Result<ProvidersPage, StoreError> {
    let records = state
        .store
        .providers()
        .list(&session.auth.workspace_id)
        .await?;
    let rows = records
        .into_iter()
        .map(|p| ProviderRow::new(p.into(), c.t))
        .collect();
    Ok(ProvidersPage {
        can_edit: session.auth.role.can_configure(),
        c,
        rows,
        form: ProviderForm::default(),
        errors: BTreeMap::new(),
        notice: None,
    })
}

pub(super) async fn providers_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    RawQuery(query): RawQuery,
) -> Response {
    let c = Chrome::new(&headers, Some(&session)).at("providers");
    let notice = match field(&query_pairs(query.as_deref()), "done") {
        "added" => Some(c.t.provider_added),
        "deleted" => Some(c.t.provider_deleted),
        _ => None,
    };
    let loaded = load_providers(&state, &session, c)
        .await
        .map(|page| ProvidersPage { notice, ..page });
    render_loaded(&headers, &session, loaded)
}

/// Posts the add form to `POST /api/v1/providers`.
pub(super) async fn create_provider(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    if let Some(refused) = forbidden_role(&headers, &session) {
        return refused;
    }
    let body: serde_json::Map<String, serde_json::Value> = [
        "kind",
        "name",
        "base_url",
        "api_key",
        "default_model",
        "embedding_model",
    ]
    .into_iter()
    .map(|key| (key.to_owned(), field(&form, key).into()))
    .collect();
    let created = crate::http::providers::create(
        State(state.clone()),
        session.auth.clone(),
        crate::http::extract::ApiJson(body),
    )
    .await;
    match created {
        Ok(_) => Redirect::to("/app/providers?done=added").into_response(),
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
            let c = Chrome::new(&headers, Some(&session)).at("providers");
            match load_providers(&state, &session, c).await {
                Ok(page) => render(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &ProvidersPage {
                        form: ProviderForm::from_post(&form),
                        errors: problem_errors(&error),
                        ..page
                    },
                ),
                Err(error) => store_failure(&headers, &session, error),
            }
        }
        Err(error) => api_refusal(&headers, &session, error),
    }
}

/// Runs `POST /api/v1/providers/{id}/test` and shows the outcome on the provider's card.
pub(super) async fn test_provider(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let c = Chrome::new(&headers, Some(&session)).at("providers");
    let tested =
        crate::http::providers::test(State(state.clone()), session.auth.clone(), Path(id.clone()))
            .await;
    let outcome = match tested {
        Ok(axum::Json(answer)) => ConnectionTest::from_answer(&answer, c.t),
        // No default model, or a base URL the client cannot use.
        Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => ConnectionTest {
            ok: false,
            detail: problem_errors(&error)
                .into_values()
                .next()
                .unwrap_or_default(),
        },
        Err(error) => return api_refusal(&headers, &session, error),
    };
    match load_providers(&state, &session, c).await {
        Ok(mut page) => {
            if let Some(row) = page.rows.iter_mut().find(|r| r.id == id) {
                row.test = Some(outcome);
            }
            render(StatusCode::OK, &page)
        }
        Err(error) => store_failure(&headers, &session, error),
    }
}

pub(super) async fn delete_provider(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    match crate::http::providers::delete(State(state), session.auth.clone(), Path(id)).await {
        Ok(_) => Redirect::to("/app/providers?done=deleted").into_response(),
        Err(error) => api_refusal(&headers, &session, error),
    }
}

/// The AI settings form's values as the page shows them.
struct AiForm {
    mode: String,
    provider_id: String,
    model: String,
    temperature: String,
    max_tokens: String,
    instructions: String,
    /// Handoff phrases, one per line.
    handoff: String,
    redact: bool,
}

/// An empty field is `None`; a decimal comma is read as a point.
fn optional_number<T: std::str::FromStr>(raw: &str) -> Result<Option<T>, ()> {
    let raw = raw.trim().replace(',', ".");
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| ())
}

impl AiForm {
    fn from_agent(agent: &Agent) -> Self {
        let ai = &agent.ai;
        Self {
            mode: match ai.mode {
                AiMode::Builtin => "builtin",
                AiMode::Llm => "llm",
            }
            .to_owned(),
            provider_id: ai.provider_id.clone().unwrap_or_default(),
            model: ai.model.clone().unwrap_or_default(),
            temperature: ai.temperature.map(|t| t.to_string()).unwrap_or_default(),
            max_tokens: ai.max_tokens.map(|m| m.to_string()).unwrap_or_default(),
            instructions: agent.instructions.clone().unwrap_or_default(),
            handoff: ai.handoff_keywords.join("\n"),
            redact: agent.privacy.redact_before_ai,
        }
    }

    fn from_post(form: &FormPairs) -> Self {
        Self {
            mode: field(form, "mode").to_owned(),
            provider_id: field(form, "provider_id").to_owned(),
            model: field(form, "model").to_owned(),
            temperature: field(form, "temperature").to_owned(),
            max_tokens: field(form, "max_tokens").to_owned(),
            instructions: field(form, "instructions").to_owned(),
            handoff: field(form, "handoff_keywords").to_owned(),
            redact: has(form, "redact_before_ai"),
        }
    }

    fn is_llm(&self) -> bool {
        self.mode == "llm"
    }

    /// The same input `PATCH /api/v1/agents/{id}` takes; numbers that cannot be read are
    /// reported under the API's own field names.
    fn to_input(&self, t: &Texts) -> Result<AgentInput, BTreeMap<String, String>> {
        let mut errors = BTreeMap::new();
        let temperature = optional_number::<f32>(&self.temperature).unwrap_or_else(|()| {
            errors.insert("ai.temperature".to_owned(), t.number_invalid.to_owned());
            None
        });
        let max_tokens = optional_number::<u32>(&self.max_tokens).unwrap_or_else(|()| {
            errors.insert("ai.max_tokens".to_owned(), t.number_invalid.to_owned());
            None
        });
        if !errors.is_empty() {
            return Err(errors);
        }
        let text = |v: &str| Some(Some(v.trim().to_owned()).filter(|v| !v.is_empty()));
        Ok(AgentInput {
            instructions: Some(self.instructions.clone()),
            ai: Some(AiInput {
                mode: Some(self.mode.clone()).filter(|m| !m.is_empty()),
                provider_id: text(&self.provider_id),
                model: text(&self.model),
                temperature: Some(temperature),
                max_tokens: Some(max_tokens),
                handoff_keywords: Some(self.handoff.lines().map(str::to_owned).collect()),
            }),
            privacy: Some(PrivacyInput {
                redact_before_ai: Some(self.redact),
            }),
            ..Default::default()
        })
    }
}

/// A provider the agent may choose, with the model it uses by default.
struct ProviderChoice {
    id: String,
    label: String,
    default_model: String,
}

#[derive(Template)]
#[template(path = "agent_ai.html")]
struct AgentAiPage {
    c: Chrome,
    agent_id: String,
    agent_name: String,
    form: AiForm,
    providers: Vec<ProviderChoice>,
    /// The chosen provider's default model, shown in the empty model field.
    model_placeholder: String,
    errors: BTreeMap<String, String>,
    saved: bool,
    can_edit: bool,
}

impl AgentAiPage {
    /// The page for `agent`, its form showing `form` (the stored or the posted values).
    async fn load(
        state: &AppState,
        session: &DashboardSession,
        c: Chrome,
        agent: &Agent,
        form: AiForm,
    ) -> Result<Self, StoreError> {
        let records = state
            .store
            .providers()
            .list(&session.auth.workspace_id)
            .await?;
        let providers: Vec<ProviderChoice> = records
            .into_iter()
            .map(|p| ProviderChoice {
                label: format!("{} ({})", p.name, provider_kind_label(c.t, &p.kind)),
                default_model: p.default_model.unwrap_or_default(),
                id: p.id,
            })
            .collect();
        let model_placeholder = providers
            .iter()
            .find(|p| p.id == form.provider_id)
            .map(|p| p.default_model.clone())
            .unwrap_or_default();
        Ok(Self {
            can_edit: session.auth.role.can_configure(),
            c,
            agent_id: agent.id.clone(),
            agent_name: agent.name.as_str().to_owned(),
            form,
            providers,
            model_placeholder,
            errors: BTreeMap::new(),
            saved: false,
        })
    }
}

pub(super) async fn agent_ai_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let saved = field(&query_pairs(query.as_deref()), "saved") == "1";
    let agent = match load_agent(&state, &headers, &session, &id).await {
        Ok(agent) => agent,
        Err(refused) => return refused,
    };
    let c = Chrome::new(&headers, Some(&session)).at("agents");
    let loaded = AgentAiPage::load(&state, &session, c, &agent, AiForm::from_agent(&agent))
        .await
        .map(|page| AgentAiPage { saved, ..page });
    render_loaded(&headers, &session, loaded)
}

/// Saves the AI settings through `PATCH /api/v1/agents/{id}`'s handler.
pub(super) async fn update_agent_ai(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let agent = match load_agent(&state, &headers, &session, &id).await {
        Ok(agent) => agent,
        Err(refused) => return refused,
    };
    if let Some(refused) = forbidden_role(&headers, &session) {
        return refused;
    }
    let posted = AiForm::from_post(&form);
    let errors = match posted.to_input(Lang::from_headers(&headers).texts()) {
        Ok(input) => {
            let updated = crate::http::agents::update(
                State(state.clone()),
                session.auth.clone(),
                Path(id.clone()),
                crate::http::extract::ApiJson(input),
            )
            .await;
            match updated {
                Ok(_) => {
                    return Redirect::to(&format!("/app/agents/{id}/ai?saved=1")).into_response();
                }
                Err(error) if error.status() == StatusCode::UNPROCESSABLE_ENTITY => {
                    problem_errors(&error)
                }
                Err(error) => return api_refusal(&headers, &session, error),
            }
        }
        Err(errors) => errors,
    };
    let c = Chrome::new(&headers, Some(&session)).at("agents");
    match AgentAiPage::load(&state, &session, c, &agent, posted).await {
        Ok(page) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &AgentAiPage { errors, ..page },
        ),
        Err(error) => store_failure(&headers, &session, error),
    }
}

/// What the playground found and answered.
struct PlaygroundResult {
    answer: String,
    /// `provider · model`, or the built-in answerer (and why, when it stood in).
    answered_by: String,
    fell_back: bool,
    /// The question as the model received it; `None` when no model was asked.
    sent: Option<String>,
    redacted: bool,
    /// The system prompt sent with it.
    system: String,
    tokens: Option<String>,
    hand_off: bool,
    ask_contact: bool,
    passages: Vec<PassageRow>,
}

#[derive(Template)]
#[template(path = "playground.html")]
struct PlaygroundPage {
    c: Chrome,
    agent: Agent,
    ai_summary: String,
    q: String,
    error: Option<&'static str>,
    result: Option<PlaygroundResult>,
}

/// A sender whose pieces are read and dropped, so an answerer never waits on it and a
/// model stream is not taken for a visitor who left.
fn discarding_sender() -> tokio::sync::mpsc::Sender<String> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(64);
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    tx
}

/// Answers `q` the way the widget would (`services::chat`), but stores nothing: no
/// conversation, no messages, no usage, no classification.
async fn run_playground(
    state: &AppState,
    t: &Texts,
    agent: &Agent,
    q: &str,
) -> Result<PlaygroundResult, StoreError> {
    use crate::services::{
        answerer::{self, AnswerRequest},
        chat, knowledge, llm,
    };

    let passages = knowledge::retrieve(
        state,
        &agent.workspace_id,
        &agent.id,
        q,
        PLAYGROUND_PASSAGES,
    )
    .await?;
    let hint = chat::ContactHint::from_text(q);
    let language = chat::reply_language(
        auralix_ai::detect_language(q),
        agent,
        agent.language.as_deref(),
    );
    let request = || AnswerRequest {
        agent,
        question: q,
        language,
        contacts_in_text: !hint.is_empty(),
        passages: &passages,
    };
    let deltas = discarding_sender();
    // As the widget: no model call without passages or instructions to answer from.
    let has_material = !passages.is_empty()
        || agent
            .instructions
            .as_deref()
            .is_some_and(|i| !i.trim().is_empty());
    let wants_model = agent.ai.mode == AiMode::Llm;
    let target = if wants_model && has_material {
        llm::target(state, agent).await?
    } else {
        None
    };
    let builtin = t.mode_builtin;
    let mut sent = None;
    let mut system = String::new();
    let mut tokens = None;
    let (text, ask_contact, mut hand_off, answered_by, fell_back) = match target {
        None => {
            let a = state.answerer.answer(request(), &deltas).await;
            let (by, fell_back) = if !wants_model {
                (builtin.to_owned(), false)
            } else if !has_material {
                (format!("{builtin} ({})", t.no_material), true)
            } else {
                let why = t.provider_unavailable;
                (format!("{builtin} ({}: {why})", t.fallback), true)
            };
            (a.text, a.ask_contact, a.wants_human, by, fell_back)
        }
        Some((client, provider, model)) => {
            let language_name = llm::language_name(language);
            let protected = llm::protect(agent, q);
            system = llm::system_prompt(agent, &passages, language_name);
            let chat_request = llm::request(
                agent,
                model.clone(),
                system.clone(),
                vec![auralix_ai::llm::ChatMessage::user(protected.clone())],
            );
            sent = Some(protected);
            let by_model = format!("{} · {model}", provider.name);
            match llm::answer(client.as_ref(), chat_request, &deltas).await {
                Ok(a) => {
                    tokens = Some(format!(
                        "{} {} · {} {}",
                        a.input_tokens, t.tokens_in, a.output_tokens, t.tokens_out
                    ));
                    (a.text, !a.knew, false, by_model, false)
                }
                Err((error, partial)) if !partial.trim().is_empty() => {
                    let text = format!("{}…", partial.trim_end());
                    let by = format!("{by_model} ({}: {error})", t.cut_off);
                    (text, false, false, by, true)
                }
                Err((error, _)) => {
                    let a = state.answerer.answer(request(), &deltas).await;
                    let by = format!("{builtin} ({}: {error})", t.fallback);
                    (a.text, a.ask_contact, a.wants_human, by, true)
                }
            }
        }
    };
    // The widget's handoff triggers: asking for a person, or one of the agent's phrases.
    let lowered = q.to_lowercase();
    if answerer::wants_human(q)
        || agent
            .ai
            .handoff_keywords
            .iter()
            .any(|k| lowered.contains(k.as_str()))
    {
        hand_off = true;
    }
    Ok(PlaygroundResult {
        answer: text,
        answered_by,
        fell_back,
        redacted: sent.as_deref().is_some_and(|s| s != q),
        sent,
        system,
        tokens,
        ask_contact: ask_contact || hand_off,
        hand_off,
        passages: passages.into_iter().map(PassageRow::new).collect(),
    })
}

/// The playground's agent, its frame and how it answers, or the page to send instead.
async fn playground_frame(
    state: &AppState,
    headers: &HeaderMap,
    session: &DashboardSession,
    id: &str,
) -> Result<(Chrome, Agent, String), Response> {
    let agent = load_agent(state, headers, session, id).await?;
    let c = Chrome::new(headers, Some(session)).at("agents");
    let ai_summary = ai_summary(state, c.t, &agent)
        .await
        .map_err(|error| store_failure(headers, session, error))?;
    Ok((c, agent, ai_summary))
}

pub(super) async fn playground_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
) -> Response {
    let (c, agent, ai_summary) = match playground_frame(&state, &headers, &session, &id).await {
        Ok(frame) => frame,
        Err(refused) => return refused,
    };
    render(
        StatusCode::OK,
        &PlaygroundPage {
            c,
            agent,
            ai_summary,
            q: String::new(),
            error: None,
            result: None,
        },
    )
}

pub(super) async fn playground_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let (c, agent, ai_summary) = match playground_frame(&state, &headers, &session, &id).await {
        Ok(frame) => frame,
        Err(refused) => return refused,
    };
    let q = field(&form, "q").trim().to_owned();
    let error = if q.is_empty() {
        Some(c.t.question_required)
    } else if q.chars().count() > crate::http::widget::MAX_MESSAGE_CHARS {
        Some(c.t.question_too_long)
    } else {
        None
    };
    let (status, result) = if error.is_some() {
        (StatusCode::UNPROCESSABLE_ENTITY, None)
    } else {
        match run_playground(&state, c.t, &agent, &q).await {
            Ok(result) => (StatusCode::OK, Some(result)),
            Err(error) => return store_failure(&headers, &session, error),
        }
    };
    render(
        status,
        &PlaygroundPage {
            c,
            agent,
            ai_summary,
            q,
            error,
            result,
        },
    )
}
