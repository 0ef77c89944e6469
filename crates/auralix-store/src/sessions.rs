//! Server-side browser sessions and bearer API tokens.
//!
//! Only SHA-256 digests of the secrets are stored, so a database leak yields no usable
//! credential. Deleting a row revokes it at once.

use time::OffsetDateTime;

use crate::{
    Result, Store,
    pool::{read, write},
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    pub id: String,
    pub workspace_id: String,
    pub user_id: String,
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
}

pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub workspace_id: &'a str,
    pub user_id: &'a str,
    pub csrf_token: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub now: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiTokenRecord {
    pub id: String,
    pub workspace_id: String,
    pub user_id: String,
    pub expires_at: OffsetDateTime,
}

pub struct Sessions<'s> {
    pub(crate) store: &'s Store,
}

impl Sessions<'_> {
    pub async fn create(&self, new: NewSession<'_>) -> Result<()> {
        write!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO sessions (id, workspace_id, user_id, csrf_token, ip, user_agent, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(new.token_hash)
            .bind(new.workspace_id)
            .bind(new.user_id)
            .bind(new.csrf_token)
            .bind(new.ip)
            .bind(new.user_agent)
            .bind(new.now)
            .bind(new.expires_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// The live session with this token digest, if any.
    pub async fn find(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<SessionRecord>> {
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, SessionRecord>(
                "SELECT id, workspace_id, user_id, csrf_token, expires_at FROM sessions WHERE id = $1 AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        }))
    }

    pub async fn delete(&self, token_hash: &str) -> Result<()> {
        write!(self.store, |pool| {
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(token_hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Removes expired sessions and tokens; returns how many rows went.
    pub async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64> {
        let (a, b) = write!(self.store, |pool| {
            let a = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
            let b = sqlx::query("DELETE FROM api_tokens WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
            (a, b)
        });
        Ok(a + b)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn create_api_token(
        &self,
        id: &str,
        token_hash: &str,
        workspace_id: &str,
        user_id: &str,
        name: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        write!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO api_tokens (id, workspace_id, user_id, token_hash, name, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(workspace_id)
            .bind(user_id)
            .bind(token_hash)
            .bind(name)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    pub async fn find_api_token(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ApiTokenRecord>> {
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, ApiTokenRecord>(
                "SELECT id, workspace_id, user_id, expires_at FROM api_tokens WHERE token_hash = $1 AND expires_at > $2",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?
        }))
    }
}
