//! The dashboard over plain HTTP: forms, CSRF tokens, languages.

use reqwest::{Client, StatusCode};

use crate::helpers::{Backend, PASSWORD, TestApp, email};

on_both_backends!(
    dashboard_signup_agent_and_snippet,
    dashboard_forms_need_their_token,
    dashboard_speaks_russian
);

/// The `_csrf` value embedded in a page.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn signed_up_browser(app: &TestApp) -> Client {
    let browser = app.client();
    let response = browser
        .post(app.url("/signup"))
        .form(&[
            ("name", "Dana"),
            ("email", &email("dash")),
            ("password", PASSWORD),
            ("workspace_name", "Dana's shop"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.url().path(),
        "/app",
        "signup lands on the agents page"
    );
    browser
}

async fn dashboard_signup_agent_and_snippet(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anonymous = app.client().get(app.url("/app")).send().await.unwrap();
    assert_eq!(
        anonymous.url().path(),
        "/login",
        "signed-out visitors are sent to the login page"
    );

    let browser = signed_up_browser(&app).await;
    let page = browser
        .get(app.url("/app/agents/new"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);

    let invalid = browser
        .post(app.url("/app/agents"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", ""),
            ("allowed_origins", "not an origin"),
            ("color", "#4f46e5"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = invalid.text().await.unwrap();
    assert!(
        html.contains("field-error"),
        "errors are shown next to the fields"
    );

    let created = browser
        .post(app.url("/app/agents"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "Front desk"),
            ("greeting", "Hello!"),
            (
                "allowed_origins",
                "https://shop.example\nhttps://www.shop.example",
            ),
            ("field_email", "on"),
            ("required_email", "on"),
            ("color", "#22aa66"),
            ("position", "bottom-left"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    assert!(created.url().path().starts_with("/app/agents/agt_"));
    let html = created.text().await.unwrap();
    assert!(html.contains("Front desk"));
    assert!(
        html.contains(&format!(
            "&#60;script src=&#34;{}/widget.js&#34; data-agent=&#34;ax_",
            app.base
        )),
        "snippet shown, escaped: {html}"
    );
    assert!(html.contains("data-copy=\"#embed-snippet\""), "copy button");

    let list = browser.get(app.url("/app")).send().await.unwrap();
    let csp = list.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(
        list.text()
            .await
            .unwrap()
            .contains("https://www.shop.example")
    );
}

async fn dashboard_forms_need_their_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = signed_up_browser(&app).await;
    let no_token = browser
        .post(app.url("/app/agents"))
        .form(&[("name", "Sneaky")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    let wrong_token = browser
        .post(app.url("/app/agents"))
        .form(&[("_csrf", "guess"), ("name", "Sneaky")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status(), StatusCode::FORBIDDEN);
    let logout_without_token = browser
        .post(app.url("/logout"))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(logout_without_token.status(), StatusCode::FORBIDDEN);

    let page = browser
        .get(app.url("/app"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Sneaky"), "nothing was created");
    let csrf = csrf_of(&page);
    // Even with the right token, a post from another site is refused.
    let cross = browser
        .post(app.url("/app/agents"))
        .header("origin", "https://evil.example")
        .form(&[("_csrf", csrf.as_str()), ("name", "Sneaky")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    let logout = browser
        .post(app.url("/logout"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.url().path(), "/login");
    let after = browser.get(app.url("/app")).send().await.unwrap();
    assert_eq!(after.url().path(), "/login", "the session is gone");
}

async fn dashboard_speaks_russian(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let browser = app.client();
    let by_header = browser
        .get(app.url("/login"))
        .header("accept-language", "ru-RU,ru;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    let html = by_header.text().await.unwrap();
    assert!(html.contains("<html lang=\"ru\">") && html.contains("Войти"));

    let switched = browser
        .get(app.url("/login?lang=en"))
        .header("accept-language", "ru")
        .send()
        .await
        .unwrap();
    assert_eq!(switched.url().path(), "/login");
    let html = switched.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"en\">") && html.contains("Sign in"),
        "the switcher's cookie wins over the header"
    );

    let bad = browser
        .post(app.url("/login"))
        .form(&[("email", "x@y.zz"), ("password", "nope nope nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    assert!(bad.text().await.unwrap().contains("not correct"));
}
