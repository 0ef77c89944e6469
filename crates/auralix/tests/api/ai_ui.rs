//! The dashboard's AI pages: providers (add, test the connection, delete), an agent's AI
//! settings, and the playground that answers as the widget would without storing anything;
//! against the local fake of the OpenAI API. One walk-through in Chromium.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::{
    browser::Browser,
    fake_llm::{Behaviour, FakeLlm},
    helpers::{Backend, PASSWORD, TestApp, email},
    knowledge::settled,
};

on_both_backends!(
    providers_are_added_tested_and_deleted_from_the_page,
    the_settings_form_switches_an_agent_to_a_model,
    the_playground_answers_without_storing_anything,
    another_workspace_gets_not_found_on_the_ai_pages,
);

const KEY: &str = "sk-test-SECRET-abcdef123456";
const PASSAGE: &str = "Delivery to Kazakhstan takes five working days and costs 900 roubles.";

fn answer(pieces: &[&str]) -> Behaviour {
    Behaviour::Answer {
        pieces: pieces.iter().map(|s| s.to_string()).collect(),
        classification: "ok".to_owned(),
    }
}

/// The `_csrf` value embedded in a page.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// The text of the first element that opens with `open` (e.g. `<pre class="sent">`).
fn inside<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
    html.split(open)
        .nth(1)
        .unwrap_or_else(|| panic!("no {open} in the page"))
        .split(close)
        .next()
        .unwrap()
}

async fn page(app: &TestApp, client: &Client, path: &str) -> (StatusCode, String) {
    let response = client
        .get(app.url(path))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn post(
    app: &TestApp,
    client: &Client,
    path: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let response = client
        .post(app.url(path))
        .header("accept-language", "en")
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let url = response.url().to_string();
    (status, url, response.text().await.unwrap())
}

async fn get_json(app: &TestApp, client: &Client, path: &str) -> Value {
    client
        .get(app.url(path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A provider pointing at the fake, added through the API; returns its id.
async fn fake_provider(app: &TestApp, client: &Client, fake: &FakeLlm) -> String {
    let provider: Value = client
        .post(app.url("/api/v1/providers"))
        .json(
            &json!({"kind": "openai", "name": "Fake", "base_url": format!("{}/v1", fake.base),
                      "api_key": KEY, "default_model": "fake-model-1"}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    provider["id"].as_str().unwrap().to_owned()
}

/// An agent with one indexed document about delivery; returns its id.
async fn agent_with_document(app: &TestApp, client: &Client, ai: Value) -> String {
    let agent = app
        .create_agent(client, json!({"name": "AI shop", "ai": ai}))
        .await;
    let agent_id = agent["id"].as_str().unwrap().to_owned();
    let doc: Value = client
        .post(app.url(&format!("/api/v1/agents/{agent_id}/documents")))
        .json(&json!({"title": "Delivery terms", "text": PASSAGE}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let doc = settled(app, client, &agent_id, doc["id"].as_str().unwrap()).await;
    assert_eq!(doc["status"], "ready");
    agent_id
}

async fn providers_are_added_tested_and_deleted_from_the_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fake = FakeLlm::start(answer(&["ok"])).await;
    let (client, _) = app.signup(&email("aiprov")).await;

    let (status, html) = page(&app, &client, "/app/providers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("href=\"/app/providers\" aria-current=\"page\">AI providers<"));
    assert!(html.contains("No providers yet"));
    assert!(
        html.contains(
            "type=\"password\" name=\"api_key\" value=\"\" maxlength=\"1000\" autocomplete=\"off\""
        ),
        "the key field is a password field without autocomplete"
    );
    let csrf = csrf_of(&html);
    let base_url = format!("{}/v1", fake.base);

    // Without the session's token nothing is added.
    let (status, _, _) = post(
        &app,
        &client,
        "/app/providers",
        &[("kind", "openai"), ("name", "Sneaky"), ("api_key", KEY)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = post(
        &app,
        &client,
        "/app/providers",
        &[("_csrf", "guess"), ("kind", "openai"), ("name", "Sneaky")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let list = get_json(&app, &client, "/api/v1/providers").await;
    assert!(list["items"].as_array().unwrap().is_empty());

    // The API's field errors, next to their fields; the key is not sent back.
    let (status, _, refused) = post(
        &app,
        &client,
        "/app/providers",
        &[
            ("_csrf", &csrf),
            ("kind", "cohere"),
            ("name", ""),
            ("base_url", "ftp://models.example"),
            ("api_key", KEY),
            ("default_model", "kept-model"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("Please correct the highlighted fields."));
    assert!(refused.contains("data-field=\"kind\">must be openai or anthropic<"));
    assert!(refused.contains("data-field=\"name\">must not be empty<"));
    assert!(refused.contains("data-field=\"base_url\">must be an http(s) URL"));
    assert!(
        refused.contains("value=\"ftp://models.example\"")
            && refused.contains("value=\"kept-model\"")
    );
    assert!(!refused.contains("SECRET"), "the key is never echoed");

    let (status, url, added) = post(
        &app,
        &client,
        "/app/providers",
        &[
            ("_csrf", &csrf),
            ("kind", "openai"),
            ("name", "Fake"),
            ("base_url", &base_url),
            ("api_key", KEY),
            ("default_model", "fake-model-1"),
            ("embedding_model", ""),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(url.ends_with("/app/providers?done=added"), "{url}");
    assert!(added.contains("Provider added."));
    assert!(added.contains("<h2 class=\"provider-name\">Fake</h2>"));
    assert!(added.contains("OpenAI or compatible"));
    assert!(added.contains(&format!("<code>{base_url}</code>")));
    assert!(added.contains("<code>fake-model-1</code>"));
    assert!(
        added.contains("<dd class=\"key-hint\"><code>…3456</code></dd>"),
        "the hint"
    );
    let list = get_json(&app, &client, "/api/v1/providers").await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(list["items"][0]["api_key_hint"], "…3456");

    // Test connection: ok with the model and the time it took.
    let (status, tested) = {
        let (status, _, html) = post(
            &app,
            &client,
            &format!("/app/providers/{id}/test"),
            &[("_csrf", &csrf)],
        )
        .await;
        (status, html)
    };
    assert_eq!(status, StatusCode::OK);
    let result = inside(
        &tested,
        "<p class=\"test-result ok\" role=\"status\">",
        "</p>",
    );
    assert!(result.contains("✓ Connected"), "{result}");
    assert!(
        result.contains("fake-model-1 · ") && result.contains(" ms"),
        "{result}"
    );
    let sent = fake.requests();
    assert_eq!(
        sent.last().unwrap().headers["authorization"],
        format!("Bearer {KEY}")
    );

    // A failing provider says why.
    fake.set(Behaviour::Fail500);
    let (status, _, failed) = post(
        &app,
        &client,
        &format!("/app/providers/{id}/test"),
        &[("_csrf", &csrf)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let result = inside(
        &failed,
        "<p class=\"test-result failed\" role=\"status\">",
        "</p>",
    );
    assert!(
        result.contains("✗ Not connected") && result.contains("fake-model-1: "),
        "{result}"
    );
    // Without a default model there is nothing to test.
    client
        .post(app.url("/api/v1/providers"))
        .json(&json!({"kind": "anthropic", "name": "Bare"}))
        .send()
        .await
        .unwrap();
    let list = get_json(&app, &client, "/api/v1/providers").await;
    let bare = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Bare")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, _, untestable) = post(
        &app,
        &client,
        &format!("/app/providers/{bare}/test"),
        &[("_csrf", &csrf)],
    )
    .await;
    assert!(untestable.contains("set a default model to test the provider"));
    assert!(untestable.contains("<span class=\"muted\">no key</span>"));
    assert!(untestable.contains("<span class=\"muted\">official API</span>"));

    // The key appears on no page.
    let agent = app.create_agent(&client, json!({"name": "Desk"})).await;
    let agent_id = agent["id"].as_str().unwrap();
    for path in [
        "/app".to_owned(),
        "/app/providers".to_owned(),
        format!("/app/agents/{agent_id}"),
        format!("/app/agents/{agent_id}/ai"),
        format!("/app/agents/{agent_id}/playground"),
    ] {
        let (status, html) = page(&app, &client, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!html.contains("SECRET") && !html.contains(KEY), "{path}");
    }
    for html in [&added, &tested, &failed, &untestable] {
        assert!(!html.contains("SECRET"));
    }

    // Russian.
    let russian = client
        .get(app.url("/app/providers"))
        .header("accept-language", "ru")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(russian.contains(">AI-провайдеры<") && russian.contains("Проверить подключение"));

    // Delete asks first (data-confirm) and needs the token.
    assert!(added.contains(&format!(
        "action=\"/app/providers/{id}/delete\" data-confirm=\""
    )));
    let (status, _, _) = post(&app, &client, &format!("/app/providers/{id}/delete"), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, url, deleted) = post(
        &app,
        &client,
        &format!("/app/providers/{id}/delete"),
        &[("_csrf", &csrf)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(url.ends_with("/app/providers?done=deleted"));
    assert!(deleted.contains("The provider was deleted.") && !deleted.contains(">Fake<"));
    let list = get_json(&app, &client, "/api/v1/providers").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (status, _, _) = post(
        &app,
        &client,
        &format!("/app/providers/{id}/delete"),
        &[("_csrf", &csrf)],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn the_settings_form_switches_an_agent_to_a_model(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fake = FakeLlm::start(answer(&["ok"])).await;
    let (client, _) = app.signup(&email("aisettings")).await;
    let provider = fake_provider(&app, &client, &fake).await;
    let agent = app.create_agent(&client, json!({"name": "Desk"})).await;
    let id = agent["id"].as_str().unwrap();
    let path = format!("/app/agents/{id}/ai");

    let (_, agent_page) = page(&app, &client, &format!("/app/agents/{id}")).await;
    assert!(agent_page.contains(&format!("href=\"{path}\">AI settings<")));
    assert!(agent_page.contains(&format!("href=\"/app/agents/{id}/playground\">Playground<")));
    assert!(agent_page.contains(">Built-in answerer</a>"));

    let (status, html) = page(&app, &client, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("name=\"mode\" value=\"builtin\" checked"));
    assert!(
        html.contains("name=\"redact_before_ai\" value=\"1\" checked"),
        "redaction is on by default"
    );
    assert!(html.contains(&format!(
        "<option value=\"{provider}\" data-default-model=\"fake-model-1\">Fake (OpenAI or compatible)</option>"
    )));
    let csrf = csrf_of(&html);

    let (status, _, _) = post(
        &app,
        &client,
        &path,
        &[("mode", "llm"), ("provider_id", &provider)],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Refusals: shown next to their fields, with what was posted.
    let (status, _, refused) = post(
        &app,
        &client,
        &path,
        &[
            ("_csrf", &csrf),
            ("mode", "llm"),
            ("provider_id", ""),
            ("instructions", "Kept text"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("data-field=\"ai.provider_id\">is required when mode is llm<"));
    assert!(
        refused.contains("name=\"mode\" value=\"llm\" checked")
            && refused.contains(">Kept text</textarea>")
    );
    assert!(
        !refused.contains("name=\"redact_before_ai\" value=\"1\" checked"),
        "the unchecked box stays unchecked"
    );
    let (status, _, unreadable) = post(
        &app,
        &client,
        &path,
        &[
            ("_csrf", &csrf),
            ("mode", "llm"),
            ("provider_id", &provider),
            ("temperature", "warm"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unreadable.contains("data-field=\"ai.temperature\">Temperature: Enter a number.<"));
    let (status, _, out_of_range) = post(
        &app,
        &client,
        &path,
        &[
            ("_csrf", &csrf),
            ("mode", "llm"),
            ("provider_id", &provider),
            ("temperature", "3"),
            ("max_tokens", "0"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(out_of_range.contains("must be between 0 and 2"));
    assert!(out_of_range.contains("must be between 1 and 16384"));
    let unchanged = get_json(&app, &client, &format!("/api/v1/agents/{id}")).await;
    assert_eq!(
        unchanged["ai"]["mode"], "builtin",
        "nothing saved while refused"
    );

    let (status, url, saved) = post(
        &app,
        &client,
        &path,
        &[
            ("_csrf", &csrf),
            ("mode", "llm"),
            ("provider_id", &provider),
            ("model", ""),
            ("temperature", "0,3"),
            ("max_tokens", "300"),
            ("instructions", "Answer briefly."),
            ("handoff_keywords", "Refund\n  talk to the boss \n\n"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(url.ends_with(&format!("{path}?saved=1")), "{url}");
    assert!(saved.contains("Saved."));
    assert!(saved.contains("name=\"mode\" value=\"llm\" checked"));
    assert!(saved.contains("name=\"temperature\" value=\"0.3\""));
    assert!(saved.contains(">refund\ntalk to the boss</textarea>"));
    assert!(
        saved.contains("placeholder=\"fake-model-1\""),
        "the provider's default model"
    );
    assert!(!saved.contains("name=\"redact_before_ai\" value=\"1\" checked"));

    let stored = get_json(&app, &client, &format!("/api/v1/agents/{id}")).await;
    assert_eq!(stored["ai"]["mode"], "llm");
    assert_eq!(stored["ai"]["provider_id"], provider.as_str());
    assert_eq!(stored["ai"]["model"], Value::Null);
    assert!((stored["ai"]["temperature"].as_f64().unwrap() - 0.3).abs() < 1e-6);
    assert_eq!(stored["ai"]["max_tokens"], 300);
    assert_eq!(
        stored["ai"]["handoff_keywords"],
        json!(["refund", "talk to the boss"])
    );
    assert_eq!(stored["privacy"]["redact_before_ai"], false);
    assert_eq!(stored["instructions"], "Answer briefly.");
    let (_, agent_page) = page(&app, &client, &format!("/app/agents/{id}")).await;
    assert!(agent_page.contains(">Language model · Fake · fake-model-1</a>"));

    // Emptied fields clear their values; the box checked turns redaction back on.
    let (status, _, _) = post(
        &app,
        &client,
        &path,
        &[
            ("_csrf", &csrf),
            ("mode", "builtin"),
            ("provider_id", &provider),
            ("model", "fake-model-2"),
            ("temperature", ""),
            ("max_tokens", ""),
            ("instructions", ""),
            ("handoff_keywords", ""),
            ("redact_before_ai", "1"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let stored = get_json(&app, &client, &format!("/api/v1/agents/{id}")).await;
    assert_eq!(stored["ai"]["mode"], "builtin");
    assert_eq!(stored["ai"]["model"], "fake-model-2");
    assert_eq!(stored["ai"]["temperature"], Value::Null);
    assert_eq!(stored["ai"]["max_tokens"], Value::Null);
    assert_eq!(stored["ai"]["handoff_keywords"], json!([]));
    assert_eq!(stored["privacy"]["redact_before_ai"], true);
    assert_eq!(stored["instructions"], Value::Null);

    let russian = client
        .get(app.url(&path))
        .header("accept-language", "ru")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        russian.contains("Настройки ИИ")
            && russian.contains("Скрывать персональные данные перед отправкой в ИИ")
    );
}

async fn the_playground_answers_without_storing_anything(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fake = FakeLlm::start(answer(&["Delivery ", "takes five ", "working days."])).await;
    let (client, _) = app.signup(&email("aiplay")).await;
    let provider = fake_provider(&app, &client, &fake).await;
    let id = agent_with_document(
        &app,
        &client,
        json!({"mode": "llm", "provider_id": provider}),
    )
    .await;
    let path = format!("/app/agents/{id}/playground");

    let (status, html) = page(&app, &client, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Answers with: <strong>Language model · Fake · fake-model-1</strong>"));
    assert!(!html.contains("id=\"result\""));
    let csrf = csrf_of(&html);
    let question = "How long is delivery to Kazakhstan? My card is 4111 1111 1111 1111";

    let (status, _, _) = post(&app, &client, &path, &[("q", question)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(fake.chat_requests().is_empty());
    let (status, _, empty) = post(&app, &client, &path, &[("_csrf", &csrf), ("q", "  ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.contains("Enter the question."));

    let (status, _, html) = post(&app, &client, &path, &[("_csrf", &csrf), ("q", question)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        inside(&html, "<p class=\"answer-text\">", "</p>"),
        "Delivery takes five working days."
    );
    assert_eq!(
        inside(&html, "<dd class=\"answered-by\">", "</dd>"),
        "Fake · fake-model-1"
    );
    assert!(html.contains("<dd>120 in · 17 out</dd>"), "tokens used");
    let sent = inside(&html, "<pre class=\"sent\">", "</pre>");
    assert!(
        sent.contains("How long is delivery to Kazakhstan?") && sent.contains("[CARD_NUMBER]"),
        "{sent}"
    );
    assert!(!sent.contains("4111"), "{sent}");
    assert!(html.contains("Personal data was replaced before sending."));
    let passages = inside(&html, "<ol class=\"passages\">", "</ol>");
    assert!(
        passages.contains(PASSAGE)
            && passages.contains("<span class=\"passage-title\">Delivery terms</span>")
    );
    assert!(passages.contains("passage-score\">Score "), "{passages}");
    let prompt = inside(&html, "<details class=\"prompt\">", "</details>");
    assert!(prompt.contains(PASSAGE), "the prompt is shown");

    // The model got the passage and the redacted question, as the widget would send them.
    let request = fake.chat_requests().pop().unwrap();
    let messages = request.body["messages"].as_array().unwrap();
    assert!(messages[0]["content"].as_str().unwrap().contains(PASSAGE));
    assert_eq!(messages.len(), 2, "the system prompt and one user turn");
    let user = messages[1]["content"].as_str().unwrap();
    assert!(
        user.contains("[CARD_NUMBER]") && !user.contains("4111"),
        "{user}"
    );

    // Nothing stored: no conversation, no lead, no usage.
    for list in ["/api/v1/conversations", "/api/v1/leads", "/api/v1/usage"] {
        let body = get_json(&app, &client, list).await;
        assert_eq!(body["items"], json!([]), "{list}: {body}");
    }

    // A failing provider: the built-in answer, and why.
    fake.set(Behaviour::Fail500);
    let (_, _, html) = post(
        &app,
        &client,
        &path,
        &[
            ("_csrf", &csrf),
            ("q", "How long does delivery to Kazakhstan take?"),
        ],
    )
    .await;
    let by = inside(&html, "<dd class=\"answered-by fell-back\">", "</dd>");
    assert!(by.starts_with("Built-in answerer (fallback: "), "{by}");
    assert!(inside(&html, "<p class=\"answer-text\">", "</p>").contains("five working days"));

    // The built-in answerer sends nothing anywhere.
    client
        .patch(app.url(&format!("/api/v1/agents/{id}")))
        .json(&json!({"ai": {"mode": "builtin"}}))
        .send()
        .await
        .unwrap();
    let asked = fake.requests().len();
    let (_, _, html) = post(
        &app,
        &client,
        &path,
        &[
            ("_csrf", &csrf),
            (
                "q",
                "Do you deliver to Kazakhstan? Call me on +7 912 345-67-89, I want a manager",
            ),
        ],
    )
    .await;
    assert_eq!(
        inside(&html, "<dd class=\"answered-by\">", "</dd>"),
        "Built-in answerer"
    );
    assert!(html.contains("Nothing was sent to a language model."));
    assert!(html.contains("this message would hand the conversation to a manager"));
    assert_eq!(fake.requests().len(), asked);
    let body = get_json(&app, &client, "/api/v1/conversations").await;
    assert_eq!(body["items"], json!([]));

    let russian = client
        .get(app.url(&path))
        .header("accept-language", "ru")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(russian.contains("<h1>Песочница</h1>"));
}

async fn another_workspace_gets_not_found_on_the_ai_pages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fake = FakeLlm::start(answer(&["ok"])).await;
    let (owner, _) = app.signup(&email("aiowner")).await;
    let provider = fake_provider(&app, &owner, &fake).await;
    let agent = app
        .create_agent(
            &owner,
            json!({"name": "Private", "instructions": "Secret margins."}),
        )
        .await;
    let id = agent["id"].as_str().unwrap();

    let (stranger, _) = app.signup(&email("aistranger")).await;
    let (_, own) = page(&app, &stranger, "/app/providers").await;
    assert!(own.contains("No providers yet") && !own.contains(">Fake<"));
    let csrf = csrf_of(&own);
    for path in [
        format!("/app/agents/{id}/ai"),
        format!("/app/agents/{id}/playground"),
    ] {
        let (status, html) = page(&app, &stranger, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("Not found.") && !html.contains("Secret margins"));
    }
    for (path, form) in [
        (format!("/app/agents/{id}/ai"), vec![("mode", "builtin")]),
        (
            format!("/app/agents/{id}/playground"),
            vec![("q", "margins?")],
        ),
        (format!("/app/providers/{provider}/test"), vec![]),
        (format!("/app/providers/{provider}/delete"), vec![]),
    ] {
        let mut form = form;
        form.push(("_csrf", csrf.as_str()));
        let (status, _, _) = post(&app, &stranger, &path, &form).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    assert!(fake.requests().is_empty(), "nothing was tested or asked");
    let list = get_json(&app, &owner, "/api/v1/providers").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "not deleted");

    // Nor can the stranger's own agent borrow the provider.
    let theirs = app.create_agent(&stranger, json!({"name": "Mine"})).await;
    let theirs = theirs["id"].as_str().unwrap();
    let (status, _, html) = post(
        &app,
        &stranger,
        &format!("/app/agents/{theirs}/ai"),
        &[
            ("_csrf", &csrf),
            ("mode", "llm"),
            ("provider_id", &provider),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("data-field=\"ai.provider_id\">no such provider in this workspace<"));
}

/// Waits until `condition` (a JS expression) holds on the page.
async fn wait_for(d: &WebDriver, what: &str, condition: &str) {
    for _ in 0..150 {
        let ok: bool = d
            .execute(
                &format!("try {{ return !!({condition}); }} catch (e) {{ return false; }}"),
                vec![],
            )
            .await
            .unwrap()
            .convert()
            .unwrap();
        if ok {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn fill(d: &WebDriver, css: &str, text: &str) {
    let field = d.find(By::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_a_provider_switch_an_agent_and_ask_it_in_chromium() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let fake = FakeLlm::start(answer(&["Five ", "working days."])).await;
    let address = email("aichrome");
    let (client, _) = app.signup(&address).await;
    let agent = agent_with_document(&app, &client, json!({})).await;
    drop(client);
    let Some(browser) = Browser::start(1280, 1000).await else {
        return;
    };
    let d = &browser.driver;

    d.goto(app.url("/login?lang=en")).await.unwrap();
    fill(d, "input[name=email]", &address).await;
    fill(d, "input[name=password]", PASSWORD).await;
    d.find(By::Css("button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.query(By::LinkText("AI providers"))
        .first()
        .await
        .expect("the navigation links to the providers")
        .click()
        .await
        .unwrap();
    d.query(By::Css("form#add-provider"))
        .first()
        .await
        .expect("the providers page");
    fill(d, "input[name=name]", "Fake").await;
    fill(d, "input[name=base_url]", &format!("{}/v1", fake.base)).await;
    fill(d, "input[name=api_key]", KEY).await;
    fill(d, "input[name=default_model]", "fake-model-1").await;
    d.find(By::Css("form#add-provider button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let hint = d
        .query(By::Css(".provider .key-hint"))
        .first()
        .await
        .expect("the new provider");
    assert_eq!(hint.text().await.unwrap(), "…3456");
    assert!(!d.source().await.unwrap().contains("SECRET"));
    d.find(By::Css(".provider-actions button:not(.danger)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let result = d
        .query(By::Css(".test-result.ok"))
        .first()
        .await
        .expect("the connection test's result");
    assert!(result.text().await.unwrap().contains("Connected"));
    browser.screenshot("ai-providers.png").await;

    d.goto(app.url(&format!("/app/agents/{agent}")))
        .await
        .unwrap();
    d.query(By::LinkText("AI settings"))
        .first()
        .await
        .expect("the agent page links to its AI settings")
        .click()
        .await
        .unwrap();
    wait_for(
        d,
        "the model settings dimmed",
        "document.querySelector('[data-llm-fields]').classList.contains('off')",
    )
    .await;
    d.find(By::Css("input[name=mode][value=llm]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        d,
        "the model settings enabled",
        "!document.querySelector('[data-llm-fields]').classList.contains('off')",
    )
    .await;
    d.execute(
        "const s = document.querySelector('[data-provider-select]'); s.selectedIndex = 1; s.dispatchEvent(new Event('change', {bubbles: true}));",
        vec![],
    )
    .await
    .unwrap();
    wait_for(
        d,
        "the provider's default model as the placeholder",
        "document.querySelector('[data-model-input]').placeholder === 'fake-model-1'",
    )
    .await;
    browser.screenshot("ai-settings.png").await;
    d.find(By::Css("form[data-ai-form] button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.query(By::Css("p.saved")).first().await.expect("saved");

    d.query(By::LinkText("Playground"))
        .first()
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(
        d,
        "textarea[name=q]",
        "How long is delivery to Kazakhstan? Mail me at anna@example.com",
    )
    .await;
    d.find(By::Css("form[data-busy] button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let answer = d
        .query(By::Css(".answer-text"))
        .first()
        .await
        .expect("the playground's answer");
    assert_eq!(answer.text().await.unwrap(), "Five working days.");
    let sent = d
        .find(By::Css("pre.sent"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        sent.contains("[EMAIL]") && !sent.contains("anna@example.com"),
        "{sent}"
    );
    let passage = d
        .find(By::Css(".passage-text"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(passage, PASSAGE);
    browser.screenshot("ai-playground.png").await;

    // Phone-sized: no sideways scrolling on any of the three pages.
    d.set_window_rect(0, 0, 390, 844).await.unwrap();
    for (name, path) in [
        ("providers", "/app/providers".to_owned()),
        ("settings", format!("/app/agents/{agent}/ai")),
        ("playground", format!("/app/agents/{agent}/playground")),
        ("agent", format!("/app/agents/{agent}")),
    ] {
        d.goto(app.url(&path)).await.unwrap();
        let overflow: bool = d
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth + 1;",
                vec![],
            )
            .await
            .unwrap()
            .convert()
            .unwrap();
        assert!(!overflow, "no horizontal scroll on a phone: {path}");
        browser.screenshot(&format!("ai-phone-{name}.png")).await;
    }
    browser.quit().await;
}
