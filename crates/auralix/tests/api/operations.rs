//! Health, readiness, request ids, restarts.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, email};

on_both_backends!(
    health_and_readiness,
    restart_keeps_users_sessions_and_agents,
    openapi_document_lists_the_api,
    readiness_follows_redis_when_configured,
);

async fn health_and_readiness(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let health = app.client().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let id = health.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(id.starts_with("req_"));
    let ready = app.client().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert_ne!(
        ready.headers()["x-request-id"].to_str().unwrap(),
        id,
        "each response has its own id"
    );
}

async fn restart_keeps_users_sessions_and_agents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let address = email("restart");
    let (client, _) = app.signup(&address).await;
    let token = app.token(&address).await;
    let agent = app
        .create_agent(&client, json!({"name": "Persistent"}))
        .await;

    let app = app.restart().await;

    let me = client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(
        me.status(),
        StatusCode::OK,
        "the browser session survives a restart"
    );
    let listed: Value = client
        .get(app.url("/api/v1/agents"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["id"], agent["id"]);
    let by_token = app
        .client()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), StatusCode::OK);
    let login = app
        .client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": address, "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
}

async fn openapi_document_lists_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc: Value = app
        .client()
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, method) in [
        ("/api/v1/agents", "post"),
        ("/api/v1/leads/export", "get"),
        ("/api/v1/widget/{public_id}/sessions", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
}

async fn readiness_follows_redis_when_configured(backend: Backend) {
    // A live Redis when the environment names one (.ci/run does); a closed port always
    // stands for an outage.
    match std::env::var("AURALIX_TEST_REDIS_URL") {
        Ok(redis) if !redis.is_empty() => {
            let up = TestApp::spawn_with(backend.clone(), |s| s.redis_url = Some(redis)).await;
            let ready = up.client().get(up.url("/readyz")).send().await.unwrap();
            assert_eq!(ready.status(), StatusCode::OK);
            assert_eq!(ready.json::<Value>().await.unwrap()["redis"], "ok");
        }
        _ => eprintln!("AURALIX_TEST_REDIS_URL is not set: the live-Redis half is skipped"),
    }

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = TestApp::spawn_with(backend, |s| {
        s.redis_url = Some(format!("redis://127.0.0.1:{closed}"))
    })
    .await;
    let response = down.client().get(down.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        down.client()
            .get(down.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "alive, just not ready"
    );
}
