use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::{
    Accounts, Agents, Conversations, Jobs, Knowledge, Leads, Providers, Result, Sessions,
    StoreError,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub(crate) enum Pools {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the pool that serves reads.
macro_rules! read {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pools {
            $crate::pool::Pools::Sqlite { read: $pool, .. } => $body,
            $crate::pool::Pools::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$pool` bound to the pool that serves writes.
macro_rules! write {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pools {
            $crate::pool::Pools::Sqlite { write: $pool, .. } => $body,
            $crate::pool::Pools::Postgres($pool) => $body,
        }
    };
}
pub(crate) use {read, write};

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) pools: Pools,
}

impl Store {
    /// Connects to `sqlite://path` (created if missing) or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(5))
                .connect(url)
                .await?;
            Ok(Self {
                pools: Pools::Postgres(pool),
            })
        } else {
            Err(StoreError::UnsupportedUrl)
        }
    }

    async fn connect_sqlite(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.create_if_missing(false).read_only(true))
            .await?;
        Ok(Self {
            pools: Pools::Sqlite { read, write },
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies this backend's migrations (idempotent).
    pub async fn migrate(&self) -> Result<()> {
        match &self.pools {
            Pools::Sqlite { write, .. } => sqlx::migrate!("./migrations/sqlite").run(write).await?,
            Pools::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// A round trip to the database, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        read!(self, |pool| sqlx::query("SELECT 1")
            .execute(pool)
            .await?
            .rows_affected());
        Ok(())
    }

    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    pub fn accounts(&self) -> Accounts<'_> {
        Accounts { store: self }
    }

    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { store: self }
    }

    pub fn agents(&self) -> Agents<'_> {
        Agents { store: self }
    }

    pub fn conversations(&self) -> Conversations<'_> {
        Conversations { store: self }
    }

    pub fn leads(&self) -> Leads<'_> {
        Leads { store: self }
    }

    pub fn knowledge(&self) -> Knowledge<'_> {
        Knowledge { store: self }
    }

    pub fn jobs(&self) -> Jobs<'_> {
        Jobs { store: self }
    }

    pub fn providers(&self) -> Providers<'_> {
        Providers { store: self }
    }
}
