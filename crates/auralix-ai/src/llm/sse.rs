//! An incremental parser for `text/event-stream` (the WHATWG server-sent events format).
//!
//! Bytes go in as they arrive from the network, in chunks of any size (a chunk may end in
//! the middle of a line, of a CRLF pair or of a UTF-8 sequence); complete events come out.
//! Lines end with LF, CRLF or a lone CR; lines starting with `:` are comments (keep-alives);
//! `event:` names the event, `data:` lines are joined with `\n`; `id:` and `retry:` are
//! ignored, as is any other field. An event is dispatched at a blank line, and only if it
//! has data.

use super::LlmError;

/// The longest line accepted, so that a misbehaving server cannot make us buffer without
/// bound.
const MAX_LINE: usize = 1 << 20;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, empty when the server sent none (the spec's "message").
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Incremental parser state.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line being received.
    line: Vec<u8>,
    /// The previous chunk ended with CR: a LF at the start of the next chunk belongs to it.
    after_cr: bool,
    event: String,
    data: String,
    has_data: bool,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next chunk of the body; complete events are appended to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), LlmError> {
        let mut rest = chunk;
        if self.after_cr {
            self.after_cr = false;
            if let [b'\n', tail @ ..] = rest {
                rest = tail;
            }
        }
        while let Some(pos) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (head, tail) = rest.split_at(pos);
            self.push_bytes(head)?;
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out);
            self.line = line;
            self.line.clear();
            rest = match tail {
                [b'\r', b'\n', after @ ..] => after,
                [b'\r'] => {
                    self.after_cr = true;
                    &[]
                }
                [_, after @ ..] => after,
                [] => &[],
            };
        }
        self.push_bytes(rest)
    }

    /// The end of the body: a last event that lacks its blank line is still dispatched
    /// (lenient: some servers end with `data: [DONE]` and no blank line).
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.process_line(&line, out);
        }
        self.dispatch(out);
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), LlmError> {
        if self.line.len() + bytes.len() > MAX_LINE {
            return Err(LlmError::Protocol(format!(
                "event-stream line longer than {MAX_LINE} bytes"
            )));
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn process_line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return; // comment / keep-alive
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "event" => {
                self.event.clear();
                self.event.push_str(value);
            }
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            _ => {} // id, retry and unknown fields
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if self.has_data {
            out.push(SseEvent {
                event: std::mem::take(&mut self.event),
                data: std::mem::take(&mut self.data),
            });
        }
        self.event.clear();
        self.data.clear();
        self.has_data = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_in_pieces(body: &[u8], piece: usize) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for chunk in body.chunks(piece) {
            parser.feed(chunk, &mut out).unwrap();
        }
        parser.finish(&mut out);
        out
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn events_survive_any_chunking_and_line_ending() {
        let lf = "data: {\"a\":1}\n\n: keep-alive\n\nevent: ping\ndata: {}\n\nid: 7\ndata:x\ndata: y\n\ndata: [DONE]\n\n";
        let crlf = lf.replace('\n', "\r\n");
        let cr = lf.replace('\n', "\r");
        let expected = vec![
            ev("", "{\"a\":1}"),
            ev("ping", "{}"),
            ev("", "x\ny"),
            ev("", "[DONE]"),
        ];
        for body in [lf.to_string(), crlf, cr] {
            for piece in [1, 2, 3, 7, 1000] {
                assert_eq!(
                    parse_in_pieces(body.as_bytes(), piece),
                    expected,
                    "{body:?} / {piece}"
                );
            }
        }
    }

    #[test]
    fn multibyte_text_split_across_chunks() {
        let body = "data: привет, мир 👋\n\n".as_bytes();
        for piece in 1..6 {
            assert_eq!(parse_in_pieces(body, piece), vec![ev("", "привет, мир 👋")]);
        }
    }

    #[test]
    fn last_event_without_blank_line_is_dispatched_and_empty_events_are_not() {
        assert_eq!(
            parse_in_pieces(b"event: x\n\n: c\n\ndata: [DONE]", 4),
            vec![ev("", "[DONE]")]
        );
    }

    #[test]
    fn overlong_line_is_refused() {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        let chunk = vec![b'a'; MAX_LINE / 2 + 1];
        parser.feed(&chunk, &mut out).unwrap();
        assert!(matches!(
            parser.feed(&chunk, &mut out),
            Err(LlmError::Protocol(_))
        ));
    }
}
