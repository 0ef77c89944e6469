//! Text extraction: bytes of a detected [`DocType`] → a flat list of structural [`Block`]s.
//!
//! Every format is reduced to the same five block kinds (heading with a level, paragraph,
//! list item, table row, question–answer pair) so that chunking is format-agnostic. Each
//! extractor lives in its own submodule and writes into a `Collector` that enforces the
//! output limits (total text bytes, block count), so no extractor can produce unbounded
//! output whatever its input.
//!
//! Every upload is hostile:
//! - **PDF** (`pdf`): `pdf-extract` is run page by page inside `catch_unwind` (PDF parsers
//!   panic on garbage), after a pre-flight that bounds what it will decompress and refuses
//!   drawing cycles it would recurse into forever. See that module for what is and is not
//!   covered.
//! - **DOCX** (`docx`): read through `zipguard` (entry count, declared sizes, compression
//!   ratio and streamed byte caps), parsed as a stream with `quick-xml`, which never expands
//!   DTD entities.
//! - **HTML** (`html`): the `html5ever` tokenizer (no DOM is built, so nesting depth costs
//!   nothing); **Markdown** (`markdown`): `pulldown-cmark`; **CSV** (`csv`): the `csv`
//!   crate; **text** (`text`): line-based heuristics. All linear in the input.
//!
//! Text comes out raw (soft line breaks, hyphenation and odd whitespace intact); cleaning is
//! `normalize`'s job so that it is the same for every format. Time limits are the caller's
//! job: the server runs extraction on a blocking thread with a timeout.

pub(crate) mod csv;
mod docx;
mod html;
mod markdown;
mod pdf;
pub(crate) mod text;

use crate::doctype::DocType;

/// What a block is, structurally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKind {
    /// A heading; level 1 is the top. Levels are clamped to 1..=6.
    Heading {
        level: u8,
    },
    Paragraph,
    ListItem,
    /// One table row, cells joined with `" | "` (DOCX/HTML/Markdown) or rendered as
    /// `"column: value; column: value"` (CSV).
    TableRow,
    /// `"Q: …\nA: …"`; always chunked on its own.
    QaPair,
}

/// One structural unit of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    pub text: String,
    /// 1-based page number where the format has pages (PDF; DOCX when Word recorded them).
    pub page: Option<u32>,
}

/// The result of extraction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    /// A title found in the document itself (HTML `<title>`, a DOCX "Title" paragraph).
    pub title: Option<String>,
    pub blocks: Vec<Block>,
}

/// Resource limits for extraction. The defaults suit uploads of up to ~50 MiB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes one ZIP entry or one PDF stream may decompress to, and the total for all
    /// entries read from one DOCX. Default 64 MiB.
    pub max_decompressed_bytes: u64,
    /// Entries a ZIP central directory may list. Default 2,000 (a large DOCX has ~50).
    pub max_zip_entries: usize,
    /// Largest accepted decompressed/compressed ratio of a ZIP entry beyond its first MiB.
    /// Default 200 (XML usually compresses 5–30×; a zip bomb 1,000×).
    pub max_compression_ratio: u64,
    /// Total bytes all streams of a PDF may decompress to, counted once each (images
    /// included). Default 256 MiB.
    pub max_pdf_inflated_bytes: u64,
    /// Bytes `pdf-extract` will decompress and interpret across all pages, counting each
    /// time a stream is used (a logo on every page counts on every page). Default 1 GiB;
    /// this bounds CPU time, memory is bounded by `max_decompressed_bytes` per stream.
    pub max_pdf_work_bytes: u64,
    /// Pages read from a PDF. Default 5,000.
    pub max_pdf_pages: u32,
    /// Total bytes of extracted text. Default 64 MiB.
    pub max_text_bytes: usize,
    /// Blocks extracted. Default 1,000,000.
    pub max_blocks: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed_bytes: 64 * 1024 * 1024,
            max_zip_entries: 2_000,
            max_compression_ratio: 200,
            max_pdf_inflated_bytes: 256 * 1024 * 1024,
            max_pdf_work_bytes: 1024 * 1024 * 1024,
            max_pdf_pages: 5_000,
            max_text_bytes: 64 * 1024 * 1024,
            max_blocks: 1_000_000,
        }
    }
}

/// Why extraction failed. `Display` is a sentence for the user (the document's `error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// A size limit was hit (decompression, entries, pages, text).
    #[error("{0}")]
    TooLarge(String),
    /// The file is damaged, encrypted or not what its magic bytes claim.
    #[error("{0}")]
    Malformed(String),
    /// The document was read but holds no text (e.g. an empty file or a scanned PDF).
    #[error("the document contains no text")]
    NoText,
}

impl ExtractError {
    /// Short machine-readable code: `too_large`, `malformed`, `no_text`.
    pub fn code(&self) -> &'static str {
        match self {
            ExtractError::TooLarge(_) => "too_large",
            ExtractError::Malformed(_) => "malformed",
            ExtractError::NoText => "no_text",
        }
    }
}

/// Formats a byte count as whole MiB for messages ("64 MiB").
pub(crate) fn mib(bytes: u64) -> String {
    let m = bytes / (1024 * 1024);
    if m == 0 && bytes > 0 {
        format!("{} KiB", bytes.div_ceil(1024))
    } else {
        format!("{m} MiB")
    }
}

/// Extracts the blocks of `bytes`, which [`crate::detect_bytes`] found to be `doc`.
///
/// Fails with [`ExtractError::NoText`] when nothing but whitespace came out.
pub fn extract(doc: DocType, bytes: &[u8], limits: &Limits) -> Result<Extracted, ExtractError> {
    let mut out = Collector::new(limits);
    match doc {
        DocType::Pdf => pdf::extract(bytes, limits, &mut out)?,
        DocType::Docx => docx::extract(bytes, limits, &mut out)?,
        DocType::Html => html::extract(bytes, &mut out)?,
        DocType::Markdown => markdown::extract(&decode_text(bytes, "Markdown")?, &mut out)?,
        DocType::Text => text::extract(&decode_text(bytes, "text")?, None, &mut out)?,
        DocType::Csv => csv::extract(&decode_text(bytes, "CSV")?, &mut out)?,
    }
    let extracted = out.finish();
    if extracted.blocks.is_empty() {
        return Err(ExtractError::NoText);
    }
    Ok(extracted)
}

fn decode_text<'a>(bytes: &'a [u8], what: &str) -> Result<std::borrow::Cow<'a, str>, ExtractError> {
    crate::textdecode::decode(bytes, false)
        .map(|(t, _)| t)
        .ok_or_else(|| {
            ExtractError::Malformed(format!(
                "the {what} file is not valid text (expected UTF-8, UTF-16 with a BOM or Windows-1251)"
            ))
        })
}

/// Accumulates blocks while enforcing [`Limits::max_text_bytes`] and [`Limits::max_blocks`].
pub(crate) struct Collector {
    blocks: Vec<Block>,
    title: Option<String>,
    text_bytes: usize,
    max_text_bytes: usize,
    max_blocks: usize,
}

impl Collector {
    pub(crate) fn new(limits: &Limits) -> Self {
        Collector {
            blocks: Vec::new(),
            title: None,
            text_bytes: 0,
            max_text_bytes: limits.max_text_bytes,
            max_blocks: limits.max_blocks,
        }
    }

    /// Adds a block unless its text is blank.
    pub(crate) fn push(
        &mut self,
        kind: BlockKind,
        text: impl Into<String>,
        page: Option<u32>,
    ) -> Result<(), ExtractError> {
        let text = text.into();
        if text.trim().is_empty() {
            return Ok(());
        }
        self.text_bytes += text.len();
        if self.text_bytes > self.max_text_bytes {
            return Err(ExtractError::TooLarge(format!(
                "the document's text exceeds {}",
                mib(self.max_text_bytes as u64)
            )));
        }
        if self.blocks.len() >= self.max_blocks {
            return Err(ExtractError::TooLarge(format!(
                "the document has more than {} paragraphs, rows or items",
                self.max_blocks
            )));
        }
        let kind = match kind {
            BlockKind::Heading { level } => BlockKind::Heading {
                level: level.clamp(1, 6),
            },
            k => k,
        };
        self.blocks.push(Block { kind, text, page });
        Ok(())
    }

    /// Checks the text budget for text that is being accumulated but not yet pushed.
    pub(crate) fn check_pending(&self, pending: usize) -> Result<(), ExtractError> {
        if self.text_bytes + pending > self.max_text_bytes {
            return Err(ExtractError::TooLarge(format!(
                "the document's text exceeds {}",
                mib(self.max_text_bytes as u64)
            )));
        }
        Ok(())
    }

    pub(crate) fn set_title(&mut self, title: &str) {
        let t = title.split_whitespace().collect::<Vec<_>>().join(" ");
        if self.title.is_none() && !t.is_empty() {
            self.title = Some(t.chars().take(300).collect());
        }
    }

    pub(crate) fn blocks_mut(&mut self) -> &mut [Block] {
        &mut self.blocks
    }

    fn finish(self) -> Extracted {
        Extracted {
            title: self.title,
            blocks: self.blocks,
        }
    }
}
