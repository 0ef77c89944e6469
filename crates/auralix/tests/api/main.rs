//! Black-box tests: each test starts a real Auralix server in-process on port 0 with a
//! fresh database and drives it over HTTP. Test bodies take a [`helpers::Backend`] and
//! run once on SQLite and once on PostgreSQL (when `AURALIX_TEST_POSTGRES_URL` is set).

/// Declares `sqlite::name` and `postgres::name` tests for each `async fn name(Backend)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = crate::helpers::Backend::postgres() {
                        super::$name(backend).await
                    }
                }
            )*
        }
    };
}

mod accounts;
mod agents;
mod ai;
mod ai_ui;
mod browser;
mod dashboard;
mod documents_ui;
mod errors;
mod fake_llm;
mod fixtures;
mod helpers;
mod inbox;
mod knowledge;
mod logs;
mod operations;
mod widget;
mod widget_browser;
