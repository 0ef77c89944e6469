//! The framework's own rejections are problem+json too.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp, assert_problem, email};

on_both_backends!(
    malformed_json_wrong_type_and_oversized_bodies,
    unknown_routes_and_methods
);

async fn malformed_json_wrong_type_and_oversized_bodies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _) = app.signup(&email("errors")).await;
    let url = app.url("/api/v1/agents");

    let malformed = client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(malformed, StatusCode::BAD_REQUEST).await;
    assert_eq!(problem["code"], "malformed_request");

    let trailing = client
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"name\": \"a\"} x")
        .send()
        .await
        .unwrap();
    assert_problem(trailing, StatusCode::BAD_REQUEST).await;

    let form = client
        .post(&url)
        .header("content-type", "text/plain")
        .body("{\"name\": \"a\"}")
        .send()
        .await
        .unwrap();
    assert_problem(form, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let none = client
        .post(&url)
        .body("{\"name\": \"a\"}")
        .send()
        .await
        .unwrap();
    assert_problem(none, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    let huge = json!({"name": "big", "instructions": "x".repeat(2 * 1024 * 1024)});
    let oversized = client.post(&url).json(&huge).send().await.unwrap();
    assert_problem(oversized, StatusCode::PAYLOAD_TOO_LARGE).await;

    let wrong_shape = client
        .post(&url)
        .json(&json!({"name": ["not", "a", "string"]}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(wrong_shape, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["errors"][0]["field"], "name");

    // Still healthy after all of that.
    assert_eq!(
        client.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
}

async fn unknown_routes_and_methods(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .client()
        .get(app.url("/api/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("x-request-id"));
    assert_problem(response, StatusCode::NOT_FOUND).await;
    let response = app
        .client()
        .put(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
}
