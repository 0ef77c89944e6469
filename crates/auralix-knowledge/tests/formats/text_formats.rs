use auralix_knowledge::{
    ChunkOptions, DocType, ExtractError, Limits, ProcessError, best_sentences, index_terms,
    process_plain_text, process_qa_pairs, query_terms,
};

use crate::{run, texts};

#[test]
fn html_page() {
    let html = r#"<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Доставка — Магазин</title>
        <script>window.dataLayer = []; if (a < b) {}</script><style>body{color:red}</style></head>
        <body><nav><ul><li>Главная</li><li>Каталог</li></ul></nav>
        <h1>Доставка</h1><p>Мы доставляем заказы курьером&nbsp;по Москве.</p>
        <h2>Стоимость</h2><ul><li>Курьер — 300 ₽</li><li>Самовывоз — бесплатно</li></ul>
        <footer><p>Телефон: +7 495 000-00-00</p></footer></body></html>"#;
    let (doc, chunks) = run("delivery.html", html.as_bytes()).unwrap();
    assert_eq!(doc, DocType::Html);
    let all = texts(&chunks);
    assert!(
        !all.contains("Главная") && !all.contains("dataLayer") && !all.contains("color"),
        "{all}"
    );
    let price = chunks.iter().find(|c| c.text.contains("Курьер")).unwrap();
    assert_eq!(price.heading_path, vec!["Доставка", "Стоимость"]);
    assert!(
        price
            .text
            .contains("- Курьер — 300 ₽\n- Самовывоз — бесплатно"),
        "{}",
        price.text
    );
    assert!(all.contains("курьером по Москве"));
}

#[test]
fn markdown_file() {
    let md = "# Guide\n\nSome *intro* text.\n\n## Install\n\n1. Download\n2. Run `setup`\n\n## FAQ\n\nAsk us.\n";
    let (doc, chunks) = run("guide.md", md.as_bytes()).unwrap();
    assert_eq!(doc, DocType::Markdown);
    let install = chunks.iter().find(|c| c.text.contains("Download")).unwrap();
    assert_eq!(install.heading_path, vec!["Guide", "Install"]);
    assert_eq!(install.text, "- Download\n- Run setup");
}

#[test]
fn csv_qa_and_generic() {
    let qa = "question,answer\n\"Do you ship abroad?\",\"Yes, to all EU countries.\"\nHow to pay?,By card or invoice.\n";
    let (doc, chunks) = run("faq.csv", qa.as_bytes()).unwrap();
    assert_eq!(doc, DocType::Csv);
    assert_eq!(chunks.len(), 2);
    assert_eq!(
        chunks[0].text,
        "Q: Do you ship abroad?\nA: Yes, to all EU countries."
    );

    // Excel in a Russian locale: Windows-1251 and semicolons.
    let (ru, _, _) =
        encoding_rs::WINDOWS_1251.encode("Вопрос;Ответ\nКак оплатить?;Картой или по счёту.\n");
    let (_, chunks) = run("faq.csv", &ru).unwrap();
    assert_eq!(chunks[0].text, "Q: Как оплатить?\nA: Картой или по счёту.");

    let generic = "product,price,stock\nTea,3.50,10\nCoffee,4.20,\n";
    let (doc, chunks) = run("prices", generic.as_bytes()).unwrap();
    assert_eq!(doc, DocType::Csv);
    assert_eq!(chunks.len(), 1);
    assert_eq!(
        chunks[0].text,
        "product: Tea; price: 3.50; stock: 10\nproduct: Coffee; price: 4.20"
    );
}

#[test]
fn plain_text_file() {
    let txt = "ABOUT US\n\nWe are a small tea shop in Berlin. We sell loose-leaf tea from\nsmall farms and ship across the EU. Our infor-\nmation desk answers within a day.\n\nOpening hours\n\nMonday to Friday, 9:00–18:00. Closed on public holidays in Berlin and Brandenburg.\n";
    let (doc, chunks) = run("about.txt", txt.as_bytes()).unwrap();
    assert_eq!(doc, DocType::Text);
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[0].heading_path, vec!["ABOUT US"]);
    assert!(chunks[0].text.contains("Our information desk"));
    assert_eq!(chunks[1].heading_path, vec!["ABOUT US", "Opening hours"]);
}

#[test]
fn empty_and_blank_files_contain_no_text() {
    for (name, bytes) in [
        ("empty.txt", &b""[..]),
        ("blank.md", b"  \n\n\t \n"),
        ("empty.csv", b"question,answer\n"),
        (
            "empty.html",
            b"<html><body><script>x()</script></body></html>",
        ),
    ] {
        let err = run(name, bytes).unwrap_err();
        assert_eq!(err, ProcessError::Extract(ExtractError::NoText), "{name}");
        assert_eq!(err.to_string(), "the document contains no text");
    }
}

#[test]
fn binary_junk_is_unsupported() {
    let mut junk = vec![0u8; 4096];
    for (i, b) in junk.iter_mut().enumerate() {
        *b = (i * 7 % 256) as u8;
    }
    assert!(matches!(
        run("data.txt", &junk),
        Err(ProcessError::Unsupported(_))
    ));
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    let err = run("logo.txt", &png).unwrap_err();
    assert!(err.to_string().starts_with("images are not supported"));
}

#[test]
fn pasted_text_and_qa_pairs() {
    let chunks = process_plain_text(
        "Hello there.\n\nSecond paragraph.",
        &Limits::default(),
        &ChunkOptions::default(),
    )
    .unwrap();
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].text, "Hello there.\nSecond paragraph.");
    let chunks = process_qa_pairs(
        [("Open on Sunday?", "No,  we\nrest."), ("", "skipped")],
        &ChunkOptions::default(),
    );
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].text, "Q: Open on Sunday?\nA: No, we rest.");
}

#[test]
fn end_to_end_search_terms_and_answer() {
    let txt = "Доставка\n\nМы доставляем заказы по Москве за один день. Доставка в регионы занимает от трёх до семи дней.\n\nОплата\n\nОплатить заказ можно картой или наличными курьеру.\n";
    let (_, chunks) = run("info.txt", txt.as_bytes()).unwrap();
    let indexed: Vec<String> = chunks
        .iter()
        .map(|c| index_terms(&c.contextual_text()))
        .collect();
    let q = query_terms("Сколько дней занимает доставка в регионы?");
    let hit = indexed
        .iter()
        .position(|terms| {
            q.iter()
                .all(|t| terms.split(' ').any(|x| x == t) || t == "сто")
        })
        .expect("a chunk with every query term");
    let passages: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
    let answer = best_sentences("Сколько дней занимает доставка в регионы?", &passages, 2);
    assert_eq!(
        answer[0],
        (
            hit,
            "Доставка в регионы занимает от трёх до семи дней.".to_owned()
        )
    );
}

/// Pathological structure must not recurse: each case runs on a thread with a small stack.
#[test]
fn deeply_nested_input_does_not_overflow_the_stack() {
    let cases: Vec<(&str, String)> = vec![
        ("deep.md", ">".repeat(100_000) + " quote"),
        (
            "deep2.md",
            (0..20_000)
                .map(|i| format!("{}- item\n", "  ".repeat(i % 500)))
                .collect(),
        ),
        ("deep.md", "[".repeat(200_000) + "x" + &"]".repeat(200_000)),
        ("headings.txt", "# heading\n".repeat(200_000)),
        ("deep.html", "<ul><li>".repeat(100_000) + "x"),
        ("deep.csv", "a,b\n".to_owned() + &"\"".repeat(100_000)),
    ];
    for (name, text) in cases {
        let name = name.to_owned();
        let handle = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || run(&name, text.as_bytes()).map(|(_, c)| c.len()))
            .unwrap();
        // A stack overflow would abort the whole test binary; getting here is the assertion.
        let _chunks_or_error = handle.join().expect("no panic");
    }
}
