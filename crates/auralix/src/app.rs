//! Wiring: settings → database → state → router → listener, and graceful shutdown.

use std::{future::Future, net::SocketAddr, time::Duration};

use auralix_store::Store;
use tokio::net::TcpListener;

use crate::{config::Settings, http, state::AppState};

/// How long in-flight requests and streams may take to finish after a shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens the database named by the settings (creating the data directory) and migrates it.
pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&settings.data_dir)?;
    let store = Store::connect(&settings.database_url).await?;
    store.migrate().await?;
    Ok(store)
}

/// A server that is ready to accept on `listener`.
pub struct Server {
    pub state: AppState,
    listener: TcpListener,
}

impl Server {
    pub async fn build(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir)?;
        let master_key =
            crate::keys::master_key(settings.master_key.as_deref(), &settings.data_dir)?;
        let store = open_store(&settings).await?;
        // Train the classifier and compile the detectors now, not on the first visitor.
        tokio::task::spawn_blocking(auralix_ai::warm_up).await?;
        Ok(Self {
            state: AppState::new(settings, store, &master_key),
            listener,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` resolves, then drains (bounded) and closes the database.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let janitor = tokio::spawn(janitor(state.clone()));
        // Queued work stays queued on shutdown: the worker just stops claiming.
        let worker = tokio::spawn(crate::services::knowledge::worker(state.clone()));
        let app = http::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let (drained_tx, drained_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: draining in-flight requests");
            let _ = drained_tx.send(());
        };
        let serve = axum::serve(self.listener, app).with_graceful_shutdown(signal);
        let serve = tokio::spawn(async move { serve.await });
        tokio::pin!(serve);
        tokio::select! {
            result = &mut serve => result??,
            _ = async {
                let _ = drained_rx.await;
                tokio::time::sleep(DRAIN_TIMEOUT).await;
            } => tracing::warn!("drain timeout reached; closing remaining connections"),
        }
        janitor.abort();
        worker.abort();
        crate::services::knowledge::release_current_job(&state).await;
        state.store.close().await;
        Ok(())
    }
}

/// Periodic housekeeping: expired sessions, rate-limiter memory.
async fn janitor(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tick.tick().await;
        state.login_limiter.shrink();
        state.events.prune();
        match state.store.sessions().purge_expired(state.now()).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions and tokens removed"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "session purge failed"),
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
