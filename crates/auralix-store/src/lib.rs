//! Auralix storage: one API over two real databases.
//!
//! The binary picks SQLite (embedded default) or PostgreSQL from the database URL once, at
//! start. Each backend has its own migrations (kept in step by a test); the queries
//! themselves are written once, in SQL both dialects accept (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`), and the [`read!`]/[`write!`] macros instantiate each query for both pool
//! types. Repositories are narrow, one per aggregate (`store.agents()`, `store.sessions()`),
//! and every method on workspace-owned data takes the workspace id and filters by it.
//!
//! SQLite allows one writer at a time; rather than let writers fight over the lock, all
//! writes go through a single-connection pool while reads use a separate read-only pool
//! (WAL lets them run alongside the writer).

mod accounts;
mod agents;
mod conversations;
mod error;
mod jobs;
mod knowledge;
mod leads;
mod pool;
mod providers;
mod schema_check;
mod sessions;

pub use accounts::{Accounts, Membership, NewAccount, UserRecord, WorkspaceRecord};
pub use agents::Agents;
pub use conversations::{
    ConversationFilter, ConversationRecord, Conversations, MessageRecord, NewConversation, Source,
};
pub use error::StoreError;
pub use jobs::{JobRecord, Jobs};
pub use knowledge::{ChunkHit, DocumentRecord, Knowledge, NewChunk, decode_vector, encode_vector};
pub use leads::{ConsentRecord, LeadFilter, LeadRecord, Leads};
pub use pool::{Backend, Store};
pub use providers::{ProviderRecord, Providers};
pub use sessions::{ApiTokenRecord, NewSession, SessionRecord, Sessions};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
