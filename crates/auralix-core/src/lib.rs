//! Auralix domain: the types every other crate speaks, and the rules that need no I/O.
//!
//! Input is parsed once into these types ("parse, don't validate"): an [`EmailAddress`]
//! or an [`Origin`] is valid by construction, so handlers and services never re-check.

pub mod account;
pub mod agent;
pub mod ai_settings;
pub mod contact;
pub mod id;
pub mod personal_data;
pub mod validation;

pub use account::{EmailAddress, Password, PersonName, Role, WorkspaceName};
pub use agent::{
    Agent, AgentDraft, AgentInput, AgentName, AgentPatch, Appearance, AppearanceInput, HexColor,
    LeadCapture, LeadCaptureInput, LeadField, Origin, WidgetPosition,
};
pub use ai_settings::{AiInput, AiMode, AiSettings, PrivacyInput, PrivacySettings};
pub use contact::Phone;
pub use id::{Id, new_id, new_public_id, new_secret_token};
pub use validation::{FieldError, ValidationErrors};
