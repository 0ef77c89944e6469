//! Signing up, signing in, sessions and API tokens.

use std::sync::LazyLock;

use auralix_core::{
    EmailAddress, Password, PersonName, ValidationErrors, WorkspaceName, new_id, new_secret_token,
};
use auralix_store::{Membership, NewAccount, NewSession, Store, StoreError};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

pub const SESSION_LIFETIME: Duration = Duration::days(30);
pub const API_TOKEN_LIFETIME: Duration = Duration::days(365);

/// A hash to verify against when the e-mail is unknown, so both failures cost the same
/// time and answer the same way.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password_auth::generate_hash("auralix-dummy-password"));

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error("this e-mail is already registered")]
    EmailTaken,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error(transparent)]
    Store(StoreError),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

impl From<StoreError> for AccountError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict("email") => AccountError::EmailTaken,
            other => AccountError::Store(other),
        }
    }
}

/// Raw signup fields as sent by the API or the dashboard form.
#[derive(Debug, serde::Deserialize)]
pub struct SignupInput {
    pub email: String,
    pub password: String,
    pub name: String,
    pub workspace_name: Option<String>,
}

pub struct Signup {
    email: EmailAddress,
    password: Password,
    name: PersonName,
    workspace_name: WorkspaceName,
}

impl Signup {
    pub fn parse(input: &SignupInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let email = errors.check("email", EmailAddress::parse(&input.email));
        let password = errors.check("password", Password::parse(&input.password));
        let name = errors.check("name", PersonName::parse(&input.name));
        let workspace_name = match input
            .workspace_name
            .as_deref()
            .filter(|w| !w.trim().is_empty())
        {
            Some(raw) => errors.check("workspace_name", WorkspaceName::parse(raw)),
            None => name
                .as_ref()
                .and_then(|n| WorkspaceName::parse(&format!("{}'s workspace", n.as_str())).ok()),
        };
        match (email, password, name, workspace_name) {
            (Some(email), Some(password), Some(name), Some(workspace_name))
                if errors.is_empty() =>
            {
                Ok(Self {
                    email,
                    password,
                    name,
                    workspace_name,
                })
            }
            _ => Err(errors),
        }
    }
}

pub async fn sign_up(
    store: &Store,
    input: &SignupInput,
    now: OffsetDateTime,
) -> Result<Membership, AccountError> {
    let signup = Signup::parse(input)?;
    if store
        .accounts()
        .user_by_email(&signup.email)
        .await?
        .is_some()
    {
        return Err(AccountError::EmailTaken);
    }
    let hash = hash_password(signup.password).await?;
    Ok(store
        .accounts()
        .create(NewAccount {
            email: &signup.email,
            name: &signup.name,
            password_hash: &hash,
            workspace_name: &signup.workspace_name,
            now,
        })
        .await?)
}

/// Checks credentials. Unknown e-mail and wrong password are indistinguishable.
pub async fn authenticate(
    store: &Store,
    email: &str,
    password: &str,
) -> Result<Membership, AccountError> {
    let email = EmailAddress::parse(email).ok();
    let user = match &email {
        Some(email) => store.accounts().user_by_email(email).await?,
        None => None,
    };
    let hash = user
        .as_ref()
        .map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let password = password
        .chars()
        .take(Password::MAX_CHARS)
        .collect::<String>();
    let verified = tokio::task::spawn_blocking(move || {
        password_auth::verify_password(password, &hash).is_ok()
    })
    .await
    .map_err(|e| AccountError::Hashing(e.to_string()))?;
    match user {
        Some(user) if verified => Ok(store.accounts().default_membership(user).await?),
        _ => Err(AccountError::InvalidCredentials),
    }
}

async fn hash_password(password: Password) -> Result<String, AccountError> {
    tokio::task::spawn_blocking(move || password_auth::generate_hash(password.expose()))
        .await
        .map_err(|e| AccountError::Hashing(e.to_string()))
}

/// SHA-256 hex of a secret: what the database keeps instead of the secret.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

pub struct IssuedSession {
    pub token: String,
    pub csrf_token: String,
    pub expires_at: OffsetDateTime,
}

pub async fn start_session(
    store: &Store,
    membership: &Membership,
    ip: Option<&str>,
    user_agent: Option<&str>,
    now: OffsetDateTime,
) -> Result<IssuedSession, StoreError> {
    let token = new_secret_token("");
    let csrf_token = new_secret_token("");
    let expires_at = now + SESSION_LIFETIME;
    let user_agent = user_agent.map(|ua| ua.chars().take(256).collect::<String>());
    store
        .sessions()
        .create(NewSession {
            token_hash: &digest(&token),
            workspace_id: &membership.workspace.id,
            user_id: &membership.user.id,
            csrf_token: &csrf_token,
            ip,
            user_agent: user_agent.as_deref(),
            now,
            expires_at,
        })
        .await?;
    Ok(IssuedSession {
        token,
        csrf_token,
        expires_at,
    })
}

pub async fn issue_api_token(
    store: &Store,
    membership: &Membership,
    name: &str,
    now: OffsetDateTime,
) -> Result<(String, OffsetDateTime), StoreError> {
    let token = new_secret_token("axt_");
    let expires_at = now + API_TOKEN_LIFETIME;
    store
        .sessions()
        .create_api_token(
            &new_id("tok"),
            &digest(&token),
            &membership.workspace.id,
            &membership.user.id,
            name,
            now,
            expires_at,
        )
        .await?;
    Ok((token, expires_at))
}
