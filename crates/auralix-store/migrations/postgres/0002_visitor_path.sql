-- The visitor path: conversations, messages, leads and consent records.
ALTER TABLE agents ADD COLUMN privacy_url TEXT;

CREATE TABLE conversations (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    agent_id        TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    visitor_id      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('open', 'handoff', 'closed')),
    intent          TEXT,
    language        TEXT,
    page_url        TEXT,
    referrer        TEXT,
    ip              TEXT,
    user_agent      TEXT,
    unanswered      BIGINT NOT NULL,        -- consecutive replies that did not know
    created_at      TIMESTAMPTZ NOT NULL,
    last_message_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX conversations_workspace ON conversations(workspace_id, id);
CREATE INDEX conversations_visitor ON conversations(agent_id, visitor_id);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('visitor', 'assistant', 'operator', 'system')),
    text            TEXT NOT NULL,
    sources         JSONB NOT NULL,          -- JSON array of {document_id, title}
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);

CREATE TABLE leads (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    agent_id        TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    conversation_id TEXT REFERENCES conversations(id) ON DELETE SET NULL,
    visitor_id      TEXT NOT NULL,
    name            TEXT,
    email           TEXT,
    phone           TEXT,
    status          TEXT NOT NULL CHECK (status IN ('new', 'in_progress', 'won', 'lost', 'spam')),
    intent          TEXT NOT NULL,
    score           BIGINT NOT NULL,
    assignee_id     TEXT REFERENCES users(id) ON DELETE SET NULL,
    note            TEXT,
    page_url        TEXT,
    search_text     TEXT NOT NULL,           -- lower-cased name, e-mail, note and phone digits for ?q=
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX leads_workspace ON leads(workspace_id, id);
CREATE UNIQUE INDEX leads_conversation ON leads(conversation_id);

CREATE TABLE consents (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    agent_id        TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    visitor_id      TEXT NOT NULL,
    conversation_id TEXT,
    lead_id         TEXT,
    consent_version TEXT NOT NULL,
    consent_text    TEXT NOT NULL,
    page_url        TEXT,
    ip              TEXT,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX consents_visitor ON consents(workspace_id, visitor_id);
