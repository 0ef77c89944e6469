//! The visitor path over HTTP: widget sessions, conversations, messages (JSON and SSE),
//! history, live events, contact capture, then leads, conversations and exports.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, email, error_fields};

on_both_backends!(
    whole_visitor_path_from_first_message_to_exported_lead,
    origin_allow_list_and_cors_preflight,
    visitor_tokens_never_open_someone_elses_conversation,
    bad_visitor_input_gets_clear_errors,
    leads_are_managed_filtered_and_deleted,
    operator_events_reach_an_open_event_stream,
    widget_files_are_small_cached_and_compressed,
);

const SHOP: &str = "https://shop.example";

/// A visitor's browser talking to one agent's widget API.
pub struct Visitor {
    client: Client,
    base: String,
    pub origin: Option<String>,
    pub token: String,
    pub visitor_id: String,
    pub config: Value,
}

impl Visitor {
    pub async fn start(app: &TestApp, public_id: &str, origin: Option<&str>) -> Visitor {
        let client = Client::new();
        let base = app.url(&format!("/api/v1/widget/{public_id}"));
        let mut request = client
            .post(format!("{base}/sessions"))
            .json(&json!({"page_url": "https://shop.example/pricing", "locale": "en-GB"}));
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "session");
        assert!(
            response.headers().get("set-cookie").is_none(),
            "the widget API sets no cookies"
        );
        let body: Value = response.json().await.unwrap();
        Visitor {
            client,
            base,
            origin: origin.map(str::to_owned),
            token: body["visitor_token"].as_str().unwrap().to_owned(),
            visitor_id: body["visitor_id"].as_str().unwrap().to_owned(),
            config: body["config"].clone(),
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        let mut request = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.token);
        if let Some(o) = &self.origin {
            request = request.header("origin", o);
        }
        request
    }

    pub async fn conversation(&self) -> String {
        let response = self
            .request(reqwest::Method::POST, "/conversations")
            .json(&json!({"page_url": "https://shop.example/pricing"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "conversation");
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn say(&self, conversation: &str, text: &str) -> Value {
        let response = self
            .request(
                reqwest::Method::POST,
                &format!("/conversations/{conversation}/messages"),
            )
            .header("accept", "application/json")
            .json(&json!({"text": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "message");
        response.json().await.unwrap()
    }

    /// Posts with `Accept: text/event-stream`; returns (event, data) pairs in order.
    pub async fn say_streaming(&self, conversation: &str, text: &str) -> Vec<(String, Value)> {
        let response = self
            .request(
                reqwest::Method::POST,
                &format!("/conversations/{conversation}/messages"),
            )
            .header("accept", "text/event-stream")
            .json(&json!({"text": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        parse_sse(&response.text().await.unwrap())
    }

    pub async fn contact(&self, conversation: &str, body: Value) -> reqwest::Response {
        self.request(
            reqwest::Method::POST,
            &format!("/conversations/{conversation}/contact"),
        )
        .json(&body)
        .send()
        .await
        .unwrap()
    }
}

pub fn parse_sse(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let mut event = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(e) = line.strip_prefix("event:") {
                    event = Some(e.trim().to_owned());
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.strip_prefix(' ').unwrap_or(d));
                }
            }
            event.map(|e| (e, serde_json::from_str(&data).unwrap_or(Value::Null)))
        })
        .collect()
}

async fn agent(app: &TestApp, client: &Client, origins: Value) -> Value {
    app.create_agent(
        client,
        json!({
            "name": "Shop assistant",
            "greeting": "Hi! Ask me about delivery.",
            "instructions": "Delivery across Moscow takes two hours. We are open from 9 to 21 every day.",
            "allowed_origins": origins,
            "lead_capture": {"fields": ["name", "email", "phone"], "required": ["email"]}
        }),
    )
    .await
}

async fn whole_visitor_path_from_first_message_to_exported_lead(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.signup(&email("owner")).await;
    let agent = agent(&app, &owner, json!([SHOP])).await;
    let visitor = Visitor::start(&app, agent["public_id"].as_str().unwrap(), Some(SHOP)).await;
    assert_eq!(visitor.config["title"], "Shop assistant");
    assert_eq!(visitor.config["greeting"], "Hi! Ask me about delivery.");
    assert_eq!(visitor.config["required_fields"], json!(["email"]));
    assert!(
        visitor.config["consent_text"]
            .as_str()
            .unwrap()
            .contains("privacy policy")
    );
    let conversation = visitor.conversation().await;

    let answer = visitor
        .say(
            &conversation,
            "How long does delivery take? I'd like to buy 20 boxes",
        )
        .await;
    assert_eq!(answer["message"]["role"], "visitor");
    assert_eq!(answer["reply"]["role"], "assistant");
    assert!(
        answer["reply"]["text"]
            .as_str()
            .unwrap()
            .contains("two hours"),
        "{answer}"
    );
    assert_eq!(answer["warnings"], json!([]));

    let events = visitor
        .say_streaming(&conversation, "Do you also repair bicycles?")
        .await;
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names.first(), Some(&"accepted"));
    assert_eq!(names.last(), Some(&"done"));
    assert!(
        names.iter().filter(|n| **n == "delta").count() > 3,
        "the answer streams in pieces: {names:?}"
    );
    let streamed: String = events
        .iter()
        .filter(|(e, _)| e == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap())
        .collect();
    let done = &events.last().unwrap().1;
    assert_eq!(
        streamed,
        done["text"].as_str().unwrap(),
        "deltas add up to the stored reply"
    );
    assert!(
        done["text"].as_str().unwrap().contains("manager"),
        "the built-in answerer admits it does not know"
    );
    assert_eq!(done["ask_contact"], true);

    let history: Value = visitor
        .request(
            reqwest::Method::GET,
            &format!("/conversations/{conversation}/messages"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let roles: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["visitor", "assistant", "visitor", "assistant"]);
    let first_id = history["items"][0]["id"].as_str().unwrap();
    let after: Value = visitor
        .request(
            reqwest::Method::GET,
            &format!("/conversations/{conversation}/messages?after={first_id}"),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["items"].as_array().unwrap().len(), 3);

    let consent_version = visitor.config["consent_version"].clone();
    let response = visitor
        .contact(&conversation, json!({"name": "=HYPERLINK(\"http://evil\")", "email": "Ivan@Example.com", "phone": "8 (912) 345-67-89", "consent": true, "consent_version": consent_version}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let lead_id = response.json::<Value>().await.unwrap()["lead_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let leads: Value = owner
        .get(app.url("/api/v1/leads"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lead = &leads["items"][0];
    assert_eq!(lead["id"], lead_id);
    assert_eq!(lead["email"], "ivan@example.com");
    assert_eq!(lead["phone"], "+79123456789");
    assert_eq!(lead["status"], "new");
    assert_eq!(
        lead["intent"], "sales",
        "asking to buy 20 boxes is a sales inquiry"
    );
    assert_eq!(lead["conversation_id"], conversation);
    assert_eq!(lead["agent_id"], agent["id"]);
    assert_eq!(lead["page_url"], "https://shop.example/pricing");
    let score = lead["score"].as_i64().unwrap();
    assert!(
        (50..=100).contains(&score),
        "a sales lead with e-mail and phone scores high: {score}"
    );

    let conversations: Value = owner
        .get(app.url("/api/v1/conversations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = &conversations["items"][0];
    assert_eq!(listed["id"], conversation);
    assert_eq!(listed["visitor"]["id"], visitor.visitor_id);
    assert_eq!(listed["visitor"]["ip"], "127.0.0.1");
    assert_eq!(listed["language"], "en");
    assert!(listed["intent"].is_string());
    let full: Value = owner
        .get(app.url(&format!("/api/v1/conversations/{conversation}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(full["messages"].as_array().unwrap().len(), 4);

    // Exports: CSV (spreadsheet-safe, optional BOM), JSON and NDJSON.
    let csv_bytes = owner
        .get(app.url("/api/v1/leads/export?format=csv&bom=1"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        csv_bytes.starts_with("\u{feff}".as_bytes()),
        "UTF-8 BOM when asked"
    );
    let mut reader = csv::Reader::from_reader(&csv_bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| {
        row.get(headers.iter().position(|h| h == name).unwrap())
            .unwrap()
            .to_owned()
    };
    assert_eq!(cell("email"), "ivan@example.com");
    assert_eq!(
        cell("name"),
        "'=HYPERLINK(\"http://evil\")",
        "formulas are neutralised"
    );
    assert_eq!(cell("phone"), "'+79123456789");
    let json_export: Value = owner
        .get(app.url("/api/v1/leads/export?format=json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json_export[0]["id"], lead_id);
    let ndjson = owner
        .get(app.url("/api/v1/leads/export?format=ndjson"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = ndjson
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["email"], "ivan@example.com");
    let conversations_csv = owner
        .get(app.url("/api/v1/conversations/export?format=csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rows = csv::Reader::from_reader(conversations_csv.as_bytes())
        .records()
        .count();
    assert_eq!(rows, 4, "one CSV row per message");
    let conversations_ndjson = owner
        .get(app.url("/api/v1/conversations/export?format=ndjson"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let first: Value = serde_json::from_str(conversations_ndjson.lines().next().unwrap()).unwrap();
    assert_eq!(first["messages"].as_array().unwrap().len(), 4);
    let bad_format = owner
        .get(app.url("/api/v1/leads/export?format=xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_fields(&assert_problem(bad_format, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["format"]
    );
}

async fn origin_allow_list_and_cors_preflight(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.signup(&email("cors")).await;
    let strict = agent(&app, &owner, json!([SHOP])).await;
    let open = agent(&app, &owner, json!([])).await;
    let client = Client::new();
    let url = |agent: &Value, path: &str| {
        app.url(&format!(
            "/api/v1/widget/{}{path}",
            agent["public_id"].as_str().unwrap()
        ))
    };

    let preflight = client
        .request(reqwest::Method::OPTIONS, url(&strict, "/sessions"))
        .header("origin", SHOP)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, authorization",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert_eq!(preflight.headers()["access-control-allow-origin"], SHOP);
    let allowed_headers = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(allowed_headers.contains("authorization") && allowed_headers.contains("content-type"));

    let foreign_preflight = client
        .request(reqwest::Method::OPTIONS, url(&strict, "/sessions"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_preflight.status(), StatusCode::FORBIDDEN);
    assert!(
        foreign_preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "no CORS headers for a refused origin"
    );

    let foreign = client
        .post(url(&strict, "/sessions"))
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(foreign, StatusCode::FORBIDDEN).await;
    let no_origin = client
        .post(url(&strict, "/sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(no_origin, StatusCode::FORBIDDEN).await;
    let allowed = client
        .post(url(&strict, "/sessions"))
        .header("origin", SHOP)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::CREATED);
    assert_eq!(allowed.headers()["access-control-allow-origin"], SHOP);

    // An empty allow-list lets any site try the widget.
    for origin in [Some("https://anywhere.example"), None] {
        let mut request = client.post(url(&open, "/sessions")).json(&json!({}));
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        assert_eq!(request.send().await.unwrap().status(), StatusCode::CREATED);
    }
    let unknown = client
        .post(app.url("/api/v1/widget/ax_doesnotexist0000000000/sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
}

async fn visitor_tokens_never_open_someone_elses_conversation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.signup(&email("iso")).await;
    let first = agent(&app, &owner, json!([])).await;
    let second = agent(&app, &owner, json!([])).await;
    let alice = Visitor::start(&app, first["public_id"].as_str().unwrap(), None).await;
    let bob = Visitor::start(&app, first["public_id"].as_str().unwrap(), None).await;
    let conversation = alice.conversation().await;
    alice.say(&conversation, "hello").await;

    for response in [
        bob.request(reqwest::Method::GET, &format!("/conversations/{conversation}/messages")).send().await.unwrap(),
        bob.request(reqwest::Method::POST, &format!("/conversations/{conversation}/messages")).json(&json!({"text": "hi"})).send().await.unwrap(),
        bob.request(reqwest::Method::GET, &format!("/conversations/{conversation}/events")).send().await.unwrap(),
        bob.contact(&conversation, json!({"email": "bob@example.com", "consent": true, "consent_version": bob.config["consent_version"]})).await,
    ] {
        assert_problem(response, StatusCode::NOT_FOUND).await;
    }

    // A token is bound to its agent.
    let cross_agent = Client::new()
        .get(app.url(&format!(
            "/api/v1/widget/{}/conversations/{conversation}/messages",
            second["public_id"].as_str().unwrap()
        )))
        .bearer_auth(&alice.token)
        .send()
        .await
        .unwrap();
    assert_problem(cross_agent, StatusCode::UNAUTHORIZED).await;
    let messages_url = app.url(&format!(
        "/api/v1/widget/{}/conversations/{conversation}/messages",
        first["public_id"].as_str().unwrap()
    ));
    assert_problem(
        Client::new().get(&messages_url).send().await.unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_problem(
        Client::new()
            .get(&messages_url)
            .bearer_auth("vt1.vis_x.99999999999.AAAA")
            .send()
            .await
            .unwrap(),
        StatusCode::UNAUTHORIZED,
    )
    .await;

    // Reusing the stored visitor id keeps the visitor's identity (and conversations).
    let again = Client::new()
        .post(app.url(&format!(
            "/api/v1/widget/{}/sessions",
            first["public_id"].as_str().unwrap()
        )))
        .json(&json!({"visitor_id": alice.visitor_id}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(again["visitor_id"], alice.visitor_id);

    // Another workspace sees none of it.
    let (stranger, _) = app.signup(&email("stranger")).await;
    let url = app.url(&format!("/api/v1/conversations/{conversation}"));
    assert_problem(
        stranger.get(&url).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        stranger.delete(&url).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let listed: Value = stranger
        .get(app.url("/api/v1/conversations"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]));
    assert_eq!(
        owner.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
}

async fn bad_visitor_input_gets_clear_errors(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.signup(&email("bad")).await;
    let agent = agent(&app, &owner, json!([])).await;
    let visitor = Visitor::start(&app, agent["public_id"].as_str().unwrap(), None).await;
    let conversation = visitor.conversation().await;
    let post = |body: Value| {
        visitor
            .request(
                reqwest::Method::POST,
                &format!("/conversations/{conversation}/messages"),
            )
            .json(&body)
            .send()
    };

    let huge = post(json!({"text": "a".repeat(70_000)})).await.unwrap();
    assert_problem(huge, StatusCode::PAYLOAD_TOO_LARGE).await;
    let long = post(json!({"text": "é".repeat(4_001)})).await.unwrap();
    let problem = assert_problem(long, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("4000"),
        "{problem}"
    );
    assert_eq!(error_fields(&problem), ["text"]);
    for body in [
        json!({"text": ""}),
        json!({"text": "   \n\t "}),
        json!({}),
        json!({"text": null}),
    ] {
        let problem =
            assert_problem(post(body).await.unwrap(), StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["text"]);
    }
    let wrong_type = post(json!({"text": 42})).await.unwrap();
    assert_problem(wrong_type, StatusCode::UNPROCESSABLE_ENTITY).await;
    // 4,000 four-byte characters are within both limits.
    let emoji = post(json!({"text": "🙂".repeat(4_000)})).await.unwrap();
    assert_eq!(emoji.status(), StatusCode::CREATED);
    let malformed = visitor
        .request(
            reqwest::Method::POST,
            &format!("/conversations/{conversation}/messages"),
        )
        .header("content-type", "application/json")
        .body("{\"text\":")
        .send()
        .await
        .unwrap();
    assert_problem(malformed, StatusCode::BAD_REQUEST).await;

    let version = visitor.config["consent_version"].clone();
    let cases = [
        (
            json!({"email": "a@example.com", "consent_version": version}),
            "consent",
        ),
        (
            json!({"email": "a@example.com", "consent": false, "consent_version": version}),
            "consent",
        ),
        (
            json!({"email": "a@example.com", "consent": true}),
            "consent_version",
        ),
        (
            json!({"email": "a@example.com", "consent": true, "consent_version": "c1-old"}),
            "consent_version",
        ),
        (
            json!({"name": "Ann", "consent": true, "consent_version": version}),
            "email",
        ),
        (
            json!({"email": "not an email", "consent": true, "consent_version": version}),
            "email",
        ),
        (
            json!({"email": "a@example.com", "phone": "call me maybe", "consent": true, "consent_version": version}),
            "phone",
        ),
    ];
    for (body, field) in cases {
        let problem = assert_problem(
            visitor.contact(&conversation, body.clone()).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert!(
            error_fields(&problem).contains(&field.to_owned()),
            "{body} → {problem}"
        );
    }
    let bad_page = visitor
        .request(reqwest::Method::POST, "/conversations")
        .json(&json!({"page_url": "javascript:alert(1)"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_fields(&assert_problem(bad_page, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["page_url"]
    );
    let leads: Value = owner
        .get(app.url("/api/v1/leads"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        leads["items"],
        json!([]),
        "no lead without valid contact and consent"
    );
}

async fn leads_are_managed_filtered_and_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let owner_email = email("manager");
    let (owner, account) = app.signup(&owner_email).await;
    let agent = agent(&app, &owner, json!([])).await;
    let public_id = agent["public_id"].as_str().unwrap();
    let mut ids = Vec::new();
    for (name, mail, phone) in [
        ("Ольга Петрова", "olga@example.com", "+7 912 000-11-22"),
        ("John Smith", "john@example.com", "+44 20 7946 0958"),
    ] {
        let visitor = Visitor::start(&app, public_id, None).await;
        let conversation = visitor.conversation().await;
        visitor.say(&conversation, "I want to order a cake").await;
        let response = visitor
            .contact(&conversation, json!({"name": name, "email": mail, "phone": phone, "consent": true, "consent_version": visitor.config["consent_version"]}))
            .await;
        ids.push(
            response.json::<Value>().await.unwrap()["lead_id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let search = |q: &str| {
        let url = app.url(&format!("/api/v1/leads?q={}", url_encode(q)));
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
                .unwrap()
                .len()
        }
    };
    assert_eq!(search("ОЛЬГА").await, 1, "case-insensitive, Cyrillic too");
    assert_eq!(search("example.com").await, 2);
    assert_eq!(search("912 000").await, 1, "phone digits");
    assert_eq!(search("nobody").await, 0);

    let lead_url = app.url(&format!("/api/v1/leads/{}", ids[0]));
    let patched: Value = owner
        .patch(&lead_url)
        .json(&json!({"status": "in_progress", "note": "Call after 6pm", "assignee_id": account["user"]["id"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["status"], "in_progress");
    assert_eq!(patched["note"], "Call after 6pm");
    assert_eq!(patched["assignee_id"], account["user"]["id"]);
    let by_status: Value = owner
        .get(app.url("/api/v1/leads?status=in_progress"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_status["items"].as_array().unwrap().len(), 1);
    assert_eq!(search("after 6pm").await, 1, "notes are searchable");
    let bad = owner
        .patch(&lead_url)
        .json(&json!({"status": "maybe", "assignee_id": "usr_stranger"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_fields(&assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["status", "assignee_id"]
    );
    let until_past = owner
        .get(app.url("/api/v1/leads?until=2000-01-01T00:00:00Z"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(until_past["items"], json!([]));
    let bad_date = owner
        .get(app.url("/api/v1/leads?since=yesterday"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_fields(&assert_problem(bad_date, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["since"]
    );
    let paged: Value = owner
        .get(app.url("/api/v1/leads?limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paged["items"][0]["id"], ids[1], "newest first");
    let cursor = paged["next_cursor"].as_str().unwrap();
    let next: Value = owner
        .get(app.url(&format!("/api/v1/leads?limit=1&cursor={cursor}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(next["items"][0]["id"], ids[0]);

    let (stranger, _) = app.signup(&email("other")).await;
    assert_problem(
        stranger.get(&lead_url).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        stranger
            .patch(&lead_url)
            .json(&json!({"status": "won"}))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        stranger.delete(&lead_url).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;

    assert_eq!(
        owner.delete(&lead_url).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        owner.get(&lead_url).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn operator_events_reach_an_open_event_stream(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _) = app.signup(&email("live")).await;
    let agent = agent(&app, &owner, json!([])).await;
    let visitor = Visitor::start(&app, agent["public_id"].as_str().unwrap(), None).await;
    let conversation = visitor.conversation().await;
    let response = visitor
        .request(
            reqwest::Method::GET,
            &format!("/conversations/{conversation}/events"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let mut stream = response.bytes_stream();
    // Another tab of the same visitor sends a message; the reply arrives on the stream.
    let reply = visitor.say(&conversation, "When are you open?").await;
    let mut seen = String::new();
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if seen.contains(reply["reply"]["id"].as_str().unwrap()) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(found, "live event with the reply arrived: {seen}");
    assert!(seen.contains("event: message"));
}

async fn widget_files_are_small_cached_and_compressed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = Client::builder().no_gzip().no_brotli().build().unwrap();
    let raw = client.get(app.url("/widget.js")).send().await.unwrap();
    assert_eq!(raw.status(), StatusCode::OK);
    assert!(
        raw.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        raw.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert_eq!(
        raw.headers()["cross-origin-resource-policy"],
        "cross-origin"
    );
    let etag = raw.headers()["etag"].to_str().unwrap().to_owned();
    let loader = raw.text().await.unwrap();
    assert!(
        !loader.contains("__AURALIX_VERSION__"),
        "the version is filled in"
    );
    let version =
        loader.split("ui.js?v=").nth(1).map(|_| ()).is_some() || loader.contains("/widget/ui.js");
    assert!(version);

    for (encoding, budget) in [("gzip", 4 * 1024), ("br", 4 * 1024)] {
        let response = client
            .get(app.url("/widget.js"))
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], encoding);
        let size = response.bytes().await.unwrap().len();
        assert!(size <= budget, "loader {encoding} is {size} bytes");
    }
    let ui = client
        .get(app.url("/widget/ui.js?v=1"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert!(
        ui.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let size = ui.bytes().await.unwrap().len();
    assert!(size <= 20 * 1024, "chat UI gzip is {size} bytes");
    let revalidated = client
        .get(app.url("/widget.js"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
}
