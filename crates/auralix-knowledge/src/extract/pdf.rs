//! PDF → blocks with `pdf-extract`, fenced in.
//!
//! `pdf-extract` (on `lopdf`) reads most text PDFs well but trusts its input: it panics on
//! malformed objects, decompresses every stream with no size limit, decompresses a stream
//! again each time it is used, and draws form XObjects recursively with no cycle check (a form
//! that draws itself overflows the stack and aborts the process — `catch_unwind` cannot catch
//! that). So, in order:
//!
//! 1. **Raw pre-scan, before any parser runs.** At every `stream` keyword in the file the
//!    data that follows is test-decompressed, streamed into a counter with a cap: zlib, the
//!    raw-deflate fallback lopdf uses, LZW, and a second zlib layer when the first one yields
//!    zlib again. A stream over [`Limits::max_decompressed_bytes`], or all of them together
//!    over [`Limits::max_pdf_inflated_bytes`], is refused. Any stream lopdf can parse begins
//!    after a `stream` keyword, so this covers the object streams lopdf expands while loading.
//! 2. **Load** with `lopdf` inside `catch_unwind`; an encrypted file is opened with the empty
//!    user password (permissions-only encryption is common) and then every stream is checked
//!    as in 1, now decrypted; otherwise "the PDF is password-protected".
//! 3. **Pre-flight every page** the way pdf-extract will walk it: the page's `/Parent` chain
//!    must be acyclic (pdf-extract recurses up it), every content stream and every XObject it
//!    draws (`Do`, recursively, images too — pdf-extract decompresses and interprets them) is
//!    decoded with the per-stream cap and charged each time it is drawn, as are ICC colour
//!    profiles each time a colour space is set. A drawing cycle or nesting deeper than 32 is
//!    refused; all charges together may not exceed [`Limits::max_pdf_work_bytes`], which bounds
//!    the CPU time of step 4.
//! 4. **Extract page by page** (`output_doc_page`), each page in its own `catch_unwind`; a page
//!    that fails is skipped, a document whose every page fails is malformed. Each page's text
//!    goes through the plain-text block heuristics with its page number.
//!
//! Not covered (a subprocess with a memory limit is the complete answer, and the server's
//! job): embedded font programs and CMaps are only bounded per stream (step 1), not charged
//! per use; filter chains other than those listed are bounded only by step 1's first layer.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use flate2::read::{DeflateDecoder, ZlibDecoder};
use pdf_extract::{Dictionary, Document, Object, ObjectId, Stream};

use crate::extract::{Collector, ExtractError, Limits, mib};

pub(crate) fn extract(
    bytes: &[u8],
    limits: &Limits,
    out: &mut Collector,
) -> Result<(), ExtractError> {
    prescan(bytes, limits)?;
    let mut doc = match catch_unwind(|| Document::load_mem(bytes)) {
        Ok(Ok(doc)) => doc,
        Ok(Err(e)) => return Err(unreadable(e)),
        Err(_) => return Err(unreadable("the parser failed on a damaged structure")),
    };
    if doc.is_encrypted() {
        let decrypted = catch_unwind(AssertUnwindSafe(|| doc.decrypt("")));
        if !matches!(decrypted, Ok(Ok(()))) {
            return Err(ExtractError::Malformed(
                "the PDF is password-protected; upload a copy without a password".into(),
            ));
        }
        check_all_streams(&doc, limits)?;
    }
    let pages = catch_unwind(AssertUnwindSafe(|| doc.get_pages()))
        .map_err(|_| unreadable("its page tree is damaged"))?;
    if pages.len() > limits.max_pdf_pages as usize {
        return Err(ExtractError::TooLarge(format!(
            "the PDF has {} pages; at most {} are read",
            pages.len(),
            limits.max_pdf_pages
        )));
    }
    match catch_unwind(AssertUnwindSafe(|| preflight(&doc, &pages, limits))) {
        Ok(r) => r?,
        Err(_) => return Err(unreadable("its structure is damaged")),
    }
    let mut first_error: Option<String> = None;
    let mut ok_pages = 0usize;
    for &num in pages.keys() {
        let page = catch_unwind(AssertUnwindSafe(|| {
            let mut text = String::new();
            let mut output = pdf_extract::PlainTextOutput::new(&mut text);
            pdf_extract::output_doc_page(&doc, &mut output, num).map(|()| text)
        }));
        match page {
            Ok(Ok(text)) => {
                ok_pages += 1;
                out.check_pending(text.len())?;
                super::text::extract(&text, Some(num), out)?;
            }
            Ok(Err(e)) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
            Err(_) => {
                first_error.get_or_insert_with(|| format!("page {num} is damaged"));
            }
        }
    }
    if ok_pages == 0
        && let Some(e) = first_error
    {
        return Err(unreadable(e));
    }
    Ok(())
}

fn unreadable(e: impl std::fmt::Display) -> ExtractError {
    ExtractError::Malformed(format!("the PDF could not be read: {e}"))
}

fn stream_too_large(limits: &Limits) -> ExtractError {
    ExtractError::TooLarge(format!(
        "a stream in the PDF expands beyond {}",
        mib(limits.max_decompressed_bytes)
    ))
}

// ---------------------------------------------------------------------------------------
// Bounded decoders

/// Reads `r` to the end or to the first error, counting at most `cap + 1` bytes.
fn count(mut r: impl Read, cap: u64) -> u64 {
    let mut buf = [0u8; 32 * 1024];
    let mut total = 0u64;
    while total <= cap {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n as u64,
        }
    }
    total
}

/// A writer that keeps at most `cap` bytes (or only counts them) and fails past the cap.
struct CapWriter<'a> {
    kept: Option<&'a mut Vec<u8>>,
    written: u64,
    cap: u64,
}

impl Write for CapWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written += buf.len() as u64;
        if self.written > self.cap {
            return Err(io::Error::other("cap"));
        }
        if let Some(v) = self.kept.as_deref_mut() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn lzw(data: &[u8], cap: u64, early_change: bool, keep: Option<&mut Vec<u8>>) -> u64 {
    use weezl::{BitOrder, decode::Decoder};
    let mut decoder = if early_change {
        Decoder::with_tiff_size_switch(BitOrder::Msb, 8)
    } else {
        Decoder::new(BitOrder::Msb, 8)
    };
    let mut w = CapWriter {
        kept: keep,
        written: 0,
        cap,
    };
    let _ = decoder.into_stream(&mut w).decode_all(data);
    w.written
}

/// What lopdf would get out of `data` as a FlateDecode stream, bounded: zlib, or raw deflate
/// after the 2-byte header when zlib yields nothing.
fn inflate(data: &[u8], cap: u64, keep: Option<&mut Vec<u8>>) -> u64 {
    let z = count_or_keep(ZlibDecoder::new(data), cap, None);
    if z == 0 && data.len() > 2 {
        count_or_keep(DeflateDecoder::new(&data[2..]), cap, keep)
    } else if let Some(k) = keep {
        count_or_keep(ZlibDecoder::new(data), cap, Some(k))
    } else {
        z
    }
}

fn count_or_keep(r: impl Read, cap: u64, keep: Option<&mut Vec<u8>>) -> u64 {
    match keep {
        None => count(r, cap),
        Some(v) => {
            let _ = r.take(cap + 1).read_to_end(v);
            v.len() as u64
        }
    }
}

/// Step 1: test-decompress the data after every `stream` keyword.
fn prescan(bytes: &[u8], limits: &Limits) -> Result<(), ExtractError> {
    let cap = limits.max_decompressed_bytes;
    let mut total = 0u64;
    for pos in memchr::memmem::find_iter(bytes, b"stream") {
        if pos >= 3 && &bytes[pos - 3..pos] == b"end" {
            continue;
        }
        let mut start = pos + 6;
        if bytes.get(start) == Some(&b'\r') {
            start += 1;
        }
        if bytes.get(start) == Some(&b'\n') {
            start += 1;
        }
        let data = &bytes[start.min(bytes.len())..];
        let mut size = inflate(data, cap, None);
        if size > 0 && size <= cap {
            // Two FlateDecode layers: look at what the first one produces.
            let mut head = Vec::new();
            let _ = ZlibDecoder::new(data).take(2).read_to_end(&mut head);
            if head.len() == 2
                && head[0] & 0x0f == 8
                && u16::from_be_bytes([head[0], head[1]]) % 31 == 0
            {
                size = size.max(count(ZlibDecoder::new(ZlibDecoder::new(data)), cap));
            }
        }
        if size <= cap {
            size = size.max(lzw(data, cap, true, None));
        }
        if size > cap {
            return Err(stream_too_large(limits));
        }
        total += size;
        if total > limits.max_pdf_inflated_bytes {
            return Err(ExtractError::TooLarge(format!(
                "the PDF expands beyond {} when decompressed",
                mib(limits.max_pdf_inflated_bytes)
            )));
        }
    }
    Ok(())
}

/// Decodes a stream the way lopdf's `decompressed_content` would (FlateDecode, LZWDecode,
/// ASCII85Decode, in order; anything else → the raw bytes, as pdf-extract falls back to),
/// every stage capped.
fn decode_stream(stream: &Stream, limits: &Limits) -> Result<Vec<u8>, ExtractError> {
    let cap = limits.max_decompressed_bytes;
    let Ok(filters) = stream.filters() else {
        return Ok(stream.content.clone());
    };
    let early_change = stream
        .dict
        .get(b"DecodeParms")
        .and_then(Object::as_dict)
        .and_then(|p| p.get(b"EarlyChange"))
        .and_then(Object::as_i64)
        .map_or(true, |v| v != 0);
    let mut data = stream.content.clone();
    for f in filters {
        let mut next = Vec::new();
        let n = match f {
            b"FlateDecode" => inflate(&data, cap, Some(&mut next)),
            b"LZWDecode" => lzw(&data, cap, early_change, Some(&mut next)),
            b"ASCII85Decode" => {
                next = ascii85(&data);
                next.len() as u64
            }
            _ => return Ok(stream.content.clone()),
        };
        if n > cap {
            return Err(stream_too_large(limits));
        }
        data = next;
    }
    Ok(data)
}

fn ascii85(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut group, mut n) = (0u64, 0usize);
    for &c in input {
        match c {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                group = group * 85 + u64::from(c - b'!');
                n += 1;
                if n == 5 {
                    out.extend_from_slice(&(group as u32).to_be_bytes());
                    (group, n) = (0, 0);
                }
            }
            _ => {}
        }
    }
    if n > 1 {
        for _ in n..5 {
            group = group * 85 + 84;
        }
        out.extend_from_slice(&(group as u32).to_be_bytes()[..n - 1]);
    }
    out
}

/// For encrypted files, whose streams step 1 saw only as ciphertext.
fn check_all_streams(doc: &Document, limits: &Limits) -> Result<(), ExtractError> {
    let mut total = 0u64;
    for obj in doc.objects.values() {
        if let Object::Stream(s) = obj {
            total += decode_stream(s, limits)?.len() as u64;
            if total > limits.max_pdf_inflated_bytes {
                return Err(ExtractError::TooLarge(format!(
                    "the PDF expands beyond {} when decompressed",
                    mib(limits.max_pdf_inflated_bytes)
                )));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Step 3: the page pre-flight

/// What a content stream will make pdf-extract do that costs: its size and the names it
/// draws (`Do`) or sets as colour space (`cs`/`CS`).
struct StreamInfo {
    size: u64,
    draws: Vec<Vec<u8>>,
    colour_spaces: Vec<Vec<u8>>,
}

struct Preflight<'a> {
    doc: &'a Document,
    limits: &'a Limits,
    infos: HashMap<ObjectId, std::rc::Rc<StreamInfo>>,
    sizes: HashMap<ObjectId, u64>,
    work: u64,
}

const MAX_FORM_DEPTH: usize = 32;
const MIN_CHARGE: u64 = 1024;

fn preflight(
    doc: &Document,
    pages: &std::collections::BTreeMap<u32, ObjectId>,
    limits: &Limits,
) -> Result<(), ExtractError> {
    let mut p = Preflight {
        doc,
        limits,
        infos: HashMap::new(),
        sizes: HashMap::new(),
        work: 0,
    };
    for &page_id in pages.values() {
        p.page(page_id)?;
    }
    Ok(())
}

fn deref<'a>(doc: &'a Document, obj: &'a Object) -> Option<&'a Object> {
    match obj {
        Object::Reference(id) => doc.get_object(*id).ok(),
        o => Some(o),
    }
}

fn dict<'a>(doc: &'a Document, obj: &'a Object) -> Option<&'a Dictionary> {
    deref(doc, obj).and_then(|o| o.as_dict().ok())
}

impl<'a> Preflight<'a> {
    fn charge(&mut self, bytes: u64) -> Result<(), ExtractError> {
        self.work += bytes.max(MIN_CHARGE);
        if self.work > self.limits.max_pdf_work_bytes {
            return Err(ExtractError::TooLarge(format!(
                "the PDF is too complex to read: its pages draw more than {} of content",
                mib(self.limits.max_pdf_work_bytes)
            )));
        }
        Ok(())
    }

    fn page(&mut self, page_id: ObjectId) -> Result<(), ExtractError> {
        let doc = self.doc;
        let page = doc
            .get_dictionary(page_id)
            .map_err(|_| unreadable("a page is not a dictionary"))?;
        // The /Parent chain: pdf-extract recurses up it to find inherited keys.
        let mut seen = HashSet::new();
        let mut node = page;
        let mut resources: Option<&Dictionary> = None;
        loop {
            if resources.is_none() {
                resources = node.get(b"Resources").ok().and_then(|r| dict(doc, r));
            }
            let Ok(parent) = node.get(b"Parent").and_then(Object::as_reference) else {
                break;
            };
            if !seen.insert(parent) || seen.len() > 256 {
                return Err(unreadable("its page tree loops"));
            }
            match doc.get_dictionary(parent) {
                Ok(d) => node = d,
                Err(_) => break,
            }
        }
        let empty = Dictionary::new();
        let resources = resources.unwrap_or(&empty);
        let mut page_bytes = 0u64;
        let mut stack = Vec::new();
        for id in doc.get_page_contents(page_id) {
            let info = self.info(id)?;
            page_bytes += info.size + 1;
            if page_bytes > self.limits.max_decompressed_bytes {
                return Err(stream_too_large(self.limits));
            }
            self.charge(info.size)?;
            self.walk(&info, resources, &mut stack)?;
        }
        Ok(())
    }

    fn walk(
        &mut self,
        info: &StreamInfo,
        resources: &Dictionary,
        stack: &mut Vec<ObjectId>,
    ) -> Result<(), ExtractError> {
        let doc = self.doc;
        for name in &info.colour_spaces {
            let icc = resources
                .get(b"ColorSpace")
                .ok()
                .and_then(|cs| dict(doc, cs))
                .and_then(|cs| cs.get(name).ok())
                .and_then(|o| deref(doc, o))
                .and_then(|o| o.as_array().ok())
                .filter(|a| a.first().and_then(|n| n.as_name().ok()) == Some(b"ICCBased"))
                .and_then(|a| a.get(1))
                .and_then(|o| o.as_reference().ok());
            if let Some(id) = icc {
                let size = self.size(id)?;
                self.charge(size)?;
            }
        }
        for name in &info.draws {
            let Some(id) = resources
                .get(b"XObject")
                .ok()
                .and_then(|x| dict(doc, x))
                .and_then(|x| x.get(name).ok())
                .and_then(|o| o.as_reference().ok())
            else {
                continue;
            };
            if stack.contains(&id) {
                return Err(unreadable("a drawing in it refers to itself"));
            }
            if stack.len() >= MAX_FORM_DEPTH {
                return Err(unreadable("its drawings are nested too deeply"));
            }
            let Ok(stream) = doc.get_object(id).and_then(Object::as_stream) else {
                continue;
            };
            let child = self.info(id)?;
            self.charge(child.size)?;
            let child_resources = stream
                .dict
                .get(b"Resources")
                .ok()
                .and_then(|r| dict(doc, r))
                .unwrap_or(resources);
            stack.push(id);
            self.walk(&child, child_resources, stack)?;
            stack.pop();
        }
        Ok(())
    }

    fn size(&mut self, id: ObjectId) -> Result<u64, ExtractError> {
        if let Some(&s) = self.sizes.get(&id) {
            return Ok(s);
        }
        let s = match self.doc.get_object(id).and_then(Object::as_stream) {
            Ok(stream) => decode_stream(stream, self.limits)?.len() as u64,
            Err(_) => 0,
        };
        self.sizes.insert(id, s);
        Ok(s)
    }

    fn info(&mut self, id: ObjectId) -> Result<std::rc::Rc<StreamInfo>, ExtractError> {
        if let Some(i) = self.infos.get(&id) {
            return Ok(i.clone());
        }
        let info = match self.doc.get_object(id).and_then(Object::as_stream) {
            Ok(stream) => {
                let data = decode_stream(stream, self.limits)?;
                let mut info = StreamInfo {
                    size: data.len() as u64,
                    draws: Vec::new(),
                    colour_spaces: Vec::new(),
                };
                if let Ok(content) = pdf_extract::content::Content::decode(&data) {
                    for op in content.operations {
                        let name = op.operands.first().and_then(|o| o.as_name().ok());
                        match (op.operator.as_str(), name) {
                            ("Do", Some(n)) => info.draws.push(n.to_vec()),
                            ("cs" | "CS", Some(n)) => info.colour_spaces.push(n.to_vec()),
                            _ => {}
                        }
                    }
                }
                info
            }
            Err(_) => StreamInfo {
                size: 0,
                draws: Vec::new(),
                colour_spaces: Vec::new(),
            },
        };
        let info = std::rc::Rc::new(info);
        self.infos.insert(id, info.clone());
        self.sizes.insert(id, info.size);
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii85_roundtrip() {
        assert_eq!(ascii85(b"87cURD]i,\"Ebo80~>"), b"Hello World!");
        assert_eq!(ascii85(b"z~>"), vec![0; 4]);
    }

    #[test]
    fn inflate_is_capped() {
        use flate2::{Compression, write::ZlibEncoder};
        let mut e = ZlibEncoder::new(Vec::new(), Compression::fast());
        e.write_all(&vec![0u8; 4 * 1024 * 1024]).unwrap();
        let z = e.finish().unwrap();
        assert_eq!(inflate(&z, 10 * 1024 * 1024, None), 4 * 1024 * 1024);
        assert!(inflate(&z, 1024 * 1024, None) > 1024 * 1024);
        assert!(inflate(&z, 1024 * 1024, None) < 2 * 1024 * 1024);
    }
}
