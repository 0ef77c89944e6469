//! DOCX → blocks: `word/document.xml` streamed through `quick-xml`, behind `zipguard`.
//!
//! - **Styles.** `word/styles.xml` is read first into a map *style id → (name, basedOn,
//!   outline level, numbering)*. A paragraph is a heading when its style (or a style it is
//!   based on, up to 10 levels) is named `heading N` or `Title`, or carries an outline level;
//!   this works for localised Word, where the style *id* of "heading 1" is e.g. `1` or
//!   `berschrift1` but the *name* stays `heading 1`. A direct `w:outlineLvl` also counts.
//! - **Lists.** A paragraph with `w:numPr` (numbering id ≠ 0), directly or through its style,
//!   or with a `List …` style, is a list item.
//! - **Tables.** Each row of an outermost `w:tbl` is one block, cells joined with `" | "`;
//!   paragraphs and nested tables inside a cell become that cell's text.
//! - **Text.** `w:t`, `w:tab`, `w:br`/`w:cr` and non-breaking hyphens; deleted revisions,
//!   field instructions, old formatting (`…Change`) and `mc:Fallback` duplicates (text boxes
//!   are stored twice) are skipped. Text boxes (paragraphs inside a paragraph) come out as
//!   their own paragraphs.
//! - **Pages.** Word records where pages broke when it last laid out the document
//!   (`w:lastRenderedPageBreak`) and explicit page breaks; if the file has any, blocks get page
//!   numbers, otherwise none (a generated DOCX has never been laid out).
//!
//! Elements are matched by resolved namespace (transitional and strict WordprocessingML), not
//! by prefix, so DrawingML `a:t` in charts is not mistaken for text. quick-xml does not expand
//! DTD entities (no billion-laughs), keeps only a namespace stack (no tree) and reads through
//! the bounded reader of `zipguard`, so memory stays proportional to the output.

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use crate::extract::{BlockKind, Collector, ExtractError, Limits};
use crate::zipguard::{self, Budget};

const W_NS: &[&str] = &[
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    "http://purl.oclc.org/ooxml/wordprocessingml/main",
];
const MC_NS: &str = "http://schemas.openxmlformats.org/markup-compatibility/2006";

pub(crate) fn extract(
    bytes: &[u8],
    limits: &Limits,
    out: &mut Collector,
) -> Result<(), ExtractError> {
    let mut archive = zipguard::open(bytes, limits, "DOCX")?;
    let mut budget = Budget {
        left: limits.max_decompressed_bytes,
    };
    let styles = zipguard::with_entry(
        &mut archive,
        "word/styles.xml",
        limits,
        &mut budget,
        "DOCX",
        |r| parse_styles(r),
    )?
    .unwrap_or_default();
    let found = zipguard::with_entry(
        &mut archive,
        "word/document.xml",
        limits,
        &mut budget,
        "DOCX",
        |r| parse_document(r, &styles, out),
    )?;
    if found.is_none() {
        return Err(ExtractError::Malformed(
            "the DOCX has no word/document.xml; it may be damaged".into(),
        ));
    }
    Ok(())
}

fn xml_error(part: &str, e: quick_xml::Error) -> ExtractError {
    match e {
        // The zip crate refuses to read past an entry's declared size: a lying zip bomb.
        quick_xml::Error::Io(io) if io.to_string().contains("larger than its declared") => {
            ExtractError::TooLarge(format!(
                "the DOCX looks like a zip bomb: {part} is larger than it declares"
            ))
        }
        quick_xml::Error::Io(io) => ExtractError::Malformed(format!(
            "the DOCX is damaged: {part} could not be read ({io})"
        )),
        e => ExtractError::Malformed(format!(
            "the DOCX is damaged: {part} is not well-formed XML ({e})"
        )),
    }
}

fn is_w(ns: &ResolveResult<'_>) -> bool {
    matches!(ns, ResolveResult::Bound(n) if W_NS.contains(&n.0))
}

fn val(e: &BytesStart<'_>) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.local_name().as_ref() == "val")
        .and_then(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

fn attr(e: &BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

#[derive(Debug, Default, Clone)]
struct Style {
    name: String,
    based_on: Option<String>,
    outline: Option<u8>,
    numbered: bool,
}

#[derive(Debug, Default)]
struct Styles(HashMap<String, Style>);

impl Styles {
    /// The style and the styles it is based on, nearest first, at most 10.
    fn chain<'a>(&'a self, id: &'a str) -> impl Iterator<Item = (&'a str, Option<&'a Style>)> + 'a {
        let mut next = Some(id);
        std::iter::from_fn(move || {
            let id = next.take()?;
            let style = self.0.get(id);
            next = style.and_then(|s| s.based_on.as_deref());
            Some((id, style))
        })
        .take(10)
    }

    fn heading_level(&self, id: &str) -> Option<u8> {
        for (id, style) in self.chain(id) {
            let name = style.map(|s| s.name.as_str()).unwrap_or("");
            for candidate in [name, &id.to_lowercase()] {
                let c = candidate.replace(' ', "");
                if c == "title" {
                    return Some(1);
                }
                if let Some(n) = c.strip_prefix("heading").and_then(|n| n.parse::<u8>().ok()) {
                    return Some(n.clamp(1, 6));
                }
            }
            if let Some(o) = style.and_then(|s| s.outline) {
                return (o < 9).then_some(o + 1);
            }
        }
        None
    }

    fn is_title(&self, id: &str) -> bool {
        self.chain(id)
            .any(|(id, s)| id.eq_ignore_ascii_case("title") || s.is_some_and(|s| s.name == "title"))
    }

    fn is_list(&self, id: &str) -> bool {
        self.chain(id)
            .any(|(_, s)| s.is_some_and(|s| s.numbered || s.name.starts_with("list")))
    }
}

fn parse_styles(r: &mut dyn BufRead) -> Result<Styles, ExtractError> {
    let mut reader = NsReader::from_reader(r);
    let mut buf = Vec::new();
    let mut styles = Styles::default();
    let mut current: Option<(String, Style)> = None;
    loop {
        let (ns, event) = reader
            .read_resolved_event_into(&mut buf)
            .map_err(|e| xml_error("word/styles.xml", e))?;
        let w = is_w(&ns);
        match event {
            Event::Start(e) | Event::Empty(e) if w => match e.local_name().as_ref() {
                "style" => {
                    let is_para = attr(&e, "type").is_none_or(|t| t == "paragraph");
                    current = match (is_para, attr(&e, "styleId")) {
                        (true, Some(id)) => Some((id, Style::default())),
                        _ => None,
                    };
                }
                "name" => {
                    if let (Some((_, s)), Some(v)) = (current.as_mut(), val(&e)) {
                        s.name = v.to_lowercase();
                    }
                }
                "basedOn" => {
                    if let Some((_, s)) = current.as_mut() {
                        s.based_on = val(&e);
                    }
                }
                "outlineLvl" => {
                    if let Some((_, s)) = current.as_mut() {
                        s.outline = val(&e).and_then(|v| v.parse().ok());
                    }
                }
                "numId" => {
                    if let Some((_, s)) = current.as_mut() {
                        s.numbered = val(&e).is_some_and(|v| v != "0");
                    }
                }
                _ => {}
            },
            Event::End(e) if w && e.local_name().as_ref() == "style" => {
                if let Some((id, s)) = current.take()
                    && styles.0.len() < 100_000
                {
                    styles.0.insert(id, s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(styles)
}

#[derive(Debug, Default)]
struct Para {
    text: String,
    style: Option<String>,
    outline: Option<u8>,
    numbered: bool,
    page: Option<u32>,
}

struct Doc<'s, 'o> {
    styles: &'s Styles,
    out: &'o mut Collector,
    paras: Vec<Para>,
    depth: usize,
    skip_at: Option<usize>,
    in_t: bool,
    run_depth: usize,
    table_depth: usize,
    row: Option<Vec<String>>,
    cell: String,
    page: u32,
    saw_page_marker: bool,
}

impl Doc<'_, '_> {
    fn push_text(&mut self, s: &str) {
        let page = self.page;
        if let Some(p) = self.paras.last_mut() {
            if p.page.is_none() && !s.trim().is_empty() {
                p.page = Some(page);
            }
            p.text.push_str(s);
        }
    }

    fn start(&mut self, ns: &ResolveResult<'_>, e: &BytesStart<'_>, empty: bool) {
        let name = e.local_name();
        let local = name.as_ref();
        if matches!(ns, ResolveResult::Bound(n) if n.0 == MC_NS) && local == "Fallback" && !empty {
            self.skip_at = Some(self.depth);
            return;
        }
        if !is_w(ns) {
            return;
        }
        match local {
            "p" if !empty => self.paras.push(Para::default()),
            "pStyle" => {
                if let Some(p) = self.paras.last_mut() {
                    p.style = val(e);
                }
            }
            "outlineLvl" => {
                if let Some(p) = self.paras.last_mut() {
                    p.outline = val(e).and_then(|v| v.parse().ok());
                }
            }
            "numId" => {
                if let Some(p) = self.paras.last_mut() {
                    p.numbered = val(e).is_some_and(|v| v != "0");
                }
            }
            "r" if !empty => self.run_depth += 1,
            "t" if !empty => self.in_t = true,
            "tab" if self.run_depth > 0 => self.push_text("\t"),
            "br" | "cr" if self.run_depth > 0 => {
                if attr(e, "type").as_deref() == Some("page") {
                    self.page += 1;
                    self.saw_page_marker = true;
                }
                self.push_text("\n");
            }
            "lastRenderedPageBreak" => {
                self.page += 1;
                self.saw_page_marker = true;
            }
            "noBreakHyphen" => self.push_text("-"),
            "tbl" if !empty => self.table_depth += 1,
            "tr" if !empty && self.table_depth == 1 => self.row = Some(Vec::new()),
            "tc" if !empty && self.table_depth == 1 => self.cell.clear(),
            "del" | "delText" | "instrText" | "pPrChange" | "rPrChange" | "sectPrChange"
            | "tblPrChange" | "trPrChange" | "tcPrChange" | "numberingChange" | "fldData"
                if !empty =>
            {
                self.skip_at = Some(self.depth);
            }
            _ => {}
        }
    }

    fn end(&mut self, ns: &ResolveResult<'_>, local: &str) -> Result<(), ExtractError> {
        if !is_w(ns) {
            return Ok(());
        }
        match local {
            "t" => self.in_t = false,
            "r" => self.run_depth = self.run_depth.saturating_sub(1),
            "p" => {
                if let Some(p) = self.paras.pop() {
                    self.finish_para(p)?;
                }
            }
            "tc" if self.table_depth == 1 => {
                let cell = std::mem::take(&mut self.cell);
                let cell = cell.split_whitespace().collect::<Vec<_>>().join(" ");
                if let (Some(row), false) = (self.row.as_mut(), cell.is_empty()) {
                    row.push(cell);
                }
            }
            "tr" if self.table_depth == 1 => {
                if let Some(cells) = self.row.take() {
                    self.out
                        .push(BlockKind::TableRow, cells.join(" | "), self.current_page())?;
                }
            }
            "tbl" => self.table_depth = self.table_depth.saturating_sub(1),
            _ => {}
        }
        Ok(())
    }

    fn current_page(&self) -> Option<u32> {
        Some(self.page)
    }

    fn finish_para(&mut self, p: Para) -> Result<(), ExtractError> {
        if p.text.trim().is_empty() {
            return Ok(());
        }
        if self.table_depth > 0 {
            if !self.cell.is_empty() {
                self.cell.push(' ');
            }
            self.cell.push_str(&p.text);
            return self.out.check_pending(self.cell.len());
        }
        let style = p.style.as_deref();
        let level = p
            .outline
            .filter(|&o| o < 9)
            .map(|o| o + 1)
            .or_else(|| style.and_then(|s| self.styles.heading_level(s)));
        let kind = if let Some(level) = level {
            if style.is_some_and(|s| self.styles.is_title(s)) {
                self.out.set_title(&p.text);
            }
            BlockKind::Heading { level }
        } else if p.numbered || style.is_some_and(|s| self.styles.is_list(s)) {
            BlockKind::ListItem
        } else {
            BlockKind::Paragraph
        };
        self.out.push(kind, p.text, p.page.or(Some(self.page)))
    }
}

fn parse_document(
    r: &mut dyn BufRead,
    styles: &Styles,
    out: &mut Collector,
) -> Result<(), ExtractError> {
    let mut reader = NsReader::from_reader(r);
    let mut buf = Vec::new();
    let mut doc = Doc {
        styles,
        out,
        paras: Vec::new(),
        depth: 0,
        skip_at: None,
        in_t: false,
        run_depth: 0,
        table_depth: 0,
        row: None,
        cell: String::new(),
        page: 1,
        saw_page_marker: false,
    };
    loop {
        let (ns, event) = reader
            .read_resolved_event_into(&mut buf)
            .map_err(|e| xml_error("word/document.xml", e))?;
        match event {
            Event::Start(e) => {
                if doc.skip_at.is_none() {
                    doc.start(&ns, &e, false);
                }
                doc.depth += 1;
            }
            Event::Empty(e) if doc.skip_at.is_none() => {
                doc.start(&ns, &e, true);
            }
            Event::End(e) => {
                doc.depth = doc.depth.saturating_sub(1);
                if doc.skip_at == Some(doc.depth) {
                    doc.skip_at = None;
                } else if doc.skip_at.is_none() {
                    doc.end(&ns, e.local_name().as_ref())?;
                }
            }
            Event::Text(t) if doc.in_t && doc.skip_at.is_none() => {
                doc.push_text(&t.xml10_content());
            }
            Event::CData(t) if doc.in_t && doc.skip_at.is_none() => {
                doc.push_text(&t.xml10_content());
            }
            Event::GeneralRef(r) if doc.in_t && doc.skip_at.is_none() => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    _ => match &*r {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    },
                };
                if let Some(c) = c {
                    doc.push_text(c.encode_utf8(&mut [0; 4]));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    // Paragraphs left open by a truncated document still count.
    while let Some(p) = doc.paras.pop() {
        doc.finish_para(p)?;
    }
    if !doc.saw_page_marker {
        for b in doc.out.blocks_mut() {
            b.page = None;
        }
    }
    Ok(())
}
