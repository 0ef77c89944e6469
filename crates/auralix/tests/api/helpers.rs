//! `TestApp`: a real server on a random port with its own database.

use std::{net::SocketAddr, path::PathBuf};

use auralix::{Server, SettingsLayer};
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub const PASSWORD: &str = "correct horse battery";

#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres { admin_url: String },
}

impl Backend {
    /// PostgreSQL when `AURALIX_TEST_POSTGRES_URL` names a server we may create databases on.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("AURALIX_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres { admin_url: url }),
            _ => {
                eprintln!("AURALIX_TEST_POSTGRES_URL is not set: PostgreSQL variant skipped");
                None
            }
        }
    }
}

/// A PostgreSQL database created for one test and dropped after it.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> Self {
        use sqlx::Connection;
        let name = format!(
            "auralix_test_{}",
            auralix_core::new_id("db").to_lowercase().replace("db_", "")
        );
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .expect("connect to test PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        Self {
            admin_url: admin_url.to_owned(),
            name,
        }
    }

    fn url(&self) -> String {
        let mut url = url::Url::parse(&self.admin_url).expect("valid AURALIX_TEST_POSTGRES_URL");
        url.set_path(&self.name);
        url.to_string()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime; use a separate thread and runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub data_dir: PathBuf,
    database_url: String,
    layer: SettingsLayer,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    _tempdir: std::sync::Arc<tempfile::TempDir>,
    _pg: Option<std::sync::Arc<PgDatabase>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`TestApp::spawn`] with settings adjusted (e.g. a short LLM timeout).
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut SettingsLayer)) -> TestApp {
        let tempdir = std::sync::Arc::new(tempfile::tempdir().expect("tempdir"));
        let data_dir = tempdir.path().to_path_buf();
        let (database_url, pg) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}", data_dir.join("auralix.db").display()),
                None,
            ),
            Backend::Postgres { admin_url } => {
                let db = PgDatabase::create(&admin_url).await;
                (db.url(), Some(std::sync::Arc::new(db)))
            }
        };
        let mut layer = SettingsLayer::default();
        adjust(&mut layer);
        Self::start(data_dir, database_url, tempdir, pg, None, layer).await
    }

    async fn start(
        data_dir: PathBuf,
        database_url: String,
        tempdir: std::sync::Arc<tempfile::TempDir>,
        pg: Option<std::sync::Arc<PgDatabase>>,
        addr: Option<SocketAddr>,
        layer: SettingsLayer,
    ) -> TestApp {
        let listener = TcpListener::bind(addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap()))
            .await
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let settings = SettingsLayer {
            data_dir: Some(data_dir.clone()),
            database_url: Some(database_url.clone()),
            public_url: Some(base.clone()),
            ..layer.clone()
        }
        .resolve()
        .expect("settings");
        auralix::telemetry::init_with_default(auralix::config::LogFormat::Human, "warn");
        let server = Server::build(settings, listener)
            .await
            .expect("server starts");
        let (tx, rx) = oneshot::channel();
        let handle = tokio::spawn(async move {
            server
                .run(async {
                    let _ = rx.await;
                })
                .await
                .expect("server runs");
        });
        TestApp {
            addr,
            base,
            data_dir,
            database_url,
            layer,
            shutdown: Some(tx),
            handle: Some(handle),
            _tempdir: tempdir,
            _pg: pg,
        }
    }

    /// Stops the server, runs `while_down` with the database URL (to leave the state a
    /// crash would), and starts a new server on the same data and address.
    pub async fn restart_after<F, Fut>(mut self, while_down: F) -> TestApp
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        self.stop().await;
        while_down(self.database_url.clone()).await;
        self.restart().await
    }

    /// Stops the server (graceful) and starts a new one on the same data and address.
    pub async fn restart(mut self) -> TestApp {
        self.stop().await;
        Self::start(
            self.data_dir.clone(),
            self.database_url.clone(),
            self._tempdir.clone(),
            self._pg.clone(),
            Some(self.addr),
            self.layer.clone(),
        )
        .await
    }

    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.expect("server task");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client with its own cookie jar (one browser).
    pub fn client(&self) -> Client {
        Client::builder().cookie_store(true).build().unwrap()
    }

    /// Signs up a fresh user; returns the logged-in client and the signup answer.
    pub async fn signup(&self, email: &str) -> (Client, Value) {
        let client = self.client();
        let response = client
            .post(self.url("/api/v1/auth/signup"))
            .json(&json!({"email": email, "password": PASSWORD, "name": "Test User"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "signup");
        let body = response.json().await.unwrap();
        (client, body)
    }

    /// A bearer token for an existing user.
    pub async fn token(&self, email: &str) -> String {
        let response = self
            .client()
            .post(self.url("/api/v1/auth/token"))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn create_agent(&self, client: &Client, body: Value) -> Value {
        let response = client
            .post(self.url("/api/v1/agents"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "create agent");
        response.json().await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Asserts a problem+json answer with this status; returns the problem.
pub async fn assert_problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["status"], status.as_u16());
    assert!(
        problem["title"].is_string() && problem["type"].is_string() && problem["code"].is_string()
    );
    problem
}

/// The `field` names of a 422's `errors[]`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A unique e-mail for this test.
pub fn email(tag: &str) -> String {
    format!(
        "{tag}.{}@example.com",
        auralix_core::new_id("u").to_lowercase().replace("u_", "")
    )
}
