//! `cargo test --release -- --ignored --nocapture throughput` prints rough throughput figures.

use std::time::Instant;

use auralix_knowledge::index_terms;

use crate::run;

fn generated_text(target: usize) -> String {
    let words = [
        "delivery",
        "order",
        "customer",
        "payment",
        "доставка",
        "заказ",
        "оплата",
        "клиент",
        "within",
        "days",
        "the",
        "and",
        "в",
        "течение",
        "дней",
        "tea",
        "coffee",
        "return",
    ];
    let mut out = String::with_capacity(target + 1024);
    let mut x: u64 = 42;
    let mut section = 0;
    while out.len() < target {
        section += 1;
        out.push_str(&format!("Section {section}\n\n"));
        for _ in 0..6 {
            for s in 0..5 {
                let n = 8 + (s * 3) % 9;
                for w in 0..n {
                    x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    let word = words[(x >> 33) as usize % words.len()];
                    if w == 0 {
                        let mut c = word.chars();
                        let first = c.next().unwrap().to_uppercase().collect::<String>();
                        out.push_str(&first);
                        out.push_str(c.as_str());
                    } else {
                        out.push(' ');
                        out.push_str(word);
                    }
                }
                out.push_str(". ");
            }
            out.push_str("\n\n");
        }
    }
    out
}

#[test]
#[ignore = "throughput figure; run in release"]
fn throughput_10_mb_text() {
    let text = generated_text(10 * 1024 * 1024);
    let start = Instant::now();
    let (_, chunks) = run("big.txt", text.as_bytes()).unwrap();
    let took = start.elapsed();
    let start = Instant::now();
    let terms: usize = chunks
        .iter()
        .map(|c| index_terms(&c.contextual_text()).len())
        .sum();
    let stem_took = start.elapsed();
    let mb = text.len() as f64 / 1e6;
    println!(
        "process: {mb:.1} MB text → {} chunks in {took:?} ({:.1} MB/s); index_terms over all chunks: {stem_took:?} ({terms} bytes of terms)",
        chunks.len(),
        mb / took.as_secs_f64()
    );
}
