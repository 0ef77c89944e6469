//! Auralix knowledge base, the pure part: uploaded bytes → searchable chunks, and the
//! offline answerer. No I/O, no async, no database: the server calls [`process`] on a blocking
//! thread with a timeout and stores what comes back.
//!
//! The pipeline, one module per step:
//! 1. [`doctype`]: what the upload is, from its bytes (never the client's content type).
//! 2. [`mod@extract`]: format-specific extraction into structural [`Block`]s, every format
//!    treated as hostile (zip-bomb, decompression-bomb, recursion and panic defences, output
//!    limits) — see [`Limits`].
//! 3. [`normalize`]: one cleaning for all formats (NFC, whitespace, controls, hyphenation).
//! 4. [`mod@chunk`]: structure-aware chunks with heading paths, a token budget and overlap.
//! 5. [`stem`]: stemmed English/Russian terms for the full-text index and queries, identical
//!    on SQLite and PostgreSQL.
//! 6. [`answer`]: extractive answers from retrieved chunks.
//!
//! Every error that reaches a user carries a human-readable sentence (`Display`), suitable
//! for the document's `error` field or a 415 response.

pub mod answer;
pub mod chunk;
pub mod doctype;
pub mod extract;
pub mod normalize;
pub mod sentence;
pub mod stem;
mod textdecode;
mod zipguard;

pub use answer::best_sentences;
pub use chunk::{Chunk, ChunkOptions, chunk, estimate_tokens};
pub use doctype::{DocType, UnsupportedType, detect, detect_bytes};
pub use extract::{Block, BlockKind, ExtractError, Extracted, Limits, extract};
pub use normalize::{normalize_inline, normalize_text};
pub use sentence::split_sentences;
pub use stem::{index_terms, is_stopword, query_terms};

/// Why [`process`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// Not a supported format: answer 415 with this reason.
    #[error(transparent)]
    Unsupported(#[from] UnsupportedType),
    /// A supported format that could not be indexed: the document fails with this reason.
    #[error(transparent)]
    Extract(#[from] ExtractError),
}

/// Detect → extract → normalise → chunk. The whole pipeline for an uploaded file.
///
/// `file_name` only chooses between text flavours (Markdown, CSV); the content decides
/// everything else.
pub fn process(
    file_name: Option<&str>,
    bytes: &[u8],
    limits: &Limits,
    opts: &ChunkOptions,
) -> Result<(DocType, Vec<Chunk>), ProcessError> {
    let doc = detect_bytes(file_name, bytes)?;
    let extracted = extract(doc, bytes, limits)?;
    let chunks = chunk(&normalize_blocks(extracted.blocks), opts);
    if chunks.is_empty() {
        return Err(ExtractError::NoText.into());
    }
    Ok((doc, chunks))
}

/// Chunks text typed or pasted into the dashboard (`{title, text}`), always as plain text
/// (no format sniffing), with the same heading heuristics as a `.txt` upload.
pub fn process_plain_text(
    text: &str,
    limits: &Limits,
    opts: &ChunkOptions,
) -> Result<Vec<Chunk>, ExtractError> {
    let extracted = extract(DocType::Text, text.as_bytes(), limits)?;
    let chunks = chunk(&normalize_blocks(extracted.blocks), opts);
    if chunks.is_empty() {
        return Err(ExtractError::NoText);
    }
    Ok(chunks)
}

/// Chunks question–answer pairs entered in the dashboard: one chunk per pair (blank pairs
/// skipped), exactly as a Q&A CSV would give.
pub fn process_qa_pairs<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    opts: &ChunkOptions,
) -> Vec<Chunk> {
    let blocks: Vec<Block> = pairs
        .into_iter()
        .map(|(q, a)| (normalize_inline(q), normalize_text(a)))
        .filter(|(q, a)| !q.is_empty() && !a.is_empty())
        .map(|(q, a)| Block {
            kind: BlockKind::QaPair,
            text: format!("Q: {q}\nA: {}", normalize_inline(&a)),
            page: None,
        })
        .collect();
    chunk(&blocks, opts)
}

/// Normalises block texts (one line each; a Q&A pair keeps the break before `A:`) and drops
/// blocks left empty.
pub fn normalize_blocks(blocks: Vec<Block>) -> Vec<Block> {
    blocks
        .into_iter()
        .filter_map(|mut b| {
            b.text = match b.kind {
                BlockKind::QaPair => match b.text.split_once("\nA: ") {
                    Some((q, a)) => format!("{}\nA: {}", normalize_inline(q), normalize_inline(a)),
                    None => normalize_inline(&b.text),
                },
                _ => normalize_inline(&b.text),
            };
            (!b.text.is_empty()).then_some(b)
        })
        .collect()
}
