//! Deciding what an upload is, from its bytes.
//!
//! The client's `Content-Type` is never consulted and the file name never overrules the
//! content: a `.pdf` that is really text is text, and an `.exe` renamed `.txt` is refused.
//! The order of the checks:
//!
//! 1. **Magic bytes**: `%PDF-` → PDF; a ZIP local header → DOCX only if the archive holds
//!    `word/document.xml` (XLSX, PPTX, OpenDocument and other archives are refused with a
//!    reason saying what they are); OLE2 (legacy `.doc`/`.xls`), RTF, images, executables and
//!    compressed archives are refused by name so the user learns what to do instead.
//! 2. **HTML markers** at the start (`<!doctype html`, `<html`, `<head`, `<body`, optionally
//!    after a BOM, whitespace, an XML declaration or comments).
//! 3. **Text** (see `textdecode`): UTF-8, UTF-16 with a BOM, or Windows-1251. Only now does
//!    the file name pick the flavour: `.md`/`.markdown` → Markdown, `.csv`/`.tsv` → CSV,
//!    `.html`/`.htm` → HTML. Without a telling name, a consistent delimiter structure makes it
//!    CSV and ATX headings (`# Title`) make it Markdown; everything else is plain text.
//!
//! [`detect`] works on the first bytes of a file (a few KiB are enough) and is therefore a
//! heuristic for ZIP archives: it looks for the entry name in the first local headers.
//! [`detect_bytes`] has the whole file and asks the ZIP central directory, with the entry-count
//! guard of `zipguard` in front of it; the server should use it.

use std::fmt;

use crate::extract::Limits;
use crate::textdecode;

/// The document formats the knowledge base can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocType {
    Pdf,
    Docx,
    Html,
    Markdown,
    Text,
    Csv,
}

impl DocType {
    /// A short lowercase name (`"pdf"`, `"docx"`, …) for storage and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            DocType::Pdf => "pdf",
            DocType::Docx => "docx",
            DocType::Html => "html",
            DocType::Markdown => "markdown",
            DocType::Text => "text",
            DocType::Csv => "csv",
        }
    }

    /// The media type we would serve the original as.
    pub fn mime(self) -> &'static str {
        match self {
            DocType::Pdf => "application/pdf",
            DocType::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            DocType::Html => "text/html",
            DocType::Markdown => "text/markdown",
            DocType::Text => "text/plain",
            DocType::Csv => "text/csv",
        }
    }
}

impl fmt::Display for DocType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The upload is not a format we read. `reason` is a sentence for the user (HTTP 415 detail).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct UnsupportedType {
    pub reason: String,
}

impl UnsupportedType {
    fn new(reason: impl Into<String>) -> Self {
        UnsupportedType {
            reason: reason.into(),
        }
    }
}

const SUPPORTED: &str = "supported formats are PDF, DOCX, HTML, Markdown, TXT and CSV";

/// Detects the type from the first bytes of the file (`head`; pass the whole file when you
/// have it, or use [`detect_bytes`]). `file_name` only chooses between text flavours.
pub fn detect(file_name: Option<&str>, head: &[u8]) -> Result<DocType, UnsupportedType> {
    detect_inner(file_name, head, true, None)
}

/// Like [`detect`] with the whole file: ZIP archives are identified from their central
/// directory (guarded against oversized directories).
pub fn detect_bytes(file_name: Option<&str>, bytes: &[u8]) -> Result<DocType, UnsupportedType> {
    let zip_kind = if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        zip_kind_from_directory(bytes)
    } else {
        None
    };
    detect_inner(file_name, bytes, false, zip_kind)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZipKind {
    Docx,
    Xlsx,
    Pptx,
    OpenDocument,
    Other,
}

fn zip_kind_from_directory(bytes: &[u8]) -> Option<ZipKind> {
    // A directory we refuse to open is decided by the head heuristic; extraction will then
    // report the precise problem (too many entries, damaged archive).
    let archive = crate::zipguard::open(bytes, &Limits::default(), "ZIP").ok()?;
    let has = |name: &str| archive.index_for_name(name).is_some();
    Some(if has("word/document.xml") {
        ZipKind::Docx
    } else if has("xl/workbook.xml") {
        ZipKind::Xlsx
    } else if has("ppt/presentation.xml") {
        ZipKind::Pptx
    } else if has("mimetype") && has("content.xml") {
        ZipKind::OpenDocument
    } else {
        ZipKind::Other
    })
}

fn zip_kind_from_head(head: &[u8]) -> ZipKind {
    let find = |needle: &[u8]| memchr::memmem::find(head, needle).is_some();
    let any = |needles: &[&[u8]]| needles.iter().any(|n| find(n));
    if any(&[
        b"word/document.xml",
        b"word/styles.xml",
        b"word/_rels/",
        b"word/theme/",
    ]) {
        ZipKind::Docx
    } else if any(&[
        b"xl/workbook.xml",
        b"xl/worksheets/",
        b"xl/_rels/",
        b"xl/styles.xml",
    ]) {
        ZipKind::Xlsx
    } else if any(&[b"ppt/presentation.xml", b"ppt/slides/", b"ppt/_rels/"]) {
        ZipKind::Pptx
    } else if find(b"application/vnd.oasis.opendocument") {
        ZipKind::OpenDocument
    } else {
        ZipKind::Other
    }
}

fn detect_inner(
    file_name: Option<&str>,
    head: &[u8],
    truncated: bool,
    zip_kind: Option<ZipKind>,
) -> Result<DocType, UnsupportedType> {
    let trimmed = trim_ascii_start(head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head));
    if trimmed.starts_with(b"%PDF-")
        || (memchr::memmem::find(&head[..head.len().min(1024)], b"%PDF-").is_some()
            && textdecode::decode(head, truncated).is_none())
    {
        return Ok(DocType::Pdf);
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return match zip_kind.unwrap_or_else(|| zip_kind_from_head(head)) {
            ZipKind::Docx => Ok(DocType::Docx),
            ZipKind::Xlsx => Err(UnsupportedType::new(
                "spreadsheets (XLSX) are not supported; save the sheet as CSV and upload that",
            )),
            ZipKind::Pptx => Err(UnsupportedType::new(
                "presentations (PPTX) are not supported; export them as PDF",
            )),
            ZipKind::OpenDocument => Err(UnsupportedType::new(
                "OpenDocument files are not supported; save the document as DOCX or PDF",
            )),
            ZipKind::Other => Err(UnsupportedType::new(format!(
                "ZIP archives are not supported; {SUPPORTED}"
            ))),
        };
    }
    if let Some(reason) = known_binary(head) {
        return Err(UnsupportedType::new(reason));
    }
    if is_html(trimmed) {
        return Ok(DocType::Html);
    }
    let Some((text, _)) = textdecode::decode(head, truncated) else {
        return Err(UnsupportedType::new(format!(
            "the file is neither a supported document nor text; {SUPPORTED}"
        )));
    };
    if text.trim_start().starts_with("{\\rtf") {
        return Err(UnsupportedType::new(
            "RTF is not supported; save the document as DOCX or PDF",
        ));
    }
    let ext = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("md" | "markdown" | "mdown" | "mkd" | "mkdn") => return Ok(DocType::Markdown),
        Some("csv" | "tsv") => return Ok(DocType::Csv),
        Some("html" | "htm" | "xhtml") if text.contains('<') => return Ok(DocType::Html),
        _ => {}
    }
    if crate::extract::csv::sniff_delimiter(&text).is_some_and(|s| s.looks_tabular) {
        return Ok(DocType::Csv);
    }
    if looks_like_markdown(&text) {
        return Ok(DocType::Markdown);
    }
    Ok(DocType::Text)
}

fn trim_ascii_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

fn is_html(trimmed: &[u8]) -> bool {
    let mut rest = trimmed;
    // Skip an XML declaration and leading comments (bounded: we only look at 4 KiB).
    rest = &rest[..rest.len().min(4096)];
    loop {
        if starts_with_ci(rest, b"<?xml") || starts_with_ci(rest, b"<!--") {
            let end: &[u8] = if rest.starts_with(b"<!--") {
                b"-->"
            } else {
                b"?>"
            };
            match memchr::memmem::find(rest, end) {
                Some(i) => rest = trim_ascii_start(&rest[i + end.len()..]),
                None => return false,
            }
        } else {
            break;
        }
    }
    [
        &b"<!doctype html"[..],
        b"<html",
        b"<head",
        b"<body",
        b"<!doctype xhtml",
    ]
    .iter()
    .any(|m| starts_with_ci(rest, m))
}

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

fn known_binary(head: &[u8]) -> Option<String> {
    let table: &[(&[u8], &str)] = &[
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            "legacy Office files (.doc, .xls, .ppt) are not supported; save the document as DOCX or PDF",
        ),
        (
            b"\x89PNG",
            "images are not supported (no text recognition); upload the text as PDF, DOCX or TXT",
        ),
        (
            b"\xFF\xD8\xFF",
            "images are not supported (no text recognition); upload the text as PDF, DOCX or TXT",
        ),
        (
            b"GIF8",
            "images are not supported (no text recognition); upload the text as PDF, DOCX or TXT",
        ),
        (b"RIFF", "media files are not supported"),
        (b"MZ", "executable files are not supported"),
        (b"\x7FELF", "executable files are not supported"),
        (
            b"\x1F\x8B",
            "compressed archives are not supported; upload the documents themselves",
        ),
        (
            b"7z\xBC\xAF\x27\x1C",
            "compressed archives are not supported; upload the documents themselves",
        ),
        (
            b"Rar!",
            "compressed archives are not supported; upload the documents themselves",
        ),
    ];
    table
        .iter()
        .find(|(magic, _)| head.starts_with(magic))
        .map(|(_, reason)| (*reason).to_owned())
}

/// At least one ATX heading on the first line, or two anywhere in the first 200 lines.
fn looks_like_markdown(text: &str) -> bool {
    let is_atx = |line: &str| {
        let hashes = line.bytes().take_while(|&b| b == b'#').count();
        (1..=6).contains(&hashes) && line[hashes..].starts_with(' ') && line.len() > hashes + 1
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    if lines.next().is_some_and(is_atx) {
        return true;
    }
    text.lines().take(200).filter(|l| is_atx(l)).count() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_magic_and_content() {
        assert_eq!(detect(None, b"%PDF-1.7\n..."), Ok(DocType::Pdf));
        assert_eq!(
            detect(Some("x.txt"), b"  <!DOCTYPE html><p>x"),
            Ok(DocType::Html)
        );
        assert_eq!(
            detect(None, b"<?xml version=\"1.0\"?>\n<!-- c --><html>"),
            Ok(DocType::Html)
        );
        assert_eq!(detect(Some("notes.md"), b"hello"), Ok(DocType::Markdown));
        assert_eq!(detect(Some("notes.TXT"), b"hello"), Ok(DocType::Text));
        assert_eq!(
            detect(Some("faq.csv"), b"question,answer\n"),
            Ok(DocType::Csv)
        );
        assert_eq!(
            detect(None, "# Заголовок\n\nтекст".as_bytes()),
            Ok(DocType::Markdown)
        );
        assert_eq!(
            detect(
                None,
                b"name,price,stock\nTea,3,10\nCoffee,4,12\nMilk,1,30\n"
            ),
            Ok(DocType::Csv)
        );
        assert_eq!(detect(None, b""), Ok(DocType::Text));
    }

    #[test]
    fn name_never_overrules_content() {
        assert_eq!(detect(Some("report.pdf"), b"just text"), Ok(DocType::Text));
        assert!(detect(Some("notes.txt"), b"MZ\x90\x00\x03\x00\x00\x00").is_err());
        assert!(detect(Some("a.docx"), b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\0\0").is_err());
        assert!(detect(None, &[0u8, 1, 2, 3, 255, 254, 0, 0]).is_err());
        let e = detect(Some("a.txt"), b"{\\rtf1\\ansi hello}").unwrap_err();
        assert!(e.reason.contains("RTF"));
    }

    #[test]
    fn zip_head_heuristic() {
        assert_eq!(
            detect(None, b"PK\x03\x04....word/document.xml"),
            Ok(DocType::Docx)
        );
        assert!(
            detect(None, b"PK\x03\x04....xl/workbook.xml")
                .unwrap_err()
                .reason
                .contains("XLSX")
        );
        assert!(detect(None, b"PK\x03\x04....password/notes.txt").is_err());
    }
}
