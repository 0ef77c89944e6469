//! The built-in extractive answerer: pick the sentences of the retrieved passages that best
//! answer a question, without any language model.
//!
//! 1. Candidates: every sentence of every passage (`sentence::split_sentences`). A passage
//!    that is a Q&A pair (`"Q: …\nA: …"`, as chunked from a Q&A CSV) is one candidate whose
//!    text is the answer and whose terms are those of question *and* answer, so a matching
//!    FAQ entry answers with its answer, not by echoing its question.
//! 2. Terms: [`query_terms`] of the question (stemmed, stopwords removed) against
//!    [`index_terms`] of each candidate — English and Russian inflections match.
//! 3. Score: the sum over matched distinct question terms of a BM25-style IDF computed across
//!    all candidates (a term found in every sentence counts little, a rare one a lot), divided
//!    by a mild length factor so that long run-on sentences do not win by size alone; Q&A
//!    answers get ×1.5; passages come best-first from retrieval, so later ones lose up to 30%.
//! 4. Selection: greedily, the best candidate, then the next best with a bonus of a quarter of
//!    the top score for being adjacent (same passage, next or previous sentence) to a chosen
//!    one — answers read better as contiguous text — while a candidate scores at least 35% of
//!    the best; duplicates (overlapping chunks repeat sentences) are skipped. If the best
//!    candidate is a Q&A answer it is returned alone.
//! 5. The chosen sentences are returned in reading order (passage, then position).
//!
//! Work is bounded: at most 5,000 candidates are considered.

use std::collections::{HashMap, HashSet};

use crate::sentence::split_sentences;
use crate::stem::{index_terms, query_terms};

const MAX_CANDIDATES: usize = 5_000;

struct Candidate {
    passage: usize,
    position: usize,
    text: String,
    terms: HashSet<String>,
    len: usize,
    qa: bool,
}

/// The best 1..=`max_sentences` sentences answering `question`, as
/// `(index into passages, sentence)`, in reading order; empty when nothing matches.
pub fn best_sentences(
    question: &str,
    passages: &[&str],
    max_sentences: usize,
) -> Vec<(usize, String)> {
    let q: Vec<String> = query_terms(question);
    if q.is_empty() || max_sentences == 0 {
        return Vec::new();
    }
    let mut cands: Vec<Candidate> = Vec::new();
    'passages: for (pi, passage) in passages.iter().enumerate() {
        if let Some((question_part, answer)) = passage
            .strip_prefix("Q: ")
            .and_then(|rest| rest.split_once("\nA: "))
        {
            let terms = index_terms(&format!("{question_part} {answer}"));
            let len = terms.split(' ').count();
            cands.push(Candidate {
                passage: pi,
                position: 0,
                text: answer.trim().to_owned(),
                terms: terms.split(' ').map(str::to_owned).collect(),
                len,
                qa: true,
            });
            continue;
        }
        for (si, s) in split_sentences(passage).into_iter().enumerate() {
            if cands.len() >= MAX_CANDIDATES {
                break 'passages;
            }
            let terms = index_terms(s);
            let len = terms.split(' ').filter(|t| !t.is_empty()).count();
            cands.push(Candidate {
                passage: pi,
                position: si,
                text: s.to_owned(),
                terms: terms.split(' ').map(str::to_owned).collect(),
                len,
                qa: false,
            });
        }
    }
    if cands.is_empty() {
        return Vec::new();
    }
    let n = cands.len() as f64;
    let idf: HashMap<&str, f64> = q
        .iter()
        .map(|t| {
            let df = cands.iter().filter(|c| c.terms.contains(t)).count() as f64;
            (t.as_str(), (1.0 + (n - df + 0.5) / (df + 0.5)).ln())
        })
        .collect();
    let scores: Vec<f64> = cands
        .iter()
        .map(|c| {
            let raw: f64 = q
                .iter()
                .filter(|t| c.terms.contains(*t))
                .map(|t| idf[t.as_str()])
                .sum();
            let length = 1.0 + 0.25 * ((c.len.max(1) as f64) / 25.0).max(1.0).ln();
            let qa = if c.qa { 1.5 } else { 1.0 };
            let rank = (1.0 - 0.03 * c.passage as f64).max(0.7);
            raw / length * qa * rank
        })
        .collect();
    let (top, best) = scores
        .iter()
        .copied()
        .enumerate()
        .fold((0, 0.0), |acc, (i, s)| if s > acc.1 { (i, s) } else { acc });
    if best <= 0.0 {
        return Vec::new();
    }
    let mut chosen = vec![top];
    if !cands[top].qa {
        while chosen.len() < max_sentences {
            let mut next: Option<(usize, f64)> = None;
            for (i, c) in cands.iter().enumerate() {
                if scores[i] <= 0.0
                    || c.qa
                    || chosen.contains(&i)
                    || chosen.iter().any(|&j| cands[j].text == c.text)
                {
                    continue;
                }
                let adjacent = chosen.iter().any(|&j| {
                    cands[j].passage == c.passage && cands[j].position.abs_diff(c.position) == 1
                });
                let s = scores[i] + if adjacent { 0.25 * best } else { 0.0 };
                if next.is_none_or(|(_, b)| s > b) {
                    next = Some((i, s));
                }
            }
            match next {
                Some((i, s)) if s >= 0.35 * best => chosen.push(i),
                _ => break,
            }
        }
    }
    chosen.sort_by_key(|&i| (cands[i].passage, cands[i].position));
    chosen
        .into_iter()
        .map(|i| (cands[i].passage, cands[i].text.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english() {
        let passages = [
            "Our shop sells tea and coffee. We ship orders within two business days. \
             Delivery to Germany takes three to five days.",
            "Returns are accepted within 14 days. The customer pays for return shipping.",
        ];
        let got = best_sentences("How long does delivery to Germany take?", &passages, 2);
        assert_eq!(
            got[0],
            (
                0,
                "Delivery to Germany takes three to five days.".to_owned()
            )
        );
        assert!(got.len() <= 2);
        let got = best_sentences("Are returns accepted?", &passages, 1);
        assert_eq!(
            got,
            vec![(1, "Returns are accepted within 14 days.".to_owned())]
        );
    }

    #[test]
    fn russian_inflections() {
        let passages = [
            "Мы работаем с 9 до 18 часов. Доставка по Москве бесплатная при заказе от 3000 рублей.",
            "Возврат товара возможен в течение 14 дней.",
        ];
        let got = best_sentences("Сколько стоит доставка в Москву?", &passages, 1);
        assert_eq!(
            got,
            vec![(
                0,
                "Доставка по Москве бесплатная при заказе от 3000 рублей.".to_owned()
            )]
        );
        let got = best_sentences("Можно ли вернуть товар?", &passages, 3);
        assert_eq!(got[0].0, 1);
    }

    #[test]
    fn reading_order_adjacency_and_qa() {
        let passages = [
            "Shipping is free over 50 euros. Shipping abroad costs 10 euros. Cats are nice.",
            "Q: Do you ship abroad?\nA: Yes, to all EU countries.",
        ];
        let got = best_sentences("shipping costs abroad", &passages, 3);
        assert_eq!(got.first().map(|g| g.0), Some(0));
        assert!(got.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(!got.iter().any(|g| g.1.contains("Cats")));
        let got = best_sentences("Do you ship abroad to the EU?", &passages[1..], 3);
        assert_eq!(got, vec![(0, "Yes, to all EU countries.".to_owned())]);
        assert!(best_sentences("unrelated words", &passages, 3).is_empty());
    }
}
