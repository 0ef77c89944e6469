//! Users, workspaces and memberships.

use auralix_core::{EmailAddress, PersonName, Role, WorkspaceName, new_id};
use time::OffsetDateTime;

use crate::{
    Result, Store, StoreError,
    pool::{read, write},
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkspaceRecord {
    pub id: String,
    pub name: String,
    pub created_at: OffsetDateTime,
}

/// A user's place in a workspace.
#[derive(Debug, Clone)]
pub struct Membership {
    pub user: UserRecord,
    pub workspace: WorkspaceRecord,
    pub role: Role,
}

/// What signup stores: a user, their first workspace, and owner membership.
pub struct NewAccount<'a> {
    pub email: &'a EmailAddress,
    pub name: &'a PersonName,
    pub password_hash: &'a str,
    pub workspace_name: &'a WorkspaceName,
    pub now: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    role: String,
    workspace_id: String,
    workspace_name: String,
    workspace_created_at: OffsetDateTime,
}

pub struct Accounts<'s> {
    pub(crate) store: &'s Store,
}

impl Accounts<'_> {
    /// Creates user, workspace and owner membership atomically.
    /// A taken e-mail answers [`StoreError::Conflict`]`("email")`.
    pub async fn create(&self, new: NewAccount<'_>) -> Result<Membership> {
        let user = UserRecord {
            id: new_id("usr"),
            email: new.email.as_str().to_owned(),
            name: new.name.as_str().to_owned(),
            password_hash: new.password_hash.to_owned(),
            created_at: new.now,
        };
        let workspace = WorkspaceRecord {
            id: new_id("wsp"),
            name: new.workspace_name.as_str().to_owned(),
            created_at: new.now,
        };
        write!(self.store, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(&user.id)
                .bind(&user.email)
                .bind(&user.name)
                .bind(&user.password_hash)
                .bind(user.created_at)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::unique("email"))?;
            sqlx::query("INSERT INTO workspaces (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(&workspace.id)
                .bind(&workspace.name)
                .bind(workspace.created_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
                .bind(&workspace.id)
                .bind(&user.id)
                .bind(Role::Owner.as_str())
                .bind(new.now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(Membership {
            user,
            workspace,
            role: Role::Owner,
        })
    }

    pub async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<UserRecord>> {
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, UserRecord>(
                "SELECT id, email, name, password_hash, created_at FROM users WHERE email = $1",
            )
            .bind(email.as_str())
            .fetch_optional(pool)
            .await?
        }))
    }

    pub async fn user_by_id(&self, id: &str) -> Result<UserRecord> {
        read!(self.store, |pool| {
            sqlx::query_as::<_, UserRecord>(
                "SELECT id, email, name, password_hash, created_at FROM users WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await?
        })
        .ok_or(StoreError::NotFound)
    }

    /// The user's membership in one workspace; `NotFound` when they have none there.
    pub async fn membership(&self, user_id: &str, workspace_id: &str) -> Result<Membership> {
        let user = self.user_by_id(user_id).await?;
        let row = read!(self.store, |pool| {
            sqlx::query_as::<_, MembershipRow>(
                "SELECT m.role, w.id AS workspace_id, w.name AS workspace_name, w.created_at AS workspace_created_at \
                 FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
                 WHERE m.user_id = $1 AND m.workspace_id = $2",
            )
            .bind(user_id)
            .bind(workspace_id)
            .fetch_optional(pool)
            .await?
        })
        .ok_or(StoreError::NotFound)?;
        Ok(into_membership(user, row))
    }

    /// The workspace a user lands in after login: the oldest one they belong to.
    pub async fn default_membership(&self, user: UserRecord) -> Result<Membership> {
        let row = read!(self.store, |pool| {
            sqlx::query_as::<_, MembershipRow>(
                "SELECT m.role, w.id AS workspace_id, w.name AS workspace_name, w.created_at AS workspace_created_at \
                 FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
                 WHERE m.user_id = $1 ORDER BY m.created_at, w.id LIMIT 1",
            )
            .bind(&user.id)
            .fetch_optional(pool)
            .await?
        })
        .ok_or(StoreError::NotFound)?;
        Ok(into_membership(user, row))
    }
}

fn into_membership(user: UserRecord, row: MembershipRow) -> Membership {
    Membership {
        user,
        // The CHECK constraint guarantees one of the three; fall back to the least power.
        role: Role::parse(&row.role).unwrap_or(Role::Manager),
        workspace: WorkspaceRecord {
            id: row.workspace_id,
            name: row.workspace_name,
            created_at: row.workspace_created_at,
        },
    }
}
