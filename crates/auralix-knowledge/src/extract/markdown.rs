//! Markdown → blocks, with `pulldown-cmark` (CommonMark + tables, strikethrough, task lists,
//! footnotes, YAML front matter).
//!
//! One pass over the event stream with a text buffer: headings become headings, paragraphs
//! paragraphs, list items list items (the text of an item up to a nested list is flushed when
//! the nested list starts, so nested items come out as separate items), table rows are cells
//! joined with `" | "`, code blocks are kept as paragraphs. Raw HTML, image alt text and front
//! matter are dropped; link text is kept without the URL. `pulldown-cmark` is linear-time and
//! non-recursive on hostile input.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::extract::{BlockKind, Collector, ExtractError};

pub(crate) fn extract(text: &str, out: &mut Collector) -> Result<(), ExtractError> {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
    let mut buf = String::new();
    let mut heading: Option<u8> = None;
    let mut item_depth = 0usize;
    let mut row: Option<Vec<String>> = None;
    let mut skip_depth = 0usize; // inside front matter or an image

    let flush = |buf: &mut String, kind: BlockKind, out: &mut Collector| {
        let text = std::mem::take(buf);
        out.push(kind, text, None)
    };
    let body_kind = |item_depth: usize| {
        if item_depth > 0 {
            BlockKind::ListItem
        } else {
            BlockKind::Paragraph
        }
    };

    for event in Parser::new_ext(text, options) {
        match event {
            Event::Start(Tag::MetadataBlock(_) | Tag::Image { .. }) => skip_depth += 1,
            Event::End(TagEnd::MetadataBlock(_) | TagEnd::Image) => {
                skip_depth = skip_depth.saturating_sub(1);
            }
            _ if skip_depth > 0 => {}
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut buf, body_kind(item_depth), out)?;
                heading = Some(level as u8);
            }
            Event::End(TagEnd::Heading(_)) => {
                let level = heading.take().unwrap_or(1);
                flush(&mut buf, BlockKind::Heading { level }, out)?;
            }
            Event::Start(Tag::Item) => {
                flush(&mut buf, body_kind(item_depth), out)?;
                item_depth += 1;
            }
            Event::End(TagEnd::Item) => {
                flush(&mut buf, BlockKind::ListItem, out)?;
                item_depth = item_depth.saturating_sub(1);
            }
            Event::Start(Tag::List(_)) => flush(&mut buf, body_kind(item_depth), out)?,
            Event::Start(Tag::FootnoteDefinition(_)) => {
                flush(&mut buf, body_kind(item_depth), out)?
            }
            Event::End(TagEnd::FootnoteDefinition) => flush(&mut buf, BlockKind::Paragraph, out)?,
            Event::End(TagEnd::Paragraph) => {
                if item_depth > 0 {
                    buf.push('\n');
                } else {
                    flush(&mut buf, BlockKind::Paragraph, out)?;
                }
            }
            Event::Start(Tag::CodeBlock(_) | Tag::BlockQuote(_))
            | Event::End(TagEnd::CodeBlock | TagEnd::BlockQuote(_))
            | Event::Rule => {
                flush(&mut buf, body_kind(item_depth), out)?;
            }
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                flush(&mut buf, BlockKind::Paragraph, out)?;
                row = Some(Vec::new());
            }
            Event::End(TagEnd::TableCell) => {
                if let Some(r) = row.as_mut() {
                    r.push(std::mem::take(&mut buf).trim().to_owned());
                }
            }
            Event::End(TagEnd::TableHead | TagEnd::TableRow) => {
                if let Some(cells) = row.take() {
                    let cells: Vec<String> = cells.into_iter().filter(|c| !c.is_empty()).collect();
                    out.push(BlockKind::TableRow, cells.join(" | "), None)?;
                }
            }
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                buf.push_str(&t);
            }
            Event::SoftBreak => buf.push('\n'),
            Event::HardBreak => buf.push('\n'),
            Event::FootnoteReference(_) | Event::TaskListMarker(_) => {}
            Event::Html(_) | Event::InlineHtml(_) => {}
            _ => {}
        }
        out.check_pending(buf.len())?;
    }
    flush(&mut buf, body_kind(item_depth), out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Limits;

    #[test]
    fn structure() {
        let md = "---\ntitle: x\n---\n# Guide\n\nIntro *text* with [a link](http://x).\n\n## Install\n\n- one\n- two\n  - nested\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode here\n```\n\n<script>alert(1)</script>\n\n![alt](img.png)\n";
        let mut out = Collector::new(&Limits::default());
        extract(md, &mut out).unwrap();
        let b: Vec<(BlockKind, String)> = out
            .blocks_mut()
            .iter()
            .map(|b| (b.kind, b.text.trim().to_owned()))
            .collect();
        assert_eq!(
            b,
            vec![
                (BlockKind::Heading { level: 1 }, "Guide".into()),
                (BlockKind::Paragraph, "Intro text with a link.".into()),
                (BlockKind::Heading { level: 2 }, "Install".into()),
                (BlockKind::ListItem, "one".into()),
                (BlockKind::ListItem, "two".into()),
                (BlockKind::ListItem, "nested".into()),
                (BlockKind::TableRow, "a | b".into()),
                (BlockKind::TableRow, "1 | 2".into()),
                (BlockKind::Paragraph, "code here".into()),
            ]
        );
    }
}
