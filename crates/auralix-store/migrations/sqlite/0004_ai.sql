-- AI: provider credentials (encrypted), agent AI and privacy settings, usage metering,
-- and conversation events (handoff requests) for notifications to come.
ALTER TABLE agents ADD COLUMN ai TEXT;          -- JSON {mode, provider_id, model, temperature, max_tokens, handoff_keywords}
ALTER TABLE agents ADD COLUMN privacy TEXT;     -- JSON {redact_before_ai}

CREATE TABLE providers (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('openai', 'anthropic')),
    name           TEXT NOT NULL,
    base_url       TEXT,
    api_key_sealed TEXT,                        -- XChaCha20-Poly1305, never the plain key
    api_key_hint   TEXT,
    default_model  TEXT,
    embedding_model TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX providers_workspace ON providers(workspace_id, id);

CREATE TABLE usage_daily (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    agent_id      TEXT NOT NULL,
    day           TEXT NOT NULL,                -- YYYY-MM-DD (UTC)
    messages      BIGINT NOT NULL,
    input_tokens  BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, agent_id, day)
);

CREATE TABLE conversation_events (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    data            TEXT NOT NULL,              -- JSON
    created_at      TEXT NOT NULL
);
CREATE INDEX conversation_events_conversation ON conversation_events(conversation_id, id);
