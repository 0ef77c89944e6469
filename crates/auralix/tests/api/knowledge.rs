//! The knowledge base over HTTP: uploads of every supported type, background processing,
//! search, deletion, hostile files, and answers grounded in documents.

use std::time::Duration;

use reqwest::{Client, StatusCode, multipart};
use serde_json::{Value, json};

use crate::{
    fixtures,
    helpers::{Backend, TestApp, assert_problem, email, error_fields},
    widget::Visitor,
};

on_both_backends!(
    every_supported_type_is_indexed_and_searchable,
    hostile_and_unsupported_files_fail_cleanly,
    text_and_qa_documents_reindex_and_isolation,
    the_widget_answers_from_documents_with_sources,
    retrieval_quality_on_the_bundled_corpus,
    a_document_left_processing_by_a_crash_is_picked_up_after_restart,
);

pub async fn upload_file(
    app: &TestApp,
    client: &Client,
    agent_id: &str,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(bytes).file_name(name.to_owned()),
    );
    client
        .post(app.url(&format!("/api/v1/agents/{agent_id}/documents")))
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// Polls until the document leaves `processing`; returns it.
pub async fn settled(app: &TestApp, client: &Client, agent_id: &str, doc_id: &str) -> Value {
    for _ in 0..200 {
        let doc: Value = client
            .get(app.url(&format!("/api/v1/agents/{agent_id}/documents/{doc_id}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if doc["status"] != "processing" {
            return doc;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("document {doc_id} is still processing");
}

async fn accepted(response: reqwest::Response) -> Value {
    assert_eq!(
        response.status(),
        StatusCode::ACCEPTED,
        "upload is accepted for processing"
    );
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["status"], "processing");
    assert_eq!(doc["chunks"], 0);
    doc
}

async fn search(app: &TestApp, client: &Client, agent_id: &str, q: &str) -> Vec<Value> {
    let url = app.url(&format!(
        "/api/v1/agents/{agent_id}/search?q={}&limit=5",
        url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    ));
    let body: Value = client.get(url).send().await.unwrap().json().await.unwrap();
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn setup(app: &TestApp) -> (Client, String) {
    let (client, _) = app.signup(&email("kb")).await;
    let agent = app
        .create_agent(&client, json!({"name": "Knowledge"}))
        .await;
    (client, agent["id"].as_str().unwrap().to_owned())
}

async fn every_supported_type_is_indexed_and_searchable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, agent) = setup(&app).await;
    let files: Vec<(&str, Vec<u8>, &str)> = vec![
        ("terms.pdf", fixtures::pdf(&[&["Delivery Terms", "Parcels to Norway travel by ferry within six days."], &["Returns", "Unused kettles can be returned within fourteen days."]]), "ferry Norway"),
        ("handbook.docx", fixtures::docx("Warranty", &["Every espresso machine carries a thirty month warranty."]), "espresso warranty"),
        ("page.html", b"<!doctype html><html><head><title>Care</title><script>var x=1;</script></head><body><h1>Care</h1><p>Wash the linen tablecloth at forty degrees.</p></body></html>".to_vec(), "linen tablecloth"),
        ("faq.md", "# Payment\n\nWe accept payment by SBP transfer and by card.\n\n## Оплата\n\nОплата картой «Мир» принимается во всех магазинах.".as_bytes().to_vec(), "картой мир"),
        ("notes.txt", b"Our showroom in Kazan has a playground for children.".to_vec(), "children playground"),
        ("pairs.csv", "question,answer\nDo you ship to Minsk?,Yes - Minsk deliveries take three days.\n".as_bytes().to_vec(), "Minsk"),
    ];
    let mut docs = Vec::new();
    for (name, bytes, query) in files {
        let doc = accepted(upload_file(&app, &client, &agent, name, bytes).await).await;
        docs.push((doc["id"].as_str().unwrap().to_owned(), name, query));
    }
    for (id, name, query) in &docs {
        let doc = settled(&app, &client, &agent, id).await;
        assert_eq!(doc["status"], "ready", "{name}: {doc}");
        assert!(doc["chunks"].as_i64().unwrap() >= 1, "{name}");
        assert_eq!(doc["file_name"], *name);
        let hits = search(&app, &client, &agent, query).await;
        assert_eq!(
            hits.first().map(|h| h["document_id"].clone()),
            Some(json!(id)),
            "{name}: `{query}` finds it first: {hits:?}"
        );
        assert!(hits[0]["score"].as_f64().unwrap() > 0.0);
    }
    let pdf_hit = &search(&app, &client, &agent, "kettles returned").await[0];
    assert_eq!(pdf_hit["page"], 2, "PDF chunks keep their page number");
    let listed: Value = client
        .get(app.url(&format!("/api/v1/agents/{agent}/documents")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 6);

    // Russian stemming: another word form still finds it.
    assert!(
        !search(&app, &client, &agent, "оплатить картами")
            .await
            .is_empty()
    );

    let (pdf_id, _, _) = &docs[0];
    let deleted = client
        .delete(app.url(&format!("/api/v1/agents/{agent}/documents/{pdf_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(
        search(&app, &client, &agent, "ferry Norway")
            .await
            .is_empty(),
        "a deleted document leaves retrieval at once"
    );
    assert_problem(
        client
            .get(app.url(&format!("/api/v1/agents/{agent}/documents/{pdf_id}")))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
}

async fn hostile_and_unsupported_files_fail_cleanly(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, agent) = setup(&app).await;

    let garbage = accepted(
        upload_file(
            &app,
            &client,
            &agent,
            "broken.pdf",
            b"%PDF-1.7\n\x00\x01garbage without objects".to_vec(),
        )
        .await,
    )
    .await;
    let bomb = accepted(
        upload_file(
            &app,
            &client,
            &agent,
            "bomb.docx",
            fixtures::docx_zip_bomb(),
        )
        .await,
    )
    .await;
    let garbage = settled(&app, &client, &agent, garbage["id"].as_str().unwrap()).await;
    assert_eq!(garbage["status"], "failed");
    assert!(
        garbage["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("pdf"),
        "{garbage}"
    );
    let bomb = settled(&app, &client, &agent, bomb["id"].as_str().unwrap()).await;
    assert_eq!(bomb["status"], "failed");
    assert!(bomb["error"].as_str().unwrap().contains("DOCX"), "{bomb}");

    let empty = upload_file(&app, &client, &agent, "empty.txt", Vec::new()).await;
    assert_eq!(
        error_fields(&assert_problem(empty, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["file"]
    );
    let png = upload_file(
        &app,
        &client,
        &agent,
        "photo.txt",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec(),
    )
    .await;
    assert_problem(png, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let oversized = upload_file(
        &app,
        &client,
        &agent,
        "huge.txt",
        vec![b'a'; 51 * 1024 * 1024],
    )
    .await;
    assert_problem(oversized, StatusCode::PAYLOAD_TOO_LARGE).await;
    let plain = client
        .post(app.url(&format!("/api/v1/agents/{agent}/documents")))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_problem(plain, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    // The file name never becomes a path.
    let sneaky = accepted(
        upload_file(
            &app,
            &client,
            &agent,
            "../../../etc/passwd.txt",
            b"Harmless text about tea.".to_vec(),
        )
        .await,
    )
    .await;
    assert_eq!(sneaky["file_name"], "passwd.txt");
    assert_eq!(
        settled(&app, &client, &agent, sneaky["id"].as_str().unwrap()).await["status"],
        "ready"
    );
    assert_eq!(
        client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "the server is unharmed"
    );
}

async fn text_and_qa_documents_reindex_and_isolation(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, agent) = setup(&app).await;
    let docs_url = app.url(&format!("/api/v1/agents/{agent}/documents"));
    let text = accepted(client.post(&docs_url).json(&json!({"title": "Opening hours", "text": "The Samara store opens at ten on Sundays."})).send().await.unwrap()).await;
    let qa = accepted(client.post(&docs_url).json(&json!({"question": "Can I pay in instalments?", "answer": "Yes, for orders above 20,000 roubles."})).send().await.unwrap()).await;
    assert_eq!(text["title"], "Opening hours");
    for doc in [&text, &qa] {
        assert_eq!(
            settled(&app, &client, &agent, doc["id"].as_str().unwrap()).await["status"],
            "ready"
        );
    }
    let hit = &search(&app, &client, &agent, "instalments").await[0];
    assert_eq!(hit["document_id"], qa["id"]);
    assert!(hit["text"].as_str().unwrap().contains("20,000"));
    let missing = client
        .post(&docs_url)
        .json(&json!({"title": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_fields(&assert_problem(missing, StatusCode::UNPROCESSABLE_ENTITY).await),
        ["text"]
    );

    let reindexed = client
        .post(app.url(&format!(
            "/api/v1/agents/{agent}/documents/{}/reindex",
            text["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(reindexed.status(), StatusCode::ACCEPTED);
    assert_eq!(
        settled(&app, &client, &agent, text["id"].as_str().unwrap()).await["status"],
        "ready"
    );
    assert_eq!(
        search(&app, &client, &agent, "Samara Sundays").await[0]["document_id"],
        text["id"]
    );

    let (stranger, _) = app.signup(&email("kb-stranger")).await;
    let own = app.create_agent(&stranger, json!({"name": "Mine"})).await;
    assert_problem(
        stranger.get(&docs_url).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        stranger
            .get(app.url(&format!("/api/v1/agents/{agent}/search?q=Samara")))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let doc_url = app.url(&format!(
        "/api/v1/agents/{agent}/documents/{}",
        text["id"].as_str().unwrap()
    ));
    assert_problem(
        stranger.delete(&doc_url).send().await.unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    let theirs = search(
        &app,
        &stranger,
        own["id"].as_str().unwrap(),
        "Samara Sundays",
    )
    .await;
    assert!(theirs.is_empty(), "retrieval is scoped to the agent");
}

async fn the_widget_answers_from_documents_with_sources(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, agent_id) = setup(&app).await;
    let agent: Value = client
        .get(app.url(&format!("/api/v1/agents/{agent_id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let doc = accepted(
        upload_file(&app, &client, &agent_id, "delivery.md", "# Delivery\n\n## Kazakhstan\n\nDelivery to Almaty and Astana in Kazakhstan takes five working days. Orders above 5000 roubles ship free.\n\n## Belarus\n\nParcels to Minsk take three days.".as_bytes().to_vec()).await,
    )
    .await;
    assert_eq!(
        settled(&app, &client, &agent_id, doc["id"].as_str().unwrap()).await["status"],
        "ready"
    );

    let visitor = Visitor::start(&app, agent["public_id"].as_str().unwrap(), None).await;
    let conversation = visitor.conversation().await;
    let answer = visitor
        .say(&conversation, "How long does delivery to Kazakhstan take?")
        .await;
    let reply = &answer["reply"];
    assert!(
        reply["text"]
            .as_str()
            .unwrap()
            .contains("five working days"),
        "{reply}"
    );
    assert!(
        !reply["text"].as_str().unwrap().contains("Minsk"),
        "sentences that answer, not a dump of the chunk"
    );
    assert_eq!(reply["sources"][0]["document_id"], doc["id"]);
    assert_eq!(reply["sources"][0]["title"], "delivery.md");

    let unrelated = visitor
        .say(&conversation, "Can you recommend a good dentist?")
        .await;
    let text = unrelated["reply"]["text"].as_str().unwrap();
    assert!(
        text.contains("don't know") && text.contains("manager"),
        "{text}"
    );
    assert_eq!(unrelated["reply"]["sources"], json!([]));
}

async fn retrieval_quality_on_the_bundled_corpus(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, agent) = setup(&app).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/retrieval");
    let mut ids = std::collections::HashMap::new();
    let mut names: Vec<String> = std::fs::read_dir(dir.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        let bytes = std::fs::read(dir.join("docs").join(name)).unwrap();
        let doc = accepted(upload_file(&app, &client, &agent, name, bytes).await).await;
        ids.insert(doc["id"].as_str().unwrap().to_owned(), name.clone());
    }
    for id in ids.keys() {
        assert_eq!(settled(&app, &client, &agent, id).await["status"], "ready");
    }
    let questions = std::fs::read_to_string(dir.join("questions.tsv")).unwrap();
    let (mut at1, mut at3, mut reciprocal, mut total) = (0.0, 0.0, 0.0, 0.0);
    let mut by_language = std::collections::BTreeMap::<String, (f64, f64)>::new();
    for line in questions.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.split('\t');
        let (Some(file), Some(language), Some(question)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let hits = search(&app, &client, &agent, question).await;
        let rank = hits.iter().position(|h| {
            ids.get(h["document_id"].as_str().unwrap())
                .map(String::as_str)
                == Some(file)
        });
        total += 1.0;
        let entry = by_language.entry(language.to_owned()).or_default();
        entry.1 += 1.0;
        if let Some(r) = rank {
            reciprocal += 1.0 / (r as f64 + 1.0);
            if r == 0 {
                at1 += 1.0;
            }
            if r < 3 {
                at3 += 1.0;
                entry.0 += 1.0;
            }
        }
    }
    println!(
        "retrieval on {total} questions: recall@1 {:.3}, recall@3 {:.3}, MRR {:.3}",
        at1 / total,
        at3 / total,
        reciprocal / total
    );
    for (language, (hit, n)) in &by_language {
        println!("  {language}: recall@3 {:.3} ({n} questions)", hit / n);
    }
    assert!(total >= 40.0);
    // Keyword retrieval with stemming over paraphrased questions: 0.9 (measured 1.0) leaves room for the
    // corpus's deliberate hard paraphrases while catching a broken index or stemmer.
    assert!(
        at3 / total >= 0.9,
        "recall@3 {:.3} is below the floor",
        at3 / total
    );
}

/// Runs one statement against the test database, whichever backend it is.
async fn execute(database_url: &str, sql: &str, binds: &[&str], at: time::OffsetDateTime) {
    use sqlx::Connection;
    macro_rules! run {
        ($conn:expr) => {{
            let mut query = sqlx::query(sql);
            for b in binds {
                query = query.bind(*b);
            }
            query.bind(at).execute(&mut $conn).await.unwrap();
        }};
    }
    if database_url.starts_with("sqlite") {
        let mut conn = sqlx::SqliteConnection::connect(database_url).await.unwrap();
        run!(conn)
    } else {
        let mut conn = sqlx::PgConnection::connect(database_url).await.unwrap();
        run!(conn)
    }
}

async fn a_document_left_processing_by_a_crash_is_picked_up_after_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (client, agent) = setup(&app).await;
    let me: Value = client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let workspace = me["workspace"]["id"].as_str().unwrap().to_owned();
    let doc = accepted(
        upload_file(
            &app,
            &client,
            &agent,
            "hours.txt",
            b"The Tula store opens at nine.".to_vec(),
        )
        .await,
    )
    .await;
    let id = doc["id"].as_str().unwrap().to_owned();
    assert_eq!(settled(&app, &client, &agent, &id).await["status"], "ready");

    // What a crash mid-ingest leaves: the document processing, no chunks, and its job
    // claimed by a worker whose lease has since run out.
    let app = app
        .restart_after(|url| {
            let (id, workspace) = (id.clone(), workspace.clone());
            async move {
                let now = time::OffsetDateTime::now_utc();
                execute(&url, "UPDATE documents SET status = 'processing', chunks = 0 WHERE id = $1 AND updated_at < $2", &[&id], now).await;
                execute(&url, "DELETE FROM chunks WHERE document_id = $1 AND $2 IS NOT NULL", &[&id], now).await;
                let payload = format!("{{\"document_id\":\"{id}\"}}");
                execute(
                    &url,
                    "INSERT INTO jobs (id, workspace_id, kind, payload, dedup_key, run_at, locked_until, attempts, last_error, created_at) \
                     VALUES ('job_crashed', $1, 'ingest', $2, NULL, $3, $3, 1, NULL, $3)",
                    &[&workspace, &payload],
                    now - time::Duration::minutes(10),
                )
                .await;
            }
        })
        .await;
    // Its chunks were gone; finding the passage again proves the job ran after the restart.
    let doc = settled(&app, &client, &agent, &id).await;
    assert_eq!(
        doc["status"], "ready",
        "the restarted server picked the work up again"
    );
    assert_eq!(
        search(&app, &client, &agent, "Tula").await[0]["document_id"],
        json!(id)
    );
}
