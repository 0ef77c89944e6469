use std::time::Duration;

use auralix_knowledge::{DocType, ExtractError, Limits, ProcessError, detect_bytes, extract};
use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};

use crate::{quickly, run};

fn text_ops(lines: &[(&str, i64)]) -> Vec<Operation> {
    let mut ops = vec![Operation::new("BT", vec![])];
    for (i, (line, size)) in lines.iter().enumerate() {
        ops.push(Operation::new("Tf", vec!["F1".into(), (*size).into()]));
        let y = if i == 0 { 760 } else { -(size + 8) };
        let x = if i == 0 { 72 } else { 0 };
        ops.push(Operation::new("Td", vec![x.into(), y.into()]));
        ops.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
    }
    ops.push(Operation::new("ET", vec![]));
    ops
}

/// A PDF with one Helvetica text page per entry of `pages`.
pub fn pdf(
    pages: &[Vec<Operation>],
    extra: impl FnOnce(&mut Document, &mut lopdf::Dictionary),
) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let mut resources = dictionary! { "Font" => dictionary! { "F1" => font_id } };
    extra(&mut doc, &mut resources);
    let resources_id = doc.add_object(resources);
    let mut kids = Vec::new();
    for ops in pages {
        let content = Content {
            operations: ops.clone(),
        };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        });
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    doc.compress();
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

fn two_page_pdf() -> Vec<u8> {
    pdf(
        &[
            text_ops(&[
                ("Delivery Terms", 20),
                (
                    "We ship every order within two business days of payment.",
                    11,
                ),
                ("Delivery to Germany takes three to five days.", 11),
            ]),
            text_ops(&[
                ("Returns", 20),
                ("Unused goods can be returned within fourteen days.", 11),
            ]),
        ],
        |_, _| {},
    )
}

#[test]
fn two_page_text_pdf() {
    let bytes = two_page_pdf();
    assert_eq!(detect_bytes(Some("terms.pdf"), &bytes), Ok(DocType::Pdf));
    let extracted = extract(DocType::Pdf, &bytes, &Limits::default()).unwrap();
    let all: String = extracted
        .blocks
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(all.contains("Delivery Terms"), "{all}");
    assert!(all.contains("three to five days"), "{all}");
    let page_of = |needle: &str| {
        extracted
            .blocks
            .iter()
            .find(|b| b.text.contains(needle))
            .and_then(|b| b.page)
    };
    assert_eq!(page_of("Germany"), Some(1));
    assert_eq!(page_of("fourteen"), Some(2));
    // pdf-extract gives no font sizes; the plain-text heuristics still find the headings.
    assert_eq!(
        extracted.blocks[0].kind,
        auralix_knowledge::BlockKind::Heading { level: 2 }
    );

    let (doc, chunks) = run("terms.pdf", &bytes).unwrap();
    assert_eq!(doc, DocType::Pdf);
    let returns = chunks
        .iter()
        .find(|c| c.text.contains("fourteen days"))
        .unwrap();
    assert_eq!(
        (returns.page, returns.heading_path.clone()),
        (Some(2), vec!["Returns".to_owned()])
    );
    assert!(
        chunks
            .iter()
            .any(|c| c.page == Some(1) && c.text.contains("two business days"))
    );
}

#[test]
fn garbage_pdfs_are_errors_not_panics() {
    let mut cases: Vec<Vec<u8>> = vec![
        b"%PDF-1.7\n".to_vec(),
        b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF".to_vec(),
        {
            let mut v = b"%PDF-1.4\n".to_vec();
            let mut x: u32 = 12345;
            for _ in 0..50_000 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                v.push((x >> 16) as u8);
            }
            v
        },
    ];
    // A real PDF cut in half, and one with its cross-reference table scrambled.
    let good = two_page_pdf();
    cases.push(good[..good.len() / 2].to_vec());
    let mut scrambled = good.clone();
    if let Some(pos) = scrambled.windows(4).rposition(|w| w == b"xref") {
        for b in &mut scrambled[pos..] {
            if b.is_ascii_digit() {
                *b = b'9';
            }
        }
    }
    cases.push(scrambled);
    for (i, bytes) in cases.iter().enumerate() {
        match run("x.pdf", bytes) {
            Err(ProcessError::Extract(ExtractError::Malformed(reason))) => {
                assert!(reason.starts_with("the PDF"), "case {i}: {reason}");
            }
            Err(ProcessError::Extract(ExtractError::NoText)) => {}
            Ok((_, chunks)) => assert!(i >= 3, "case {i} unexpectedly gave {chunks:?}"),
            other => panic!("case {i}: {other:?}"),
        }
    }
}

#[test]
fn a_panic_inside_pdf_extract_is_caught() {
    // Without a MediaBox pdf-extract calls `expect("MediaBox")` and panics.
    let mut bytes = two_page_pdf();
    let pos = bytes.windows(9).position(|w| w == b"/MediaBox").unwrap();
    bytes[pos..pos + 9].copy_from_slice(b"/MediaBax");
    let err = run("nobox.pdf", &bytes).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the PDF could not be read: page 1 is damaged"
    );
}

#[test]
fn self_drawing_form_is_refused_before_it_overflows_the_stack() {
    let bytes = pdf(
        &[vec![Operation::new("Do", vec!["X0".into()])]],
        |doc, resources| {
            let form_id = doc.new_object_id();
            let form = Stream::new(
                dictionary! {
                    "Type" => "XObject", "Subtype" => "Form",
                    "BBox" => vec![0.into(), 0.into(), 10.into(), 10.into()],
                    "Resources" => dictionary! { "XObject" => dictionary! { "X0" => form_id } },
                },
                b"/X0 Do".to_vec(),
            );
            doc.objects.insert(form_id, Object::Stream(form));
            resources.set("XObject", dictionary! { "X0" => form_id });
        },
    );
    let err = quickly(Duration::from_secs(5), || run("loop.pdf", &bytes)).unwrap_err();
    assert_eq!(
        err,
        ProcessError::Extract(ExtractError::Malformed(
            "the PDF could not be read: a drawing in it refers to itself".into()
        ))
    );
}

#[test]
fn exponential_form_fan_out_is_refused() {
    // Each form draws the next one 16 times, 8 levels deep: 16^8 draws.
    let bytes = pdf(
        &[vec![Operation::new("Do", vec!["X0".into()])]],
        |doc, resources| {
            let ids: Vec<_> = (0..9).map(|_| doc.new_object_id()).collect();
            for level in 0..9 {
                let content = if level < 8 {
                    "/X0 Do ".repeat(16).into_bytes()
                } else {
                    b"BT ET".to_vec()
                };
                let mut dict = dictionary! {
                    "Type" => "XObject", "Subtype" => "Form",
                    "BBox" => vec![0.into(), 0.into(), 10.into(), 10.into()],
                };
                if level < 8 {
                    dict.set(
                        "Resources",
                        dictionary! { "XObject" => dictionary! { "X0" => ids[level + 1] } },
                    );
                }
                doc.objects
                    .insert(ids[level], Object::Stream(Stream::new(dict, content)));
            }
            resources.set("XObject", dictionary! { "X0" => ids[0] });
        },
    );
    let err = quickly(Duration::from_secs(20), || run("fan.pdf", &bytes)).unwrap_err();
    assert!(
        matches!(&err, ProcessError::Extract(ExtractError::TooLarge(r)) if r.contains("too complex")),
        "{err:?}"
    );
}

#[test]
fn flate_bomb_stream_is_refused_before_parsing() {
    use flate2::{Compression, write::ZlibEncoder};
    use std::io::Write;
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::fast());
    let spaces = vec![b' '; 1024 * 1024];
    for _ in 0..80 {
        enc.write_all(&spaces).unwrap();
    }
    let bomb = enc.finish().unwrap();
    let mut bytes = b"%PDF-1.4\n1 0 obj\n<< /Length ".to_vec();
    bytes.extend_from_slice(format!("{} /Filter /FlateDecode >>\nstream\n", bomb.len()).as_bytes());
    bytes.extend_from_slice(&bomb);
    bytes.extend_from_slice(b"\nendstream\nendobj\n%%EOF\n");
    let before = crate::peak_rss_kib();
    let err = quickly(Duration::from_secs(10), || run("bomb.pdf", &bytes)).unwrap_err();
    assert_eq!(err.to_string(), "a stream in the PDF expands beyond 64 MiB",);
    if let (Some(b), Some(a)) = (before, crate::peak_rss_kib()) {
        assert!(
            a.saturating_sub(b) < 60 * 1024,
            "peak RSS grew by {} KiB",
            a - b
        );
    }
}

#[test]
fn wrapped_lines_with_normal_leading_stay_one_paragraph() {
    let mut ops = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 11.into()]),
    ];
    ops.push(Operation::new("Td", vec![72.into(), 760.into()]));
    for (i, line) in [
        "Our shop ships loose-leaf tea from small farms",
        "to every country of the European Union. Orders",
        "placed before noon leave the warehouse the same",
        "day; later orders leave the next morning.",
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            ops.push(Operation::new("Td", vec![0.into(), (-13).into()]));
        }
        ops.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
    }
    ops.push(Operation::new("ET", vec![]));
    let bytes = pdf(&[ops], |_, _| {});
    let raw = pdf_extract_text(&bytes);
    let ex = extract(DocType::Pdf, &bytes, &Limits::default()).unwrap();
    assert_eq!(ex.blocks.len(), 1, "{raw:?} → {:?}", ex.blocks);
    assert_eq!(ex.blocks[0].kind, auralix_knowledge::BlockKind::Paragraph);
}

fn pdf_extract_text(bytes: &[u8]) -> String {
    let doc = Document::load_mem(bytes).unwrap();
    let mut s = String::new();
    let mut out = pdf_extract::PlainTextOutput::new(&mut s);
    pdf_extract::output_doc_page(&doc, &mut out, 1).unwrap();
    s
}
