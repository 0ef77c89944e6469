//! Auralix server: AI chat widgets for websites, privacy first.
//!
//! `main.rs` parses the command line; everything else lives here so the integration
//! tests can start real servers in-process on port 0.

pub mod app;
pub mod config;
pub mod http;
pub mod i18n;
pub mod keys;
pub mod rate_limit;
pub mod redis_ping;
pub mod secrets;
pub mod services;
pub mod state;
pub mod telemetry;
pub mod widget_assets;

pub use app::Server;
pub use config::{Settings, SettingsLayer};
