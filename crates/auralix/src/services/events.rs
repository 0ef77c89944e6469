//! Live conversation events fanned out to open event streams (W6).
//!
//! In-process broadcast channels, one per conversation with listeners. With several
//! instances the same hub will be fed from Redis pub/sub.

use std::{collections::HashMap, sync::Mutex};

use serde_json::Value;
use tokio::sync::broadcast;

#[derive(Debug, Clone)]
pub struct LiveEvent {
    /// SSE event name: `message`, `status`.
    pub name: &'static str,
    pub data: Value,
}

#[derive(Default)]
pub struct EventHub {
    channels: Mutex<HashMap<String, broadcast::Sender<LiveEvent>>>,
}

impl EventHub {
    pub fn subscribe(&self, conversation_id: &str) -> broadcast::Receiver<LiveEvent> {
        let mut channels = self.channels.lock().expect("event hub lock");
        channels
            .entry(conversation_id.to_owned())
            .or_insert_with(|| broadcast::channel(64).0)
            .subscribe()
    }

    /// Sends to current listeners; a conversation nobody listens to costs nothing.
    pub fn publish(&self, conversation_id: &str, event: LiveEvent) {
        let mut channels = self.channels.lock().expect("event hub lock");
        if let Some(sender) = channels.get(conversation_id)
            && sender.send(event).is_err()
        {
            channels.remove(conversation_id);
        }
    }

    /// Drops channels whose listeners have all gone.
    pub fn prune(&self) {
        self.channels
            .lock()
            .expect("event hub lock")
            .retain(|_, s| s.receiver_count() > 0);
    }

    pub fn open_channels(&self) -> usize {
        self.channels.lock().expect("event hub lock").len()
    }
}
