//! The dashboard inbox over plain HTTP: conversations, transcripts, leads (filters, status
//! and note forms, exports), workspace isolation, and the agent's "try it" page. The data
//! comes in through the real widget API, as a visitor's browser would send it.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::{
    browser::Browser,
    helpers::{Backend, PASSWORD, TestApp, email},
};

on_both_backends!(
    inbox_lists_conversations_and_shows_transcripts,
    inbox_lists_page_with_load_more,
    inbox_leads_filter_and_change_status,
    inbox_lead_detail_saves_a_note,
    inbox_is_private_to_its_workspace,
    inbox_try_it_page_embeds_the_widget_with_a_nonce,
    inbox_speaks_russian,
);

const PAGE_URL: &str = "https://shop.example/p";

/// The `_csrf` value embedded in a page.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Text as the templates escape it.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// A signed-in browser (API signup sets the dashboard's session cookie) and its agent.
async fn owner_with_agent(app: &TestApp, tag: &str, agent_name: &str) -> (Client, Value) {
    let (browser, _) = app.signup(&email(tag)).await;
    let agent = app
        .create_agent(&browser, json!({"name": agent_name}))
        .await;
    (browser, agent)
}

async fn get_html(browser: &Client, url: String) -> (StatusCode, String) {
    let response = browser.get(url).send().await.unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// What one visitor left behind: a conversation with two messages, and a lead.
struct Visit {
    conversation_id: String,
    lead_id: String,
    reply: String,
}

/// Drives the widget API: session, conversation, one message, contact form.
async fn visitor_leaves_a_lead(app: &TestApp, public_id: &str, text: &str, name: &str) -> Visit {
    let widget = |path: &str| app.url(&format!("/api/v1/widget/{public_id}{path}"));
    let client = Client::new();
    let session: Value = client
        .post(widget("/sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["visitor_token"].as_str().unwrap().to_owned();
    let created = client
        .post(widget("/conversations"))
        .bearer_auth(&token)
        .json(&json!({"page_url": PAGE_URL}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED, "conversation");
    let conversation_id = created.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let posted = client
        .post(widget(&format!(
            "/conversations/{conversation_id}/messages"
        )))
        .bearer_auth(&token)
        .header("accept", "application/json")
        .json(&json!({"text": text}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::CREATED, "message");
    let reply = posted.json::<Value>().await.unwrap()["reply"]["text"]
        .as_str()
        .expect("the built-in answerer replies")
        .to_owned();
    let contact = client
        .post(widget(&format!("/conversations/{conversation_id}/contact")))
        .bearer_auth(&token)
        .json(&json!({
            "name": name,
            "email": format!("{}@buyer.example", name.to_lowercase()),
            "consent": true,
            "consent_version": session["config"]["consent_version"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(contact.status(), StatusCode::CREATED, "contact");
    let lead_id = contact.json::<Value>().await.unwrap()["lead_id"]
        .as_str()
        .unwrap()
        .to_owned();
    Visit {
        conversation_id,
        lead_id,
        reply,
    }
}

async fn inbox_lists_conversations_and_shows_transcripts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, agent) = owner_with_agent(&app, "inbox", "Front desk").await;
    let other = app
        .create_agent(&browser, json!({"name": "Night shift"}))
        .await;
    let visit = visitor_leaves_a_lead(
        &app,
        agent["public_id"].as_str().unwrap(),
        "How much is delivery to Lisbon",
        "Ana",
    )
    .await;

    let (status, list) = get_html(&browser, app.url("/app/conversations")).await;
    assert_eq!(status, StatusCode::OK);
    let link = format!("href=\"/app/conversations/{}\"", visit.conversation_id);
    assert!(list.contains(&link), "the conversation is listed: {list}");
    assert!(list.contains("Front desk") && list.contains("shop.example/p"));
    assert!(
        list.contains("aria-current=\"page\">Conversations"),
        "nav marks the section"
    );

    let by_agent = |id: &str, status: &str| {
        app.url(&format!("/app/conversations?agent_id={id}&status={status}"))
    };
    let (_, mine) = get_html(&browser, by_agent(agent["id"].as_str().unwrap(), "")).await;
    assert!(mine.contains(&link));
    let (_, theirs) = get_html(&browser, by_agent(other["id"].as_str().unwrap(), "")).await;
    assert!(!theirs.contains(&link), "filtered by agent");
    assert!(theirs.contains("Nothing matches"));
    let (_, closed) = get_html(&browser, by_agent("", "closed")).await;
    assert!(!closed.contains(&link), "filtered by status");

    let (status, transcript) = get_html(
        &browser,
        app.url(&format!("/app/conversations/{}", visit.conversation_id)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        transcript.contains("How much is delivery to Lisbon"),
        "visitor message"
    );
    assert!(
        transcript.contains(&escaped(&visit.reply)),
        "assistant reply"
    );
    assert!(transcript.contains("msg r-visitor") && transcript.contains("msg r-assistant"));
    assert!(transcript.contains(PAGE_URL), "metadata: page URL");
    assert!(
        transcript.contains(&format!("href=\"/app/leads/{}\"", visit.lead_id)),
        "links to its lead"
    );
}

/// 51 conversations: the first page shows 50 and links to the rest, filters kept.
async fn inbox_lists_page_with_load_more(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, agent) = owner_with_agent(&app, "paging", "Front desk").await;
    let widget = app.url(&format!(
        "/api/v1/widget/{}",
        agent["public_id"].as_str().unwrap()
    ));
    let client = Client::new();
    let session: Value = client
        .post(format!("{widget}/sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for _ in 0..51 {
        let created: Value = client
            .post(format!("{widget}/conversations"))
            .bearer_auth(session["visitor_token"].as_str().unwrap())
            .json(&json!({"page_url": PAGE_URL}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let link = |id: &String| format!("href=\"/app/conversations/{id}\"");
    let (_, first) = get_html(&browser, app.url("/app/conversations?status=open")).await;
    assert!(first.contains(&link(&ids[50])), "newest first");
    assert!(
        !first.contains(&link(&ids[0])),
        "the oldest is on the next page"
    );
    let marker = "href=\"/app/conversations?";
    let start = first.find(marker).expect("a load-more link") + marker.len() - 1;
    let next = first[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&");
    assert!(
        next.contains("status=open") && next.contains("cursor="),
        "{next}"
    );
    let (_, second) = get_html(&browser, app.url(&format!("/app/conversations{next}"))).await;
    assert!(second.contains(&link(&ids[0])) && !second.contains(&link(&ids[50])));
    assert!(!second.contains(marker), "nothing after the last page");
}

async fn inbox_leads_filter_and_change_status(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, agent) = owner_with_agent(&app, "leads", "Front desk").await;
    let public_id = agent["public_id"].as_str().unwrap();
    let visit = visitor_leaves_a_lead(&app, public_id, "I want to order ten chairs", "Boris").await;

    let (status, page) = get_html(&browser, app.url("/app/leads")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Boris") && page.contains("boris@buyer.example"));
    assert!(page.contains(&format!("action=\"/app/leads/{}/status\"", visit.lead_id)));
    assert!(
        page.contains("/api/v1/leads/export?format=csv&amp;bom=1"),
        "export links"
    );
    let (_, found) = get_html(&browser, app.url("/app/leads?q=BORIS@")).await;
    assert!(found.contains("boris@buyer.example"), "search ignores case");
    let (_, won) = get_html(&browser, app.url("/app/leads?status=won")).await;
    assert!(!won.contains("boris@buyer.example") && won.contains("Nothing matches"));
    assert!(
        won.contains("/api/v1/leads/export?format=json&#38;status=won"),
        "exports carry the filters"
    );
    let (_, future) = get_html(&browser, app.url("/app/leads?since=2999-01-01")).await;
    assert!(!future.contains("boris@buyer.example"), "date filter");

    let csrf = csrf_of(&page);
    let status_url = app.url(&format!("/app/leads/{}/status", visit.lead_id));
    let refused = browser
        .post(&status_url)
        .form(&[("status", "won")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "no token, no change"
    );
    let invalid = browser
        .post(&status_url)
        .form(&[("_csrf", csrf.as_str()), ("status", "bought")])
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let saved = browser
        .post(&status_url)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("status", "won"),
            ("back", "status=new&q=boris&next=https://evil.example"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(saved.url().path(), "/app/leads", "back to the list");
    assert_eq!(
        saved.url().query(),
        Some("status=new&q=boris"),
        "with its filters"
    );
    let (_, won) = get_html(&browser, app.url("/app/leads?status=won")).await;
    assert!(won.contains("boris@buyer.example"), "now listed as won");

    let api = browser
        .get(app.url(&format!("/api/v1/leads/{}", visit.lead_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.status(),
        StatusCode::OK,
        "the leads API answers the session"
    );
    assert_eq!(api.json::<Value>().await.unwrap()["status"], "won");
}

async fn inbox_lead_detail_saves_a_note(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, agent) = owner_with_agent(&app, "note", "Front desk").await;
    let public_id = agent["public_id"].as_str().unwrap();
    let visit = visitor_leaves_a_lead(&app, public_id, "Do you sell oak tables", "Chen").await;
    let url = app.url(&format!("/app/leads/{}", visit.lead_id));

    let (status, page) = get_html(&browser, url.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("chen@buyer.example"));
    assert!(page.contains(&format!(
        "href=\"/app/conversations/{}\"",
        visit.conversation_id
    )));
    let csrf = csrf_of(&page);

    let refused = browser
        .post(&url)
        .form(&[("status", "lost"), ("note", "sneaky")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let too_long = "x".repeat(4_001);
    let invalid = browser
        .post(&url)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("status", "lost"),
            ("note", &too_long),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.text().await.unwrap().contains("field-error"));

    let saved = browser
        .post(&url)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("status", "in_progress"),
            ("note", "  Call back on Monday <after 10>  "),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(saved.url().query(), Some("saved=1"));
    let html = saved.text().await.unwrap();
    assert!(html.contains("Saved."));
    assert!(
        html.contains(">Call back on Monday &#60;after 10&#62;</textarea>"),
        "{html}"
    );
    let (_, in_progress) = get_html(&browser, app.url("/app/leads?status=in_progress")).await;
    assert!(in_progress.contains("chen@buyer.example"));
    let (_, by_note) = get_html(&browser, app.url("/app/leads?q=monday")).await;
    assert!(
        by_note.contains("chen@buyer.example"),
        "the note is searchable"
    );
}

async fn inbox_is_private_to_its_workspace(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, agent) = owner_with_agent(&app, "owner", "Front desk").await;
    let public_id = agent["public_id"].as_str().unwrap();
    let visit = visitor_leaves_a_lead(&app, public_id, "Is the shop open today", "Dora").await;

    let (stranger, _) = owner_with_agent(&app, "stranger", "Elsewhere").await;
    for path in [
        format!("/app/conversations/{}", visit.conversation_id),
        format!("/app/leads/{}", visit.lead_id),
        format!("/app/agents/{}/try", agent["id"].as_str().unwrap()),
    ] {
        let (status, html) = get_html(&stranger, app.url(&path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!html.contains("Dora"), "{path}");
    }
    let (_, page) = get_html(&stranger, app.url("/app/leads")).await;
    assert!(!page.contains("dora@buyer.example"), "not in their list");
    let (_, list) = get_html(&stranger, app.url("/app/conversations")).await;
    assert!(!list.contains(&visit.conversation_id));
    let forged = stranger
        .post(app.url(&format!("/app/leads/{}/status", visit.lead_id)))
        .form(&[("_csrf", csrf_of(&page).as_str()), ("status", "spam")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        forged.status(),
        StatusCode::NOT_FOUND,
        "cannot change it either"
    );

    let anonymous = app
        .client()
        .get(app.url("/app/leads"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.url().path(), "/login");
}

/// The nonce of the widget's script tag on the try-it page.
fn widget_nonce(html: &str, base: &str, public_id: &str) -> String {
    let tag = format!("<script src=\"{base}/widget.js\" data-agent=\"{public_id}\" async nonce=\"");
    let start = html.find(&tag).expect("the widget's script tag") + tag.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn inbox_try_it_page_embeds_the_widget_with_a_nonce(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, agent) = owner_with_agent(&app, "try", "Front desk").await;
    let (agent_id, public_id) = (
        agent["id"].as_str().unwrap(),
        agent["public_id"].as_str().unwrap(),
    );
    let (_, agent_page) = get_html(&browser, app.url(&format!("/app/agents/{agent_id}"))).await;
    assert!(agent_page.contains(&format!("href=\"/app/agents/{agent_id}/try\"")));

    let url = app.url(&format!("/app/agents/{agent_id}/try"));
    let response = browser.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    let nonce = widget_nonce(&html, &app.base, public_id);
    assert!(nonce.len() >= 22, "at least 128 bits: {nonce}");
    // Needs `security_headers` to keep a policy the page set (see the report).
    assert!(
        csp.contains(&format!("script-src 'self' 'nonce-{nonce}'"))
            && csp.contains(&format!("style-src 'self' 'nonce-{nonce}'")),
        "the page's own policy lets the widget run: {csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("connect-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));

    let (_, again) = get_html(&browser, url).await;
    assert_ne!(
        widget_nonce(&again, &app.base, public_id),
        nonce,
        "fresh per response"
    );
    let loader = app
        .client()
        .get(app.url("/widget.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(loader.status(), StatusCode::OK);
    assert!(
        loader.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let list = browser.get(app.url("/app")).send().await.unwrap();
    let global = list.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        !global.contains("nonce-"),
        "other pages keep the strict policy"
    );
}

async fn inbox_speaks_russian(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (browser, agent) = owner_with_agent(&app, "ru", "Приёмная").await;
    let public_id = agent["public_id"].as_str().unwrap();
    let visit = visitor_leaves_a_lead(&app, public_id, "Сколько стоит доставка", "Vera").await;
    for (path, words) in [
        ("/app/leads".to_owned(), ["Заявки", "Новая"]),
        ("/app/conversations".to_owned(), ["Диалоги", "Приёмная"]),
        (
            format!("/app/conversations/{}", visit.conversation_id),
            ["Посетитель", "Ассистент"],
        ),
    ] {
        let html = browser
            .get(app.url(&path))
            .header("accept-language", "ru")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(html.contains("<html lang=\"ru\">"), "{path}");
        for word in words {
            assert!(html.contains(word), "{path}: {word}");
        }
    }
}

/// In Chromium: the try-it page's widget runs under the page's policy (its nonce'd
/// shadow-root styles apply, ui.js loads), a message sent from it reaches the inbox, and
/// the inbox pages fit a phone screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_try_it_widget_runs_in_chromium() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let user = email("chromium.inbox");
    let (api_browser, _) = app.signup(&user).await;
    let agent = app
        .create_agent(&api_browser, json!({"name": "Front desk"}))
        .await;
    visitor_leaves_a_lead(
        &app,
        agent["public_id"].as_str().unwrap(),
        "Hello there",
        "Greta",
    )
    .await;
    let Some(browser) = Browser::start(1280, 900).await else {
        return;
    };
    let d = &browser.driver;
    sign_in(d, &app, &user).await;

    d.goto(app.url(&format!(
        "/app/agents/{}/try",
        agent["id"].as_str().unwrap()
    )))
    .await
    .unwrap();
    let position = poll(
        d,
        "var h = document.getElementById('auralix-widget-host'); \
        var b = h && h.shadowRoot && h.shadowRoot.querySelector('.ax-launcher'); \
        return b ? getComputedStyle(b).position : '';",
    )
    .await;
    assert_eq!(position, "fixed", "the launcher's nonce'd style applies");
    d.execute(
        "document.getElementById('auralix-widget-host').shadowRoot.querySelector('.ax-launcher').click();",
        vec![],
    )
    .await
    .unwrap();
    let ready = poll(d, "var r = document.getElementById('auralix-widget-host').shadowRoot; \
        var i = r.querySelector('.ax-input'); return i && getComputedStyle(r.querySelector('.ax-panel')).position === 'fixed' ? 'yes' : '';")
    .await;
    assert_eq!(ready, "yes", "ui.js loaded and styled");
    d.execute(
        "var r = document.getElementById('auralix-widget-host').shadowRoot; \
         var i = r.querySelector('.ax-input'); i.value = 'Sent from the try page'; \
         i.dispatchEvent(new Event('input')); r.querySelector('.ax-send').click();",
        vec![],
    )
    .await
    .unwrap();
    let replied = poll(d, "var r = document.getElementById('auralix-widget-host').shadowRoot; \
        return r.querySelectorAll('.ax-msg.ax-assistant:not(.ax-greeting)').length > 0 ? 'yes' : '';")
    .await;
    assert_eq!(
        replied, "yes",
        "the widget API answered through connect-src"
    );
    browser.screenshot("inbox-try-it.png").await;

    d.goto(app.url("/app/conversations")).await.unwrap();
    let list = d.source().await.unwrap();
    assert!(list.contains("Front desk"));
    d.find(By::Css(".list-row .list-open"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let transcript = d.source().await.unwrap();
    assert!(transcript.contains("Sent from the try page") || transcript.contains("Hello there"));
    browser.screenshot("inbox-transcript.png").await;
    d.goto(app.url("/app/leads")).await.unwrap();
    browser.screenshot("inbox-leads.png").await;

    d.set_window_rect(0, 0, 390, 844).await.unwrap();
    for (path, shot) in [
        ("/app/leads", "inbox-leads-phone.png"),
        ("/app/conversations", "inbox-conversations-phone.png"),
    ] {
        d.goto(app.url(path)).await.unwrap();
        let overflow: bool = d
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth + 1;",
                vec![],
            )
            .await
            .unwrap()
            .convert()
            .unwrap();
        assert!(!overflow, "{path}: no horizontal scroll on a phone");
        browser.screenshot(shot).await;
    }
    browser.quit().await;
}

/// Signs Chromium in through the login form.
async fn sign_in(d: &WebDriver, app: &TestApp, user: &str) {
    d.goto(app.url("/login?lang=en")).await.unwrap();
    for (name, value) in [("email", user), ("password", PASSWORD)] {
        d.find(By::Css(format!("input[name={name}]")))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    d.find(By::Css("button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.find(By::LinkText("New agent")).await.expect("signed in");
}

/// Runs a script until it returns a non-empty string (or ten seconds pass).
async fn poll(d: &WebDriver, script: &str) -> String {
    for _ in 0..50 {
        let value: String = d
            .execute(script, vec![])
            .await
            .unwrap()
            .convert()
            .unwrap_or_default();
        if !value.is_empty() {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    String::new()
}
