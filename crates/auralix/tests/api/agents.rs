//! Agents CRUD, validation, tenant isolation, CSRF.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, email, error_fields};

on_both_backends!(
    agents_crud,
    agent_validation_names_each_field,
    another_workspace_gets_404,
    management_needs_authentication,
    cross_site_cookie_requests_are_refused,
    agents_list_paginates,
);

async fn agents_crud(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _) = app.signup(&email("crud")).await;

    let agent = app
        .create_agent(
            &client,
            json!({
                "name": "Support bot",
                "greeting": "Hi! How can I help?",
                "language": "ru",
                "allowed_origins": ["https://Shop.Example", "http://localhost:3000"],
                "lead_capture": {"fields": ["name", "phone"], "required": ["phone"]},
                "appearance": {"title": "Ask us", "color": "#0A7", "position": "bottom-left"}
            }),
        )
        .await;
    let id = agent["id"].as_str().unwrap();
    let public_id = agent["public_id"].as_str().unwrap();
    assert!(id.starts_with("agt_"));
    assert!(
        public_id.len() >= 20 && !public_id.contains(id),
        "public id is random, not derived"
    );
    assert_eq!(
        agent["allowed_origins"],
        json!(["https://shop.example", "http://localhost:3000"])
    );
    assert_eq!(agent["appearance"]["color"], "#00aa77");
    assert_eq!(agent["lead_capture"]["required"], json!(["phone"]));
    assert_eq!(
        agent["embed_snippet"],
        format!(
            "<script src=\"{}/widget.js\" data-agent=\"{public_id}\" async></script>",
            app.base
        )
    );

    let fetched: Value = client
        .get(app.url(&format!("/api/v1/agents/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(fetched, agent);

    let response = client
        .patch(app.url(&format!("/api/v1/agents/{id}")))
        .json(&json!({"name": "Sales bot", "greeting": "", "appearance": {"color": "#123456"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["name"], "Sales bot");
    assert_eq!(patched["greeting"], Value::Null, "an empty string clears");
    assert_eq!(patched["appearance"]["color"], "#123456");
    assert_eq!(
        patched["appearance"]["title"], "Ask us",
        "nested objects merge"
    );
    assert_eq!(patched["language"], "ru", "absent fields stay");
    assert_eq!(patched["public_id"], agent["public_id"]);

    let list: Value = client
        .get(app.url("/api/v1/agents"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["next_cursor"], Value::Null);

    let response = client
        .delete(app.url(&format!("/api/v1/agents/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let gone = client
        .get(app.url(&format!("/api/v1/agents/{id}")))
        .send()
        .await
        .unwrap();
    assert_problem(gone, StatusCode::NOT_FOUND).await;
}

async fn agent_validation_names_each_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _) = app.signup(&email("valid")).await;
    let response = client
        .post(app.url("/api/v1/agents"))
        .json(&json!({
            "name": "x".repeat(81),
            "allowed_origins": ["https://ok.example", "shop.example", "https://shop.example/path"],
            "appearance": {"color": "purple"},
            "lead_capture": {"fields": ["email", "fax"]}
        }))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        error_fields(&problem),
        [
            "name",
            "allowed_origins[1]",
            "allowed_origins[2]",
            "lead_capture.fields[1]",
            "appearance.color"
        ]
    );

    let response = client
        .post(app.url("/api/v1/agents"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["name"]);

    let agent = app.create_agent(&client, json!({"name": "ok"})).await;
    let response = client
        .patch(app.url(&format!("/api/v1/agents/{}", agent["id"].as_str().unwrap())))
        .json(&json!({"allowed_origins": ["ftp://files.example"]}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["allowed_origins[0]"]);
}

async fn another_workspace_gets_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (alice, _) = app.signup(&email("alice")).await;
    let bob_email = email("bob");
    let (bob, _) = app.signup(&bob_email).await;
    let bob_token = app.token(&bob_email).await;
    let agent = app
        .create_agent(&alice, json!({"name": "Alice's agent"}))
        .await;
    let url = app.url(&format!("/api/v1/agents/{}", agent["id"].as_str().unwrap()));

    assert_problem(bob.get(&url).send().await.unwrap(), StatusCode::NOT_FOUND).await;
    assert_problem(
        bob.patch(&url)
            .json(&json!({"name": "mine now"}))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        bob.delete(&url).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        app.client()
            .get(&url)
            .bearer_auth(&bob_token)
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let listed: Value = bob
        .get(app.url("/api/v1/agents"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]));

    let still: Value = alice.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(still["name"], "Alice's agent");
}

async fn management_needs_authentication(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anonymous = app.client();
    for response in [
        anonymous
            .get(app.url("/api/v1/agents"))
            .send()
            .await
            .unwrap(),
        anonymous
            .post(app.url("/api/v1/agents"))
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap(),
        anonymous.get(app.url("/api/v1/me")).send().await.unwrap(),
        anonymous
            .get(app.url("/api/v1/agents/agt_whatever"))
            .send()
            .await
            .unwrap(),
    ] {
        assert_problem(response, StatusCode::UNAUTHORIZED).await;
    }
}

async fn cross_site_cookie_requests_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let address = email("csrf");
    let (client, _) = app.signup(&address).await;
    let create = || {
        client
            .post(app.url("/api/v1/agents"))
            .json(&json!({"name": "forged"}))
    };

    let foreign_origin = create()
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_problem(foreign_origin, StatusCode::FORBIDDEN).await;
    let cross_site = create()
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_problem(cross_site, StatusCode::FORBIDDEN).await;
    let same_site = create()
        .header("sec-fetch-site", "same-site")
        .send()
        .await
        .unwrap();
    assert_problem(same_site, StatusCode::FORBIDDEN).await;
    let listed: Value = client
        .get(app.url("/api/v1/agents"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"], json!([]), "nothing was created");

    let own = create()
        .header("origin", &app.base)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::CREATED);
    // A bearer token cannot be attached by a browser on its own: no origin check needed.
    let token = app.token(&address).await;
    let scripted = app
        .client()
        .post(app.url("/api/v1/agents"))
        .bearer_auth(token)
        .header("origin", "https://tools.example")
        .json(&json!({"name": "from a script"}))
        .send()
        .await
        .unwrap();
    assert_eq!(scripted.status(), StatusCode::CREATED);
}

async fn agents_list_paginates(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _) = app.signup(&email("pages")).await;
    for i in 0..5 {
        app.create_agent(&client, json!({"name": format!("agent {i}")}))
            .await;
    }
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = app.url("/api/v1/agents?limit=2");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        names.extend(items.iter().map(|a| a["name"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        names,
        (0..5).map(|i| format!("agent {i}")).collect::<Vec<_>>()
    );
    let bad = client
        .get(app.url("/api/v1/agents?limit=500"))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["limit"]);
}
