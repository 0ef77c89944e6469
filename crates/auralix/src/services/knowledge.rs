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
            let rows: Vec<NewChunk> = chunks
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
        match state
            .store
            .jobs()
            .claim(state.now(), time::Duration::minutes(5))
            .await
        {
            Ok(Some(job)) => run_job(&state, job).await,
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

/// The passages an agent sees for a query, best first.
pub async fn retrieve(
    state: &AppState,
    workspace_id: &str,
    agent_id: &str,
    query: &str,
    limit: u32,
) -> Result<Vec<ChunkHit>, StoreError> {
    let terms = auralix_knowledge::query_terms(query);
    state
        .store
        .knowledge()
        .search(workspace_id, agent_id, &terms, limit)
        .await
}
