//! Agents, always read and written inside one workspace.

use auralix_core::{
    Agent, AgentDraft, AgentName, Appearance, LeadCapture, Origin, new_id, new_public_id,
};
use sqlx::types::Json;
use time::OffsetDateTime;

use crate::{
    Result, Store, StoreError,
    pool::{read, write},
};

const COLUMNS: &str = "id, workspace_id, public_id, name, greeting, instructions, language, \
                       allowed_origins, lead_capture, appearance, privacy_url, ai, privacy, created_at, updated_at";

#[derive(sqlx::FromRow)]
struct AgentRow {
    id: String,
    workspace_id: String,
    public_id: String,
    name: String,
    greeting: Option<String>,
    instructions: Option<String>,
    language: Option<String>,
    allowed_origins: Json<Vec<Origin>>,
    lead_capture: Json<LeadCapture>,
    appearance: Json<Appearance>,
    privacy_url: Option<String>,
    ai: Option<String>,
    privacy: Option<String>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl AgentRow {
    fn into_agent(self) -> Result<Agent> {
        Ok(Agent {
            id: self.id,
            workspace_id: self.workspace_id,
            public_id: self.public_id,
            // Stored names were parsed on the way in; a failure here means a corrupt row.
            name: AgentName::parse(&self.name)
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(e.into())))?,
            greeting: self.greeting,
            instructions: self.instructions,
            language: self.language,
            allowed_origins: self.allowed_origins.0,
            lead_capture: self.lead_capture.0,
            appearance: self.appearance.0,
            privacy_url: self.privacy_url,
            // Stored as JSON text (the same column type on both backends); absent → defaults.
            ai: self
                .ai
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default(),
            privacy: self
                .privacy
                .and_then(|j| serde_json::from_str(&j).ok())
                .unwrap_or_default(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub struct Agents<'s> {
    pub(crate) store: &'s Store,
}

impl Agents<'_> {
    pub async fn create(
        &self,
        workspace_id: &str,
        draft: AgentDraft,
        now: OffsetDateTime,
    ) -> Result<Agent> {
        let agent = Agent {
            id: new_id("agt"),
            workspace_id: workspace_id.to_owned(),
            public_id: new_public_id(),
            name: draft.name,
            greeting: draft.greeting,
            instructions: draft.instructions,
            language: draft.language,
            allowed_origins: draft.allowed_origins,
            lead_capture: draft.lead_capture,
            appearance: draft.appearance,
            privacy_url: draft.privacy_url,
            ai: draft.ai,
            privacy: draft.privacy,
            created_at: now,
            updated_at: now,
        };
        write!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO agents (id, workspace_id, public_id, name, greeting, instructions, language, \
                 allowed_origins, lead_capture, appearance, privacy_url, ai, privacy, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(&agent.id)
            .bind(&agent.workspace_id)
            .bind(&agent.public_id)
            .bind(agent.name.as_str())
            .bind(&agent.greeting)
            .bind(&agent.instructions)
            .bind(&agent.language)
            .bind(Json(&agent.allowed_origins))
            .bind(Json(&agent.lead_capture))
            .bind(Json(&agent.appearance))
            .bind(&agent.privacy_url)
            .bind(serde_json::to_string(&agent.ai).ok())
            .bind(serde_json::to_string(&agent.privacy).ok())
            .bind(agent.created_at)
            .bind(agent.updated_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(agent)
    }

    /// One page of a workspace's agents, oldest first, after the cursor id.
    pub async fn list(
        &self,
        workspace_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Agent>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM agents WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3"
        );
        let rows = read!(self.store, |pool| {
            sqlx::query_as::<_, AgentRow>(&sql)
                .bind(workspace_id)
                .bind(after.unwrap_or(""))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(AgentRow::into_agent).collect()
    }

    pub async fn get(&self, workspace_id: &str, id: &str) -> Result<Agent> {
        let sql = format!("SELECT {COLUMNS} FROM agents WHERE workspace_id = $1 AND id = $2");
        read!(self.store, |pool| {
            sqlx::query_as::<_, AgentRow>(&sql)
                .bind(workspace_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(StoreError::NotFound)?
        .into_agent()
    }

    /// The agent a widget embeds; the public id is its own scope.
    pub async fn by_public_id(&self, public_id: &str) -> Result<Agent> {
        let sql = format!("SELECT {COLUMNS} FROM agents WHERE public_id = $1");
        read!(self.store, |pool| {
            sqlx::query_as::<_, AgentRow>(&sql)
                .bind(public_id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(StoreError::NotFound)?
        .into_agent()
    }

    /// Writes every mutable field of `agent` (already patched by the caller).
    pub async fn update(&self, agent: &Agent) -> Result<()> {
        let done = write!(self.store, |pool| {
            sqlx::query(
                "UPDATE agents SET name = $1, greeting = $2, instructions = $3, language = $4, \
                 allowed_origins = $5, lead_capture = $6, appearance = $7, privacy_url = $8, \
                 ai = $9, privacy = $10, updated_at = $11 WHERE workspace_id = $12 AND id = $13",
            )
            .bind(agent.name.as_str())
            .bind(&agent.greeting)
            .bind(&agent.instructions)
            .bind(&agent.language)
            .bind(Json(&agent.allowed_origins))
            .bind(Json(&agent.lead_capture))
            .bind(Json(&agent.appearance))
            .bind(&agent.privacy_url)
            .bind(serde_json::to_string(&agent.ai).ok())
            .bind(serde_json::to_string(&agent.privacy).ok())
            .bind(agent.updated_at)
            .bind(&agent.workspace_id)
            .bind(&agent.id)
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
            sqlx::query("DELETE FROM agents WHERE workspace_id = $1 AND id = $2")
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
}
