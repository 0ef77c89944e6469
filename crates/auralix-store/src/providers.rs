//! AI provider credentials (the key only ever sealed), usage metering and conversation
//! events.

use auralix_core::new_id;
use time::OffsetDateTime;

use crate::{
    Result, Store, StoreError,
    pool::{read, write},
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProviderRecord {
    pub id: String,
    pub workspace_id: String,
    pub kind: String,
    pub name: String,
    pub base_url: Option<String>,
    pub api_key_sealed: Option<String>,
    pub api_key_hint: Option<String>,
    pub default_model: Option<String>,
    pub embedding_model: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: &str = "id, workspace_id, kind, name, base_url, api_key_sealed, api_key_hint, default_model, \
                       embedding_model, created_at, updated_at";

pub struct Providers<'s> {
    pub(crate) store: &'s Store,
}

impl Providers<'_> {
    /// A fresh id, so the caller can bind the sealed key to it before inserting.
    pub fn new_id() -> String {
        new_id("prv")
    }

    pub async fn save(&self, p: &ProviderRecord) -> Result<()> {
        write!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO providers (id, workspace_id, kind, name, base_url, api_key_sealed, api_key_hint, default_model, \
                 embedding_model, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, base_url = excluded.base_url, \
                 api_key_sealed = excluded.api_key_sealed, api_key_hint = excluded.api_key_hint, \
                 default_model = excluded.default_model, embedding_model = excluded.embedding_model, updated_at = excluded.updated_at",
            )
            .bind(&p.id)
            .bind(&p.workspace_id)
            .bind(&p.kind)
            .bind(&p.name)
            .bind(&p.base_url)
            .bind(&p.api_key_sealed)
            .bind(&p.api_key_hint)
            .bind(&p.default_model)
            .bind(&p.embedding_model)
            .bind(p.created_at)
            .bind(p.updated_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    pub async fn get(&self, workspace_id: &str, id: &str) -> Result<ProviderRecord> {
        let sql = format!("SELECT {COLUMNS} FROM providers WHERE workspace_id = $1 AND id = $2");
        read!(self.store, |pool| {
            sqlx::query_as::<_, ProviderRecord>(&sql)
                .bind(workspace_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(StoreError::NotFound)
    }

    pub async fn list(&self, workspace_id: &str) -> Result<Vec<ProviderRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM providers WHERE workspace_id = $1 ORDER BY id LIMIT 200"
        );
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, ProviderRecord>(&sql)
                .bind(workspace_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The workspace's embedding provider: the first with an embedding model set.
    pub async fn embedding_provider(&self, workspace_id: &str) -> Result<Option<ProviderRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM providers WHERE workspace_id = $1 AND kind = 'openai' AND embedding_model IS NOT NULL ORDER BY id LIMIT 1"
        );
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, ProviderRecord>(&sql)
                .bind(workspace_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    pub async fn delete(&self, workspace_id: &str, id: &str) -> Result<()> {
        let done = write!(self.store, |pool| {
            sqlx::query("DELETE FROM providers WHERE workspace_id = $1 AND id = $2")
                .bind(workspace_id)
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if done == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Adds one answered message and its tokens to the agent's day (A7).
    pub async fn record_usage(
        &self,
        workspace_id: &str,
        agent_id: &str,
        day: &str,
        input_tokens: i64,
        output_tokens: i64,
    ) -> Result<()> {
        write!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO usage_daily (workspace_id, agent_id, day, messages, input_tokens, output_tokens) \
                 VALUES ($1, $2, $3, 1, $4, $5) ON CONFLICT (workspace_id, agent_id, day) DO UPDATE SET \
                 messages = usage_daily.messages + 1, input_tokens = usage_daily.input_tokens + excluded.input_tokens, \
                 output_tokens = usage_daily.output_tokens + excluded.output_tokens",
            )
            .bind(workspace_id)
            .bind(agent_id)
            .bind(day)
            .bind(input_tokens)
            .bind(output_tokens)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// `(agent_id, day, messages, input_tokens, output_tokens)` rows, newest day first.
    pub async fn usage(&self, workspace_id: &str) -> Result<Vec<(String, String, i64, i64, i64)>> {
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, (String, String, i64, i64, i64)>(
                "SELECT agent_id, day, messages, input_tokens, output_tokens FROM usage_daily WHERE workspace_id = $1 \
                 ORDER BY day DESC, agent_id LIMIT 1000",
            )
            .bind(workspace_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Records something that happened to a conversation (e.g. a handoff request).
    pub async fn record_event(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        kind: &str,
        data: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        write!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO conversation_events (id, workspace_id, conversation_id, kind, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new_id("cev"))
            .bind(workspace_id)
            .bind(conversation_id)
            .bind(kind)
            .bind(data)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// `(kind, data)` of a conversation's events, oldest first.
    pub async fn events(
        &self,
        workspace_id: &str,
        conversation_id: &str,
    ) -> Result<Vec<(String, String)>> {
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, (String, String)>(
                "SELECT kind, data FROM conversation_events WHERE workspace_id = $1 AND conversation_id = $2 ORDER BY id",
            )
            .bind(workspace_id)
            .bind(conversation_id)
            .fetch_all(pool)
            .await?
        }))
    }
}
