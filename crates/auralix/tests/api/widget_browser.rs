//! The widget on a hostile third-party page, in real headless Chromium: it loads from the
//! server, opens, streams an answer, takes contact details with consent, and the lead
//! reaches the dashboard — while the host page's own styles stay untouched and nothing
//! is thrown into its console.

use std::time::Duration;

use axum::{Router, response::Html, routing::get};
use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::{
    browser::Browser,
    helpers::{Backend, TestApp, email},
};

/// A page that does its best to break embedded widgets, served from its own origin.
async fn hostile_site(widget_base: &str, public_id: &str) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let page = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hostile shop</title>
<script>
  window.__errors = [];
  var original = console.error;
  console.error = function () {{ window.__errors.push(Array.prototype.join.call(arguments, " ")); original.apply(console, arguments); }};
  window.addEventListener("error", function (e) {{ window.__errors.push("uncaught: " + e.message); }});
  window.addEventListener("unhandledrejection", function (e) {{ window.__errors.push("rejection: " + e.reason); }});
</script>
<style>
  * {{ all: unset; }}
  head, script, style, title {{ display: none; }}
  html {{ font-size: 40px; }}
  div, p, button, textarea, input {{ font-size: 3rem !important; line-height: 4 !important; color: rgb(0, 128, 0) !important; }}
  #host-text {{ display: block; color: rgb(200, 0, 0) !important; font-size: 22px !important; }}
</style></head>
<body><p id="host-text">Welcome to the shop</p>
<script src="{widget_base}/widget.js" data-agent="{public_id}" async></script>
</body></html>"#
    );
    let app = Router::new().route("/", get(move || async move { Html(page) }));
    let handle = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (origin, handle)
}

async fn shadow_js<T: serde::de::DeserializeOwned>(driver: &WebDriver, body: &str) -> T {
    let script = format!(
        "const host = document.getElementById('auralix-widget-host'); const root = host && host.shadowRoot; {body}"
    );
    driver
        .execute(&script, vec![])
        .await
        .unwrap()
        .convert()
        .unwrap()
}

async fn wait_for(driver: &WebDriver, what: &str, condition: &str) {
    for _ in 0..100 {
        let ok: bool = shadow_js(
            driver,
            &format!("try {{ return !!({condition}); }} catch (e) {{ return false; }}"),
        )
        .await;
        if ok {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn host_text_style(driver: &WebDriver) -> Value {
    driver
        .execute(
            "const s = getComputedStyle(document.getElementById('host-text')); return {color: s.color, size: s.fontSize, display: s.display};",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_on_a_hostile_page_chats_and_captures_a_lead() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (owner, _) = app.signup(&email("widget")).await;
    let listener_probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    drop(listener_probe);
    let Some(browser) = Browser::start(1280, 900).await else {
        return;
    };
    let d = &browser.driver;

    // The agent only answers the hostile site's origin, which we learn once it listens.
    let agent = app
        .create_agent(
            &owner,
            json!({"name": "Shop helper", "greeting": "Hi! Ask me anything.",
        "instructions": "Delivery across Moscow takes two hours. We are open from 9 to 21.",
        "lead_capture": {"fields": ["name", "email"], "required": ["email"]}}),
        )
        .await;
    let public_id = agent["public_id"].as_str().unwrap();
    let (site, _site) = hostile_site(&app.base, public_id).await;
    let patched = owner
        .patch(app.url(&format!("/api/v1/agents/{}", agent["id"].as_str().unwrap())))
        .json(&json!({"allowed_origins": [site]}))
        .send()
        .await
        .unwrap();
    assert!(patched.status().is_success());

    d.goto(&site).await.unwrap();
    let before = host_text_style(d).await;
    wait_for(
        d,
        "the launcher",
        "root.querySelector('button.ax-launcher')",
    )
    .await;
    let stored: i64 = d
        .execute(
            "return localStorage.length + document.cookie.length;",
            vec![],
        )
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert_eq!(
        stored, 0,
        "nothing is stored before the visitor opens the chat"
    );

    shadow_js::<Value>(
        d,
        "root.querySelector('button.ax-launcher').click(); return null;",
    )
    .await;
    wait_for(d, "the chat to be ready", "host.dataset.state === 'ready'").await;
    let host = d.find(By::Id("auralix-widget-host")).await.unwrap();
    let root = host.get_shadow_root().await.unwrap();
    let input = root.find(By::Css("textarea.ax-input")).await.unwrap();
    input
        .send_keys("How long does delivery take?")
        .await
        .unwrap();
    root.find(By::Css("button.ax-send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        d,
        "the streamed answer",
        "root.querySelector('.ax-assistant[data-done=\"1\"]')",
    )
    .await;
    let answer: String = shadow_js(d, "const all = root.querySelectorAll('.ax-assistant[data-done=\"1\"]'); return all[all.length - 1].textContent;").await;
    assert!(answer.contains("two hours"), "{answer}");
    browser.screenshot("widget-desktop-answer.png").await;

    shadow_js::<Value>(
        d,
        "root.querySelector('button.ax-contact-open').click(); return null;",
    )
    .await;
    wait_for(
        d,
        "the contact form",
        "root.querySelector('form.ax-contact input[name=email]')",
    )
    .await;
    let form = root.find(By::Css("form.ax-contact")).await.unwrap();
    form.find(By::Css("input[name=name]"))
        .await
        .unwrap()
        .send_keys("Маша")
        .await
        .unwrap();
    form.find(By::Css("input[name=email]"))
        .await
        .unwrap()
        .send_keys("masha@example.com")
        .await
        .unwrap();
    form.find(By::Css("input[name=consent]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.screenshot("widget-desktop-contact-form.png").await;
    form.find(By::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        d,
        "the thank-you note",
        "root.querySelector('.ax-contact-done')",
    )
    .await;

    let leads: Value = owner
        .get(app.url("/api/v1/leads"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(leads["items"][0]["email"], "masha@example.com");
    assert_eq!(leads["items"][0]["name"], "Маша");
    let dashboard = owner
        .get(app.url("/app/leads"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        dashboard.contains("masha@example.com"),
        "the lead is in the dashboard's leads table"
    );

    let after = host_text_style(d).await;
    assert_eq!(before, after, "the host page's own styles are untouched");
    assert_eq!(after["color"], "rgb(200, 0, 0)");
    let errors: Vec<String> = d
        .execute("return window.__errors;", vec![])
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert!(errors.is_empty(), "no console errors: {errors:?}");

    // Phone-sized viewport: the panel takes the whole screen.
    d.set_window_rect(0, 0, 390, 844).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let width: f64 = shadow_js(
        d,
        "return root.querySelector('.ax-panel').getBoundingClientRect().width;",
    )
    .await;
    let viewport: f64 = d
        .execute("return window.innerWidth;", vec![])
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert!(
        width >= viewport - 1.0,
        "full-screen panel on a phone: {width} of {viewport}"
    );
    browser.screenshot("widget-phone.png").await;
    browser.quit().await;
}
