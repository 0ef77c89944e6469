//! Conversations and their messages.

use auralix_core::new_id;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::{
    Result, Store, StoreError,
    pool::{read, write},
};

/// Where an answer came from, shown under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub document_id: String,
    pub title: String,
    /// Where in the document: its heading path and/or page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRecord {
    pub id: String,
    pub workspace_id: String,
    pub agent_id: String,
    pub visitor_id: String,
    pub status: String,
    pub intent: Option<String>,
    pub language: Option<String>,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub unanswered: i64,
    pub created_at: OffsetDateTime,
    pub last_message_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRecord {
    pub id: String,
    pub conversation_id: String,
    pub role: String,
    pub text: String,
    pub sources: Json<Vec<Source>>,
    pub created_at: OffsetDateTime,
}

pub struct NewConversation<'a> {
    pub workspace_id: &'a str,
    pub agent_id: &'a str,
    pub visitor_id: &'a str,
    pub page_url: Option<&'a str>,
    pub referrer: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub now: OffsetDateTime,
}

/// Filters of the management list.
#[derive(Debug, Clone, Default)]
pub struct ConversationFilter {
    pub agent_id: Option<String>,
    pub status: Option<String>,
}

const COLUMNS: &str = "id, workspace_id, agent_id, visitor_id, status, intent, language, page_url, referrer, \
                       ip, user_agent, unanswered, created_at, last_message_at";

pub struct Conversations<'s> {
    pub(crate) store: &'s Store,
}

impl Conversations<'_> {
    pub async fn create(&self, new: NewConversation<'_>) -> Result<ConversationRecord> {
        let record = ConversationRecord {
            id: new_id("cnv"),
            workspace_id: new.workspace_id.to_owned(),
            agent_id: new.agent_id.to_owned(),
            visitor_id: new.visitor_id.to_owned(),
            status: "open".to_owned(),
            intent: None,
            language: None,
            page_url: new.page_url.map(str::to_owned),
            referrer: new.referrer.map(str::to_owned),
            ip: new.ip.map(str::to_owned),
            user_agent: new.user_agent.map(str::to_owned),
            unanswered: 0,
            created_at: new.now,
            last_message_at: new.now,
        };
        write!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO conversations (id, workspace_id, agent_id, visitor_id, status, page_url, referrer, ip, \
                 user_agent, unanswered, created_at, last_message_at) \
                 VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, 0, $9, $9)",
            )
            .bind(&record.id)
            .bind(&record.workspace_id)
            .bind(&record.agent_id)
            .bind(&record.visitor_id)
            .bind(&record.page_url)
            .bind(&record.referrer)
            .bind(&record.ip)
            .bind(&record.user_agent)
            .bind(record.created_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(record)
    }

    /// A visitor's own conversation with one agent; anyone else's is `NotFound`.
    pub async fn for_visitor(
        &self,
        agent_id: &str,
        visitor_id: &str,
        id: &str,
    ) -> Result<ConversationRecord> {
        let sql = format!(
            "SELECT {COLUMNS} FROM conversations WHERE id = $1 AND agent_id = $2 AND visitor_id = $3"
        );
        read!(self.store, |pool| {
            sqlx::query_as::<_, ConversationRecord>(&sql)
                .bind(id)
                .bind(agent_id)
                .bind(visitor_id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(StoreError::NotFound)
    }

    pub async fn get(&self, workspace_id: &str, id: &str) -> Result<ConversationRecord> {
        let sql =
            format!("SELECT {COLUMNS} FROM conversations WHERE workspace_id = $1 AND id = $2");
        read!(self.store, |pool| {
            sqlx::query_as::<_, ConversationRecord>(&sql)
                .bind(workspace_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(StoreError::NotFound)
    }

    /// One page, newest first, before the cursor id.
    pub async fn list(
        &self,
        workspace_id: &str,
        filter: &ConversationFilter,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ConversationRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM conversations WHERE workspace_id = $1 AND ($2 = '' OR id < $2) \
             AND ($3 = '' OR agent_id = $3) AND ($4 = '' OR status = $4) ORDER BY id DESC LIMIT $5"
        );
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, ConversationRecord>(&sql)
                .bind(workspace_id)
                .bind(before.unwrap_or(""))
                .bind(filter.agent_id.as_deref().unwrap_or(""))
                .bind(filter.status.as_deref().unwrap_or(""))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        }))
    }

    /// Records the latest classification, status and unanswered streak.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_state(
        &self,
        workspace_id: &str,
        id: &str,
        status: &str,
        intent: Option<&str>,
        language: Option<&str>,
        unanswered: i64,
        now: OffsetDateTime,
    ) -> Result<()> {
        let done = write!(self.store, |pool| {
            sqlx::query(
                "UPDATE conversations SET status = $1, intent = COALESCE($2, intent), language = COALESCE($3, language), \
                 unanswered = $4, last_message_at = $5 WHERE workspace_id = $6 AND id = $7",
            )
            .bind(status)
            .bind(intent)
            .bind(language)
            .bind(unanswered)
            .bind(now)
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

    pub async fn delete(&self, workspace_id: &str, id: &str) -> Result<()> {
        let done = write!(self.store, |pool| {
            sqlx::query("DELETE FROM conversations WHERE workspace_id = $1 AND id = $2")
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

    pub async fn add_message(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        role: &str,
        text: &str,
        sources: &[Source],
        now: OffsetDateTime,
    ) -> Result<MessageRecord> {
        let record = MessageRecord {
            id: new_id("msg"),
            conversation_id: conversation_id.to_owned(),
            role: role.to_owned(),
            text: text.to_owned(),
            sources: Json(sources.to_vec()),
            created_at: now,
        };
        write!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO messages (id, workspace_id, conversation_id, role, text, sources, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&record.id)
            .bind(workspace_id)
            .bind(&record.conversation_id)
            .bind(&record.role)
            .bind(&record.text)
            .bind(Json(sources))
            .bind(record.created_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(record)
    }

    /// Messages in order, after the given message id (ids sort by time).
    pub async fn messages(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<MessageRecord>> {
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, MessageRecord>(
                "SELECT id, conversation_id, role, text, sources, created_at FROM messages \
                 WHERE workspace_id = $1 AND conversation_id = $2 AND id > $3 ORDER BY id LIMIT $4",
            )
            .bind(workspace_id)
            .bind(conversation_id)
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        }))
    }

    /// The visitor's own words so far, newest last, for classification.
    pub async fn visitor_texts(
        &self,
        workspace_id: &str,
        conversation_id: &str,
        limit: u32,
    ) -> Result<Vec<String>> {
        let mut texts: Vec<String> = read!(self.store, |pool| {
            sqlx::query_scalar::<_, String>(
                "SELECT text FROM messages WHERE workspace_id = $1 AND conversation_id = $2 AND role = 'visitor' \
                 ORDER BY id DESC LIMIT $3",
            )
            .bind(workspace_id)
            .bind(conversation_id)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        texts.reverse();
        Ok(texts)
    }
}
