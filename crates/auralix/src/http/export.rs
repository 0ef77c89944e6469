//! Streamed exports (L3, P2): CSV, JSON and NDJSON, written page by page so an export of
//! any size uses constant memory.
//!
//! CSV is made safe for spreadsheets: a cell that starts with `=`, `+`, `-`, `@`, tab or
//! carriage return is prefixed with `'` so it is shown as text, never run as a formula
//! (OWASP "CSV injection"). `?bom=1` prepends a UTF-8 byte-order mark for Excel.

use std::{future::Future, pin::Pin, sync::Arc};

use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::errors::{ApiError, ApiResult};

const PAGE: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv { bom: bool },
    Json,
    Ndjson,
}

impl Format {
    pub fn from_query(query: Option<&str>) -> ApiResult<Format> {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let bom = matches!(get("bom"), Some("1" | "true" | "yes"));
        match get("format").unwrap_or("json") {
            "csv" => Ok(Format::Csv { bom }),
            "json" => Ok(Format::Json),
            "ndjson" => Ok(Format::Ndjson),
            other => Err(ApiError::invalid_field(
                "format",
                format!("`{other}` is not one of csv, json, ndjson"),
            )),
        }
    }
}

/// One exported record: its JSON form, its CSV rows, and the cursor after it.
pub struct Item {
    pub json: Value,
    pub rows: Vec<Vec<String>>,
    pub cursor: String,
}

pub type PageFuture = Pin<Box<dyn Future<Output = ApiResult<Vec<Item>>> + Send>>;
pub type FetchPage = Arc<dyn Fn(Option<String>, u32) -> PageFuture + Send + Sync>;

/// Neutralises spreadsheet formulas in a CSV cell.
pub fn safe_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

fn csv_line(cells: &[String]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let safe: Vec<String> = cells.iter().map(|c| safe_cell(c)).collect();
    let _ = writer.write_record(&safe);
    writer.into_inner().unwrap_or_default()
}

struct State {
    fetch: FetchPage,
    format: Format,
    cursor: Option<String>,
    started: bool,
    first_item: bool,
    done: bool,
    header: Vec<String>,
}

/// The streamed response; `name` becomes the download's file name.
pub fn respond(format: Format, name: &str, header_row: &[&str], fetch: FetchPage) -> Response {
    let state = State {
        fetch,
        format,
        cursor: None,
        started: false,
        first_item: true,
        done: false,
        header: header_row.iter().map(|s| s.to_string()).collect(),
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        if s.done {
            return None;
        }
        let mut chunk = Vec::new();
        if !s.started {
            s.started = true;
            match s.format {
                Format::Csv { bom } => {
                    if bom {
                        chunk.extend_from_slice("\u{feff}".as_bytes());
                    }
                    chunk.extend(csv_line(&s.header));
                }
                Format::Json => chunk.push(b'['),
                Format::Ndjson => {}
            }
        }
        let page = match (s.fetch)(s.cursor.clone(), PAGE).await {
            Ok(page) => page,
            Err(_) => {
                // Headers are gone already; end the body so the client sees a broken file.
                s.done = true;
                return Some((Err(std::io::Error::other("export failed")), s));
            }
        };
        if page.len() < PAGE as usize {
            s.done = true;
        }
        s.cursor = page.last().map(|i| i.cursor.clone());
        for item in &page {
            match s.format {
                Format::Csv { .. } => item.rows.iter().for_each(|row| chunk.extend(csv_line(row))),
                Format::Json => {
                    if !s.first_item {
                        chunk.push(b',');
                    }
                    chunk.extend(serde_json::to_vec(&item.json).unwrap_or_default());
                }
                Format::Ndjson => {
                    chunk.extend(serde_json::to_vec(&item.json).unwrap_or_default());
                    chunk.push(b'\n');
                }
            }
            s.first_item = false;
        }
        if s.done && s.format == Format::Json {
            chunk.push(b']');
        }
        Some((Ok::<_, std::io::Error>(Bytes::from(chunk)), s))
    });
    let (content_type, extension) = match format {
        Format::Csv { .. } => ("text/csv; charset=utf-8", "csv"),
        Format::Json => ("application/json", "json"),
        Format::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{name}.{extension}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+79123456789"), "'+79123456789");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("Anna"), "Anna");
    }
}
