//! CSV → blocks.
//!
//! The delimiter is sniffed from the first lines (comma, semicolon — Excel's choice in
//! Russian and most European locales — or tab). The first record is the header:
//! - a header naming `question` and `answer` columns (case-insensitive; also `вопрос` and
//!   `ответ`, `q` and `a`) turns each row into a [`BlockKind::QaPair`] `"Q: …\nA: …"`;
//! - any other header turns each row into a [`BlockKind::TableRow`]
//!   `"column: value; column: value"`, so every chunk is self-describing without the header.
//!
//! Rows may have fewer or more fields than the header (the reader is flexible); blank values
//! are skipped. Quoting errors cannot make the reader fail on text input.

use crate::extract::{BlockKind, Collector, ExtractError};

pub(crate) struct Sniffed {
    pub(crate) delimiter: u8,
    /// At least three lines with the same number (≥ 2) of fields and a header of short,
    /// unpunctuated names: strong enough to call an unnamed text file CSV.
    pub(crate) looks_tabular: bool,
}

/// Counts delimiters outside double quotes on each of the first 20 non-empty lines and picks
/// the candidate with a consistent non-zero count (ties: the larger count).
pub(crate) fn sniff_delimiter(text: &str) -> Option<Sniffed> {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .collect();
    if lines.is_empty() {
        return None;
    }
    // Best: consistent counts first, then the larger minimum count.
    let mut best: Option<(u8, (bool, usize))> = None;
    for d in [b',', b';', b'\t'] {
        let counts: Vec<usize> = lines.iter().map(|l| count_outside_quotes(l, d)).collect();
        let min = counts.iter().copied().min().unwrap_or(0);
        let consistent = counts.iter().all(|&c| c == counts[0]);
        let score = (consistent, min);
        if min > 0 && best.is_none_or(|(_, s)| score > s) {
            best = Some((d, score));
        }
    }
    let (delimiter, (consistent, fields_minus_one)) = best?;
    let header_ok = lines[0].split(delimiter as char).all(|h| {
        let h = h.trim().trim_matches('"');
        h.chars().count() <= 40 && !h.ends_with(['.', '!', '?'])
    });
    Some(Sniffed {
        delimiter,
        looks_tabular: consistent && lines.len() >= 3 && fields_minus_one >= 1 && header_ok,
    })
}

fn count_outside_quotes(line: &str, d: u8) -> usize {
    let mut quoted = false;
    let mut n = 0;
    for b in line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == d && !quoted {
            n += 1;
        }
    }
    n
}

pub(crate) fn extract(text: &str, out: &mut Collector) -> Result<(), ExtractError> {
    let delimiter = sniff_delimiter(text).map_or(b',', |s| s.delimiter);
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header: Vec<String> = match records.next() {
        None => return Ok(()),
        Some(r) => r
            .map_err(malformed)?
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').trim().to_owned())
            .collect(),
    };
    let lower: Vec<String> = header.iter().map(|h| h.to_lowercase()).collect();
    let find = |names: &[&str]| lower.iter().position(|h| names.contains(&h.as_str()));
    let qa = find(&["question", "вопрос", "q", "questions", "вопросы"]).zip(find(&[
        "answer",
        "ответ",
        "a",
        "answers",
        "ответы",
    ]));
    for record in records {
        let record = record.map_err(malformed)?;
        let field = |i: usize| record.get(i).map(str::trim).unwrap_or("");
        if let Some((qi, ai)) = qa {
            let (q, a) = (field(qi), field(ai));
            if !q.is_empty() && !a.is_empty() {
                out.push(BlockKind::QaPair, format!("Q: {q}\nA: {a}"), None)?;
            }
            continue;
        }
        let mut row = String::new();
        for (i, value) in record.iter().enumerate() {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            if !row.is_empty() {
                row.push_str("; ");
            }
            match header.get(i).filter(|h| !h.is_empty()) {
                Some(h) => {
                    row.push_str(h);
                    row.push_str(": ");
                }
                None => row.push_str(&format!("column {}: ", i + 1)),
            }
            row.push_str(value);
        }
        out.push(BlockKind::TableRow, row, None)?;
    }
    Ok(())
}

fn malformed(e: ::csv::Error) -> ExtractError {
    ExtractError::Malformed(format!("the CSV could not be read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Limits;

    fn run(text: &str) -> Vec<crate::Block> {
        let mut out = Collector::new(&Limits::default());
        extract(text, &mut out).unwrap();
        out.blocks_mut().to_vec()
    }

    #[test]
    fn qa_and_generic() {
        let b = run("Question,Answer\n\"How much, roughly?\",Ten euros\n,skipped\n");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].kind, BlockKind::QaPair);
        assert_eq!(b[0].text, "Q: How much, roughly?\nA: Ten euros");
        let b = run("\u{feff}Вопрос;Ответ\nСколько стоит?;Сто рублей\n");
        assert_eq!(b[0].text, "Q: Сколько стоит?\nA: Сто рублей");
        let b = run("name\tprice\nTea\t3\nCoffee\t\textra\n");
        assert_eq!(b[0].text, "name: Tea; price: 3");
        assert_eq!(b[1].text, "name: Coffee; column 3: extra");
    }

    #[test]
    fn sniffing() {
        assert!(sniff_delimiter("a,b\n1,2\n3,4\n").unwrap().looks_tabular);
        assert!(
            !sniff_delimiter("Hello, world.\nHi, there.\n")
                .unwrap()
                .looks_tabular
        );
        assert_eq!(sniff_delimiter("a;b\n1;2").unwrap().delimiter, b';');
    }
}
