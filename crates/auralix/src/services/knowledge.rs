//! Knowledge base service: ingestion in the background, and retrieval.
//!
//! An upload is written to `<data dir>/uploads/<workspace>/<document id>` (the client's
//! file name is kept only as metadata) and a durable `ingest` job is queued; the request
//! returns at once with `processing`. The worker extracts, chunks and indexes the file
//! off the async runtime with a timeout; a crash mid-way leaves the job's lease to run out
//! and the document is picked up again after a restart.

use std::{path::PathBuf, time::Duration};

use auralix_knowledge::{ChunkOptions, Limits};
use auralix_store::{ChunkHit, DocumentRecord, JobRecord, NewChunk, StoreError};
use serde::{Deserialize, Serialize};

use crate::state::AppState;

pub const INGEST: &str = "ingest";
/// Extraction of one document may take this long before it is failed.
pub const EXTRACTION_TIMEOUT: Duration = Duration::from_secs(60);
const MAX_ATTEMPTS: i64 = 3;
/// How long a claimed job is ours; a worker that dies lets it run out and the job is
/// claimed again. Longer than any one job may take (extraction plus embedding).
pub const JOB_LEASE: time::Duration = time::Duration::minutes(3);

/// On shutdown: hands the job this instance was working on back to the queue at once,
/// instead of leaving it until its lease runs out.
pub async fn release_current_job(state: &AppState) {
    let current = state.current_job.lock().expect("job slot").take();
    if let Some(id) = current
        && let Err(error) = state.store.jobs().release(&id).await
    {
        tracing::warn!(%error, "could not release the current job");
    }
}

#[derive(Serialize, Deserialize)]
pub struct IngestJob {
    pub document_id: String,
}

/// Where a document's bytes live; built only from ids we generated.
pub fn upload_path(state: &AppState, workspace_id: &str, document_id: &str) -> PathBuf {
    state
        .settings
        .data_dir
        .join("uploads")
        .join(workspace_id)
        .join(document_id)
}

pub async fn enqueue_ingest(state: &AppState, doc: &DocumentRecord) -> Result<(), StoreError> {
    let payload = serde_json::to_string(&IngestJob {
        document_id: doc.id.clone(),
    })
    .unwrap_or_default();
    let dedup = format!("ingest:{}", doc.id);
    state
        .store
        .jobs()
        .enqueue(
            &doc.workspace_id,
            INGEST,
            &payload,
            Some(&dedup),
            state.now(),
        )
        .await?;
    state.jobs_wakeup.notify_one();
    Ok(())
}

/// Runs one ingest job to its end: the document becomes `ready` or `failed`.
pub async fn run_ingest(state: &AppState, job: &JobRecord) -> Result<(), StoreError> {
    let Ok(payload) = serde_json::from_str::<IngestJob>(&job.payload) else {
        return Ok(());
    };
    let doc = match state
        .store
        .knowledge()
        .document_by_id(&job.workspace_id, &payload.document_id)
        .await
    {
        Ok(doc) => doc,
        Err(StoreError::NotFound) => return Ok(()), // deleted meanwhile
        Err(other) => return Err(other),
    };
    let path = upload_path(state, &doc.workspace_id, &doc.id);
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return state
                .store
                .knowledge()
                .fail(&doc, None, "the uploaded file is missing", state.now())
                .await;
        }
    };
    let name = doc.source_name.clone();
    let work = tokio::task::spawn_blocking(move || {
        auralix_knowledge::process(
            name.as_deref(),
            &bytes,
            &Limits::default(),
            &ChunkOptions::default(),
        )
    });
    let outcome = match tokio::time::timeout(EXTRACTION_TIMEOUT, work).await {
        Err(_) => Err((None, "reading the document took too long".to_owned())),
        Ok(Err(_panic)) => Err((None, "the document could not be read".to_owned())),
        Ok(Ok(Err(error))) => Err((None, error.to_string())),
        Ok(Ok(Ok((_, chunks)))) if chunks.is_empty() => {
            Err((None, "the document contains no text".to_owned()))
        }
        Ok(Ok(Ok((kind, chunks)))) => Ok((kind, chunks)),
    };
    let knowledge = state.store.knowledge();
    match outcome {
        Ok((kind, chunks)) => {
            let mut rows: Vec<NewChunk> = chunks
                .iter()
                .map(|c| NewChunk {
                    ordinal: i64::from(c.ordinal),
                    text: c.text.clone(),
                    heading_path: c.heading_path.join(" › "),
                    page: c.page.map(i64::from),
                    terms: auralix_knowledge::index_terms(&c.contextual_text()),
                    embedding: None,
                })
                .collect();
            let texts: Vec<String> = chunks.iter().map(|c| c.contextual_text()).collect();
            if let Some(vectors) = embed(state, &doc.workspace_id, &texts).await? {
                for (row, vector) in rows.iter_mut().zip(vectors) {
                    row.embedding = Some(vector);
                }
            }
            match knowledge
                .finish(&doc, kind.as_str(), &rows, state.now())
                .await
            {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(other) => return Err(other),
            }
            tracing::info!(document_id = %doc.id, chunks = rows.len(), "document indexed");
        }
        Err((kind, reason)) => {
            tracing::info!(document_id = %doc.id, %reason, "document failed");
            knowledge.fail(&doc, kind, &reason, state.now()).await?;
        }
    }
    Ok(())
}

/// The background worker: claims due jobs until shutdown.
pub async fn worker(state: AppState) {
    loop {
        match state.store.jobs().claim(state.now(), JOB_LEASE).await {
            Ok(Some(job)) => {
                *state.current_job.lock().expect("job slot") = Some(job.id.clone());
                run_job(&state, job).await;
                *state.current_job.lock().expect("job slot") = None;
            }
            Ok(None) => {
                let _ = tokio::time::timeout(Duration::from_secs(2), state.jobs_wakeup.notified())
                    .await;
            }
            Err(error) => {
                tracing::warn!(%error, "job queue unavailable");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

async fn run_job(state: &AppState, job: JobRecord) {
    let result = match job.kind.as_str() {
        INGEST => run_ingest(state, &job).await,
        other => {
            tracing::warn!(kind = other, "unknown job kind dropped");
            Ok(())
        }
    };
    let jobs = state.store.jobs();
    let settled = match result {
        Ok(()) => jobs.complete(&job.id).await,
        Err(error) if job.attempts < MAX_ATTEMPTS => {
            let backoff = time::Duration::seconds(2_i64.pow(job.attempts as u32) * 5);
            jobs.retry(&job.id, &error.to_string(), state.now() + backoff)
                .await
        }
        Err(error) => {
            tracing::error!(job_id = %job.id, %error, "job failed for good");
            jobs.complete(&job.id).await
        }
    };
    if let Err(error) = settled {
        tracing::warn!(%error, "could not settle a job");
    }
}

/// Vectors for `texts` from the workspace's embedding provider; `None` when it has none
/// or the provider fails (full-text search still works, so the document is not held up).
async fn embed(
    state: &AppState,
    workspace_id: &str,
    texts: &[String],
) -> Result<Option<Vec<Vec<f32>>>, StoreError> {
    let Some(provider) = state
        .store
        .providers()
        .embedding_provider(workspace_id)
        .await?
    else {
        return Ok(None);
    };
    let Some(model) = provider.embedding_model.clone() else {
        return Ok(None);
    };
    let client = match super::llm::embedding_client(state, &provider) {
        Ok(client) => client,
        Err(error) => {
            tracing::warn!(provider_id = %provider.id, %error, "embedding provider unusable");
            return Ok(None);
        }
    };
    let mut vectors = Vec::with_capacity(texts.len());
    for batch in texts.chunks(64) {
        match client.embed(&model, batch).await {
            Ok(v) if v.len() == batch.len() => vectors.extend(v),
            Ok(_) | Err(_) => {
                tracing::warn!(provider_id = %provider.id, "embedding failed; full-text only");
                return Ok(None);
            }
        }
    }
    Ok(Some(vectors))
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        dot += f64::from(*x) * f64::from(*y);
        na += f64::from(*x) * f64::from(*x);
        nb += f64::from(*y) * f64::from(*y);
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// Reciprocal rank fusion (k = 60): each list votes 1/(k + rank) for its items.
pub fn fuse(lists: &[Vec<ChunkHit>], limit: usize) -> Vec<ChunkHit> {
    const K: f64 = 60.0;
    let mut fused: Vec<ChunkHit> = Vec::new();
    for list in lists {
        for (rank, hit) in list.iter().enumerate() {
            let vote = 1.0 / (K + rank as f64 + 1.0);
            match fused.iter_mut().find(|h| h.chunk_id == hit.chunk_id) {
                Some(existing) => existing.score += vote,
                None => fused.push(ChunkHit {
                    score: vote,
                    ..hit.clone()
                }),
            }
        }
    }
    fused.sort_by(|a, b| b.score.total_cmp(&a.score));
    fused.truncate(limit);
    fused
}

/// The passages an agent sees for a query, best first: BM25 full-text, fused with vector
/// similarity when the workspace has an embedding provider.
pub async fn retrieve(
    state: &AppState,
    workspace_id: &str,
    agent_id: &str,
    query: &str,
    limit: u32,
) -> Result<Vec<ChunkHit>, StoreError> {
    let terms = auralix_knowledge::query_terms(query);
    let knowledge = state.store.knowledge();
    let text_hits = knowledge
        .search(workspace_id, agent_id, &terms, limit * 4)
        .await?;
    let Some(query_vector) = embed(state, workspace_id, &[query.to_owned()])
        .await?
        .and_then(|mut v| v.pop())
    else {
        let mut hits = text_hits;
        hits.truncate(limit as usize);
        return Ok(hits);
    };
    let mut vector_hits: Vec<ChunkHit> = knowledge
        .embedded_chunks(workspace_id, agent_id)
        .await?
        .into_iter()
        .map(|(hit, vector)| ChunkHit {
            score: cosine(&query_vector, &vector),
            ..hit
        })
        .filter(|h| h.score > 0.0)
        .collect();
    vector_hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    vector_hits.truncate(limit as usize * 4);
    Ok(fuse(&[text_hits, vector_hits], limit as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(id: &str) -> ChunkHit {
        ChunkHit {
            chunk_id: id.into(),
            document_id: "d".into(),
            title: "t".into(),
            text: "x".into(),
            heading_path: String::new(),
            page: None,
            score: 0.0,
        }
    }

    #[test]
    fn fusion_rewards_agreement_and_keeps_singletons() {
        let text = vec![hit("a"), hit("b"), hit("c")];
        let vector = vec![hit("b"), hit("d")];
        let fused: Vec<String> = fuse(&[text, vector], 3)
            .into_iter()
            .map(|h| h.chunk_id)
            .collect();
        assert_eq!(fused, ["b", "a", "d"]);
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-9);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
    }
}
