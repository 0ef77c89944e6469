//! Language-model answers against local fakes of the OpenAI and Anthropic APIs:
//! grounded prompts, streaming, redaction, fallback, timeouts, classification, handoff,
//! and provider keys that never come back out.

use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::{
    fake_llm::{Behaviour, FakeLlm},
    helpers::{Backend, TestApp, assert_problem, email, error_fields},
    knowledge::settled,
    widget::Visitor,
};

on_both_backends!(
    openai_answers_stream_grounded_and_redacted,
    anthropic_answers_with_its_own_headers_and_events,
    provider_failure_and_hang_fall_back_to_the_builtin_answer,
    model_classification_and_its_fallback,
    a_visitor_who_leaves_cancels_the_model_request,
    vector_similarity_is_fused_with_full_text,
    handoff_triggers_in_english_and_russian,
    provider_keys_never_come_back_out,
);

const KEY: &str = "sk-test-SECRET-abcdef123456";

fn answer(pieces: &[&str], classification: &str) -> Behaviour {
    Behaviour::Answer {
        pieces: pieces.iter().map(|s| s.to_string()).collect(),
        classification: classification.to_owned(),
    }
}

/// An owner, a provider pointing at the fake, an LLM agent and one indexed document.
async fn llm_agent(app: &TestApp, fake: &FakeLlm, kind: &str) -> (Client, Value) {
    let (owner, _) = app.signup(&email("ai")).await;
    let base_url = if kind == "openai" {
        format!("{}/v1", fake.base)
    } else {
        fake.base.clone()
    };
    let provider: Value = owner
        .post(app.url("/api/v1/providers"))
        .json(&json!({"kind": kind, "name": "Fake", "base_url": base_url, "api_key": KEY, "default_model": "fake-model-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let agent = app
        .create_agent(
            &owner,
            json!({"name": "AI shop", "instructions": "Be polite. Secret internal note: margins are 40%.",
                   "ai": {"mode": "llm", "provider_id": provider["id"], "temperature": 0.2}}),
        )
        .await;
    let agent_id = agent["id"].as_str().unwrap();
    let doc: Value = owner
        .post(app.url(&format!("/api/v1/agents/{agent_id}/documents")))
        .json(&json!({"title": "Delivery terms", "text": "Delivery to Kazakhstan takes five working days and costs 900 roubles."}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        settled(app, &owner, agent_id, doc["id"].as_str().unwrap()).await["status"],
        "ready"
    );
    (owner, agent)
}

async fn openai_answers_stream_grounded_and_redacted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fake = FakeLlm::start(answer(
        &[
            "Delivery ",
            "to Kazakhstan ",
            "takes five ",
            "working days.",
        ],
        "{\"intent\":\"sales\",\"language\":\"en\",\"lead_score\":60}",
    ))
    .await;
    let (owner, agent) = llm_agent(&app, &fake, "openai").await;
    let visitor = Visitor::start(&app, agent["public_id"].as_str().unwrap(), None).await;
    let conversation = visitor.conversation().await;
    let question = "How long is delivery to Kazakhstan? My card is 4111 1111 1111 1111, mail me at anna@example.com";
    let events = visitor.say_streaming(&conversation, question).await;

    let deltas: Vec<String> = events
        .iter()
        .filter(|(e, _)| e == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        deltas.concat(),
        "Delivery to Kazakhstan takes five working days.",
        "streamed in order"
    );
    assert!(deltas.len() >= 2, "streamed in pieces: {deltas:?}");
    let (name, done) = events.last().unwrap();
    assert_eq!(name, "done");
    assert_eq!(
        done["text"],
        "Delivery to Kazakhstan takes five working days."
    );
    assert_eq!(done["sources"][0]["title"], "Delivery terms");
    let warnings = &events[0].1["warnings"];
    assert!(
        warnings
            .as_array()
            .unwrap()
            .contains(&json!({"code": "personal_data", "kind": "card_number"})),
        "{warnings}"
    );

    let sent = &fake.chat_requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.headers["authorization"], format!("Bearer {KEY}"));
    assert_eq!(sent.body["model"], "fake-model-1");
    let messages = sent.body["messages"].as_array().unwrap();
    let system = messages[0]["content"].as_str().unwrap();
    assert_eq!(messages[0]["role"], "system");
    assert!(
        system.contains("Delivery to Kazakhstan takes five working days and costs 900 roubles."),
        "the passage is in the prompt"
    );
    assert!(system.contains("Delivery terms"), "with its title");
    assert!(system.contains("Never reveal"), "guardrails");
    let user = messages.last().unwrap()["content"].as_str().unwrap();
    assert!(
        user.contains("How long is delivery to Kazakhstan?"),
        "the question is sent"
    );
    assert!(
        !user.contains("4111") && !user.contains("anna@example.com"),
        "personal data is redacted: {user}"
    );
    assert!(user.contains("[CARD_NUMBER]") && user.contains("[EMAIL]"));

    // The stored conversation keeps what the visitor wrote.
    let stored: Value = owner
        .get(app.url(&format!("/api/v1/conversations/{conversation}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        stored["messages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("4111 1111 1111 1111")
    );
    let usage: Value = owner
        .get(app.url("/api/v1/usage"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(usage["items"][0]["input_tokens"], 120);
    assert_eq!(usage["items"][0]["output_tokens"], 17);
    assert_eq!(usage["items"][0]["messages"], 1);

    // With redaction switched off the text goes as written.
    owner
        .patch(app.url(&format!("/api/v1/agents/{}", agent["id"].as_str().unwrap())))
        .json(&json!({"privacy": {"redact_before_ai": false}}))
        .send()
        .await
        .unwrap();
    visitor
        .say(&conversation, "Reach me at anna@example.com")
        .await;
    let last = fake.chat_requests().last().unwrap().body["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(last.contains("anna@example.com"));
}

async fn anthropic_answers_with_its_own_headers_and_events(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fake = FakeLlm::start(answer(&["Пять ", "рабочих ", "дней."], "{}")).await;
    let (_, agent) = llm_agent(&app, &fake, "anthropic").await;
    let visitor = Visitor::start(&app, agent["public_id"].as_str().unwrap(), None).await;
    let conversation = visitor.conversation().await;
    let events = visitor
        .say_streaming(&conversation, "Сколько идёт доставка в Kazakhstan?")
        .await;
    let deltas: String = events
        .iter()
        .filter(|(e, _)| e == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    assert_eq!(deltas, "Пять рабочих дней.");
    assert_eq!(events.last().unwrap().1["text"], "Пять рабочих дней.");
    let sent = &fake.chat_requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.headers["x-api-key"], KEY);
    assert!(sent.headers.get("anthropic-version").is_some());
    assert!(sent.headers.get("authorization").is_none());
    assert!(
        sent.body["system"]
            .as_str()
            .unwrap()
            .contains("five working days")
    );
    assert_eq!(sent.body["messages"][0]["role"], "user");
    assert!(sent.body["max_tokens"].as_u64().unwrap() > 0);
}

async fn provider_failure_and_hang_fall_back_to_the_builtin_answer(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.llm_timeout_secs = Some(1)).await;
    let fake = FakeLlm::start(Behaviour::Fail500).await;
    let (_, agent) = llm_agent(&app, &fake, "openai").await;
    let visitor = Visitor::start(&app, agent["public_id"].as_str().unwrap(), None).await;
    let conversation = visitor.conversation().await;

    let reply = visitor
        .say(&conversation, "How long does delivery to Kazakhstan take?")
        .await;
    assert!(
        reply["reply"]["text"]
            .as_str()
            .unwrap()
            .contains("five working days"),
        "built-in answer from the document: {reply}"
    );
    assert!(
        fake.chat_requests().len() >= 2,
        "the 500 was retried before falling back"
    );

    fake.set(Behaviour::Hang);
    let started = Instant::now();
    let events = visitor
        .say_streaming(&conversation, "How long does delivery to Kazakhstan take?")
        .await;
    let waited = started.elapsed();
    assert_eq!(events.last().unwrap().0, "done");
    assert!(
        events.last().unwrap().1["text"]
            .as_str()
            .unwrap()
            .contains("five working days")
    );
    assert!(
        waited < Duration::from_secs(8),
        "a hanging provider does not hold the visitor: {waited:?}"
    );
}

async fn model_classification_and_its_fallback(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fake = FakeLlm::start(answer(
        &["Thanks!"],
        "{\"intent\": \"partnership\", \"language\": \"en\", \"lead_score\": 80}",
    ))
    .await;
    let (owner, agent) = llm_agent(&app, &fake, "openai").await;
    let visitor = Visitor::start(&app, agent["public_id"].as_str().unwrap(), None).await;
    let intent_after = |conversation: String| {
        let owner = owner.clone();
        let url = app.url(&format!("/api/v1/conversations/{conversation}"));
        async move {
            for _ in 0..100 {
                let c: Value = owner.get(&url).send().await.unwrap().json().await.unwrap();
                if c["intent"] == "partnership" {
                    return c["intent"].as_str().unwrap().to_owned();
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            let c: Value = owner.get(&url).send().await.unwrap().json().await.unwrap();
            c["intent"].as_str().unwrap_or("").to_owned()
        }
    };
    let first = visitor.conversation().await;
    visitor
        .say(
            &first,
            "I want to buy ten chairs for my cafe, what is the price?",
        )
        .await;
    assert_eq!(
        intent_after(first).await,
        "partnership",
        "the model's JSON classification wins"
    );

    fake.set(answer(&["Sure."], "this is not JSON"));
    let second = visitor.conversation().await;
    visitor
        .say(
            &second,
            "I want to buy ten chairs for my cafe, what is the price?",
        )
        .await;
    assert_eq!(
        intent_after(second).await,
        "sales",
        "invalid JSON: the offline classifier's answer stands"
    );
}

async fn handoff_triggers_in_english_and_russian(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.signup(&email("handoff")).await;
    let agent = app
        .create_agent(
            &owner,
            json!({"name": "Desk", "ai": {"handoff_keywords": ["Refund"]}}),
        )
        .await;
    let public_id = agent["public_id"].as_str().unwrap();
    for (text, reason) in [
        ("Can I talk to a human, please?", "visitor_asked"),
        ("Позовите, пожалуйста, оператора", "visitor_asked"),
        ("I want a refund for my order", "visitor_asked"),
    ] {
        let visitor = Visitor::start(&app, public_id, None).await;
        let conversation = visitor.conversation().await;
        let reply = visitor.say(&conversation, text).await;
        assert_eq!(reply["reply"]["conversation_status"], "handoff", "{text}");
        assert_eq!(reply["reply"]["ask_contact"], true);
        let stored: Value = owner
            .get(app.url(&format!("/api/v1/conversations/{conversation}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(stored["status"], "handoff");
        assert_eq!(stored["events"][0]["kind"], "handoff_requested");
        assert_eq!(stored["events"][0]["data"]["reason"], reason);
    }
    // Two answers in a row that did not know.
    let visitor = Visitor::start(&app, public_id, None).await;
    let conversation = visitor.conversation().await;
    let first = visitor.say(&conversation, "Do you repair bicycles?").await;
    assert_eq!(first["reply"]["conversation_status"], "open");
    let second = visitor
        .say(&conversation, "What about scooters then?")
        .await;
    assert_eq!(second["reply"]["conversation_status"], "handoff");
    let filtered: Value = owner
        .get(app.url("/api/v1/conversations?status=handoff"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(filtered["items"].as_array().unwrap().len(), 4);
}

async fn provider_keys_never_come_back_out(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.signup(&email("keys")).await;
    let created = owner
        .post(app.url("/api/v1/providers"))
        .json(
            &json!({"kind": "openai", "name": "OpenAI", "api_key": KEY, "default_model": "gpt-x"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let text = created.text().await.unwrap();
    assert!(!text.contains("SECRET"), "{text}");
    let provider: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(provider["api_key_hint"], "…3456");
    assert_eq!(provider["base_url"], Value::Null);
    let id = provider["id"].as_str().unwrap();
    for url in [
        app.url("/api/v1/providers"),
        app.url(&format!("/api/v1/providers/{id}")),
    ] {
        let body = owner.get(url).send().await.unwrap().text().await.unwrap();
        assert!(!body.contains("SECRET") && body.contains("…3456"));
    }
    let patched: Value = owner
        .patch(app.url(&format!("/api/v1/providers/{id}")))
        .json(&json!({"api_key": "sk-new-key-9999"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["api_key_hint"], "…9999");
    let no_key: Value = owner
        .patch(app.url(&format!("/api/v1/providers/{id}")))
        .json(&json!({"api_key": null}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(no_key["api_key_hint"], Value::Null);

    let bad = owner
        .post(app.url("/api/v1/providers"))
        .json(&json!({"kind": "cohere", "name": "", "base_url": "ftp://x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_fields(&assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["kind", "name", "base_url"]
    );
    let (stranger, _) = app.signup(&email("keys-other")).await;
    assert_problem(
        stranger
            .get(app.url(&format!("/api/v1/providers/{id}")))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let borrowed = stranger
        .post(app.url("/api/v1/agents"))
        .json(&json!({"name": "x", "ai": {"mode": "llm", "provider_id": id}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_fields(&assert_problem(borrowed, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["ai.provider_id"]
    );
    let needs_provider = owner
        .post(app.url("/api/v1/agents"))
        .json(&json!({"name": "x", "ai": {"mode": "llm"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_fields(&assert_problem(needs_provider, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["ai.provider_id"]
    );

    // Nothing on disk holds the key in the clear either (SQLite keeps everything in the data dir).
    for entry in std::fs::read_dir(&app.data_dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap_or_default();
        assert!(
            !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
            "the key is sealed at rest"
        );
    }
}

async fn a_visitor_who_leaves_cancels_the_model_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fake = FakeLlm::start(Behaviour::Trickle).await;
    let (_, agent) = llm_agent(&app, &fake, "openai").await;
    let visitor = Visitor::start(&app, agent["public_id"].as_str().unwrap(), None).await;
    let conversation = visitor.conversation().await;
    let response = visitor
        .request(
            reqwest::Method::POST,
            &format!("/conversations/{conversation}/messages"),
        )
        .header("accept", "text/event-stream")
        .json(&json!({"text": "How long does delivery to Kazakhstan take?"}))
        .send()
        .await
        .unwrap();
    let mut stream = futures_util::StreamExt::boxed(response.bytes_stream());
    let mut seen = String::new();
    while !seen.contains("event: delta") {
        let chunk = futures_util::StreamExt::next(&mut stream)
            .await
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(stream); // the visitor closes the tab
    for _ in 0..100 {
        if fake.cancelled.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the upstream model request was not cancelled");
}

async fn vector_similarity_is_fused_with_full_text(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let fake = FakeLlm::start(answer(&["ok"], "{}")).await;
    let (owner, _) = app.signup(&email("vectors")).await;
    let agent = app.create_agent(&owner, json!({"name": "Vectors"})).await;
    let agent_id = agent["id"].as_str().unwrap();
    let docs_url = app.url(&format!("/api/v1/agents/{agent_id}/documents"));
    let search = |q: &str| {
        let url = app.url(&format!(
            "/api/v1/agents/{agent_id}/search?q={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        ));
        let owner = owner.clone();
        async move {
            owner
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()["items"]
                .as_array()
                .cloned()
                .unwrap()
        }
    };
    let add = |text: &str| {
        let (owner, url, text) = (owner.clone(), docs_url.clone(), text.to_owned());
        async move {
            owner
                .post(url)
                .json(&json!({"title": "Doc", "text": text}))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };

    let before = add("We offer automobile hire at the airport.").await;
    settled(&app, &owner, agent_id, before["id"].as_str().unwrap()).await;
    assert!(
        search("car rental").await.is_empty(),
        "full-text alone cannot bridge the synonyms"
    );

    owner
        .post(app.url("/api/v1/providers"))
        .json(&json!({"kind": "openai", "name": "Embeddings", "base_url": format!("{}/v1", fake.base), "api_key": KEY, "embedding_model": "toy-embed"}))
        .send()
        .await
        .unwrap();
    let reindexed = owner
        .post(app.url(&format!(
            "/api/v1/agents/{agent_id}/documents/{}/reindex",
            before["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(reindexed.status(), StatusCode::ACCEPTED);
    settled(&app, &owner, agent_id, before["id"].as_str().unwrap()).await;
    let other = add("Bicycle repairs take two days.").await;
    settled(&app, &owner, agent_id, other["id"].as_str().unwrap()).await;

    let hits = search("car rental").await;
    assert_eq!(
        hits.first().map(|h| h["document_id"].clone()),
        Some(before["id"].clone()),
        "vector similarity finds it: {hits:?}"
    );
    let fused = search("bicycle repairs").await;
    assert_eq!(
        fused[0]["document_id"], other["id"],
        "full-text and vectors agree on the obvious one"
    );
    let embed_requests: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/embeddings")
        .collect();
    assert!(
        embed_requests
            .iter()
            .any(|r| r.body["model"] == "toy-embed")
    );
    assert_eq!(
        embed_requests[0].headers["authorization"],
        format!("Bearer {KEY}")
    );
}
