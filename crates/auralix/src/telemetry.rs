//! Structured logs via `tracing`: human-readable by default, JSON by setting.
//! `RUST_LOG` refines the filter.

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    init_with_default(format, "info,sqlx=warn,tower_http=info");
}

/// Like [`init`] with another filter when `RUST_LOG` is unset (tests log only warnings).
pub fn init_with_default(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = fmt().with_env_filter(filter).with_target(false);
    // A second init (tests start many servers in one process) is harmless.
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
