//! Structure-aware chunking: blocks → retrieval-sized chunks that carry their heading path.
//!
//! - **Heading path.** A stack of headings by level: a heading pops every heading of the same
//!   or a deeper level and pushes itself. Each chunk records the stack as `heading_path`
//!   (outermost first); [`Chunk::contextual_text`] prepends it for indexing and embedding, so
//!   "Returns › Refunds" context is searchable even when the chunk text never says "refund".
//!   A heading with no content of its own before the next heading of its level (or the end)
//!   becomes a chunk by itself, so no text is lost.
//! - **Packing.** Paragraphs, list items (prefixed `- `) and table rows under the same heading
//!   are packed, one per line, until the next one would exceed the token budget
//!   ([`ChunkOptions::max_tokens`], default 220 — small enough for precise BM25 and for several
//!   chunks to fit an LLM prompt, large enough to hold a complete answer).
//! - **Long blocks** are split at sentence boundaries (see `sentence`); a sentence longer
//!   than the budget is split between words, a "word" longer than that (base64, minified
//!   code) between characters.
//! - **Overlap.** When a section continues into another chunk, the new chunk starts with the
//!   last sentence(s) of the previous one, up to [`ChunkOptions::overlap_ratio`] of the budget
//!   (default 15%), so an answer straddling the cut is whole in at least one chunk. Overlap is
//!   never carried across headings, and a chunk is never made of overlap alone.
//! - **Q&A pairs** are always a chunk of their own; a pair longer than four budgets is split
//!   with the question repeated in every part.
//!
//! **Token estimate** (no tokenizer is shipped): `max(⌈words × 1.3⌉, ⌈chars ÷ 4⌉)`, where words
//! are Unicode words (each CJK ideograph counts as one). English prose lands near its real
//! BPE count on the first term; Russian, whose words split into more BPE tokens, on the second.
//! It is an estimate for budgeting, deliberately on the high side.
//!
//! We do not use the `text-splitter` crate: it splits one string by size, but here the unit is
//! a block with a kind, a page and a heading context, Q&A pairs must stay whole and overlap
//! must stop at headings; the remaining work (sentence packing) is a few dozen lines on top of
//! the sentence splitter we need for the answerer anyway, and avoids its dependency tree.

use unicode_segmentation::UnicodeSegmentation;

use crate::extract::{Block, BlockKind};
use crate::sentence::split_sentences;

/// Chunking parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkOptions {
    /// Token budget per chunk (estimated, see the module docs). Default 220.
    pub max_tokens: u32,
    /// Share of the budget repeated from the previous chunk of the same section. Default 0.15.
    pub overlap_ratio: f32,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            max_tokens: 220,
            overlap_ratio: 0.15,
        }
    }
}

/// A retrieval unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Position in the document, from 0.
    pub ordinal: u32,
    pub text: String,
    /// Enclosing headings, outermost first.
    pub heading_path: Vec<String>,
    /// Page of the chunk's first block, where the format has pages.
    pub page: Option<u32>,
    pub token_estimate: u32,
}

impl Chunk {
    /// The heading path and the text, for full-text indexing and embeddings:
    /// `"Guide › Install\nText…"`, or just the text without headings.
    pub fn contextual_text(&self) -> String {
        if self.heading_path.is_empty() {
            self.text.clone()
        } else {
            format!("{}\n{}", self.heading_path.join(" › "), self.text)
        }
    }
}

/// Estimated token count: `max(⌈words × 1.3⌉, ⌈chars ÷ 4⌉)`.
pub fn estimate_tokens(text: &str) -> u32 {
    let words = text.unicode_words().count() as u64;
    let chars = text.chars().count() as u64;
    let by_words = (words * 13).div_ceil(10);
    let by_chars = chars.div_ceil(4);
    u32::try_from(by_words.max(by_chars)).unwrap_or(u32::MAX)
}

/// Splits `blocks` (normalised text) into chunks. See the module docs.
pub fn chunk(blocks: &[Block], opts: &ChunkOptions) -> Vec<Chunk> {
    let mut c = Chunker::new(opts);
    for block in blocks {
        if block.text.trim().is_empty() {
            continue;
        }
        match block.kind {
            BlockKind::Heading { level } => c.heading(level, &block.text, block.page),
            BlockKind::QaPair => c.qa(&block.text, block.page),
            BlockKind::ListItem => c.add(&format!("- {}", block.text), block.page),
            BlockKind::Paragraph | BlockKind::TableRow => c.add(&block.text, block.page),
        }
    }
    c.finish()
}

struct Piece {
    text: String,
    tokens: u32,
    /// Separator before this piece: a line break between blocks, a space between sentences
    /// of one split block.
    joined_by_space: bool,
    page: Option<u32>,
}

struct Chunker {
    max: u32,
    overlap: u32,
    headings: Vec<(u8, String, Option<u32>)>,
    /// Whether the innermost heading has content (a chunk or a sub-heading) yet.
    heading_used: bool,
    buf: Vec<Piece>,
    buf_tokens: u32,
    /// Tokens of `buf` that are overlap from the previous chunk.
    overlap_tokens: u32,
    out: Vec<Chunk>,
}

impl Chunker {
    fn new(opts: &ChunkOptions) -> Self {
        let max = opts.max_tokens.max(16);
        let ratio = opts.overlap_ratio.clamp(0.0, 0.5);
        Chunker {
            max,
            overlap: (max as f32 * ratio) as u32,
            headings: Vec::new(),
            heading_used: true,
            buf: Vec::new(),
            buf_tokens: 0,
            overlap_tokens: 0,
            out: Vec::new(),
        }
    }

    fn path(&self) -> Vec<String> {
        self.headings.iter().map(|(_, t, _)| t.clone()).collect()
    }

    fn emit(&mut self, text: String, page: Option<u32>, path: Vec<String>) {
        let token_estimate = estimate_tokens(&text);
        self.out.push(Chunk {
            ordinal: self.out.len() as u32,
            text,
            heading_path: path,
            page,
            token_estimate,
        });
        self.heading_used = true;
    }

    /// Emits the buffer as a chunk (if it holds more than overlap) and clears it.
    fn flush(&mut self) {
        if self.buf_tokens > self.overlap_tokens
            || (self.overlap_tokens == 0 && !self.buf.is_empty())
        {
            let mut text = String::new();
            for (i, p) in self.buf.iter().enumerate() {
                if i > 0 {
                    text.push(if p.joined_by_space { ' ' } else { '\n' });
                }
                text.push_str(&p.text);
            }
            let page = self.buf.iter().find_map(|p| p.page);
            let path = self.path();
            self.emit(text, page, path);
        }
        self.buf.clear();
        self.buf_tokens = 0;
        self.overlap_tokens = 0;
    }

    /// Emits the buffer and seeds the next chunk with its last sentences.
    fn flush_with_overlap(&mut self) {
        let mut tail: Vec<(String, u32)> = Vec::new();
        let mut tail_tokens = 0;
        'outer: for p in self.buf.iter().rev() {
            for s in split_sentences(&p.text).into_iter().rev() {
                let t = estimate_tokens(s);
                if tail_tokens + t > self.overlap {
                    break 'outer;
                }
                tail_tokens += t;
                tail.push((s.to_owned(), t));
            }
        }
        let page = self.buf.last().and_then(|p| p.page);
        self.flush();
        for (text, tokens) in tail.into_iter().rev() {
            self.buf.push(Piece {
                text,
                tokens,
                joined_by_space: !self.buf.is_empty(),
                page,
            });
            self.buf_tokens += tokens;
        }
        self.overlap_tokens = self.buf_tokens;
    }

    fn push_piece(&mut self, piece: Piece) {
        if self.buf_tokens + piece.tokens > self.max && self.buf_tokens > self.overlap_tokens {
            self.flush_with_overlap();
        }
        if self.buf_tokens + piece.tokens > self.max {
            // Only overlap is buffered and it does not fit with this piece: drop it.
            self.buf.clear();
            self.buf_tokens = 0;
            self.overlap_tokens = 0;
        }
        self.buf_tokens += piece.tokens;
        self.buf.push(piece);
    }

    fn add(&mut self, text: &str, page: Option<u32>) {
        let tokens = estimate_tokens(text);
        if tokens <= self.max {
            self.push_piece(Piece {
                text: text.to_owned(),
                tokens,
                joined_by_space: false,
                page,
            });
            return;
        }
        for (i, part) in split_long(text, self.max).into_iter().enumerate() {
            let tokens = estimate_tokens(&part);
            self.push_piece(Piece {
                text: part,
                tokens,
                joined_by_space: i > 0,
                page,
            });
        }
    }

    fn heading(&mut self, level: u8, text: &str, page: Option<u32>) {
        self.flush();
        let deeper = self.headings.last().is_some_and(|(l, _, _)| level > *l);
        if !self.heading_used
            && !deeper
            && let Some((_, t, p)) = self.headings.pop()
        {
            let path = self.path();
            self.emit(t.clone(), p, path);
            self.headings.push((level, t, p));
        }
        while self.headings.last().is_some_and(|(l, _, _)| *l >= level) {
            self.headings.pop();
        }
        self.headings.push((level, text.to_owned(), page));
        self.heading_used = false;
    }

    fn qa(&mut self, text: &str, page: Option<u32>) {
        self.flush();
        let path = self.path();
        if estimate_tokens(text) <= self.max.saturating_mul(4) {
            self.emit(text.to_owned(), page, path);
            return;
        }
        let (question, answer) = match text.split_once("\nA: ") {
            Some((q, a)) => (q.to_owned(), a),
            None => (String::new(), text),
        };
        let room = self
            .max
            .saturating_sub(estimate_tokens(&question))
            .max(self.max / 2);
        for part in pack(&split_long(answer, room), room) {
            let text = if question.is_empty() {
                part
            } else {
                format!("{question}\nA: {part}")
            };
            self.emit(text, page, path.clone());
        }
    }

    fn finish(mut self) -> Vec<Chunk> {
        self.flush();
        if !self.heading_used
            && let Some((_, t, p)) = self.headings.pop()
        {
            let path = self.path();
            self.emit(t, p, path);
        }
        self.out
    }
}

/// Splits `text` into pieces of at most `max` estimated tokens: sentences, or word runs of an
/// over-long sentence, or character runs of an over-long word.
fn split_long(text: &str, max: u32) -> Vec<String> {
    let mut out = Vec::new();
    for sentence in split_sentences(text) {
        if estimate_tokens(sentence) <= max {
            out.push(sentence.to_owned());
            continue;
        }
        let mut cur = String::new();
        let mut cur_tokens = 0u32;
        let max_chars = (max as usize * 4).max(16);
        for word in sentence.split_whitespace() {
            let words: Vec<String> = if word.chars().count() > max_chars {
                let chars: Vec<char> = word.chars().collect();
                chars
                    .chunks(max_chars)
                    .map(|c| c.iter().collect())
                    .collect()
            } else {
                vec![word.to_owned()]
            };
            for w in words {
                let t = estimate_tokens(&w).max(1);
                if cur_tokens + t > max && !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    cur_tokens = 0;
                }
                if !cur.is_empty() {
                    cur.push(' ');
                    cur_tokens += 1;
                }
                cur.push_str(&w);
                cur_tokens += t;
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
    }
    out
}

/// Greedily joins pieces with spaces up to `max` tokens.
fn pack(pieces: &[String], max: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_tokens = 0;
    for p in pieces {
        let t = estimate_tokens(p);
        if cur_tokens + t > max && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            cur_tokens = 0;
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(p);
        cur_tokens += t;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(kind: BlockKind, text: &str) -> Block {
        Block {
            kind,
            text: text.to_owned(),
            page: None,
        }
    }
    fn h(level: u8, text: &str) -> Block {
        b(BlockKind::Heading { level }, text)
    }
    fn p(text: &str) -> Block {
        b(BlockKind::Paragraph, text)
    }

    #[test]
    fn estimate() {
        assert_eq!(
            estimate_tokens("one two three four five six seven eight nine ten"),
            13
        );
        assert_eq!(estimate_tokens(""), 0);
        // Russian: long words; the character term dominates.
        assert_eq!(estimate_tokens("Интернационализация"), 5);
    }

    #[test]
    fn heading_paths_and_packing() {
        let blocks = vec![
            h(1, "Guide"),
            p("Intro."),
            h(2, "Install"),
            p("Run the installer."),
            b(BlockKind::ListItem, "Windows"),
            b(BlockKind::ListItem, "Linux"),
            h(2, "Empty"),
            h(2, "Use"),
            p("Open the app."),
            h(1, "Other"),
            b(BlockKind::QaPair, "Q: Why?\nA: Because."),
            p("Tail."),
        ];
        let chunks = chunk(&blocks, &ChunkOptions::default());
        let view: Vec<(String, String)> = chunks
            .iter()
            .map(|c| (c.heading_path.join("/"), c.text.clone()))
            .collect();
        assert_eq!(
            view,
            vec![
                ("Guide".into(), "Intro.".into()),
                (
                    "Guide/Install".into(),
                    "Run the installer.\n- Windows\n- Linux".into()
                ),
                ("Guide".into(), "Empty".into()),
                ("Guide/Use".into(), "Open the app.".into()),
                ("Other".into(), "Q: Why?\nA: Because.".into()),
                ("Other".into(), "Tail.".into()),
            ]
        );
        assert!(
            chunks
                .iter()
                .enumerate()
                .all(|(i, c)| c.ordinal == i as u32)
        );
        assert_eq!(
            chunks[1].contextual_text(),
            "Guide › Install\nRun the installer.\n- Windows\n- Linux"
        );
    }

    #[test]
    fn long_paragraph_splits_at_sentences_with_overlap() {
        let sentences: Vec<String> = (0..60)
            .map(|i| format!("Sentence number {i} talks about delivery options and prices."))
            .collect();
        let text = sentences.join(" ");
        let chunks = chunk(&[h(1, "Delivery"), p(&text)], &ChunkOptions::default());
        assert!(chunks.len() >= 4, "{}", chunks.len());
        for c in &chunks {
            assert!(c.token_estimate <= 220, "{}", c.token_estimate);
            assert_eq!(c.heading_path, vec!["Delivery".to_owned()]);
            assert!(c.text.ends_with('.'));
        }
        // Consecutive chunks share the previous chunk's last sentence(s), ≤ 15% of the budget.
        for pair in chunks.windows(2) {
            let prev = split_sentences(&pair[0].text);
            let next = split_sentences(&pair[1].text);
            let shared = next.iter().take_while(|s| prev.contains(s)).count();
            assert!(shared >= 1);
            assert_eq!(next[shared - 1], *prev.last().unwrap());
            assert!(estimate_tokens(&next[..shared].join(" ")) <= 33);
        }
        // Every sentence is somewhere.
        for s in &sentences {
            assert!(chunks.iter().any(|c| c.text.contains(s.as_str())));
        }
    }

    #[test]
    fn no_overlap_across_headings_and_huge_words() {
        let long = "word ".repeat(400);
        let chunks = chunk(
            &[h(1, "A"), p(&long), h(1, "B"), p("x")],
            &ChunkOptions::default(),
        );
        assert_eq!(chunks.last().unwrap().text, "x");
        let blob = "x".repeat(10_000);
        let chunks = chunk(&[p(&blob)], &ChunkOptions::default());
        assert!(chunks.len() >= 10);
        assert!(chunks.iter().all(|c| c.token_estimate <= 220));
        assert_eq!(chunks.iter().map(|c| c.text.len()).sum::<usize>(), 10_000);
    }

    #[test]
    fn russian_sentences() {
        let s = "Мы доставляем заказы по всей России, т.е. в любой город. ".repeat(40);
        let chunks = chunk(&[p(&s)], &ChunkOptions::default());
        assert!(chunks.len() > 1);
        assert!(chunks.iter().all(|c| c.text.ends_with("город.")));
    }

    #[test]
    fn long_qa_repeats_question() {
        let answer = "It depends on many factors. ".repeat(300);
        let chunks = chunk(
            &[b(BlockKind::QaPair, &format!("Q: How long?\nA: {answer}"))],
            &ChunkOptions::default(),
        );
        assert!(chunks.len() > 1);
        assert!(
            chunks
                .iter()
                .all(|c| c.text.starts_with("Q: How long?\nA: "))
        );
    }
}
