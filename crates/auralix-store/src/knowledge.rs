//! Knowledge base: documents, their chunks, and full-text search over them.
//!
//! The text is stemmed in Rust (`auralix-knowledge::index_terms`) before it is stored, so
//! both databases index the same terms: SQLite with FTS5 (whose `bm25()` ranks), and
//! PostgreSQL with a `simple` tsvector + GIN index for candidates, re-scored with BM25 in
//! Rust from the agent's own term statistics. Every query is scoped to one agent.

use std::collections::HashMap;

use auralix_core::new_id;
use time::OffsetDateTime;

use crate::{
    Result, Store, StoreError,
    pool::{Pools, read, write},
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DocumentRecord {
    pub id: String,
    pub workspace_id: String,
    pub agent_id: String,
    pub title: String,
    pub kind: Option<String>,
    pub source_name: Option<String>,
    pub size_bytes: i64,
    pub status: String,
    pub error: Option<String>,
    pub chunks: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// A chunk ready to be stored.
#[derive(Debug, Clone)]
pub struct NewChunk {
    pub ordinal: i64,
    pub text: String,
    pub heading_path: String,
    pub page: Option<i64>,
    pub terms: String,
    pub embedding: Option<Vec<f32>>,
}

/// A retrieved passage.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChunkHit {
    pub chunk_id: String,
    pub document_id: String,
    pub title: String,
    pub text: String,
    pub heading_path: String,
    pub page: Option<i64>,
    pub score: f64,
}

/// A full-text candidate on PostgreSQL, before BM25 re-scoring.
#[derive(sqlx::FromRow)]
struct Candidate {
    chunk_id: String,
    document_id: String,
    title: String,
    text: String,
    heading_path: String,
    page: Option<i64>,
    terms: String,
    term_count: i64,
}

#[derive(sqlx::FromRow)]
struct EmbeddedRow {
    chunk_id: String,
    document_id: String,
    title: String,
    text: String,
    heading_path: String,
    page: Option<i64>,
    embedding: Vec<u8>,
}

const DOC_COLUMNS: &str = "id, workspace_id, agent_id, title, kind, source_name, size_bytes, status, error, chunks, created_at, updated_at";

/// BM25 parameters (the usual ones, as FTS5 uses).
const K1: f64 = 1.2;
const B: f64 = 0.75;

pub fn encode_vector(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn decode_vector(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub struct Knowledge<'s> {
    pub(crate) store: &'s Store,
}

impl Knowledge<'_> {
    pub async fn create_document(
        &self,
        workspace_id: &str,
        agent_id: &str,
        title: &str,
        source_name: Option<&str>,
        size_bytes: i64,
        now: OffsetDateTime,
    ) -> Result<DocumentRecord> {
        let doc = DocumentRecord {
            id: new_id("doc"),
            workspace_id: workspace_id.to_owned(),
            agent_id: agent_id.to_owned(),
            title: title.to_owned(),
            kind: None,
            source_name: source_name.map(str::to_owned),
            size_bytes,
            status: "processing".to_owned(),
            error: None,
            chunks: 0,
            created_at: now,
            updated_at: now,
        };
        write!(self.store, |pool| {
            sqlx::query(
                "INSERT INTO documents (id, workspace_id, agent_id, title, kind, source_name, size_bytes, status, error, \
                 chunks, created_at, updated_at) VALUES ($1, $2, $3, $4, NULL, $5, $6, 'processing', NULL, 0, $7, $7)",
            )
            .bind(&doc.id)
            .bind(&doc.workspace_id)
            .bind(&doc.agent_id)
            .bind(&doc.title)
            .bind(&doc.source_name)
            .bind(doc.size_bytes)
            .bind(doc.created_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(doc)
    }

    pub async fn document(
        &self,
        workspace_id: &str,
        agent_id: &str,
        id: &str,
    ) -> Result<DocumentRecord> {
        let sql = format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE workspace_id = $1 AND agent_id = $2 AND id = $3"
        );
        read!(self.store, |pool| {
            sqlx::query_as::<_, DocumentRecord>(&sql)
                .bind(workspace_id)
                .bind(agent_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(StoreError::NotFound)
    }

    /// For the worker, which holds only the document id from its job.
    pub async fn document_by_id(&self, workspace_id: &str, id: &str) -> Result<DocumentRecord> {
        let sql =
            format!("SELECT {DOC_COLUMNS} FROM documents WHERE workspace_id = $1 AND id = $2");
        read!(self.store, |pool| {
            sqlx::query_as::<_, DocumentRecord>(&sql)
                .bind(workspace_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(StoreError::NotFound)
    }

    pub async fn documents(
        &self,
        workspace_id: &str,
        agent_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DocumentRecord>> {
        let sql = format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE workspace_id = $1 AND agent_id = $2 AND id > $3 ORDER BY id LIMIT $4"
        );
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, DocumentRecord>(&sql)
                .bind(workspace_id)
                .bind(agent_id)
                .bind(after.unwrap_or(""))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        }))
    }

    /// (documents, total bytes) of an agent, for quotas.
    pub async fn usage(&self, workspace_id: &str, agent_id: &str) -> Result<(i64, i64)> {
        Ok(read!(self.store, |pool| {
            sqlx::query_as::<_, (i64, i64)>(
                "SELECT COUNT(*), CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM documents WHERE workspace_id = $1 AND agent_id = $2",
            )
            .bind(workspace_id)
            .bind(agent_id)
            .fetch_one(pool)
            .await?
        }))
    }

    /// Replaces the document's chunks and marks it ready, atomically.
    pub async fn finish(
        &self,
        doc: &DocumentRecord,
        kind: &str,
        chunks: &[NewChunk],
        now: OffsetDateTime,
    ) -> Result<()> {
        write!(self.store, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM chunks WHERE workspace_id = $1 AND document_id = $2")
                .bind(&doc.workspace_id)
                .bind(&doc.id)
                .execute(&mut *tx)
                .await?;
            for chunk in chunks {
                sqlx::query(
                    "INSERT INTO chunks (id, workspace_id, agent_id, document_id, ordinal, text, heading_path, page, terms, \
                     term_count, embedding) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(new_id("chk"))
                .bind(&doc.workspace_id)
                .bind(&doc.agent_id)
                .bind(&doc.id)
                .bind(chunk.ordinal)
                .bind(&chunk.text)
                .bind(&chunk.heading_path)
                .bind(chunk.page)
                .bind(&chunk.terms)
                .bind(chunk.terms.split(' ').filter(|t| !t.is_empty()).count() as i64)
                .bind(chunk.embedding.as_deref().map(encode_vector))
                .execute(&mut *tx)
                .await?;
            }
            let done = sqlx::query(
                "UPDATE documents SET status = 'ready', error = NULL, kind = $1, chunks = $2, updated_at = $3 \
                 WHERE workspace_id = $4 AND id = $5",
            )
            .bind(kind)
            .bind(chunks.len() as i64)
            .bind(now)
            .bind(&doc.workspace_id)
            .bind(&doc.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 0 {
                // Deleted while it was processing: drop the work.
                tx.rollback().await?;
                return Err(StoreError::NotFound);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn fail(
        &self,
        doc: &DocumentRecord,
        kind: Option<&str>,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        write!(self.store, |pool| {
            sqlx::query(
                "UPDATE documents SET status = 'failed', error = $1, kind = COALESCE($2, kind), chunks = 0, updated_at = $3 \
                 WHERE workspace_id = $4 AND id = $5",
            )
            .bind(reason)
            .bind(kind)
            .bind(now)
            .bind(&doc.workspace_id)
            .bind(&doc.id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Back to `processing` with no chunks (re-index): it leaves retrieval at once.
    pub async fn reset(&self, doc: &DocumentRecord, now: OffsetDateTime) -> Result<()> {
        write!(self.store, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM chunks WHERE workspace_id = $1 AND document_id = $2")
                .bind(&doc.workspace_id)
                .bind(&doc.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE documents SET status = 'processing', error = NULL, chunks = 0, updated_at = $1 WHERE workspace_id = $2 AND id = $3",
            )
            .bind(now)
            .bind(&doc.workspace_id)
            .bind(&doc.id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn delete_document(
        &self,
        workspace_id: &str,
        agent_id: &str,
        id: &str,
    ) -> Result<()> {
        let done = write!(self.store, |pool| {
            sqlx::query(
                "DELETE FROM documents WHERE workspace_id = $1 AND agent_id = $2 AND id = $3",
            )
            .bind(workspace_id)
            .bind(agent_id)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if done == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    /// Full-text search over an agent's ready chunks; `terms` are stemmed query terms.
    pub async fn search(
        &self,
        workspace_id: &str,
        agent_id: &str,
        terms: &[String],
        limit: u32,
    ) -> Result<Vec<ChunkHit>> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        match &self.store.pools {
            Pools::Sqlite { read, .. } => {
                // Terms are alphanumeric (query_terms guarantees it); quoting keeps FTS5
                // syntax out. The agent column narrows the match inside the index; the
                // best `limit` are picked there, and only they are joined to their rows.
                let terms = terms
                    .iter()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                let agent_token = format!("a{}", agent_id.get(4..).unwrap_or(agent_id));
                let query = format!("agent : \"{agent_token}\" AND terms : ({terms})");
                Ok(sqlx::query_as::<_, ChunkHit>(
                    "SELECT c.id AS chunk_id, c.document_id, d.title, c.text, c.heading_path, c.page, f.score \
                     FROM (SELECT rowid, -bm25(chunks_fts, 1.0, 0.0) AS score FROM chunks_fts WHERE chunks_fts MATCH $1 \
                           ORDER BY bm25(chunks_fts, 1.0, 0.0) LIMIT $2) AS f \
                     CROSS JOIN chunks c ON c.rowid = f.rowid JOIN documents d ON d.id = c.document_id \
                     WHERE c.agent_id = $3 AND c.workspace_id = $4 ORDER BY f.score DESC",
                )
                .bind(query)
                .bind(i64::from(limit))
                .bind(agent_id)
                .bind(workspace_id)
                .fetch_all(read)
                .await?)
            }
            Pools::Postgres(pool) => {
                self.search_postgres(pool, workspace_id, agent_id, terms, limit)
                    .await
            }
        }
    }

    async fn search_postgres(
        &self,
        pool: &sqlx::PgPool,
        workspace_id: &str,
        agent_id: &str,
        terms: &[String],
        limit: u32,
    ) -> Result<Vec<ChunkHit>> {
        let tsquery = terms.join(" | ");
        // Agent-wide statistics for BM25: chunk count, average length, document frequencies.
        let (n, avg_len): (i64, f64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(AVG(term_count), 1) AS DOUBLE PRECISION) FROM chunks WHERE workspace_id = $1 AND agent_id = $2",
        )
        .bind(workspace_id)
        .bind(agent_id)
        .fetch_one(pool)
        .await?;
        let df: HashMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
            "SELECT q.term, (SELECT COUNT(*) FROM chunks c WHERE c.workspace_id = $1 AND c.agent_id = $2 \
             AND c.terms_tsv @@ to_tsquery('simple', q.term)) FROM unnest($3::text[]) AS q(term)",
        )
        .bind(workspace_id)
        .bind(agent_id)
        .bind(terms)
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
        let candidates: Vec<Candidate> = sqlx::query_as(
            "SELECT c.id AS chunk_id, c.document_id, d.title, c.text, c.heading_path, c.page, c.terms, c.term_count \
             FROM chunks c JOIN documents d ON d.id = c.document_id \
             WHERE c.workspace_id = $1 AND c.agent_id = $2 AND c.terms_tsv @@ to_tsquery('simple', $3) \
             ORDER BY ts_rank(c.terms_tsv, to_tsquery('simple', $3)) DESC LIMIT 200",
        )
        .bind(workspace_id)
        .bind(agent_id)
        .bind(&tsquery)
        .fetch_all(pool)
        .await?;
        let mut hits: Vec<ChunkHit> = candidates
            .into_iter()
            .map(|c| {
                let score = bm25(terms, &c.terms, c.term_count as f64, n as f64, avg_len, &df);
                ChunkHit {
                    chunk_id: c.chunk_id,
                    document_id: c.document_id,
                    title: c.title,
                    text: c.text,
                    heading_path: c.heading_path,
                    page: c.page,
                    score,
                }
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(limit as usize);
        Ok(hits)
    }

    /// Chunks with embeddings of one agent, for exact cosine similarity.
    pub async fn embedded_chunks(
        &self,
        workspace_id: &str,
        agent_id: &str,
    ) -> Result<Vec<(ChunkHit, Vec<f32>)>> {
        let rows: Vec<EmbeddedRow> = read!(self.store, |pool| {
            sqlx::query_as(
                "SELECT c.id AS chunk_id, c.document_id, d.title, c.text, c.heading_path, c.page, c.embedding FROM chunks c \
                 JOIN documents d ON d.id = c.document_id WHERE c.workspace_id = $1 AND c.agent_id = $2 AND c.embedding IS NOT NULL",
            )
            .bind(workspace_id)
            .bind(agent_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| {
                let vector = decode_vector(&r.embedding);
                let hit = ChunkHit {
                    chunk_id: r.chunk_id,
                    document_id: r.document_id,
                    title: r.title,
                    text: r.text,
                    heading_path: r.heading_path,
                    page: r.page,
                    score: 0.0,
                };
                (hit, vector)
            })
            .collect())
    }
}

/// Okapi BM25 of one chunk for the query terms.
fn bm25(
    terms: &[String],
    chunk_terms: &str,
    len: f64,
    n: f64,
    avg_len: f64,
    df: &HashMap<String, i64>,
) -> f64 {
    let mut tf: HashMap<&str, f64> = HashMap::new();
    for t in chunk_terms.split(' ') {
        *tf.entry(t).or_default() += 1.0;
    }
    terms
        .iter()
        .map(|term| {
            let f = tf.get(term.as_str()).copied().unwrap_or(0.0);
            if f == 0.0 {
                return 0.0;
            }
            let d = df.get(term).copied().unwrap_or(0) as f64;
            let idf = ((n - d + 0.5) / (d + 0.5) + 1.0).ln();
            idf * f * (K1 + 1.0) / (f + K1 * (1.0 - B + B * len / avg_len.max(1.0)))
        })
        .sum()
}
