//! Opening hostile ZIP archives (DOCX files are ZIP archives) without being bombed.
//!
//! Three layers, each cheap and each enough to stop a different trick:
//! 1. **Before the `zip` crate parses anything**, the end-of-central-directory records at the
//!    tail of the file are read by hand and the declared entry count (ZIP64 included) is
//!    checked against [`Limits::max_zip_entries`]. Every candidate record is checked, so an
//!    archive cannot show one count to us and another to the parser. The parser allocates
//!    per entry, so a million-entry central directory is refused before it costs memory.
//! 2. **Before an entry is read**, its declared size and declared compression ratio are
//!    checked: an honest bomb is refused without decompressing a byte.
//! 3. **While an entry is read**, a counting reader stops at the per-entry cap, the archive-wide
//!    budget and `compressed size × max ratio + 1 MiB`, whichever comes first, so a bomb that
//!    lies about its size is stopped after at most that many bytes, streamed, never held in
//!    memory whole. The reader records why it stopped so the caller reports `TooLarge` with a
//!    reason rather than the parser's generic I/O error.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::rc::Rc;

use zip::ZipArchive;

use crate::extract::{ExtractError, Limits, mib};

/// Bytes a small entry may expand to regardless of its compression ratio.
const RATIO_SLACK: u64 = 1024 * 1024;

pub(crate) type Archive<'a> = ZipArchive<Cursor<&'a [u8]>>;

/// The largest entry count that any end-of-central-directory record in the tail declares,
/// or `None` when there is no such record (not a ZIP, or truncated).
pub(crate) fn declared_entry_count(bytes: &[u8]) -> Option<u64> {
    const EOCD: &[u8] = b"PK\x05\x06";
    let tail_start = bytes.len().saturating_sub(22 + 65_535);
    let tail = &bytes[tail_start..];
    let mut best: Option<u64> = None;
    for pos in memchr::memmem::rfind_iter(tail, EOCD) {
        let at = tail_start + pos;
        let Some(rec) = bytes.get(at..at + 22) else {
            continue;
        };
        let total = u64::from(u16::from_le_bytes([rec[10], rec[11]]));
        let this_disk = u64::from(u16::from_le_bytes([rec[8], rec[9]]));
        let cd_size = u32::from_le_bytes([rec[12], rec[13], rec[14], rec[15]]);
        let mut count = total.max(this_disk);
        if total == 0xFFFF || this_disk == 0xFFFF || cd_size == u32::MAX {
            count = zip64_count(bytes, at).unwrap_or(u64::MAX);
        }
        best = Some(best.map_or(count, |b| b.max(count)));
    }
    best
}

fn zip64_count(bytes: &[u8], eocd_at: usize) -> Option<u64> {
    let loc = bytes.get(eocd_at.checked_sub(20)?..eocd_at)?;
    if &loc[..4] != b"PK\x06\x07" {
        return None;
    }
    let off = usize::try_from(u64::from_le_bytes(loc[8..16].try_into().ok()?)).ok()?;
    let rec = bytes.get(off..off.checked_add(56)?)?;
    if &rec[..4] != b"PK\x06\x06" {
        return None;
    }
    let this_disk = u64::from_le_bytes(rec[24..32].try_into().ok()?);
    let total = u64::from_le_bytes(rec[32..40].try_into().ok()?);
    Some(total.max(this_disk))
}

/// Opens `bytes` as a ZIP archive after the entry-count check. `what` names the format in
/// messages ("DOCX").
pub(crate) fn open<'a>(
    bytes: &'a [u8],
    limits: &Limits,
    what: &str,
) -> Result<Archive<'a>, ExtractError> {
    let max = limits.max_zip_entries as u64;
    match declared_entry_count(bytes) {
        None => {
            return Err(ExtractError::Malformed(format!(
                "the {what} is not a complete ZIP archive (no central directory)"
            )));
        }
        Some(n) if n > max => {
            return Err(ExtractError::TooLarge(format!(
                "the {what} archive lists {} entries; at most {max} are allowed",
                if n == u64::MAX {
                    "an unreadable number of".to_owned()
                } else {
                    n.to_string()
                }
            )));
        }
        Some(_) => {}
    }
    let archive = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ExtractError::Malformed(format!("the {what} archive is damaged: {e}")))?;
    if archive.len() as u64 > max {
        return Err(ExtractError::TooLarge(format!(
            "the {what} archive has {} entries; at most {max} are allowed",
            archive.len()
        )));
    }
    Ok(archive)
}

/// Why a bounded read stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trip {
    EntryCap,
    Budget,
    Ratio,
}

struct Bounded<R> {
    inner: R,
    produced: u64,
    entry_cap: u64,
    budget: u64,
    ratio_cap: u64,
    tripped: Rc<Cell<Option<Trip>>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.tripped.get().is_some() {
            return Err(io::Error::other("decompression limit reached"));
        }
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        let trip = if self.produced > self.entry_cap {
            Some(Trip::EntryCap)
        } else if self.produced > self.budget {
            Some(Trip::Budget)
        } else if self.produced > self.ratio_cap {
            Some(Trip::Ratio)
        } else {
            None
        };
        if let Some(t) = trip {
            self.tripped.set(Some(t));
            return Err(io::Error::other("decompression limit reached"));
        }
        Ok(n)
    }
}

/// Running total of decompressed bytes across the entries of one archive.
pub(crate) struct Budget {
    pub(crate) left: u64,
}

/// Streams the entry `name` through `f` with all three caps applied. `Ok(None)` when the
/// archive has no such entry. Errors from `f` are replaced by `TooLarge` when a cap caused them.
pub(crate) fn with_entry<T>(
    archive: &mut Archive<'_>,
    name: &str,
    limits: &Limits,
    budget: &mut Budget,
    what: &str,
    f: impl FnOnce(&mut dyn BufRead) -> Result<T, ExtractError>,
) -> Result<Option<T>, ExtractError> {
    let Some(index) = archive.index_for_name(name) else {
        return Ok(None);
    };
    let entry = archive.by_index(index).map_err(|e| match e {
        zip::result::ZipError::UnsupportedArchive(m) => ExtractError::Malformed(format!(
            "the {what} uses a ZIP feature that is not supported ({m}); password-protected \
             documents cannot be read"
        )),
        e => ExtractError::Malformed(format!("the {what} archive is damaged: {e}")),
    })?;
    let declared = entry.size();
    let compressed = entry.compressed_size().max(1);
    let entry_cap = limits.max_decompressed_bytes;
    let shown_cap = entry_cap.min(budget.left);
    let too_large = |detail: String| {
        ExtractError::TooLarge(format!(
            "the {what} expands beyond {} ({detail})",
            mib(shown_cap)
        ))
    };
    if declared > entry_cap || declared > budget.left {
        return Err(too_large(format!("{name} declares {}", mib(declared))));
    }
    let ratio_cap = compressed
        .saturating_mul(limits.max_compression_ratio)
        .saturating_add(RATIO_SLACK);
    if declared > ratio_cap {
        return Err(ExtractError::TooLarge(format!(
            "the {what} looks like a zip bomb: {name} would expand {}x",
            declared / compressed
        )));
    }
    let tripped = Rc::new(Cell::new(None));
    let bounded = Bounded {
        inner: entry,
        produced: 0,
        entry_cap,
        budget: budget.left,
        ratio_cap,
        tripped: Rc::clone(&tripped),
    };
    let mut reader = BufReader::with_capacity(64 * 1024, bounded);
    let result = f(&mut reader);
    let produced = reader.get_ref().produced;
    budget.left = budget.left.saturating_sub(produced);
    match tripped.get() {
        Some(Trip::EntryCap | Trip::Budget) => Err(too_large(format!("while reading {name}"))),
        Some(Trip::Ratio) => Err(ExtractError::TooLarge(format!(
            "the {what} looks like a zip bomb: {name} expands more than {}x",
            limits.max_compression_ratio
        ))),
        None => result.map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_entries_from_the_tail() {
        let mut eocd = b"PK\x05\x06".to_vec();
        eocd.extend_from_slice(&[0, 0, 0, 0]);
        eocd.extend_from_slice(&7u16.to_le_bytes());
        eocd.extend_from_slice(&9u16.to_le_bytes());
        eocd.extend_from_slice(&[0; 10]);
        assert_eq!(declared_entry_count(&eocd), Some(9));
        assert_eq!(declared_entry_count(b"not a zip"), None);
    }
}
