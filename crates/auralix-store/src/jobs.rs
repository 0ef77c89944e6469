//! The durable job queue: background work that must survive restarts.
//!
//! A job is claimed by setting a lease (`locked_until`); a worker that dies simply lets
//! the lease run out and the job is claimed again. PostgreSQL claims with
//! `FOR UPDATE SKIP LOCKED` so many instances share the queue; SQLite has one writer.

use auralix_core::new_id;
use time::{Duration, OffsetDateTime};

use crate::{
    Result, Store,
    pool::{Pools, write},
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRecord {
    pub id: String,
    pub workspace_id: String,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
}

pub struct Jobs<'s> {
    pub(crate) store: &'s Store,
}

impl Jobs<'_> {
    /// Queues a job; a job with the same dedup key already queued is kept instead.
    pub async fn enqueue(
        &self,
        workspace_id: &str,
        kind: &str,
        payload: &str,
        dedup_key: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<()> {
        write!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO jobs (id, workspace_id, kind, payload, dedup_key, run_at, locked_until, attempts, last_error, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, 0, NULL, $6) ON CONFLICT (dedup_key) DO UPDATE SET run_at = excluded.run_at, \
                 locked_until = NULL, attempts = 0",
            )
            .bind(new_id("job"))
            .bind(workspace_id)
            .bind(kind)
            .bind(payload)
            .bind(dedup_key)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Claims the next due job for `lease`, if any.
    pub async fn claim(&self, now: OffsetDateTime, lease: Duration) -> Result<Option<JobRecord>> {
        let until = now + lease;
        let skip_locked = match self.store.pools {
            Pools::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Pools::Sqlite { .. } => "",
        };
        let sql = format!(
            "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 WHERE id = (SELECT id FROM jobs \
             WHERE run_at <= $2 AND (locked_until IS NULL OR locked_until < $2) ORDER BY run_at LIMIT 1{skip_locked}) \
             RETURNING id, workspace_id, kind, payload, attempts"
        );
        Ok(write!(self.store, |pool| {
            sqlx::query_as::<_, JobRecord>(&sql)
                .bind(until)
                .bind(now)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Gives a claimed job back to the queue now (a graceful shutdown mid-job).
    pub async fn release(&self, id: &str) -> Result<()> {
        write!(self.store, |pool| {
            sqlx::query("UPDATE jobs SET locked_until = NULL WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    pub async fn complete(&self, id: &str) -> Result<()> {
        write!(self.store, |pool| {
            sqlx::query("DELETE FROM jobs WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Schedules another attempt at `run_at`, keeping the error for operators.
    pub async fn retry(&self, id: &str, error: &str, run_at: OffsetDateTime) -> Result<()> {
        write!(self.store, |pool| {
            sqlx::query(
                "UPDATE jobs SET run_at = $1, locked_until = NULL, last_error = $2 WHERE id = $3",
            )
            .bind(run_at)
            .bind(error)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }
}
