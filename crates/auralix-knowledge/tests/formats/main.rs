//! Real fixtures, generated here (no committed binaries): PDFs written with lopdf, DOCX files
//! built with `zip` and hand-written WordprocessingML, and text formats; plus hostile inputs.

mod docx;
mod pdf;
mod text_formats;
mod throughput;

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use auralix_knowledge::{Chunk, ChunkOptions, Limits, ProcessError, process};

pub fn run(
    name: &str,
    bytes: &[u8],
) -> Result<(auralix_knowledge::DocType, Vec<Chunk>), ProcessError> {
    process(
        Some(name),
        bytes,
        &Limits::default(),
        &ChunkOptions::default(),
    )
}

/// Builds a ZIP archive from `(name, content)` entries, deflated.
pub fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    for (name, content) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Runs `f` and asserts it took less than `limit`.
pub fn quickly<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let r = f();
    let took = start.elapsed();
    assert!(took < limit, "took {took:?}, limit {limit:?}");
    r
}

/// Peak resident memory of this process in KiB (Linux), for "did not allocate it" checks.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn texts(chunks: &[Chunk]) -> String {
    chunks
        .iter()
        .map(|c| c.contextual_text())
        .collect::<Vec<_>>()
        .join("\n---\n")
}
