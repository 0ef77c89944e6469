//! The `auralix` binary: `serve` (default), `migrate`, `--version`.

use std::path::PathBuf;

use auralix::{SettingsLayer, app, config::Settings, telemetry};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "auralix",
    version,
    about = "AI chat widgets for websites, privacy first"
)]
struct Cli {
    /// Settings file (TOML); `./auralix.toml` is read when present
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingsLayer,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default)
    Serve,
    /// Apply database migrations and exit
    Migrate,
}

fn settings(cli: &Cli) -> anyhow::Result<Settings> {
    let env = SettingsLayer::from_env(|k| std::env::var(k).ok())?;
    let file = match &cli.config {
        Some(path) => SettingsLayer::from_toml(&std::fs::read_to_string(path)?)?,
        None => match std::fs::read_to_string("auralix.toml") {
            Ok(text) => SettingsLayer::from_toml(&text)?,
            Err(_) => SettingsLayer::default(),
        },
    };
    env.merge(file).merge(cli.settings.clone()).resolve()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = settings(&cli)?;
    telemetry::init(settings.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            app::open_store(&settings).await?.close().await;
            tracing::info!("migrations applied");
        }
        Command::Serve => {
            let listener = tokio::net::TcpListener::bind(settings.listen).await?;
            let server = auralix::Server::build(settings, listener).await?;
            tracing::info!(
                listen = %server.local_addr()?,
                public_url = %server.state.settings.public_url,
                backend = ?server.state.store.backend(),
                "auralix is serving"
            );
            server.run(app::shutdown_signal()).await?;
        }
    }
    Ok(())
}
