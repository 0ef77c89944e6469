//! The inbox (L3): conversations and leads, read and triaged in the browser.

use std::collections::BTreeMap;

use askama::Template;
use auralix_store::{
    ConversationFilter, ConversationRecord, LeadFilter, LeadRecord, MessageRecord, StoreError,
};
use axum::{
    Form,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use time::{Date, OffsetDateTime, macros::format_description};

use super::{
    Chrome, DashboardSession, FormPairs, MessagePage, csrf_refusal, field, query_pairs, render,
    render_loaded, stamp, store_failure,
};
use crate::{
    http::leads::{STATUSES, lead_filter},
    i18n::{Lang, Texts},
    state::AppState,
};

/// Rows per page in the inbox lists.
const INBOX_PAGE: u32 = 50;
/// Conversation statuses; the API module keeps its own list private.
const CONVERSATION_STATUSES: [&str; 3] = ["open", "handoff", "closed"];
/// The same limit `PATCH /api/v1/leads/{id}` applies to a note.
const MAX_NOTE_CHARS: usize = 4_000;
/// Messages shown in one transcript, as many as the API returns with a conversation.
const MAX_TRANSCRIPT: u32 = 2_000;
/// Agents looked up to name the rows of one page.
const MAX_AGENTS: u32 = 500;

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// `shop.example/pricing`: enough to recognise the page in a list row.
fn short_url(raw: &str) -> String {
    let shown = match url::Url::parse(raw) {
        Ok(u) => format!("{}{}", u.host_str().unwrap_or(""), u.path()),
        Err(_) => raw.to_owned(),
    };
    truncate(shown.trim_end_matches('/'), 48)
}

/// The value if it is one of the allowed codes, else nothing (no filter).
fn one_of(value: &str, allowed: &[&str]) -> String {
    if allowed.contains(&value) {
        value.to_owned()
    } else {
        String::new()
    }
}

/// A query string of the non-empty pairs.
fn encode(pairs: &[(&str, &str)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
        out.append_pair(key, value);
    }
    out.finish()
}

/// `?query`, or nothing for an empty query.
fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Drops the extra row fetched to learn whether another page follows; returns its cursor.
fn next_cursor<T>(rows: &mut Vec<T>, id: impl Fn(&T) -> &str) -> Option<String> {
    if rows.len() <= INBOX_PAGE as usize {
        return None;
    }
    rows.truncate(INBOX_PAGE as usize);
    rows.last().map(|row| id(row).to_owned())
}

/// The workspace's agents as (id, name): names for the rows, choices for the filter.
async fn agent_names(
    state: &AppState,
    workspace_id: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    let agents = state
        .store
        .agents()
        .list(workspace_id, None, MAX_AGENTS)
        .await?;
    Ok(agents
        .into_iter()
        .map(|a| (a.id, a.name.as_str().to_owned()))
        .collect())
}

fn agent_name(agents: &[(String, String)], id: &str) -> String {
    agents
        .iter()
        .find(|(agent_id, _)| agent_id == id)
        .map_or_else(|| id.to_owned(), |(_, name)| name.clone())
}

fn labelled(t: &'static Texts, codes: &[&'static str]) -> Vec<(&'static str, &'static str)> {
    codes.iter().map(|code| (*code, t.label(code))).collect()
}

/// The conversation list's filters as its GET form sends them; unknown values are dropped.
#[derive(Default)]
struct ConversationQuery {
    agent_id: String,
    status: String,
    cursor: String,
}

impl ConversationQuery {
    fn parse(raw: Option<&str>) -> Self {
        let pairs = query_pairs(raw);
        let status = field(&pairs, "status");
        Self {
            agent_id: field(&pairs, "agent_id").to_owned(),
            status: one_of(status, &CONVERSATION_STATUSES),
            cursor: field(&pairs, "cursor").to_owned(),
        }
    }

    fn is_set(&self) -> bool {
        !self.agent_id.is_empty() || !self.status.is_empty()
    }

    fn agent_is(&self, id: &str) -> bool {
        self.agent_id == id
    }

    fn status_is(&self, status: &str) -> bool {
        self.status == status
    }

    fn filter(&self) -> ConversationFilter {
        ConversationFilter {
            agent_id: Some(self.agent_id.clone()).filter(|a| !a.is_empty()),
            status: Some(self.status.clone()).filter(|s| !s.is_empty()),
        }
    }

    /// The same filters from another cursor.
    fn page_query(&self, cursor: &str) -> String {
        encode(&[
            ("agent_id", &self.agent_id),
            ("status", &self.status),
            ("cursor", cursor),
        ])
    }
}

struct ConversationRow {
    id: String,
    agent: String,
    status: String,
    status_label: String,
    intent: String,
    language: String,
    when: String,
    when_iso: String,
    page: String,
    page_full: String,
}

impl ConversationRow {
    fn new(c: ConversationRecord, agents: &[(String, String)], t: &'static Texts) -> Self {
        let (when, when_iso) = stamp(c.created_at);
        let page_full = c.page_url.unwrap_or_default();
        Self {
            agent: agent_name(agents, &c.agent_id),
            status_label: t.label(&c.status).to_owned(),
            intent: c
                .intent
                .as_deref()
                .map(|i| t.label(i))
                .unwrap_or("")
                .to_owned(),
            language: c.language.unwrap_or_default(),
            page: short_url(&page_full),
            page_full,
            when,
            when_iso,
            id: c.id,
            status: c.status,
        }
    }
}

#[derive(Template)]
#[template(path = "conversations.html")]
struct ConversationsPage {
    c: Chrome,
    filter: ConversationQuery,
    agents: Vec<(String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    rows: Vec<ConversationRow>,
    next: Option<String>,
}

pub(super) async fn conversations_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    RawQuery(query): RawQuery,
) -> Response {
    let c = Chrome::new(&headers, Some(&session)).at("conversations");
    let filter = ConversationQuery::parse(query.as_deref());
    let loaded = load_conversations(&state, &session.auth.workspace_id, c, filter).await;
    render_loaded(&headers, &session, loaded)
}

async fn load_conversations(
    state: &AppState,
    workspace_id: &str,
    c: Chrome,
    filter: ConversationQuery,
) -> Result<ConversationsPage, StoreError> {
    let agents = agent_names(state, workspace_id).await?;
    let cursor = Some(filter.cursor.as_str()).filter(|s| !s.is_empty());
    let mut records = state
        .store
        .conversations()
        .list(workspace_id, &filter.filter(), cursor, INBOX_PAGE + 1)
        .await?;
    let next = next_cursor(&mut records, |r| &r.id).map(|id| filter.page_query(&id));
    let rows = records
        .into_iter()
        .map(|r| ConversationRow::new(r, &agents, c.t))
        .collect();
    Ok(ConversationsPage {
        statuses: labelled(c.t, &CONVERSATION_STATUSES),
        c,
        filter,
        agents,
        rows,
        next,
    })
}

struct MessageRow {
    role: String,
    role_label: String,
    text: String,
    sources: String,
    when: String,
    when_iso: String,
}

impl MessageRow {
    fn new(m: MessageRecord, t: &'static Texts) -> Self {
        let (when, when_iso) = stamp(m.created_at);
        let sources = m.sources.0.iter().map(|s| s.title.as_str());
        Self {
            role_label: t.label(&m.role).to_owned(),
            sources: sources.collect::<Vec<_>>().join(", "),
            role: m.role,
            text: m.text,
            when,
            when_iso,
        }
    }
}

#[derive(Template)]
#[template(path = "conversation.html")]
struct ConversationPage {
    c: Chrome,
    agent: String,
    status: String,
    status_label: String,
    lead_id: Option<String>,
    messages: Vec<MessageRow>,
    facts: Vec<Fact>,
}

pub(super) async fn conversation_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
) -> Response {
    let c = Chrome::new(&headers, Some(&session)).at("conversations");
    let loaded = load_conversation(&state, &session.auth.workspace_id, c, &id).await;
    render_loaded(&headers, &session, loaded)
}

async fn load_conversation(
    state: &AppState,
    workspace_id: &str,
    c: Chrome,
    id: &str,
) -> Result<ConversationPage, StoreError> {
    let conversation = state.store.conversations().get(workspace_id, id).await?;
    let messages = state
        .store
        .conversations()
        .messages(workspace_id, id, None, MAX_TRANSCRIPT)
        .await?;
    let lead = state
        .store
        .leads()
        .for_conversation(workspace_id, id)
        .await?;
    let agents = agent_names(state, workspace_id).await?;
    let t = c.t;
    Ok(ConversationPage {
        agent: agent_name(&agents, &conversation.agent_id),
        status_label: t.label(&conversation.status).to_owned(),
        lead_id: lead.map(|l| l.id),
        messages: messages
            .into_iter()
            .map(|m| MessageRow::new(m, t))
            .collect(),
        facts: conversation_facts(t, &conversation),
        status: conversation.status,
        c,
    })
}

/// One line of a details list; a time also carries its exact value for `<time>`.
struct Fact {
    label: &'static str,
    value: String,
    iso: String,
}

fn fact(label: &'static str, value: String) -> Fact {
    Fact {
        label,
        value,
        iso: String::new(),
    }
}

fn time_fact(label: &'static str, t: OffsetDateTime) -> Fact {
    let (value, iso) = stamp(t);
    Fact { label, value, iso }
}

fn conversation_facts(t: &'static Texts, c: &ConversationRecord) -> Vec<Fact> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let intent = c.intent.as_deref().map_or("", |i| t.label(i));
    vec![
        time_fact(t.started, c.created_at),
        time_fact(t.last_message, c.last_message_at),
        fact(t.page, text(&c.page_url)),
        fact(t.referrer, text(&c.referrer)),
        fact(t.ip_address, text(&c.ip)),
        fact(t.user_agent, text(&c.user_agent)),
        fact(t.intent, intent.to_owned()),
        fact(t.language, text(&c.language)),
        fact(t.status, t.label(&c.status).to_owned()),
    ]
}

/// The lead list's filters as its GET form sends them (dates as `YYYY-MM-DD`); values the
/// API would refuse are dropped, so a hand-edited URL still shows a page.
#[derive(Default)]
struct LeadQuery {
    status: String,
    agent_id: String,
    q: String,
    since: String,
    until: String,
    cursor: String,
}

fn parse_date(raw: &str) -> Option<Date> {
    Date::parse(raw, format_description!("[year]-[month]-[day]")).ok()
}

impl LeadQuery {
    fn parse(raw: Option<&str>) -> Self {
        let pairs = query_pairs(raw);
        let status = field(&pairs, "status");
        let date = |key: &str| {
            let value = field(&pairs, key);
            parse_date(value).map_or_else(String::new, |_| value.to_owned())
        };
        Self {
            status: one_of(status, &STATUSES),
            agent_id: field(&pairs, "agent_id").to_owned(),
            q: field(&pairs, "q").trim().to_owned(),
            since: date("since"),
            until: date("until"),
            cursor: field(&pairs, "cursor").to_owned(),
        }
    }

    fn is_set(&self) -> bool {
        [
            &self.status,
            &self.agent_id,
            &self.q,
            &self.since,
            &self.until,
        ]
        .iter()
        .any(|v| !v.is_empty())
    }

    fn agent_is(&self, id: &str) -> bool {
        self.agent_id == id
    }

    fn status_is(&self, status: &str) -> bool {
        self.status == status
    }

    /// The filters in the API's terms: days become RFC 3339 bounds, and `until` takes in
    /// its whole day.
    fn api_query(&self) -> String {
        let midnight = |d: Date| format!("{d}T00:00:00Z");
        let since = parse_date(&self.since).map(midnight).unwrap_or_default();
        let until = parse_date(&self.until)
            .and_then(Date::next_day)
            .map(midnight)
            .unwrap_or_default();
        encode(&[
            ("status", &self.status),
            ("agent_id", &self.agent_id),
            ("q", &self.q),
            ("since", &since),
            ("until", &until),
        ])
    }

    /// The store filter, parsed by the API's own code so both search alike.
    fn filter(&self) -> LeadFilter {
        lead_filter(Some(&self.api_query())).unwrap_or_default()
    }

    /// The dashboard's query for these filters from a cursor.
    fn page_query(&self, cursor: &str) -> String {
        encode(&[
            ("status", &self.status),
            ("agent_id", &self.agent_id),
            ("q", &self.q),
            ("since", &self.since),
            ("until", &self.until),
            ("cursor", cursor),
        ])
    }
}

struct LeadRow {
    id: String,
    when: String,
    when_iso: String,
    name: String,
    email: String,
    phone: String,
    intent: String,
    score: i64,
    status: String,
    agent: String,
}

impl LeadRow {
    fn new(l: LeadRecord, agents: &[(String, String)], t: &'static Texts) -> Self {
        let (when, when_iso) = stamp(l.created_at);
        Self {
            agent: agent_name(agents, &l.agent_id),
            intent: t.label(&l.intent).to_owned(),
            name: l.name.unwrap_or_default(),
            email: l.email.unwrap_or_default(),
            phone: l.phone.unwrap_or_default(),
            score: l.score,
            status: l.status,
            id: l.id,
            when,
            when_iso,
        }
    }

    fn status_is(&self, status: &str) -> bool {
        self.status == status
    }
}

#[derive(Template)]
#[template(path = "leads.html")]
struct LeadsPage {
    c: Chrome,
    filter: LeadQuery,
    agents: Vec<(String, String)>,
    statuses: Vec<(&'static str, &'static str)>,
    rows: Vec<LeadRow>,
    next: Option<String>,
    /// This page's query, so a row's status form returns here.
    back: String,
    /// `&…` of the filters, appended to the export links.
    export_query: String,
}

pub(super) async fn leads_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    RawQuery(query): RawQuery,
) -> Response {
    let c = Chrome::new(&headers, Some(&session)).at("leads");
    let filter = LeadQuery::parse(query.as_deref());
    let loaded = load_leads(&state, &session.auth.workspace_id, c, filter).await;
    render_loaded(&headers, &session, loaded)
}

async fn load_leads(
    state: &AppState,
    workspace_id: &str,
    c: Chrome,
    filter: LeadQuery,
) -> Result<LeadsPage, StoreError> {
    let agents = agent_names(state, workspace_id).await?;
    let cursor = Some(filter.cursor.as_str()).filter(|s| !s.is_empty());
    let mut records = state
        .store
        .leads()
        .list(workspace_id, &filter.filter(), cursor, INBOX_PAGE + 1)
        .await?;
    let next = next_cursor(&mut records, |r| &r.id).map(|id| filter.page_query(&id));
    let rows = records
        .into_iter()
        .map(|r| LeadRow::new(r, &agents, c.t))
        .collect();
    let api_query = filter.api_query();
    Ok(LeadsPage {
        statuses: labelled(c.t, &STATUSES),
        back: filter.page_query(&filter.cursor),
        export_query: if api_query.is_empty() {
            api_query
        } else {
            format!("&{api_query}")
        },
        c,
        filter,
        agents,
        rows,
        next,
    })
}

/// The status form on each row of the lead list.
pub(super) async fn update_lead_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let mut lead = match state
        .store
        .leads()
        .get(&session.auth.workspace_id, &id)
        .await
    {
        Ok(lead) => lead,
        Err(error) => return store_failure(&headers, &session, error),
    };
    let status = field(&form, "status");
    if !STATUSES.contains(&status) {
        let c = Chrome::new(&headers, Some(&session));
        let page = MessagePage {
            heading: "422".into(),
            message: c.t.invalid_status.into(),
            c,
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    lead.status = status.to_owned();
    lead.updated_at = state.now();
    if let Err(error) = state.store.leads().update(&lead).await {
        return store_failure(&headers, &session, error);
    }
    // Rebuilt from parsed filters, so `back` can only ever lead to the lead list.
    let back = LeadQuery::parse(Some(field(&form, "back")));
    Redirect::to(&with_query("/app/leads", &back.page_query(&back.cursor))).into_response()
}

#[derive(Template)]
#[template(path = "lead.html")]
struct LeadPage {
    c: Chrome,
    id: String,
    title: String,
    status: String,
    status_label: String,
    conversation_id: Option<String>,
    facts: Vec<Fact>,
    statuses: Vec<(&'static str, &'static str)>,
    /// The form's values: the stored ones, or what was posted when it is shown again.
    form_status: String,
    note: String,
    errors: BTreeMap<String, String>,
    saved: bool,
}

impl LeadPage {
    fn new(c: Chrome, lead: LeadRecord, agents: &[(String, String)]) -> Self {
        let t = c.t;
        let title = [&lead.name, &lead.email, &lead.phone]
            .into_iter()
            .find_map(|v| v.clone())
            .unwrap_or_default();
        Self {
            facts: lead_facts(t, &lead, agents),
            statuses: labelled(t, &STATUSES),
            status_label: t.label(&lead.status).to_owned(),
            form_status: lead.status.clone(),
            note: lead.note.unwrap_or_default(),
            conversation_id: lead.conversation_id,
            status: lead.status,
            id: lead.id,
            title,
            errors: BTreeMap::new(),
            saved: false,
            c,
        }
    }

    fn status_is(&self, status: &str) -> bool {
        self.form_status == status
    }
}

fn lead_facts(t: &'static Texts, lead: &LeadRecord, agents: &[(String, String)]) -> Vec<Fact> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        fact(t.field_name, text(&lead.name)),
        fact(t.field_email, text(&lead.email)),
        fact(t.field_phone, text(&lead.phone)),
        fact(t.intent, t.label(&lead.intent).to_owned()),
        fact(t.score, lead.score.to_string()),
        fact(t.agent, agent_name(agents, &lead.agent_id)),
        fact(t.page, text(&lead.page_url)),
        time_fact(t.created, lead.created_at),
        time_fact(t.updated, lead.updated_at),
    ]
}

async fn load_lead(
    state: &AppState,
    workspace_id: &str,
    c: Chrome,
    id: &str,
) -> Result<LeadPage, StoreError> {
    let lead = state.store.leads().get(workspace_id, id).await?;
    let agents = agent_names(state, workspace_id).await?;
    Ok(LeadPage::new(c, lead, &agents))
}

pub(super) async fn lead_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let c = Chrome::new(&headers, Some(&session)).at("leads");
    let saved = field(&query_pairs(query.as_deref()), "saved") == "1";
    let loaded = load_lead(&state, &session.auth.workspace_id, c, &id)
        .await
        .map(|page| LeadPage { saved, ..page });
    render_loaded(&headers, &session, loaded)
}

/// Checks the detail form; the errors are keyed by field, as the form shows them.
fn lead_form_errors(t: &Texts, status: &str, note: &str) -> BTreeMap<String, String> {
    let mut errors = BTreeMap::new();
    if !STATUSES.contains(&status) {
        errors.insert("status".to_owned(), t.invalid_status.to_owned());
    }
    if note.chars().count() > MAX_NOTE_CHARS {
        errors.insert("note".to_owned(), t.note_too_long.to_owned());
    }
    errors
}

/// The detail page again, with what was posted and why it was refused.
async fn lead_form_again(
    state: &AppState,
    headers: &HeaderMap,
    session: &DashboardSession,
    lead: LeadRecord,
    form: &FormPairs,
    errors: BTreeMap<String, String>,
) -> Response {
    let c = Chrome::new(headers, Some(session)).at("leads");
    match agent_names(state, &lead.workspace_id).await {
        Ok(agents) => {
            let page = LeadPage {
                form_status: field(form, "status").to_owned(),
                note: field(form, "note").to_owned(),
                errors,
                ..LeadPage::new(c, lead, &agents)
            };
            render(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(error) => store_failure(headers, session, error),
    }
}

/// The detail page's form: status and note.
pub(super) async fn update_lead(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: DashboardSession,
    Path(id): Path<String>,
    Form(form): Form<FormPairs>,
) -> Response {
    if let Some(refused) = csrf_refusal(&headers, &session, &form) {
        return refused;
    }
    let mut lead = match state
        .store
        .leads()
        .get(&session.auth.workspace_id, &id)
        .await
    {
        Ok(lead) => lead,
        Err(error) => return store_failure(&headers, &session, error),
    };
    let (status, note) = (field(&form, "status"), field(&form, "note"));
    let errors = lead_form_errors(Lang::from_headers(&headers).texts(), status, note);
    if !errors.is_empty() {
        return lead_form_again(&state, &headers, &session, lead, &form, errors).await;
    }
    lead.status = status.to_owned();
    lead.note = Some(note.trim().to_owned()).filter(|n| !n.is_empty());
    lead.updated_at = state.now();
    match state.store.leads().update(&lead).await {
        Ok(()) => Redirect::to(&format!("/app/leads/{id}?saved=1")).into_response(),
        Err(error) => store_failure(&headers, &session, error),
    }
}
