//! HTML → blocks, with the `html5ever` *tokenizer* (not the tree builder).
//!
//! Why the tokenizer: it is the spec-exact HTML5 tokenizer (entities, raw-text elements,
//! broken markup) but builds no DOM, so a document nested a million levels deep costs no
//! memory or stack, and we get exactly the structure we need without undoing a text renderer's
//! layout (which is what `html2text` would give us: wrapped lines, drawn tables, `*` bullets).
//!
//! A small state machine over the tokens:
//! - `script`, `style`, `noscript`, `template`, `nav`, `svg`, `math`, `iframe`, `object`,
//!   `select`, `textarea`, `button` are dropped with their content (raw-text elements are
//!   switched into the tokenizer's raw-text states so `</p>` inside a script is not markup);
//! - `<title>` becomes [`Extracted::title`](crate::Extracted), the rest of `<head>` is dropped;
//! - `h1`–`h6` are headings, `li` list items, `tr` table rows (cells joined with `" | "`),
//!   other block elements (`p`, `div`, `section`, `br` inside text, …) end a paragraph.
//!
//! Bytes are decoded by BOM, UTF-8 validity, a `<meta charset>` in the first 4 KiB, the
//! Windows-1251 heuristic, and finally Windows-1252 (the HTML default).

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use crate::extract::{BlockKind, Collector, ExtractError};

pub(crate) fn extract(bytes: &[u8], out: &mut Collector) -> Result<(), ExtractError> {
    let text = decode_html(bytes);
    let sink = Sink {
        state: RefCell::new(State::default()),
        out: RefCell::new(out),
    };
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(&text));
    // `feed` returns early only for `Script`/encoding results we never produce; loop anyway.
    let mut rounds = 0;
    while !input.is_empty() && rounds < 1_000_000 {
        let _ = tokenizer.feed(&input);
        rounds += 1;
    }
    tokenizer.end();
    let sink = tokenizer.sink;
    let mut state = sink.state.into_inner();
    let out = sink.out.into_inner();
    if let Some(e) = state.error.take() {
        return Err(e);
    }
    state.flush(out)?;
    if !state.title.trim().is_empty() {
        out.set_title(&state.title);
    }
    Ok(())
}

fn decode_html(bytes: &[u8]) -> String {
    if let Some((text, _)) = crate::textdecode::decode(bytes, false) {
        return text.into_owned();
    }
    let head = &bytes[..bytes.len().min(4096)];
    let lower = head.to_ascii_lowercase();
    if let Some(pos) = memchr::memmem::find(&lower, b"charset=") {
        let label: Vec<u8> = lower[pos + 8..]
            .iter()
            .copied()
            .skip_while(|&b| b == b'"' || b == b'\'')
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':'))
            .collect();
        if let Some(enc) = encoding_rs::Encoding::for_label(&label) {
            return enc.decode_without_bom_handling(bytes).0.into_owned();
        }
    }
    encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(bytes)
        .0
        .into_owned()
}

struct Sink<'a> {
    state: RefCell<State>,
    out: RefCell<&'a mut Collector>,
}

#[derive(Default)]
struct State {
    buf: String,
    title: String,
    in_title: bool,
    in_head: bool,
    /// Open elements whose content is dropped (`nav`, `svg`, …), innermost last.
    skipping: Vec<String>,
    heading: Option<u8>,
    /// Open `ul`/`ol` elements, innermost last, each with whether an `li` is open in it.
    lists: Vec<bool>,
    row: Option<Vec<String>>,
    error: Option<ExtractError>,
}

const SKIP: &[&str] = &[
    "nav", "svg", "math", "iframe", "object", "select", "button", "template", "noscript", "script",
    "style", "textarea", "noembed", "noframes", "xmp",
];
const HEAD_ONLY: &[&str] = &[
    "head", "title", "meta", "link", "style", "script", "base", "noscript", "template",
];
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];
const BLOCK: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "dl",
    "hr",
    "address",
    "figure",
    "figcaption",
    "form",
    "fieldset",
    "details",
    "summary",
    "ul",
    "ol",
    "table",
    "caption",
    "body",
    "center",
    "tbody",
    "thead",
    "tfoot",
    "legend",
    "html",
];

impl State {
    fn body_kind(&self) -> BlockKind {
        if let Some(level) = self.heading {
            BlockKind::Heading { level }
        } else if self.lists.iter().any(|&open| open) {
            BlockKind::ListItem
        } else {
            BlockKind::Paragraph
        }
    }

    fn flush(&mut self, out: &mut Collector) -> Result<(), ExtractError> {
        let kind = self.body_kind();
        let text = std::mem::take(&mut self.buf);
        out.push(kind, text, None)
    }

    fn end_cell(&mut self) {
        if let Some(row) = self.row.as_mut() {
            let cell = std::mem::take(&mut self.buf);
            let cell = cell.split_whitespace().collect::<Vec<_>>().join(" ");
            if !cell.is_empty() {
                row.push(cell);
            }
        }
    }

    fn end_row(&mut self, out: &mut Collector) -> Result<(), ExtractError> {
        self.end_cell();
        if let Some(cells) = self.row.take() {
            out.push(BlockKind::TableRow, cells.join(" | "), None)?;
        }
        Ok(())
    }

    fn tag(
        &mut self,
        kind: TagKind,
        name: &str,
        self_closing: bool,
        out: &mut Collector,
    ) -> Result<(), ExtractError> {
        let start = kind == TagKind::StartTag;
        if let Some(top) = self.skipping.last() {
            if !start && top == name {
                self.skipping.pop();
            } else if start && SKIP.contains(&name) && !self_closing {
                self.skipping.push(name.to_owned());
            }
            return Ok(());
        }
        if start && self.in_head && !HEAD_ONLY.contains(&name) {
            // A body element ends an unclosed <head>.
            self.in_head = false;
        }
        match (name, start) {
            ("head", true) => self.in_head = true,
            ("head", false) => self.in_head = false,
            ("title", true) => self.in_title = true,
            ("title", false) => self.in_title = false,
            ("body", true) => self.in_head = false,
            (n, true) if SKIP.contains(&n) && !self_closing && !VOID.contains(&n) => {
                self.skipping.push(n.to_owned());
            }
            ("br", _) => self.buf.push('\n'),
            ("h1" | "h2" | "h3" | "h4" | "h5" | "h6", true) if self.row.is_none() => {
                self.flush(out)?;
                self.heading = Some(name.as_bytes()[1] - b'0');
            }
            ("h1" | "h2" | "h3" | "h4" | "h5" | "h6", false) if self.row.is_none() => {
                self.flush(out)?;
                self.heading = None;
            }
            ("li", true) => {
                // A new <li> implicitly closes the previous one of the same list.
                self.flush(out)?;
                if self.lists.is_empty() {
                    self.lists.push(false);
                }
                if let Some(open) = self.lists.last_mut() {
                    *open = true;
                }
            }
            ("li", false) => {
                self.flush(out)?;
                if let Some(open) = self.lists.last_mut() {
                    *open = false;
                }
            }
            ("ul" | "ol" | "menu", true) => {
                self.flush(out)?;
                self.lists.push(false);
            }
            ("ul" | "ol" | "menu", false) => {
                self.flush(out)?;
                self.lists.pop();
            }
            ("tr", true) => {
                if self.row.is_some() {
                    self.end_row(out)?;
                } else {
                    self.flush(out)?;
                }
                self.row = Some(Vec::new());
            }
            ("tr", false) | ("table", false) => self.end_row(out)?,
            ("td" | "th", true) => {
                if self.row.is_none() {
                    self.flush(out)?;
                    self.row = Some(Vec::new());
                }
                self.end_cell();
            }
            ("td" | "th", false) => self.end_cell(),
            (n, _) if BLOCK.contains(&n) => {
                if self.row.is_some() {
                    self.buf.push(' ');
                } else {
                    self.flush(out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl TokenSink for Sink<'_> {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut state = self.state.borrow_mut();
        if state.error.is_some() {
            return TokenSinkResult::Continue;
        }
        let mut out = self.out.borrow_mut();
        let mut result = TokenSinkResult::Continue;
        let r = match token {
            Token::TagToken(tag) => {
                let name: &str = &tag.name;
                if tag.kind == TagKind::StartTag && !tag.self_closing {
                    result = match name {
                        "script" => TokenSinkResult::RawData(RawKind::ScriptData),
                        "style" | "noscript" | "xmp" | "iframe" | "noembed" | "noframes" => {
                            TokenSinkResult::RawData(RawKind::Rawtext)
                        }
                        "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
                        "plaintext" => TokenSinkResult::Plaintext,
                        _ => TokenSinkResult::Continue,
                    };
                }
                state.tag(tag.kind, name, tag.self_closing, &mut out)
            }
            Token::CharacterTokens(text) => {
                if state.in_title && state.skipping.is_empty() {
                    if state.title.len() < 4096 {
                        state.title.push_str(&text);
                    }
                } else if state.skipping.is_empty() && !state.in_head {
                    state.buf.push_str(&text);
                }
                let pending = state.buf.len();
                out.check_pending(pending)
            }
            _ => Ok(()),
        };
        if let Err(e) = r {
            state.error = Some(e);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Limits;

    fn run(html: &str) -> (Vec<(BlockKind, String)>, Option<String>) {
        let mut out = Collector::new(&Limits::default());
        extract(html.as_bytes(), &mut out).unwrap();
        let blocks = out
            .blocks_mut()
            .iter()
            .map(|b| {
                (
                    b.kind,
                    b.text.split_whitespace().collect::<Vec<_>>().join(" "),
                )
            })
            .collect();
        (blocks, out.title.clone())
    }

    #[test]
    fn structure_and_junk() {
        let (b, title) = run(
            "<!doctype html><html><head><title>Shop &amp; Co</title><style>p{}</style></head>\
             <body><nav><a>Home</a><a>About</a></nav><h1>Delivery</h1><p>We ship <b>fast</b>.<br>Really.</p>\
             <script>if (a < b) { document.write('</p>junk') }</script>\
             <ul><li>One<li>Two</ul><table><tr><th>Size</th><th>Price</th></tr><tr><td>S</td><td>10 &euro;</td></tr></table>\
             <h2>Returns</h2><div>Within 14 days</div></body></html>",
        );
        assert_eq!(title.as_deref(), Some("Shop & Co"));
        assert_eq!(
            b,
            vec![
                (BlockKind::Heading { level: 1 }, "Delivery".into()),
                (BlockKind::Paragraph, "We ship fast. Really.".into()),
                (BlockKind::ListItem, "One".into()),
                (BlockKind::ListItem, "Two".into()),
                (BlockKind::TableRow, "Size | Price".into()),
                (BlockKind::TableRow, "S | 10 €".into()),
                (BlockKind::Heading { level: 2 }, "Returns".into()),
                (BlockKind::Paragraph, "Within 14 days".into()),
            ]
        );
    }

    #[test]
    fn deep_nesting_is_cheap() {
        let html = "<div>".repeat(200_000) + "deep" + &"</div>".repeat(200_000);
        let (b, _) = run(&html);
        assert_eq!(b, vec![(BlockKind::Paragraph, "deep".into())]);
    }
}
