//! `cargo bench -p auralix --bench visitor`: the visitor path's numbers.
//!
//! Starts the real release binary (a separate process, so its memory can be read from
//! /proc) on SQLite, and on PostgreSQL when `AURALIX_TEST_POSTGRES_URL` is set, and
//! reports: widget file sizes; message round trips per second with p50/p99 latency at
//! concurrency 1, 16 and 64 (built-in answerer, JSON replies); server memory at idle and
//! with 5,000 open event streams.

use std::{
    io::Write,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::Client;
use serde_json::{Value, json};

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn start(database_url: &str, data_dir: &std::path::Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_auralix"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--database-url",
                database_url,
            ])
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start auralix");
        let base = format!("http://127.0.0.1:{port}");
        let client = Client::new();
        for _ in 0..100 {
            if client.get(format!("{base}/healthz")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child, base }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

struct Visitor {
    url: String,
    token: String,
}

async fn setup(client: &Client, base: &str) -> String {
    let owner = Client::builder().cookie_store(true).build().unwrap();
    owner
        .post(format!("{base}/api/v1/auth/signup"))
        .json(&json!({"email": "bench@example.com", "password": "benchmark password", "name": "Bench"}))
        .send()
        .await
        .unwrap();
    let agent: Value = owner
        .post(format!("{base}/api/v1/agents"))
        .json(&json!({"name": "Bench", "instructions": "Delivery across Moscow takes two hours. We are open from 9 to 21 every day."}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = client;
    agent["public_id"].as_str().unwrap().to_owned()
}

async fn visitor(client: &Client, base: &str, public_id: &str) -> Visitor {
    let widget = format!("{base}/api/v1/widget/{public_id}");
    let session: Value = client
        .post(format!("{widget}/sessions"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["visitor_token"].as_str().unwrap().to_owned();
    let conversation: Value = client
        .post(format!("{widget}/conversations"))
        .bearer_auth(&token)
        .json(&json!({"page_url": "https://shop.example/"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Visitor {
        url: format!(
            "{widget}/conversations/{}",
            conversation["id"].as_str().unwrap()
        ),
        token,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn round_trips(
    client: &Client,
    base: &str,
    public_id: &str,
    concurrency: usize,
    per_task: usize,
) {
    let mut visitors = Vec::new();
    for _ in 0..concurrency {
        visitors.push(visitor(client, base, public_id).await);
    }
    let started = Instant::now();
    let tasks: Vec<_> = visitors
        .into_iter()
        .map(|v| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_task);
                for i in 0..per_task {
                    let text = if i % 2 == 0 {
                        "How long does delivery take?"
                    } else {
                        "Do you repair bicycles?"
                    };
                    let t = Instant::now();
                    let response = client
                        .post(format!("{}/messages", v.url))
                        .bearer_auth(&v.token)
                        .header("accept", "application/json")
                        .json(&json!({"text": text}))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 201);
                    response.bytes().await.unwrap();
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    all.sort();
    println!(
        "  concurrency {concurrency:>2}: {:>6.0} round trips/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} messages)",
        all.len() as f64 / elapsed.as_secs_f64(),
        percentile(&all, 0.50).as_secs_f64() * 1e3,
        percentile(&all, 0.99).as_secs_f64() * 1e3,
        all.len()
    );
}

async fn event_streams(server: &Server, client: &Client, public_id: &str, count: usize) {
    println!("  memory at idle: {} MiB", server.rss_kib() / 1024);
    let mut visitors = Vec::with_capacity(count);
    for _ in 0..count {
        visitors.push(visitor(client, &server.base, public_id).await);
    }
    let streams = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let mut open = Vec::with_capacity(count);
    for v in &visitors {
        let response = streams
            .get(format!("{}/events", v.url))
            .bearer_auth(&v.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        open.push(response);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "  memory with {} open event streams: {} MiB",
        open.len(),
        server.rss_kib() / 1024
    );
    drop(open);
}

async fn run_backend(name: &str, database_url: &str, data_dir: &std::path::Path) {
    println!("{name}:");
    let server = Server::start(database_url, data_dir).await;
    let client = Client::builder()
        .pool_max_idle_per_host(128)
        .build()
        .unwrap();
    let public_id = setup(&client, &server.base).await;
    for (concurrency, per_task) in [(1, 400), (16, 100), (64, 50)] {
        round_trips(&client, &server.base, &public_id, concurrency, per_task).await;
    }
    event_streams(&server, &client, &public_id, 5_000).await;
    std::io::stdout().flush().unwrap();
}

fn sizes() {
    let assets = auralix::widget_assets::WidgetAssets::build();
    println!("widget files (bytes):");
    for (name, asset) in [
        ("loader widget.js", &assets.loader),
        ("chat UI ui.js", &assets.ui),
    ] {
        println!(
            "  {name:<17} raw {:>6}  gzip {:>6}  brotli {:>6}",
            asset.raw.len(),
            asset.gzip.len(),
            asset.brotli.len()
        );
    }
}

#[tokio::main]
async fn main() {
    sizes();
    let dir = tempfile::tempdir().unwrap();
    run_backend(
        "SQLite",
        &format!("sqlite://{}/bench.db", dir.path().display()),
        dir.path(),
    )
    .await;
    if let Some(admin) = std::env::var("AURALIX_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        use sqlx::Connection;
        let name = format!("auralix_bench_{}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        let pg_dir = tempfile::tempdir().unwrap();
        run_backend("PostgreSQL", url.as_str(), pg_dir.path()).await;
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
}
