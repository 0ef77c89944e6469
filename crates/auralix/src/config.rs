//! Settings: environment, then an optional `auralix.toml`, then command-line flags
//! (later wins), as API.md "Running" specifies.

use std::{net::SocketAddr, path::PathBuf};

use serde::Deserialize;

/// One layer of settings; every field optional so layers can be merged.
#[derive(Debug, Clone, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct SettingsLayer {
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Where the embedded database, uploads and generated keys live [default: ./data]
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// sqlite://… or postgres://… [default: sqlite://<data dir>/auralix.db]
    #[arg(long)]
    pub database_url: Option<String>,
    /// Redis for several instances (optional)
    #[arg(long)]
    pub redis_url: Option<String>,
    /// The address visitors' browsers use [default: http://<listen>]
    #[arg(long)]
    pub public_url: Option<String>,
    /// Key protecting per-workspace data keys [default: generated into the data dir]
    #[arg(long)]
    pub master_key: Option<String>,
    /// `human` or `json`
    #[arg(long)]
    pub log_format: Option<LogFormat>,
    /// Largest document upload in MiB [default: 50]
    #[arg(long)]
    pub max_upload_mb: Option<usize>,
    /// Seconds a visitor may wait on a language model [default: 30]
    #[arg(long)]
    pub llm_timeout_secs: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

/// The resolved settings the server runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub public_url: url::Url,
    pub master_key: Option<String>,
    pub log_format: LogFormat,
    /// Largest accepted management API body.
    pub max_body_bytes: usize,
    /// Largest document upload.
    pub max_upload_bytes: usize,
    /// Longest a visitor waits on a language model before the built-in answer.
    pub llm_timeout: std::time::Duration,
}

impl SettingsLayer {
    /// Reads the `AURALIX_*`, `DATABASE_URL` and `REDIS_URL` variables.
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        Ok(Self {
            listen: get("AURALIX_LISTEN")
                .map(|v| v.parse())
                .transpose()
                .map_err(|e| anyhow::anyhow!("AURALIX_LISTEN: {e}"))?,
            data_dir: get("AURALIX_DATA_DIR").map(PathBuf::from),
            database_url: get("DATABASE_URL"),
            redis_url: get("REDIS_URL"),
            public_url: get("AURALIX_PUBLIC_URL"),
            master_key: get("AURALIX_MASTER_KEY"),
            log_format: get("AURALIX_LOG_FORMAT")
                .map(|v| match v.as_str() {
                    "json" => Ok(LogFormat::Json),
                    "human" => Ok(LogFormat::Human),
                    other => Err(anyhow::anyhow!(
                        "AURALIX_LOG_FORMAT: `{other}` is not human or json"
                    )),
                })
                .transpose()?,
            max_upload_mb: get("AURALIX_MAX_UPLOAD_MB")
                .map(|v| v.parse())
                .transpose()
                .map_err(|e| anyhow::anyhow!("AURALIX_MAX_UPLOAD_MB: {e}"))?,
            llm_timeout_secs: get("AURALIX_LLM_TIMEOUT_SECS")
                .map(|v| v.parse())
                .transpose()
                .map_err(|e| anyhow::anyhow!("AURALIX_LLM_TIMEOUT_SECS: {e}"))?,
        })
    }

    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        Ok(toml::from_str(text)?)
    }

    /// `other` wins wherever it has a value.
    pub fn merge(self, other: SettingsLayer) -> SettingsLayer {
        SettingsLayer {
            listen: other.listen.or(self.listen),
            data_dir: other.data_dir.or(self.data_dir),
            database_url: other.database_url.or(self.database_url),
            redis_url: other.redis_url.or(self.redis_url),
            public_url: other.public_url.or(self.public_url),
            master_key: other.master_key.or(self.master_key),
            log_format: other.log_format.or(self.log_format),
            max_upload_mb: other.max_upload_mb.or(self.max_upload_mb),
            llm_timeout_secs: other.llm_timeout_secs.or(self.llm_timeout_secs),
        }
    }

    pub fn resolve(self) -> anyhow::Result<Settings> {
        let listen = self
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = self
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("auralix.db").display()));
        let public_url = self
            .public_url
            .unwrap_or_else(|| format!("http://{listen}"));
        let public_url = url::Url::parse(public_url.trim_end_matches('/'))
            .map_err(|e| anyhow::anyhow!("AURALIX_PUBLIC_URL `{public_url}`: {e}"))?;
        if !matches!(public_url.scheme(), "http" | "https") {
            anyhow::bail!("AURALIX_PUBLIC_URL must be http:// or https://");
        }
        Ok(Settings {
            listen,
            data_dir,
            database_url,
            redis_url: self.redis_url,
            public_url,
            master_key: self.master_key,
            log_format: self.log_format.unwrap_or_default(),
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: self.max_upload_mb.unwrap_or(50).max(1) * 1024 * 1024,
            llm_timeout: std::time::Duration::from_secs(
                self.llm_timeout_secs.unwrap_or(30).clamp(1, 300),
            ),
        })
    }
}

impl Settings {
    /// Whether cookies must carry `Secure`.
    pub fn https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The public URL without a trailing slash, for building links.
    pub fn public_base(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_owned()
    }

    /// `scheme://host[:port]` of the public URL, as browsers send it in `Origin`.
    pub fn public_origin(&self) -> String {
        self.public_url.origin().ascii_serialization()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_win_and_defaults_fill_in() {
        let env = SettingsLayer::from_env(|k| match k {
            "AURALIX_LISTEN" => Some("0.0.0.0:9000".into()),
            "AURALIX_DATA_DIR" => Some("/var/lib/auralix".into()),
            _ => None,
        })
        .unwrap();
        let file = SettingsLayer::from_toml(
            "listen = \"127.0.0.1:7000\"\npublic_url = \"https://chat.example/\"",
        )
        .unwrap();
        let flags = SettingsLayer {
            data_dir: Some("/srv".into()),
            ..Default::default()
        };
        let s = env.merge(file).merge(flags).resolve().unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(s.data_dir, PathBuf::from("/srv"));
        assert_eq!(s.database_url, "sqlite:///srv/auralix.db");
        assert_eq!(s.public_base(), "https://chat.example");
        assert!(s.https());
    }

    #[test]
    fn unknown_toml_keys_are_errors() {
        assert!(SettingsLayer::from_toml("lisen = \"x\"").is_err());
    }
}
