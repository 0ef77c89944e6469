//! Signup, login, logout, tokens, `/me`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, assert_problem, email, error_fields};

on_both_backends!(
    signup_creates_owner_workspace_and_session,
    login_logout_and_revocation,
    wrong_password_and_unknown_email_answer_identically,
    bearer_token_acts_in_the_workspace,
    signup_validation_names_fields,
    duplicate_email_conflicts,
    login_is_rate_limited_per_email,
);

async fn signup_creates_owner_workspace_and_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let client = app.client();
    let address = email("owner");
    let response = client
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": address.to_uppercase(), "password": PASSWORD, "name": "Olga", "workspace_name": "Shop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("auralix_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http public URL: no Secure flag"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["user"]["email"], address,
        "e-mail is normalised to lower case"
    );
    assert_eq!(body["workspace"]["name"], "Shop");
    assert!(body["user"].get("password_hash").is_none());

    let me: Value = client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["id"], body["user"]["id"]);
    assert_eq!(me["workspace"]["id"], body["workspace"]["id"]);
    assert_eq!(me["role"], "owner");
}

async fn login_logout_and_revocation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let address = email("login");
    app.signup(&address).await;

    let browser = app.client();
    let response = browser
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": address, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let session = cookie.split(';').next().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], address);
    assert_eq!(
        browser
            .get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let response = browser
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(
        response
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );

    // The old cookie value is dead on the server, not just forgotten by the browser.
    let replay = app
        .client()
        .get(app.url("/api/v1/me"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_problem(replay, StatusCode::UNAUTHORIZED).await;
}

async fn wrong_password_and_unknown_email_answer_identically(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let address = email("same");
    app.signup(&address).await;
    let attempt = |email: String, password: &'static str| {
        let client = app.client();
        let url = app.url("/api/v1/auth/login");
        async move {
            let response = client
                .post(url)
                .json(&json!({"email": email, "password": password}))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let has_cookie = response.headers().get("set-cookie").is_some();
            let body: Value = response.json().await.unwrap();
            (status, has_cookie, body)
        }
    };
    let wrong_password = attempt(address.clone(), "not the password").await;
    let unknown_email = attempt(email("nobody"), "not the password").await;
    assert_eq!(wrong_password.0, StatusCode::UNAUTHORIZED);
    assert!(!wrong_password.1);
    assert_eq!(wrong_password, unknown_email);
}

async fn bearer_token_acts_in_the_workspace(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let address = email("token");
    let (_, account) = app.signup(&address).await;

    let response = app
        .client()
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"email": address, "password": PASSWORD, "name": "CI script"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    assert!(token.len() >= 40);
    assert!(body["expires_at"].as_str().unwrap().ends_with('Z'));

    let me: Value = app
        .client()
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["workspace"]["id"], account["workspace"]["id"]);

    let bad = app
        .client()
        .get(app.url("/api/v1/me"))
        .bearer_auth("axt_forged")
        .send()
        .await
        .unwrap();
    assert_problem(bad, StatusCode::UNAUTHORIZED).await;
    let wrong = app
        .client()
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"email": address, "password": "wrong password!"}))
        .send()
        .await
        .unwrap();
    assert_problem(wrong, StatusCode::UNAUTHORIZED).await;
}

async fn signup_validation_names_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let response = app
        .client()
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": email("short"), "password": "short", "name": "Pat"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["code"], "validation_failed");
    assert_eq!(error_fields(&problem), ["password"]);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("10")
    );

    let response = app
        .client()
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": "not-an-email", "password": "x", "name": " "}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["email", "password", "name"]);

    let missing = app
        .client()
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": email("m")}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(missing, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("password"),
        "{problem}"
    );
}

async fn duplicate_email_conflicts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let address = email("dup");
    app.signup(&address).await;
    let response = app
        .client()
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": address.to_uppercase(), "password": PASSWORD, "name": "Again"}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(response, StatusCode::CONFLICT).await;
    assert_eq!(error_fields(&problem), ["email"]);
}

async fn login_is_rate_limited_per_email(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let address = email("brute");
    app.signup(&address).await;
    let mut limited = None;
    for _ in 0..12 {
        let response = app
            .client()
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": address, "password": "guess guess guess"}))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = limited.expect("login attempts are rate limited");
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_problem(response, StatusCode::TOO_MANY_REQUESTS).await;
}
