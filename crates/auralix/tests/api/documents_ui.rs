//! The knowledge-base page of the dashboard: the document list with live statuses, the
//! text and Q&A forms, the search box, isolation between workspaces, and an upload through
//! the real file input in Chromium.

use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use thirtyfour::prelude::*;

use crate::{
    browser::Browser,
    helpers::{Backend, PASSWORD, TestApp, email},
    knowledge::{settled, upload_file},
};

on_both_backends!(
    the_page_lists_documents_with_their_status,
    text_and_qa_forms_add_documents,
    row_buttons_reindex_and_delete,
    search_on_the_page_shows_passages,
    another_workspace_gets_not_found,
);

/// The `_csrf` value embedded in a page.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("page has a CSRF field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A signed-in owner with one agent; returns the client, the e-mail and the agent id.
async fn owner_with_agent(app: &TestApp, tag: &str) -> (Client, String, String) {
    let address = email(tag);
    let (client, _) = app.signup(&address).await;
    let agent = app.create_agent(&client, json!({"name": "Helpdesk"})).await;
    (client, address, agent["id"].as_str().unwrap().to_owned())
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

/// The page's HTML once no document on it is processing any more.
async fn page_when_settled(app: &TestApp, client: &Client, agent: &str) -> String {
    for _ in 0..200 {
        let (status, html) = page(app, client, &format!("/app/agents/{agent}/documents")).await;
        assert_eq!(status, StatusCode::OK);
        if !has_processing_row(&html) {
            return html;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("documents are still processing");
}

/// Whether a real row (not the blank pattern row) is still processing.
fn has_processing_row(html: &str) -> bool {
    let rows = html.split("<template").next().unwrap_or(html);
    rows.split("<tr data-doc-id=\"")
        .skip(1)
        .any(|row| row.split('>').next().unwrap_or("").contains("processing"))
}

async fn documents(app: &TestApp, client: &Client, agent: &str) -> Vec<Value> {
    let list: Value = client
        .get(app.url(&format!("/api/v1/agents/{agent}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["items"].as_array().cloned().unwrap_or_default()
}

async fn the_page_lists_documents_with_their_status(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _, agent) = owner_with_agent(&app, "kbpage").await;

    let (_, agent_page) = page(&app, &client, &format!("/app/agents/{agent}")).await;
    assert!(
        agent_page.contains(&format!("href=\"/app/agents/{agent}/documents\""))
            && agent_page.contains("Knowledge base"),
        "the agent page links to its knowledge base"
    );
    let (status, empty) = page(&app, &client, &format!("/app/agents/{agent}/documents")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(empty.contains("No documents yet"));
    assert!(
        empty.contains("type=\"file\"") && empty.contains("multiple"),
        "a file input for several files"
    );
    assert!(empty.contains(&format!(
        "data-upload-url=\"/api/v1/agents/{agent}/documents\""
    )));
    assert!(
        empty.contains("Largest file: 50 MB."),
        "the upload limit is told"
    );

    let uploaded = upload_file(
        &app,
        &client,
        &agent,
        "shipping.txt",
        b"Parcels to Kazan travel by train within three days.".to_vec(),
    )
    .await;
    assert_eq!(uploaded.status(), StatusCode::ACCEPTED);
    let doc: Value = uploaded.json().await.unwrap();
    let doc_id = doc["id"].as_str().unwrap();
    let broken = upload_file(
        &app,
        &client,
        &agent,
        "broken.pdf",
        b"%PDF-1.7\n\x00\x01garbage without objects".to_vec(),
    )
    .await;
    assert_eq!(broken.status(), StatusCode::ACCEPTED);
    let broken: Value = broken.json().await.unwrap();

    let (_, html) = page(&app, &client, &format!("/app/agents/{agent}/documents")).await;
    assert!(html.contains(&format!("<tr data-doc-id=\"{doc_id}\"")));
    assert!(html.contains("shipping.txt"));
    assert!(!html.contains("No documents yet") || html.contains("data-documents-empty hidden"));

    settled(&app, &client, &agent, doc_id).await;
    let failed = settled(&app, &client, &agent, broken["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed");
    let html = page_when_settled(&app, &client, &agent).await;
    let row = html
        .split(&format!("<tr data-doc-id=\"{doc_id}\""))
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(row.contains("data-status=\"ready\""), "{row}");
    assert!(
        row.contains("<span class=\"badge s-ready\">Ready</span>"),
        "{row}"
    );
    assert!(
        row.contains("class=\"num doc-chunks\">1<"),
        "one passage: {row}"
    );
    assert!(row.contains(">Text<"), "type: {row}");
    assert!(row.contains(">51 B<"), "size: {row}");
    assert!(row.contains("/reindex\"") && row.contains("/delete\""));
    let failed_row = html
        .split(&format!(
            "<tr data-doc-id=\"{}\"",
            failed["id"].as_str().unwrap()
        ))
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(failed_row.contains("s-failed"), "{failed_row}");
    let reason = failed["error"].as_str().unwrap();
    assert!(!reason.is_empty());
    let escaped = reason
        .replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('\'', "&#39;")
        .replace('"', "&#34;");
    assert!(
        failed_row.contains(&escaped),
        "the reason is shown: {failed_row}"
    );

    // Russian.
    let russian = client
        .get(app.url(&format!("/app/agents/{agent}/documents")))
        .header("accept-language", "ru")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(russian.contains("База знаний") && russian.contains(">Готов<"));
    assert!(russian.contains("Перетащите файлы сюда"));
}

async fn text_and_qa_forms_add_documents(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _, agent) = owner_with_agent(&app, "kbforms").await;
    let path = format!("/app/agents/{agent}/documents");
    let (_, html) = page(&app, &client, &path).await;
    let csrf = csrf_of(&html);

    let no_token = client
        .post(app.url(&format!("{path}/text")))
        .form(&[("title", "Sneaky"), ("text", "Nothing to see")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    let wrong_token = client
        .post(app.url(&format!("{path}/qa")))
        .form(&[("_csrf", "guess"), ("question", "Q?"), ("answer", "A.")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status(), StatusCode::FORBIDDEN);
    assert!(documents(&app, &client, &agent).await.is_empty());

    let blank = client
        .post(app.url(&format!("{path}/text")))
        .header("accept-language", "en")
        .form(&[("_csrf", csrf.as_str()), ("title", "Kept"), ("text", "  ")])
        .send()
        .await
        .unwrap();
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = blank.text().await.unwrap();
    assert!(html.contains("Enter the text.") && html.contains("value=\"Kept\""));
    let no_answer = client
        .post(app.url(&format!("{path}/qa")))
        .header("accept-language", "ru")
        .form(&[
            ("_csrf", csrf.as_str()),
            ("question", "Когда?"),
            ("answer", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(no_answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_answer.text().await.unwrap().contains("Введите ответ."));
    let long_title = "x".repeat(201);
    let too_long = client
        .post(app.url(&format!("{path}/text")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("title", long_title.as_str()),
            ("text", "Body"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_long.text().await.unwrap().contains("200 characters"));

    let added = client
        .post(app.url(&format!("{path}/text")))
        .header("accept-language", "en")
        .form(&[
            ("_csrf", csrf.as_str()),
            ("title", "Opening hours"),
            ("text", "The showroom is open from nine to six on weekdays."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::OK);
    assert_eq!(added.url().path(), path);
    assert_eq!(added.url().query(), Some("done=added"));
    let html = added.text().await.unwrap();
    assert!(html.contains("Opening hours") && html.contains("Added."));

    let qa = client
        .post(app.url(&format!("{path}/qa")))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("question", "Do you deliver to Tver?"),
            ("answer", "Yes, Tver deliveries take two days."),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(qa.status(), StatusCode::OK);
    assert_eq!(qa.url().path(), path);

    let docs = documents(&app, &client, &agent).await;
    assert_eq!(docs.len(), 2);
    for doc in &docs {
        let doc = settled(&app, &client, &agent, doc["id"].as_str().unwrap()).await;
        assert_eq!(doc["status"], "ready", "{doc}");
    }
    let titles: Vec<&str> = docs.iter().map(|d| d["title"].as_str().unwrap()).collect();
    assert!(titles.contains(&"Opening hours"));
    assert!(
        titles.contains(&"Do you deliver to Tver?"),
        "a Q&A pair is titled by its question: {titles:?}"
    );
    let html = page_when_settled(&app, &client, &agent).await;
    assert!(html.contains("Do you deliver to Tver?"));
    assert!(html.contains(">CSV<"), "the Q&A pair is stored as CSV");
}

async fn row_buttons_reindex_and_delete(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _, agent) = owner_with_agent(&app, "kbrows").await;
    let path = format!("/app/agents/{agent}/documents");
    let uploaded = upload_file(
        &app,
        &client,
        &agent,
        "returns.md",
        b"# Returns\n\nUnused kettles can be returned within fourteen days.".to_vec(),
    )
    .await;
    let doc: Value = uploaded.json().await.unwrap();
    let doc_id = doc["id"].as_str().unwrap().to_owned();
    settled(&app, &client, &agent, &doc_id).await;
    let html = page_when_settled(&app, &client, &agent).await;
    assert!(html.contains(">Markdown<"));
    let csrf = csrf_of(&html);

    let no_token = client
        .post(app.url(&format!("{path}/{doc_id}/delete")))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);

    let reindexed = client
        .post(app.url(&format!("{path}/{doc_id}/reindex")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(reindexed.status(), StatusCode::OK);
    assert_eq!(reindexed.url().path(), path);
    assert!(
        reindexed
            .text()
            .await
            .unwrap()
            .contains("Re-indexing started.")
    );
    let again = settled(&app, &client, &agent, &doc_id).await;
    assert_eq!(again["status"], "ready");

    let deleted = client
        .post(app.url(&format!("{path}/{doc_id}/delete")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(deleted.url().path(), path);
    let html = deleted.text().await.unwrap();
    assert!(html.contains("The document was deleted.") && html.contains("No documents yet"));
    assert!(documents(&app, &client, &agent).await.is_empty());
    let gone = client
        .post(app.url(&format!("{path}/{doc_id}/delete")))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

async fn search_on_the_page_shows_passages(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, _, agent) = owner_with_agent(&app, "kbsearch").await;
    let uploaded = upload_file(
        &app,
        &client,
        &agent,
        "guide.md",
        "# Delivery\n\n## Norway\n\nParcels to Norway travel by ferry within six days."
            .as_bytes()
            .to_vec(),
    )
    .await;
    let doc: Value = uploaded.json().await.unwrap();
    settled(&app, &client, &agent, doc["id"].as_str().unwrap()).await;

    let (status, html) = page(
        &app,
        &client,
        &format!("/app/agents/{agent}/documents?q=ferry+to+Norway"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("value=\"ferry to Norway\""),
        "the query stays"
    );
    let results = html
        .split("<ol class=\"passages\">")
        .nth(1)
        .expect("passages");
    assert!(results.contains("Parcels to Norway travel by ferry within six days."));
    assert!(results.contains("guide.md"), "the document's title");
    assert!(results.contains("Delivery › Norway"), "the heading path");
    assert!(
        results.contains("passage-score\">Score 0.") || results.contains("passage-score\">Score 1"),
        "a score: {results}"
    );

    let (_, nothing) = page(
        &app,
        &client,
        &format!("/app/agents/{agent}/documents?q=zeppelin"),
    )
    .await;
    assert!(nothing.contains("no-passages") && !nothing.contains("<ol class=\"passages\">"));
    let long = "a".repeat(1_001);
    let (status, html) = page(
        &app,
        &client,
        &format!("/app/agents/{agent}/documents?q={long}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The question is too long"));
}

async fn another_workspace_gets_not_found(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (owner, _, agent) = owner_with_agent(&app, "kbowner").await;
    let uploaded = upload_file(
        &app,
        &owner,
        &agent,
        "a.txt",
        b"Secret price list.".to_vec(),
    )
    .await;
    let doc: Value = uploaded.json().await.unwrap();
    let doc_id = doc["id"].as_str().unwrap();

    let (stranger, _) = app.signup(&email("kbstranger")).await;
    let (_, own_page) = page(&app, &stranger, "/app").await;
    let csrf = csrf_of(&own_page);
    let path = format!("/app/agents/{agent}/documents");
    let (status, html) = page(&app, &stranger, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("Not found.") && !html.contains("a.txt"));
    let (status, _) = page(&app, &stranger, &format!("{path}?q=secret")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (action, form) in [
        ("text", vec![("title", "x"), ("text", "planted")]),
        ("qa", vec![("question", "q"), ("answer", "a")]),
        (&format!("{doc_id}/delete") as &str, vec![]),
        (&format!("{doc_id}/reindex") as &str, vec![]),
    ] {
        let mut form = form;
        form.push(("_csrf", csrf.as_str()));
        let response = stranger
            .post(app.url(&format!("{path}/{action}")))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{action}");
    }
    let docs = documents(&app, &owner, &agent).await;
    assert_eq!(docs.len(), 1, "nothing planted, nothing deleted");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_through_the_file_input_and_search_in_chromium() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (client, address, agent) = owner_with_agent(&app, "kbchrome").await;
    drop(client);
    let Some(browser) = Browser::start(1280, 1000).await else {
        return;
    };
    let d = &browser.driver;
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("delivery-notes.txt");
    std::fs::write(
        &file,
        "Parcels to Kazan travel by train within three days.\n\nOrders above 5000 roubles ship free.",
    )
    .unwrap();

    d.goto(app.url("/login?lang=en")).await.unwrap();
    d.find(By::Css("input[name=email]"))
        .await
        .unwrap()
        .send_keys(&address)
        .await
        .unwrap();
    d.find(By::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    d.find(By::Css("button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.query(By::LinkText("Helpdesk"))
        .first()
        .await
        .expect("agents page after login")
        .click()
        .await
        .unwrap();
    d.query(By::LinkText("Knowledge base"))
        .first()
        .await
        .expect("the agent page links to its knowledge base")
        .click()
        .await
        .unwrap();
    let input = d
        .query(By::Css("input[type=file]"))
        .first()
        .await
        .expect("the knowledge-base page");
    assert!(
        d.current_url()
            .await
            .unwrap()
            .path()
            .ends_with(&format!("/app/agents/{agent}/documents"))
    );
    input.send_keys(file.display().to_string()).await.unwrap();
    wait_for(
        d,
        "the upload's progress entry",
        "document.querySelector('.uploads .upload progress')",
    )
    .await;
    wait_for(
        d,
        "the upload to finish",
        "document.querySelector('.uploads .upload.done progress').value === 100",
    )
    .await;
    let name: String = d
        .execute(
            "return document.querySelector('.uploads .upload-name').textContent;",
            vec![],
        )
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert_eq!(name, "delivery-notes.txt");
    wait_for(
        d,
        "the upload entry to say the document is ready",
        "document.querySelector('.uploads .upload-state').textContent === 'Ready'",
    )
    .await;
    wait_for(
        d,
        "the new row",
        "document.querySelector('tbody tr[data-doc-id^=\"doc\"] .doc-title').textContent === 'delivery-notes.txt'",
    )
    .await;
    wait_for(
        d,
        "the row to become ready by polling",
        "document.querySelector('tbody tr[data-doc-id^=\"doc\"]').getAttribute('data-status') === 'ready'",
    )
    .await;
    let row: Value = d
        .execute(
            "const r = document.querySelector('tbody tr[data-doc-id^=\"doc\"]');
             return {badge: r.querySelector('.badge').textContent, chunks: r.querySelector('.doc-chunks').textContent,
                     kind: r.querySelector('.doc-kind').textContent, empty: document.querySelector('[data-documents-empty]').hidden,
                     action: r.querySelector('form[data-doc-action=delete]').getAttribute('action')};",
            vec![],
        )
        .await
        .unwrap()
        .json()
        .clone();
    assert_eq!(row["badge"], "Ready");
    assert_eq!(row["chunks"], "1");
    assert_eq!(row["kind"], "Text");
    assert_eq!(row["empty"], true);
    assert!(
        row["action"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/app/agents/{agent}/documents/doc")),
        "{row}"
    );
    browser.screenshot("documents.png").await;

    let search = d.find(By::Css("input[name=q]")).await.unwrap();
    search.send_keys("train to Kazan").await.unwrap();
    d.find(By::Css(".search-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let passage = d
        .query(By::Css(".passage .passage-text"))
        .first()
        .await
        .expect("a passage for the search");
    assert!(
        passage
            .text()
            .await
            .unwrap()
            .contains("Parcels to Kazan travel by train within three days."),
    );
    let title = d.find(By::Css(".passage .passage-title")).await.unwrap();
    assert_eq!(title.text().await.unwrap(), "delivery-notes.txt");
    browser.screenshot("documents-search.png").await;

    // Phone-sized: no sideways scrolling.
    d.set_window_rect(0, 0, 390, 844).await.unwrap();
    d.goto(app.url(&format!("/app/agents/{agent}/documents")))
        .await
        .unwrap();
    d.query(By::Css("tbody tr[data-doc-id^=doc]"))
        .first()
        .await
        .unwrap()
        .scroll_into_view()
        .await
        .unwrap();
    let overflow: bool = d
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth + 1;",
            vec![],
        )
        .await
        .unwrap()
        .convert()
        .unwrap();
    assert!(!overflow, "no horizontal scroll on a phone");
    browser.screenshot("documents-phone.png").await;
    browser.quit().await;
}
