-- Knowledge base: documents, their chunks with a full-text index, and the durable job queue.
CREATE TABLE documents (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    agent_id     TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    title        TEXT NOT NULL,
    kind         TEXT,                      -- pdf, docx, html, markdown, text, csv, once known
    source_name  TEXT,                      -- the uploaded file's name, never used as a path
    size_bytes   BIGINT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('processing', 'ready', 'failed')),
    error        TEXT,
    chunks       BIGINT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX documents_agent ON documents(workspace_id, agent_id, id);

CREATE TABLE chunks (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    agent_id     TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    document_id  TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal      BIGINT NOT NULL,
    text         TEXT NOT NULL,
    heading_path TEXT NOT NULL,             -- headings joined with " › "
    page         BIGINT,
    terms        TEXT NOT NULL,             -- stemmed index terms, space separated
    term_count   BIGINT NOT NULL,
    embedding    BLOB                       -- little-endian f32 vector, when embedded
);
CREATE INDEX chunks_document ON chunks(document_id);
CREATE INDEX chunks_agent ON chunks(agent_id);

-- BM25 over the stemmed terms; the stemming happens in Rust so both backends agree. The
-- agent's id is indexed too, so a search matches only that agent's chunks inside the index
-- (no row lookups to filter other agents' matches out).
CREATE VIRTUAL TABLE chunks_fts USING fts5(terms, agent, content='', contentless_delete=1, tokenize = 'unicode61 remove_diacritics 0');
CREATE TRIGGER chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, terms, agent) VALUES (new.rowid, new.terms, 'a' || substr(new.agent_id, 5));
END;
CREATE TRIGGER chunks_fts_delete AFTER DELETE ON chunks BEGIN
    DELETE FROM chunks_fts WHERE rowid = old.rowid;
END;

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    dedup_key    TEXT UNIQUE,
    run_at       TEXT NOT NULL,
    locked_until TEXT,
    attempts     BIGINT NOT NULL,
    last_error   TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX jobs_due ON jobs(run_at);
