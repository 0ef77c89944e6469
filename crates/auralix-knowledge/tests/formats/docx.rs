use std::io::{Cursor, Write};
use std::time::Duration;

use auralix_knowledge::{
    BlockKind, DocType, ExtractError, Limits, ProcessError, detect_bytes, extract,
};

use crate::{peak_rss_kib, quickly, run, zip};

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;

fn styles() -> String {
    // "1" is how Russian Word names the id of the built-in "heading 1" style; "MyHeading" is a
    // custom style based on it.
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<w:styles xmlns:w="{W}">
  <w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/></w:style>
  <w:style w:type="paragraph" w:styleId="1"><w:name w:val="heading 1"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
  <w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/></w:style>
  <w:style w:type="paragraph" w:styleId="MyHeading"><w:name w:val="My Heading"/><w:basedOn w:val="Heading2"/></w:style>
  <w:style w:type="paragraph" w:styleId="ListBullet"><w:name w:val="List Bullet"/></w:style>
</w:styles>"#
    )
}

fn para(style: Option<&str>, text: &str) -> String {
    let ppr = style.map_or(String::new(), |s| {
        format!(r#"<w:pPr><w:pStyle w:val="{s}"/></w:pPr>"#)
    });
    format!(r#"<w:p>{ppr}<w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p>"#)
}

fn document() -> String {
    let body = [
        para(Some("Title"), "Shop Handbook"),
        para(Some("1"), "Доставка"),
        // Two runs, a tab, a deleted revision and an entity.
        r#"<w:p><w:r><w:t>Мы доставляем заказы</w:t></w:r><w:r><w:tab/><w:t>по всей России &amp; СНГ.</w:t></w:r><w:del><w:r><w:delText>DELETED</w:delText></w:r></w:del></w:p>"#.to_string(),
        para(Some("MyHeading"), "Tariffs"),
        // A numbered paragraph and a list-styled one.
        r#"<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="3"/></w:numPr></w:pPr><w:r><w:t>Courier</w:t></w:r></w:p>"#.to_owned(),
        para(Some("ListBullet"), "Pickup point"),
        // A table with a header row.
        r#"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Zone</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Price</w:t></w:r></w:p></w:tc></w:tr><w:tr><w:tc><w:p><w:r><w:t>Moscow</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>300 RUB</w:t></w:r></w:p><w:p><w:r><w:t>free over 3000</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"#.to_owned(),
        // A page break Word recorded, then a text box stored twice (Choice + Fallback).
        r#"<w:p><w:r><w:lastRenderedPageBreak/><w:t>Second page text.</w:t></w:r><w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><mc:Choice Requires="wps"><w:drawing><w:txbxContent><w:p><w:r><w:t>Boxed note.</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>Boxed note.</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"#.to_string(),
    ]
    .concat();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W}"><w:body>{body}<w:sectPr/></w:body></w:document>"#
    )
}

fn docx() -> Vec<u8> {
    zip(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("word/styles.xml", styles().as_bytes()),
        ("word/document.xml", document().as_bytes()),
    ])
}

#[test]
fn docx_structure() {
    let bytes = docx();
    assert_eq!(
        detect_bytes(Some("handbook.docx"), &bytes),
        Ok(DocType::Docx)
    );
    let ex = extract(DocType::Docx, &bytes, &Limits::default()).unwrap();
    assert_eq!(ex.title.as_deref(), Some("Shop Handbook"));
    let got: Vec<(BlockKind, String, Option<u32>)> = ex
        .blocks
        .iter()
        .map(|b| (b.kind, auralix_knowledge::normalize_inline(&b.text), b.page))
        .collect();
    let p1 = Some(1);
    assert_eq!(
        got,
        vec![
            (BlockKind::Heading { level: 1 }, "Shop Handbook".into(), p1),
            (BlockKind::Heading { level: 1 }, "Доставка".into(), p1),
            (
                BlockKind::Paragraph,
                "Мы доставляем заказы по всей России & СНГ.".into(),
                p1
            ),
            (BlockKind::Heading { level: 2 }, "Tariffs".into(), p1),
            (BlockKind::ListItem, "Courier".into(), p1),
            (BlockKind::ListItem, "Pickup point".into(), p1),
            (BlockKind::TableRow, "Zone | Price".into(), p1),
            (
                BlockKind::TableRow,
                "Moscow | 300 RUB free over 3000".into(),
                p1
            ),
            (BlockKind::Paragraph, "Boxed note.".into(), Some(2)),
            (BlockKind::Paragraph, "Second page text.".into(), Some(2)),
        ]
    );

    let (_, chunks) = run("handbook.docx", &bytes).unwrap();
    let tariffs = chunks.iter().find(|c| c.text.contains("Courier")).unwrap();
    // "Title" and "heading 1" are both level 1, so the section heading replaces the title.
    assert_eq!(
        tariffs.heading_path,
        vec!["Доставка".to_owned(), "Tariffs".to_owned()]
    );
    assert!(
        tariffs
            .text
            .contains("- Courier\n- Pickup point\nZone | Price")
    );
}

#[test]
fn docx_without_page_markers_has_no_pages() {
    let doc = format!(
        r#"<w:document xmlns:w="{W}"><w:body>{}</w:body></w:document>"#,
        para(None, "Only text.")
    );
    let bytes = zip(&[("word/document.xml", doc.as_bytes())]);
    let ex = extract(DocType::Docx, &bytes, &Limits::default()).unwrap();
    assert_eq!(ex.blocks[0].page, None);
}

/// 200 MiB of zeros as `word/document.xml`, deflated (~200 KiB). With `lie`, the sizes in the
/// local header and the central directory are patched to claim 1,000 bytes.
fn bomb(lie: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    w.start_file("[Content_Types].xml", opts).unwrap();
    w.write_all(CONTENT_TYPES.as_bytes()).unwrap();
    w.start_file("word/document.xml", opts).unwrap();
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..200 {
        w.write_all(&zeros).unwrap();
    }
    let mut bytes = w.finish().unwrap().into_inner();
    if lie {
        let name = b"word/document.xml";
        let real = (200u32 * 1024 * 1024).to_le_bytes();
        let mut patched = 0;
        for i in 0..bytes.len().saturating_sub(46) {
            let local = &bytes[i..i + 4] == b"PK\x03\x04" && bytes[i + 30..].starts_with(name);
            let central = &bytes[i..i + 4] == b"PK\x01\x02" && bytes[i + 46..].starts_with(name);
            let at = if local {
                i + 22
            } else if central {
                i + 24
            } else {
                continue;
            };
            assert_eq!(bytes[at..at + 4], real);
            bytes[at..at + 4].copy_from_slice(&1000u32.to_le_bytes());
            patched += 1;
        }
        assert_eq!(patched, 2);
    }
    bytes
}

#[test]
fn docx_zip_bomb_is_refused_quickly_without_inflating_it() {
    for lie in [false, true] {
        let bytes = bomb(lie);
        assert!(bytes.len() < 2 * 1024 * 1024, "{}", bytes.len());
        assert_eq!(detect_bytes(Some("bomb.docx"), &bytes), Ok(DocType::Docx));
        let before = peak_rss_kib();
        let err = quickly(Duration::from_secs(3), || run("bomb.docx", &bytes)).unwrap_err();
        match &err {
            ProcessError::Extract(ExtractError::TooLarge(reason)) => {
                assert!(reason.starts_with("the DOCX "), "{reason}");
                let expected = if lie {
                    "the DOCX looks like a zip bomb: word/document.xml is larger than it declares"
                } else {
                    "the DOCX expands beyond 64 MiB (word/document.xml declares 200 MiB)"
                };
                assert_eq!(reason, expected);
            }
            other => panic!("lie={lie}: {other:?}"),
        }
        if let (Some(b), Some(a)) = (before, peak_rss_kib()) {
            assert!(
                a.saturating_sub(b) < 64 * 1024,
                "peak RSS grew by {} KiB",
                a - b
            );
        }
    }
}

#[test]
fn too_many_entries_is_refused_before_parsing_the_directory() {
    let mut names = vec!["word/document.xml".to_owned()];
    names.extend((1..3000).map(|i| format!("word/media/{i}.xml")));
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let bytes = zip(&entries);
    let err = run("many.docx", &bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the DOCX archive lists 3000 entries; at most 2000 are allowed"
    );
}

#[test]
fn xlsx_and_other_zips_are_unsupported() {
    let xlsx = zip(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("xl/workbook.xml", b"<workbook/>"),
        ("xl/worksheets/sheet1.xml", b"<worksheet/>"),
    ]);
    let err = run("prices.docx", &xlsx).unwrap_err();
    assert!(
        matches!(&err, ProcessError::Unsupported(u) if u.reason.contains("XLSX")),
        "{err:?}"
    );
    let plain = zip(&[("notes.txt", b"hello")]);
    assert!(matches!(
        run("notes.zip", &plain),
        Err(ProcessError::Unsupported(_))
    ));
}

#[test]
fn broken_docx_is_malformed() {
    let bytes = zip(&[(
        "word/document.xml",
        b"<w:document xmlns:w=\"x\"><w:body><w:p></w:body>",
    )]);
    let err = run("broken.docx", &bytes).unwrap_err();
    assert!(err.to_string().starts_with("the DOCX is damaged"), "{err}");
    let mut truncated = docx();
    truncated.truncate(truncated.len() - 30);
    assert!(run("cut.docx", &truncated).is_err());
}
