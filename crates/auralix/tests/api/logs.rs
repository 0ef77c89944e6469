//! The real binary's own log output, at debug level, never carries provider keys,
//! passwords, visitor messages or contact details.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use reqwest::Client;
use serde_json::{Value, json};

use crate::{
    fake_llm::{Behaviour, FakeLlm},
    widget::parse_sse,
};

const KEY: &str = "sk-live-NEVER-LOG-ME-778899";
const PASSWORD: &str = "a password nobody logs";
const VISITOR_EMAIL: &str = "hidden.visitor@example.com";
const VISITOR_TEXT: &str = "my diagnosis is confidential";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_carry_secrets_or_personal_data() {
    let fake = FakeLlm::start(Behaviour::Answer {
        pieces: vec!["Hello ".into(), "there.".into()],
        classification: "{}".into(),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_auralix"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "debug")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start auralix");
    let base = format!("http://127.0.0.1:{port}");
    let owner = Client::builder().cookie_store(true).build().unwrap();
    for _ in 0..100 {
        if owner.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    owner
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({"email": "owner@example.com", "password": PASSWORD, "name": "Owner"}))
        .send()
        .await
        .unwrap();
    owner
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "owner@example.com", "password": "wrong password!!"}))
        .send()
        .await
        .unwrap();
    let provider: Value = owner
        .post(format!("{base}/api/v1/providers"))
        .json(&json!({"kind": "openai", "name": "Fake", "base_url": format!("{}/v1", fake.base), "api_key": KEY, "default_model": "m"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let agent: Value = owner
        .post(format!("{base}/api/v1/agents"))
        .json(&json!({"name": "Logged", "instructions": "Be brief.", "ai": {"mode": "llm", "provider_id": provider["id"]}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let widget = format!(
        "{base}/api/v1/widget/{}",
        agent["public_id"].as_str().unwrap()
    );
    let visitor = Client::new();
    let session: Value = visitor
        .post(format!("{widget}/sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["visitor_token"].as_str().unwrap();
    let conversation: Value = visitor
        .post(format!("{widget}/conversations"))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let messages = format!(
        "{widget}/conversations/{}/messages",
        conversation["id"].as_str().unwrap()
    );
    let text = visitor
        .post(&messages)
        .bearer_auth(token)
        .header("accept", "text/event-stream")
        .json(&json!({"text": format!("{VISITOR_TEXT}, write to {VISITOR_EMAIL}")}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(parse_sse(&text).last().unwrap().0, "done");
    fake.set(Behaviour::Fail500);
    visitor
        .post(&messages)
        .bearer_auth(token)
        .json(&json!({"text": VISITOR_TEXT}))
        .send()
        .await
        .unwrap();
    owner
        .post(format!(
            "{base}/api/v1/providers/{}/test",
            provider["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    let contact = format!(
        "{widget}/conversations/{}/contact",
        conversation["id"].as_str().unwrap()
    );
    visitor
        .post(contact)
        .bearer_auth(token)
        .json(&json!({"email": VISITOR_EMAIL, "consent": true, "consent_version": session["config"]["consent_version"]}))
        .send()
        .await
        .unwrap();

    let _ = server.kill();
    let _ = server.wait();
    let logs = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        logs.contains("lead captured"),
        "the log was written at debug level"
    );
    for secret in [KEY, PASSWORD, VISITOR_EMAIL, VISITOR_TEXT, token] {
        assert!(!logs.contains(secret), "`{secret}` appears in the logs");
    }
}
