//! The widget's files (`web/widget/`), embedded in the binary and compressed once at
//! start with gzip and brotli, so serving them costs a lookup, not a compression.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::io::Write;

const LOADER: &str = include_str!("../../../web/widget/loader.js");
const UI: &str = include_str!("../../../web/widget/ui.js");

/// One file in three encodings.
pub struct Asset {
    pub raw: Vec<u8>,
    pub gzip: Vec<u8>,
    pub brotli: Vec<u8>,
    pub etag: String,
}

impl Asset {
    pub fn new(raw: Vec<u8>) -> Self {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&raw).expect("in-memory gzip");
        let gzip = gz.finish().expect("in-memory gzip");
        let mut brotli = Vec::new();
        {
            let mut w = brotli::CompressorWriter::new(&mut brotli, 4096, 11, 22);
            w.write_all(&raw).expect("in-memory brotli");
        }
        let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&raw))[..16]);
        Self {
            raw,
            gzip,
            brotli,
            etag,
        }
    }

    /// Picks the best encoding the client accepts; answers 304 to a matching ETag.
    pub fn respond(&self, request: &HeaderMap, cache_control: &'static str) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/javascript; charset=utf-8"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        headers.insert(
            "cross-origin-resource-policy",
            HeaderValue::from_static("cross-origin"),
        );
        headers.insert(
            header::ETAG,
            HeaderValue::from_str(&self.etag).expect("hex etag"),
        );
        if request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            == Some(self.etag.as_str())
        {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        let accepts = request
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let accepts = |coding: &str| {
            accepts
                .split(',')
                .any(|p| p.split(';').next().map(str::trim) == Some(coding))
        };
        let body = if accepts("br") {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            self.brotli.clone()
        } else if accepts("gzip") {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            self.gzip.clone()
        } else {
            self.raw.clone()
        };
        (StatusCode::OK, headers, body).into_response()
    }
}

pub struct WidgetAssets {
    pub loader: Asset,
    pub ui: Asset,
}

/// The version that busts caches of the UI bundle: a digest of its content.
fn content_version(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))[..12].to_owned()
}

impl WidgetAssets {
    pub fn build() -> Self {
        let version = content_version(UI);
        Self {
            loader: Asset::new(LOADER.replace("__AURALIX_VERSION__", &version).into_bytes()),
            ui: Asset::new(UI.replace("__AURALIX_VERSION__", &version).into_bytes()),
        }
    }
}
