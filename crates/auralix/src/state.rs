//! The state every handler shares.

use std::{ops::Deref, sync::Arc};

use auralix_store::Store;
use time::OffsetDateTime;

use crate::{
    config::Settings,
    rate_limit::LoginLimiter,
    services::{
        answerer::{Answerer, BuiltinAnswerer},
        events::EventHub,
        visitor_token::VisitorTokens,
    },
    widget_assets::WidgetAssets,
};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub settings: Settings,
    pub store: Store,
    pub login_limiter: LoginLimiter,
    pub visitor_tokens: VisitorTokens,
    pub secrets: crate::secrets::SecretBox,
    /// One client per provider row, so circuit breakers see every call.
    pub llm_clients: crate::services::llm::ClientCache,
    pub events: EventHub,
    pub answerer: Box<dyn Answerer>,
    pub widget: WidgetAssets,
    /// Wakes the job worker when work is queued.
    pub jobs_wakeup: tokio::sync::Notify,
    /// The job this instance's worker holds, released on shutdown.
    pub current_job: std::sync::Mutex<Option<String>>,
}

impl AppState {
    pub fn new(settings: Settings, store: Store, master_key: &[u8]) -> Self {
        Self(Arc::new(Inner {
            settings,
            store,
            login_limiter: LoginLimiter::new(),
            visitor_tokens: VisitorTokens::new(master_key),
            secrets: crate::secrets::SecretBox::new(master_key),
            llm_clients: Default::default(),
            events: EventHub::default(),
            answerer: Box::new(BuiltinAnswerer),
            widget: WidgetAssets::build(),
            jobs_wakeup: tokio::sync::Notify::new(),
            current_job: std::sync::Mutex::new(None),
        }))
    }

    /// The current time, in microseconds (what PostgreSQL keeps, so both backends answer
    /// the same timestamps); one place so rules that depend on time can be tested.
    pub fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_microsecond(now.microsecond()).unwrap_or(now)
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
