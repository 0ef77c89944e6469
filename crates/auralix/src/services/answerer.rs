//! Answerers: what produces the agent's reply to a visitor.
//!
//! One interface for every way of answering (the built-in offline answerer now; the
//! knowledge base and LLM providers extend it). Replies stream: an answerer sends text
//! pieces through `deltas` as it produces them and returns the whole answer at the end, so
//! the widget renders an LLM's tokens and the built-in answerer's words the same way.

use auralix_core::Agent;
use auralix_store::{ChunkHit, Source};
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyLanguage {
    En,
    Ru,
}

pub struct AnswerRequest<'a> {
    pub agent: &'a Agent,
    pub question: &'a str,
    pub language: ReplyLanguage,
    /// Contacts recognised in the visitor's message, if any.
    pub contacts_in_text: bool,
    /// The knowledge-base passages retrieved for the question, best first.
    pub passages: &'a [ChunkHit],
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub text: String,
    pub sources: Vec<Source>,
    /// False when the answerer had nothing to go on (counts towards handoff triggers).
    pub knew: bool,
    /// The widget should offer the contact form.
    pub ask_contact: bool,
    /// The visitor asked for a person.
    pub wants_human: bool,
}

#[async_trait::async_trait]
pub trait Answerer: Send + Sync {
    async fn answer(&self, request: AnswerRequest<'_>, deltas: &mpsc::Sender<String>) -> Answer;
}

/// The offline answerer (A2): answers from the agent's greeting and instructions where
/// they match the question, and otherwise says plainly that it does not know and offers
/// a manager. It never invents.
pub struct BuiltinAnswerer;

const HUMAN_WORDS: &[&str] = &[
    "human",
    "person",
    "operator",
    "manager",
    "agent please",
    "real person",
    "someone",
    "call me",
    "callback",
    "человек",
    "оператор",
    "менеджер",
    "живой",
    "сотрудник",
    "перезвон",
    "свяжитесь",
];
const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "good morning",
    "good afternoon",
    "good evening",
    "привет",
    "здравствуйте",
    "здравствуй",
    "добрый день",
    "доброе утро",
    "добрый вечер",
    "хай",
    "салют",
];
fn is_greeting(question: &str) -> bool {
    let q = question
        .trim()
        .trim_end_matches(['!', '.', '?', ')'])
        .to_lowercase();
    GREETINGS
        .iter()
        .any(|g| q == *g || (q.starts_with(g) && q.chars().count() <= g.chars().count() + 8))
}

pub fn wants_human(question: &str) -> bool {
    let q = question.to_lowercase();
    HUMAN_WORDS.iter().any(|w| q.contains(w))
}

/// Where a passage sits in its document, for the sources list.
fn location(hit: &ChunkHit) -> Option<String> {
    let page = hit.page.map(|p| format!("p. {p}"));
    let heading = Some(hit.heading_path.clone()).filter(|h| !h.is_empty());
    match (heading, page) {
        (Some(h), Some(p)) => Some(format!("{h}, {p}")),
        (h, p) => h.or(p),
    }
}

/// The sentences that answer the question, from the retrieved passages and the agent's
/// instructions, with the documents they came from — if they match well enough: at least
/// two of the question's (stemmed, stopword-free) terms, or a third of them.
fn grounded_answer(request: &AnswerRequest<'_>) -> Option<(String, Vec<Source>)> {
    let wanted = auralix_knowledge::query_terms(request.question);
    if wanted.is_empty() {
        return None;
    }
    let agent = request.agent;
    let instructions = [agent.instructions.as_deref(), agent.greeting.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");
    let mut passages: Vec<&str> = request.passages.iter().map(|p| p.text.as_str()).collect();
    passages.push(&instructions);
    let hits_in = |sentence: &str| {
        let have = auralix_knowledge::index_terms(sentence);
        let have: Vec<&str> = have.split(' ').collect();
        wanted
            .iter()
            .filter(|w| !auralix_knowledge::is_stopword(w) && have.contains(&w.as_str()))
            .count()
    };
    let mut best: Vec<(usize, String, usize)> =
        auralix_knowledge::best_sentences(request.question, &passages, 3)
            .into_iter()
            .map(|(i, s)| {
                let hits = hits_in(&s);
                (i, s, hits)
            })
            .collect();
    // Keep only sentences about as relevant as the best one: an answer, not a dump.
    let top = best.iter().map(|(_, _, h)| *h).max().unwrap_or(0);
    best.retain(|(_, _, h)| *h * 2 >= top && *h > 0);
    if !(top >= 2 || (top >= 1 && top * 3 >= wanted.len())) {
        return None;
    }
    let text = best
        .iter()
        .map(|(_, s, _)| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut sources: Vec<Source> = Vec::new();
    for (index, _, _) in &best {
        if let Some(hit) = request.passages.get(*index)
            && !sources.iter().any(|s| s.document_id == hit.document_id)
        {
            sources.push(Source {
                document_id: hit.document_id.clone(),
                title: hit.title.clone(),
                location: location(hit),
            });
        }
    }
    Some((text, sources))
}

fn texts(language: ReplyLanguage) -> (&'static str, &'static str, &'static str, &'static str) {
    match language {
        ReplyLanguage::En => (
            "Hello! How can I help you?",
            "I don't know the answer to that yet. A manager can help: leave your contact details and they will get back to you.",
            "Sure, I'll pass your conversation to a manager. Please leave your contact details so they can reach you.",
            "Thank you! Please confirm your contact details in the form so a manager can get in touch.",
        ),
        ReplyLanguage::Ru => (
            "Здравствуйте! Чем могу помочь?",
            "Я пока не знаю ответа на этот вопрос. Менеджер сможет помочь: оставьте контакты, и с вами свяжутся.",
            "Конечно, я передам разговор менеджеру. Оставьте, пожалуйста, контакты, чтобы с вами могли связаться.",
            "Спасибо! Подтвердите, пожалуйста, контакты в форме, чтобы менеджер смог с вами связаться.",
        ),
    }
}

impl BuiltinAnswerer {
    fn compose(&self, request: &AnswerRequest<'_>) -> Answer {
        let (hello, unknown, human, confirm) = texts(request.language);
        let answer = |text: String, knew: bool, ask_contact: bool, wants_human: bool| Answer {
            text,
            sources: Vec::new(),
            knew,
            ask_contact,
            wants_human,
        };
        if request.contacts_in_text {
            return answer(confirm.to_owned(), true, true, false);
        }
        if wants_human(request.question) {
            return answer(human.to_owned(), true, true, true);
        }
        if is_greeting(request.question) {
            return answer(
                request
                    .agent
                    .greeting
                    .clone()
                    .unwrap_or_else(|| hello.to_owned()),
                true,
                false,
                false,
            );
        }
        match grounded_answer(request) {
            Some((text, sources)) => Answer {
                sources,
                ..answer(text, true, false, false)
            },
            None => answer(unknown.to_owned(), false, true, false),
        }
    }
}

#[async_trait::async_trait]
impl Answerer for BuiltinAnswerer {
    async fn answer(&self, request: AnswerRequest<'_>, deltas: &mpsc::Sender<String>) -> Answer {
        let answer = self.compose(&request);
        // Stream word by word, as a model would; a closed receiver just means nobody watches.
        for piece in answer.text.split_inclusive(' ') {
            if deltas.send(piece.to_owned()).await.is_err() {
                break;
            }
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(instructions: &str) -> Agent {
        let input = auralix_core::AgentInput {
            name: Some("Shop".into()),
            greeting: Some("Hi! Ask me about our bakery.".into()),
            instructions: Some(instructions.into()),
            ..Default::default()
        };
        let draft = auralix_core::AgentDraft::parse(&input).unwrap();
        Agent {
            id: "agt_1".into(),
            workspace_id: "wsp_1".into(),
            public_id: "ax_1".into(),
            name: draft.name,
            greeting: draft.greeting,
            instructions: draft.instructions,
            language: None,
            allowed_origins: vec![],
            lead_capture: draft.lead_capture,
            appearance: draft.appearance,
            privacy_url: None,
            ai: Default::default(),
            privacy: Default::default(),
            created_at: time::OffsetDateTime::now_utc(),
            updated_at: time::OffsetDateTime::now_utc(),
        }
    }

    fn ask(agent: &Agent, q: &str, language: ReplyLanguage) -> Answer {
        BuiltinAnswerer.compose(&AnswerRequest {
            agent,
            question: q,
            language,
            contacts_in_text: false,
            passages: &[],
        })
    }

    #[test]
    fn answers_from_instructions_or_admits_not_knowing() {
        let a = agent(
            "We are open from 8 to 20 every day. Delivery across Moscow takes two hours. Доставка по Москве занимает два часа.",
        );
        let open = ask(&a, "When are you open?", ReplyLanguage::En);
        assert!(open.knew && open.text.contains("8 to 20"), "{}", open.text);
        let delivery = ask(&a, "How long does delivery take?", ReplyLanguage::En);
        assert!(delivery.text.contains("two hours"), "{}", delivery.text);
        let ru = ask(&a, "Сколько занимает доставка?", ReplyLanguage::Ru);
        assert!(ru.text.contains("два часа"), "{}", ru.text);
        let unknown = ask(&a, "Do you sell bicycles?", ReplyLanguage::En);
        assert!(!unknown.knew && unknown.ask_contact && unknown.text.contains("manager"));
        let hello = ask(&a, "Hello!", ReplyLanguage::En);
        assert_eq!(hello.text, "Hi! Ask me about our bakery.");
        let human = ask(&a, "Можно поговорить с менеджером?", ReplyLanguage::Ru);
        assert!(human.wants_human && human.ask_contact);
    }
}
