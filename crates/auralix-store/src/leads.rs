//! Leads (contacts a visitor left) and the consent records behind them.

use auralix_core::new_id;
use time::OffsetDateTime;

use crate::{
    Result, Store, StoreError,
    pool::{read, write},
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LeadRecord {
    pub id: String,
    pub workspace_id: String,
    pub agent_id: String,
    pub conversation_id: Option<String>,
    pub visitor_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: String,
    pub intent: String,
    pub score: i64,
    pub assignee_id: Option<String>,
    pub note: Option<String>,
    pub page_url: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl LeadRecord {
    /// What `?q=` searches: lower-cased name, e-mail and note, and the phone's digits.
    pub fn search_text(&self) -> String {
        let digits: String = self
            .phone
            .as_deref()
            .unwrap_or("")
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        [
            self.name.as_deref(),
            self.email.as_deref(),
            self.note.as_deref(),
            Some(&digits),
        ]
        .into_iter()
        .flatten()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("\u{1f}")
    }
}

#[derive(Debug, Clone, Default)]
pub struct LeadFilter {
    pub status: Option<String>,
    pub agent_id: Option<String>,
    /// Already lower-cased by the caller.
    pub q: Option<String>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
}

pub struct ConsentRecord<'a> {
    pub workspace_id: &'a str,
    pub agent_id: &'a str,
    pub visitor_id: &'a str,
    pub conversation_id: &'a str,
    pub lead_id: &'a str,
    pub consent_version: &'a str,
    pub consent_text: &'a str,
    pub page_url: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub now: OffsetDateTime,
}

const COLUMNS: &str = "id, workspace_id, agent_id, conversation_id, visitor_id, name, email, phone, status, intent, \
                       score, assignee_id, note, page_url, created_at, updated_at";

fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

pub struct Leads<'s> {
    pub(crate) store: &'s Store,
}

impl Leads<'_> {
    /// The lead of a conversation, if it has one.
    pub async fn for_conversation(
        &self,
        workspace_id: &str,
        conversation_id: &str,
    ) -> Result<Option<LeadRecord>> {
        let sql =
            format!("SELECT {COLUMNS} FROM leads WHERE workspace_id = $1 AND conversation_id = $2");
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, LeadRecord>(&sql)
                .bind(workspace_id)
                .bind(conversation_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Creates the lead, or updates the conversation's existing one, and stores the
    /// consent record — in one transaction, so no lead exists without its consent.
    pub async fn save_with_consent(
        &self,
        lead: &LeadRecord,
        consent: ConsentRecord<'_>,
    ) -> Result<()> {
        let search = lead.search_text();
        write!(self.store, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO leads (id, workspace_id, agent_id, conversation_id, visitor_id, name, email, phone, status, \
                 intent, score, assignee_id, note, page_url, search_text, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, phone = excluded.phone, \
                 intent = excluded.intent, score = excluded.score, search_text = excluded.search_text, \
                 updated_at = excluded.updated_at",
            )
            .bind(&lead.id)
            .bind(&lead.workspace_id)
            .bind(&lead.agent_id)
            .bind(&lead.conversation_id)
            .bind(&lead.visitor_id)
            .bind(&lead.name)
            .bind(&lead.email)
            .bind(&lead.phone)
            .bind(&lead.status)
            .bind(&lead.intent)
            .bind(lead.score)
            .bind(&lead.assignee_id)
            .bind(&lead.note)
            .bind(&lead.page_url)
            .bind(&search)
            .bind(lead.created_at)
            .bind(lead.updated_at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO consents (id, workspace_id, agent_id, visitor_id, conversation_id, lead_id, consent_version, \
                 consent_text, page_url, ip, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(new_id("cns"))
            .bind(consent.workspace_id)
            .bind(consent.agent_id)
            .bind(consent.visitor_id)
            .bind(consent.conversation_id)
            .bind(consent.lead_id)
            .bind(consent.consent_version)
            .bind(consent.consent_text)
            .bind(consent.page_url)
            .bind(consent.ip)
            .bind(consent.now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get(&self, workspace_id: &str, id: &str) -> Result<LeadRecord> {
        let sql = format!("SELECT {COLUMNS} FROM leads WHERE workspace_id = $1 AND id = $2");
        read!(self.store, |pool| {
            sqlx::query_as::<_, LeadRecord>(&sql)
                .bind(workspace_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(StoreError::NotFound)
    }

    /// One page of leads, newest first, before the cursor id.
    pub async fn list(
        &self,
        workspace_id: &str,
        filter: &LeadFilter,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<LeadRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM leads WHERE workspace_id = $1 AND ($2 = '' OR id < $2) \
             AND ($3 = '' OR status = $3) AND ($4 = '' OR agent_id = $4) \
             AND ($5 = '' OR search_text LIKE $6 ESCAPE '\\') \
             AND created_at >= $7 AND created_at < $8 ORDER BY id DESC LIMIT $9"
        );
        let q = filter.q.as_deref().unwrap_or("");
        let since = filter.since.unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let until = filter
            .until
            .unwrap_or(time::macros::datetime!(9999-01-01 0:00 UTC));
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, LeadRecord>(&sql)
                .bind(workspace_id)
                .bind(before.unwrap_or(""))
                .bind(filter.status.as_deref().unwrap_or(""))
                .bind(filter.agent_id.as_deref().unwrap_or(""))
                .bind(q)
                .bind(like_pattern(q))
                .bind(since)
                .bind(until)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        }))
    }

    /// Writes status, assignee and note (the fields a manager edits).
    pub async fn update(&self, lead: &LeadRecord) -> Result<()> {
        let search = lead.search_text();
        let done = write!(self.store, |pool| {
            sqlx::query(
                "UPDATE leads SET status = $1, assignee_id = $2, note = $3, search_text = $4, updated_at = $5 \
                 WHERE workspace_id = $6 AND id = $7",
            )
            .bind(&lead.status)
            .bind(&lead.assignee_id)
            .bind(&lead.note)
            .bind(&search)
            .bind(lead.updated_at)
            .bind(&lead.workspace_id)
            .bind(&lead.id)
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
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM consents WHERE workspace_id = $1 AND lead_id = $2")
                .bind(workspace_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM leads WHERE workspace_id = $1 AND id = $2")
                .bind(workspace_id)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            done
        });
        if done == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Whether `user_id` belongs to the workspace (assignees must).
    pub async fn is_member(&self, workspace_id: &str, user_id: &str) -> Result<bool> {
        let n: i64 = read!(self.store, |pool| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM memberships WHERE workspace_id = $1 AND user_id = $2",
            )
            .bind(workspace_id)
            .bind(user_id)
            .fetch_one(pool)
            .await?
        });
        Ok(n > 0)
    }
}
