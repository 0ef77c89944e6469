//! `cargo bench -p auralix --bench knowledge`: the knowledge base's numbers.
//!
//! Uses the store directly (no HTTP), on SQLite and, when `AURALIX_TEST_POSTGRES_URL` is
//! set, on PostgreSQL, and reports:
//!
//! 1. Ingestion throughput along the worker's path (`process` → `index_terms` per chunk →
//!    `knowledge().finish`): a ~10 MB mixed English/Russian plain-text corpus in 10 files
//!    (MB/s), and a ~200-page PDF written with lopdf (pages/s). Target: the 10 MB corpus in
//!    under 10 s.
//! 2. Search latency p50/p99 and queries/s of `knowledge().search(.., limit 5)` with 1k, 10k
//!    and 100k chunks in one agent, while a second agent (the one the corpus and the PDF were
//!    ingested into) holds its own chunks in the same tables. Target: p99 ≤ 10 ms at 10k
//!    chunks on SQLite.
//!
//! All text is generated deterministically from a seeded PRNG: each language has a
//! Zipf-distributed vocabulary (s = 1) of 5,000 words — function words first, then real
//! content words (shuffled; Russian ones in several inflected forms), then made-up words
//! standing in for names and rare terms — so about half of all tokens are function words.
//! Headings take real content words uniformly. Queries are 2–5 content words drawn from the
//! content words' own Zipf law (sometimes behind a question word), so the tail is made of
//! queries on common words, the expensive ones; as OR queries they match about a fifth of an
//! agent's chunks on average (the bench prints the counts).
//!
//! For the three slowest queries of each run it also prints where the time goes: each part
//! of the store's statement(s) run alone on a separate connection, and SQLite's query plan.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use auralix_core::{AgentDraft, AgentInput, EmailAddress, PersonName, WorkspaceName};
use auralix_knowledge::{ChunkOptions, Limits};
use auralix_store::{NewAccount, NewChunk, Store};
use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use time::OffsetDateTime;

// ---------------------------------------------------------------------------------------
// Deterministic text
// ---------------------------------------------------------------------------------------

/// SplitMix64: small, fast and good enough for generating text.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
}

const EN_FUNCTION: &str = "the of and to a in is for that on with as it by be are at from this or an you \
    we your our not can will all if they has have was more when which their there also any each after \
    before into may must should than then these those";

const EN_CONTENT: &str = "order delivery customer payment account product service price return refund \
    shipping address support time day week month year team company business store item package warranty \
    contract invoice card bank transfer discount subscription plan user password email phone number \
    request message question answer information policy terms conditions data privacy security access \
    report document file page website app application system update version feature setting option \
    change error problem issue solution repair replacement exchange size color model quality material \
    stock availability courier pickup point office branch city region country international domestic \
    express standard free cost fee charge tax currency rate period deadline schedule hours weekend \
    holiday manager operator specialist engineer department request ticket status confirmation receipt \
    tracking code link form field profile login registration verification identity document passport \
    license certificate agreement signature contact chat call callback notification reminder bonus \
    points loyalty program member level gift voucher coupon promotion sale offer catalog category \
    brand collection season new used original genuine certified tested inspected packed shipped \
    delivered received cancelled returned refunded paid unpaid pending approved rejected available \
    limited unlimited monthly annual daily quick secure simple careful detailed complete partial \
    minimum maximum average total extra additional optional required recommended allowed prohibited \
    install configure connect download upload export import create delete edit save restore backup \
    sync integrate customize enable disable reset renew extend upgrade downgrade measure compare \
    choose select prefer recommend explain describe contact reply wait check verify confirm cancel \
    warehouse inventory supplier partner vendor shipment pallet container label barcode scanner \
    battery charger cable adapter screen keyboard printer camera sensor engine bicycle furniture \
    kitchen garden clothing shoes jacket laptop tablet";

const RU_FUNCTION: &str = "и в не на с что по к для а это из от о как до за но или при мы вы у же так все \
    его их если также только уже бы под после без над через когда где этот эти был быть может нужно \
    можно есть очень более";

const RU_CONTENT: &str = "заказ заказа заказы заказов доставка доставки доставку доставкой клиент \
    клиента клиенту клиентов оплата оплаты оплату оплатой счет счета товар товара товары товаров \
    возврат возврата возвраты гарантия гарантии гарантию сервис сервиса цена цены цену стоимость \
    стоимости скидка скидки скидку адрес адреса адресу курьер курьера курьером пункт пункта выдачи \
    магазин магазина магазине склад склада складе срок срока сроки день дня дней неделя недели месяц \
    месяца год года компания компании команда команды менеджер менеджера оператор оператора \
    специалист специалиста поддержка поддержки поддержку вопрос вопроса вопросы ответ ответа \
    документ документа документы договор договора условия условий политика политики данные данных \
    безопасность безопасности доступ доступа пароль пароля почта почты телефон телефона номер номера \
    заявка заявки заявку статус статуса подтверждение подтверждения чек чека карта карты банк банка \
    перевод перевода подписка подписки тариф тарифа пользователь пользователя профиль профиля вход \
    регистрация регистрации приложение приложения сайт сайта страница страницы файл файла отчет \
    отчета обновление обновления версия версии настройка настройки ошибка ошибки проблема проблемы \
    решение решения ремонт ремонта замена замены обмен обмена размер размера цвет цвета модель модели \
    качество качества материал материала наличие наличии город города регион региона страна страны \
    бесплатно бесплатная платная быстрая срочная стандартная обычная новый новая новые оригинальный \
    сертифицированный доставлен доставлена получен получена отменен отменена оплачен оплачена \
    одобрен отклонен доступен доступна доступны ограничен ежемесячный ежегодный полный частичный \
    минимальный максимальный дополнительный обязательный рекомендуемый разрешено запрещено \
    установить настроить подключить скачать загрузить создать удалить изменить сохранить \
    восстановить продлить отменить проверить подтвердить выбрать оформить получить отправить \
    вернуть обменять заказать оплатить связаться ответить подождать велосипед велосипеды мебель \
    кухня одежда обувь куртка ноутбук планшет батарея зарядка кабель экран принтер камера";

const EN_SYLLABLES: [&str; 30] = [
    "ka", "ro", "mi", "len", "tor", "val", "sen", "dra", "pol", "vin", "mar", "ster", "lo", "quen",
    "bri", "tas", "nel", "cor", "fen", "gal", "hut", "jor", "lim", "nor", "pex", "rud", "sim",
    "tav", "ulm", "wex",
];

const RU_SYLLABLES: [&str; 30] = [
    "ка", "ро", "ми", "лен", "тор", "вал", "сен", "дра", "пол", "вин", "мар", "стер", "ло", "кван",
    "бри", "тас", "нел", "кор", "фен", "гал", "хут", "жор", "лим", "нор", "пекс", "руд", "сим",
    "тав", "ульм", "векс",
];

const VOCABULARY: usize = 5_000;

/// One language's vocabulary with Zipf weights.
struct Lang {
    words: Vec<String>,
    /// Cumulative Zipf weights over all words.
    all: Vec<f64>,
    /// Index of the first content word.
    content_from: usize,
    /// Cumulative Zipf weights over the content words alone (for queries).
    content: Vec<f64>,
    /// How many real (not made-up) content words there are.
    real: usize,
    question_words: &'static [&'static str],
}

fn cumulative(n: usize) -> Vec<f64> {
    let mut acc = 0.0;
    (1..=n)
        .map(|rank| {
            acc += 1.0 / rank as f64;
            acc
        })
        .collect()
}

fn sample_from(cum: &[f64], rng: &mut Rng) -> usize {
    let x = rng.unit() * cum[cum.len() - 1];
    cum.partition_point(|&c| c < x).min(cum.len() - 1)
}

impl Lang {
    fn new(
        function: &str,
        content: &str,
        syllables: &[&str],
        seed: u64,
        question_words: &'static [&'static str],
    ) -> Lang {
        let mut words: Vec<String> = function.split_whitespace().map(str::to_owned).collect();
        let content_from = words.len();
        let mut seen: HashSet<String> = words.iter().cloned().collect();
        let mut rng = Rng::new(seed);
        // Shuffled, so the inflected forms of one word do not all get the top ranks.
        let mut real: Vec<&str> = content.split_whitespace().collect();
        for i in (1..real.len()).rev() {
            real.swap(i, rng.between(0, i));
        }
        for w in real {
            if seen.insert(w.to_owned()) {
                words.push(w.to_owned());
            }
        }
        let real = words.len() - content_from;
        while words.len() < VOCABULARY {
            let n = rng.between(2, 4);
            let w: String = (0..n)
                .map(|_| syllables[rng.between(0, syllables.len() - 1)])
                .collect();
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let all = cumulative(words.len());
        let content = cumulative(words.len() - content_from);
        Lang {
            words,
            all,
            content_from,
            content,
            real,
            question_words,
        }
    }

    fn word(&self, rng: &mut Rng) -> &str {
        &self.words[sample_from(&self.all, rng)]
    }

    fn content_word(&self, rng: &mut Rng) -> &str {
        &self.words[self.content_from + sample_from(&self.content, rng)]
    }

    /// A word for a heading: any real content word, uniformly. (Drawn from the Zipf law, the
    /// top word would sit in the heading path of most chunks.)
    fn title_word(&self, rng: &mut Rng) -> &str {
        &self.words[self.content_from + rng.between(0, self.real - 1)]
    }
}

struct Langs {
    en: Lang,
    ru: Lang,
}

impl Langs {
    fn new() -> Langs {
        Langs {
            en: Lang::new(
                EN_FUNCTION,
                EN_CONTENT,
                &EN_SYLLABLES,
                1,
                &["how", "what", "where", "when", "can", "do", "is"],
            ),
            ru: Lang::new(
                RU_FUNCTION,
                RU_CONTENT,
                &RU_SYLLABLES,
                2,
                &["как", "где", "когда", "можно", "что", "сколько"],
            ),
        }
    }

    /// English a little more often than Russian.
    fn pick(&self, rng: &mut Rng) -> &Lang {
        if rng.unit() < 0.55 {
            &self.en
        } else {
            &self.ru
        }
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A sentence of 6–18 words; returns it and its word count.
fn sentence(lang: &Lang, rng: &mut Rng) -> (String, usize) {
    let n = rng.between(6, 18);
    let mut out = String::with_capacity(n * 8);
    for i in 0..n {
        if i > 0 {
            out.push_str(if i > 2 && rng.unit() < 0.06 {
                ", "
            } else {
                " "
            });
        }
        if rng.unit() < 0.03 {
            out.push_str(&rng.between(1, 2_500).to_string());
        } else if i == 0 {
            out.push_str(&capitalize(lang.word(rng)));
        } else {
            out.push_str(lang.word(rng));
        }
    }
    out.push(if rng.unit() < 0.08 { '?' } else { '.' });
    (out, n)
}

/// A title of 2–5 real content words, capitalised.
fn title(lang: &Lang, rng: &mut Rng) -> String {
    let n = rng.between(2, 5);
    let words: Vec<&str> = (0..n).map(|_| lang.title_word(rng)).collect();
    capitalize(&words.join(" "))
}

fn paragraph(lang: &Lang, rng: &mut Rng, out: &mut String) {
    let n = rng.between(2, 7);
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&sentence(lang, rng).0);
    }
    out.push_str("\n\n");
}

/// One plain-text file of about `target` bytes: numbered sections and subsections, Markdown
/// headings, paragraphs and the odd bullet list, each section in English or Russian.
fn text_file(langs: &Langs, rng: &mut Rng, target: usize) -> String {
    let mut out = String::with_capacity(target + 4096);
    let mut section = 0;
    while out.len() < target {
        section += 1;
        let lang = langs.pick(rng);
        if rng.unit() < 0.3 {
            out.push_str(&format!("# {}\n\n", title(lang, rng)));
        } else {
            out.push_str(&format!("{section}. {}\n\n", title(lang, rng)));
        }
        for sub in 1..=rng.between(1, 3) {
            out.push_str(&format!("{section}.{sub} {}\n\n", title(lang, rng)));
            for _ in 0..rng.between(2, 5) {
                if rng.unit() < 0.1 {
                    for _ in 0..rng.between(3, 6) {
                        out.push_str("- ");
                        out.push_str(&sentence(lang, rng).0);
                        out.push('\n');
                    }
                    out.push('\n');
                } else {
                    paragraph(lang, rng, &mut out);
                }
            }
        }
    }
    out
}

/// A chunk shaped like the chunker's output: a heading path of two titles and 120–220
/// estimated tokens of text (`max(words × 1.3, chars ÷ 4)`, as `estimate_tokens`).
fn search_chunk(langs: &Langs, rng: &mut Rng, ordinal: i64) -> NewChunk {
    let lang = langs.pick(rng);
    let heading_path = format!("{} › {}", title(lang, rng), title(lang, rng));
    let budget = rng.between(120, 220);
    let (mut text, mut words) = sentence(lang, rng);
    loop {
        let (s, n) = sentence(lang, rng);
        let chars = text.chars().count() + 1 + s.chars().count();
        if ((words + n) * 13 / 10).max(chars / 4) > budget {
            break;
        }
        text.push(' ');
        text.push_str(&s);
        words += n;
    }
    let terms = auralix_knowledge::index_terms(&format!("{heading_path}\n{text}"));
    NewChunk {
        ordinal,
        text,
        heading_path,
        page: None,
        terms,
        embedding: None,
    }
}

/// A question as a visitor might type it: 2–5 content words, sometimes after a question word.
fn query(langs: &Langs, rng: &mut Rng) -> (String, Vec<String>) {
    let lang = langs.pick(rng);
    let mut words: Vec<&str> = Vec::new();
    if rng.unit() < 0.4 {
        words.push(lang.question_words[rng.between(0, lang.question_words.len() - 1)]);
    }
    for _ in 0..rng.between(2, 5) {
        words.push(lang.content_word(rng));
    }
    let text = words.join(" ");
    let terms = auralix_knowledge::query_terms(&text);
    (text, terms)
}

// ---------------------------------------------------------------------------------------
// PDF
// ---------------------------------------------------------------------------------------

/// A PDF of `pages` Helvetica text pages (English only: the standard fonts have no
/// Cyrillic), each with a heading and ~40 lines of wrapped sentences.
fn pdf(langs: &Langs, rng: &mut Rng, pages: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids = Vec::with_capacity(pages);
    for page in 1..=pages {
        let mut ops = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 16.into()]),
            Operation::new("Td", vec![72.into(), 770.into()]),
            Operation::new(
                "Tj",
                vec![Object::string_literal(format!(
                    "{page} {}",
                    title(&langs.en, rng)
                ))],
            ),
            Operation::new("Tf", vec!["F1".into(), 10.into()]),
        ];
        let mut line = String::new();
        let mut lines = 0;
        let mut gap = 24;
        while lines < 40 {
            let (s, _) = sentence(&langs.en, rng);
            for word in s.split(' ') {
                if line.len() + word.len() + 1 > 95 {
                    ops.push(Operation::new("Td", vec![0.into(), (-gap).into()]));
                    ops.push(Operation::new(
                        "Tj",
                        vec![Object::string_literal(std::mem::take(&mut line))],
                    ));
                    lines += 1;
                    gap = 13;
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            if rng.unit() < 0.2 {
                // End of a paragraph: a wider gap before the next line.
                ops.push(Operation::new("Td", vec![0.into(), (-gap).into()]));
                ops.push(Operation::new(
                    "Tj",
                    vec![Object::string_literal(std::mem::take(&mut line))],
                ));
                lines += 1;
                gap = 24;
            }
        }
        ops.push(Operation::new("ET", vec![]));
        let content = Content { operations: ops };
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

// ---------------------------------------------------------------------------------------
// Measurements
// ---------------------------------------------------------------------------------------

#[derive(Default, Clone, Copy)]
struct Ingest {
    bytes: usize,
    files: usize,
    chunks: usize,
    process: Duration,
    terms: Duration,
    store: Duration,
}

impl Ingest {
    fn total(&self) -> Duration {
        self.process + self.terms + self.store
    }

    fn mb(&self) -> f64 {
        self.bytes as f64 / 1e6
    }
}

struct Search {
    chunks: usize,
    insert_rows_per_s: f64,
    p50: Duration,
    p99: Duration,
    qps: f64,
    avg_hits: f64,
    empty: usize,
}

struct Backend {
    name: &'static str,
    text: Ingest,
    pdf: Ingest,
    pdf_pages: usize,
    other_agent_chunks: usize,
    search: Vec<Search>,
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The worker's path for one file: process → index_terms per chunk → finish.
async fn ingest_file(
    store: &Store,
    workspace_id: &str,
    agent_id: &str,
    name: &str,
    bytes: &[u8],
    acc: &mut Ingest,
) {
    let t = Instant::now();
    let (kind, chunks) = auralix_knowledge::process(
        Some(name),
        bytes,
        &Limits::default(),
        &ChunkOptions::default(),
    )
    .expect("process");
    acc.process += t.elapsed();
    let t = Instant::now();
    let rows: Vec<NewChunk> = chunks
        .iter()
        .map(|c| NewChunk {
            ordinal: i64::from(c.ordinal),
            text: c.text.clone(),
            heading_path: c.heading_path.join(" › "),
            page: c.page.map(i64::from),
            terms: auralix_knowledge::index_terms(&c.contextual_text()),
            embedding: None,
        })
        .collect();
    acc.terms += t.elapsed();
    let t = Instant::now();
    let knowledge = store.knowledge();
    let doc = knowledge
        .create_document(
            workspace_id,
            agent_id,
            name,
            Some(name),
            bytes.len() as i64,
            now(),
        )
        .await
        .unwrap();
    knowledge
        .finish(&doc, kind.as_str(), &rows, now())
        .await
        .unwrap();
    acc.store += t.elapsed();
    acc.bytes += bytes.len();
    acc.files += 1;
    acc.chunks += rows.len();
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A raw connection for what the store does not expose: VACUUM on PostgreSQL, counting
/// full-text matches, and timing the parts of a search to explain the slowest queries.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres { pool: sqlx::PgPool, url: String },
}

/// The store's SQLite search statement (crates/auralix-store/src/knowledge.rs), for
/// EXPLAIN QUERY PLAN.
const SQLITE_SEARCH: &str = "SELECT c.id AS chunk_id, c.document_id, d.title, c.text, c.heading_path, c.page, \
     -bm25(chunks_fts) AS score FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid \
     JOIN documents d ON d.id = c.document_id \
     WHERE chunks_fts MATCH $1 AND c.agent_id = $2 AND c.workspace_id = $3 \
     ORDER BY bm25(chunks_fts) LIMIT $4";

/// The store's three PostgreSQL statements, in order.
const PG_STATS: &str = "SELECT COUNT(*), CAST(COALESCE(AVG(term_count), 1) AS DOUBLE PRECISION) \
     FROM chunks WHERE workspace_id = $1 AND agent_id = $2";
const PG_DF: &str = "SELECT q.term, (SELECT COUNT(*) FROM chunks c WHERE c.workspace_id = $1 AND c.agent_id = $2 \
     AND c.terms_tsv @@ to_tsquery('simple', q.term)) FROM unnest($3::text[]) AS q(term)";
const PG_CANDIDATES: &str = "SELECT c.id AS chunk_id, c.document_id, d.title, c.text, c.heading_path, c.page, c.terms, c.term_count \
     FROM chunks c JOIN documents d ON d.id = c.document_id \
     WHERE c.workspace_id = $1 AND c.agent_id = $2 AND c.terms_tsv @@ to_tsquery('simple', $3) \
     ORDER BY ts_rank(c.terms_tsv, to_tsquery('simple', $3)) DESC LIMIT 200";

fn fts_query(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(" OR ")
}

async fn timed<F: Future>(f: F) -> f64 {
    let t = Instant::now();
    f.await;
    ms(t.elapsed())
}

/// The store's three PostgreSQL statements on one connection: (stats, df, candidates) in ms.
async fn pg_steps(
    conn: &mut sqlx::PgConnection,
    workspace_id: &str,
    agent_id: &str,
    terms: &[String],
) -> (f64, f64, f64) {
    let stats = timed(
        sqlx::query(PG_STATS)
            .bind(workspace_id)
            .bind(agent_id)
            .fetch_one(&mut *conn),
    )
    .await;
    let df = timed(
        sqlx::query(PG_DF)
            .bind(workspace_id)
            .bind(agent_id)
            .bind(terms)
            .fetch_all(&mut *conn),
    )
    .await;
    let candidates = timed(
        sqlx::query(PG_CANDIDATES)
            .bind(workspace_id)
            .bind(agent_id)
            .bind(terms.join(" | "))
            .fetch_all(&mut *conn),
    )
    .await;
    (stats, df, candidates)
}

impl Raw {
    async fn connect(url: &str) -> Raw {
        if url.starts_with("sqlite:") {
            Raw::Sqlite(sqlx::SqlitePool::connect(url).await.unwrap())
        } else {
            Raw::Postgres {
                pool: sqlx::PgPool::connect(url).await.unwrap(),
                url: url.to_owned(),
            }
        }
    }

    /// After a bulk load: what autovacuum would soon do on PostgreSQL (statistics, GIN
    /// pending list flushed). Nothing on SQLite, which never runs ANALYZE in production.
    async fn settle(&self) {
        if let Raw::Postgres { pool, .. } = self {
            sqlx::query("VACUUM ANALYZE").execute(pool).await.unwrap();
        }
    }

    /// Rows of the whole index (every agent) matching any of `terms`, and of them `agent_id`'s.
    async fn matches(&self, agent_id: &str, terms: &[String]) -> (i64, i64) {
        match self {
            Raw::Sqlite(pool) => sqlx::query_as(
                "SELECT COUNT(*), COALESCE(SUM(c.agent_id = $2), 0) FROM chunks_fts \
                 CROSS JOIN chunks c ON c.rowid = chunks_fts.rowid WHERE chunks_fts MATCH $1",
            )
            .bind(fts_query(terms))
            .bind(agent_id)
            .fetch_one(pool)
            .await
            .unwrap(),
            Raw::Postgres { pool, .. } => sqlx::query_as(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE agent_id = $2) FROM chunks \
                 WHERE terms_tsv @@ to_tsquery('simple', $1)",
            )
            .bind(terms.join(" | "))
            .bind(agent_id)
            .fetch_one(pool)
            .await
            .unwrap(),
        }
    }

    /// SQLite's plans for the store's search statement and for the same join without its
    /// ORDER BY (which SQLite may drive from the `chunks_agent` index instead of FTS).
    async fn plans(&self) -> Option<(String, String)> {
        let Raw::Sqlite(pool) = self else {
            return None;
        };
        let explain = async |sql: &str| {
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .bind("\"x\"")
                    .bind("a")
                    .bind("w")
                    .bind(5i64)
                    .fetch_all(pool)
                    .await
                    .unwrap();
            rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("; ")
        };
        Some((
            explain(SQLITE_SEARCH).await,
            explain(
                "SELECT COUNT(*) FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid \
                 WHERE chunks_fts MATCH $1 AND c.agent_id = $2 AND c.workspace_id = $3 AND $4 > 0",
            )
            .await,
        ))
    }

    /// Where one query's time goes: parts of the store's search run alone, timed (warm).
    async fn breakdown(&self, workspace_id: &str, agent_id: &str, terms: &[String]) -> String {
        match self {
            Raw::Sqlite(pool) => {
                let q = fts_query(terms);
                let matching = timed(
                    sqlx::query("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH $1")
                        .bind(&q)
                        .fetch_one(pool),
                )
                .await;
                let ranked = timed(
                    sqlx::query(
                        "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH $1 \
                         ORDER BY bm25(chunks_fts) LIMIT 5",
                    )
                    .bind(&q)
                    .fetch_all(pool),
                )
                .await;
                let scoped = timed(
                    sqlx::query(
                        "SELECT COUNT(*) FROM chunks_fts CROSS JOIN chunks c ON c.rowid = chunks_fts.rowid \
                         WHERE chunks_fts MATCH $1 AND c.agent_id = $2 AND c.workspace_id = $3",
                    )
                    .bind(&q)
                    .bind(agent_id)
                    .bind(workspace_id)
                    .fetch_one(pool),
                )
                .await;
                let ids_only = timed(
                    sqlx::query(
                        "SELECT c.id FROM chunks_fts CROSS JOIN chunks c ON c.rowid = chunks_fts.rowid \
                         WHERE chunks_fts MATCH $1 AND c.agent_id = $2 AND c.workspace_id = $3 \
                         ORDER BY bm25(chunks_fts) LIMIT 5",
                    )
                    .bind(&q)
                    .bind(agent_id)
                    .bind(workspace_id)
                    .fetch_all(pool),
                )
                .await;
                let full = timed(
                    sqlx::query(SQLITE_SEARCH)
                        .bind(&q)
                        .bind(agent_id)
                        .bind(workspace_id)
                        .bind(5i64)
                        .fetch_all(pool),
                )
                .await;
                format!(
                    "FTS match {matching:.1} ms | + bm25 top 5 of all agents {ranked:.1} | \
                     match + chunk row per match for the agent filter {scoped:.1} | \
                     that + bm25 top 5, ids only {ids_only:.1} | the store's statement {full:.1}"
                )
            }
            Raw::Postgres { url, .. } => {
                use sqlx::Connection;
                let mut custom = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query("SET plan_cache_mode = force_custom_plan")
                    .execute(&mut custom)
                    .await
                    .unwrap();
                let mut generic = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query("SET plan_cache_mode = force_generic_plan")
                    .execute(&mut generic)
                    .await
                    .unwrap();
                let (s1, d1, c1) = pg_steps(&mut custom, workspace_id, agent_id, terms).await;
                let (s2, d2, c2) = pg_steps(&mut generic, workspace_id, agent_id, terms).await;
                let _ = custom.close().await;
                let _ = generic.close().await;
                format!(
                    "custom plans: stats {s1:.1} ms, doc. frequencies {d1:.1}, candidates {c1:.1} = {:.1} | \
                     generic plans: {s2:.1}, {d2:.1}, {c2:.1} = {:.1}",
                    s1 + d1 + c1,
                    s2 + d2 + c2
                )
            }
        }
    }
}

async fn measure_search(
    store: &Store,
    raw: &Raw,
    workspace_id: &str,
    agent_id: &str,
    own_docs: &HashSet<String>,
    chunks: usize,
    corpus: &Corpus,
) -> (Duration, Duration, f64, f64, usize) {
    let (queries, warmup) = (&corpus.queries, &corpus.warmup);
    let knowledge = store.knowledge();
    for (_, terms) in warmup {
        knowledge
            .search(workspace_id, agent_id, terms, 5)
            .await
            .unwrap();
    }
    let mut timed: Vec<(Duration, usize)> = Vec::with_capacity(queries.len());
    let mut hits_total = 0;
    let mut empty = 0;
    let started = Instant::now();
    for (i, (_, terms)) in queries.iter().enumerate() {
        let t = Instant::now();
        let hits = knowledge
            .search(workspace_id, agent_id, terms, 5)
            .await
            .unwrap();
        timed.push((t.elapsed(), i));
        assert!(
            hits.iter().all(|h| own_docs.contains(&h.document_id)),
            "a hit from another agent"
        );
        hits_total += hits.len();
        if hits.is_empty() {
            empty += 1;
        }
    }
    let elapsed = started.elapsed();
    let mut sorted: Vec<Duration> = timed.iter().map(|(d, _)| *d).collect();
    sorted.sort();
    let (p50, p99) = (percentile(&sorted, 0.50), percentile(&sorted, 0.99));
    println!(
        "  {chunks:>7} chunks: p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms  {:>7.1} queries/s  \
         ({:.1} hits/query, {empty} queries without hits)",
        ms(p50),
        ms(p99),
        ms(*sorted.last().unwrap()),
        queries.len() as f64 / elapsed.as_secs_f64(),
        hits_total as f64 / queries.len() as f64,
    );
    // What the slowest queries had to go through.
    timed.sort_by_key(|t| std::cmp::Reverse(t.0));
    for (d, i) in timed.iter().take(3) {
        let (text, terms) = &queries[*i];
        let (all, own) = raw.matches(agent_id, terms).await;
        let steps = raw.breakdown(workspace_id, agent_id, terms).await;
        println!(
            "      slow: {:>7.2} ms  {text:?} → {terms:?}: {all} matching chunks in the index, {own} of this agent's",
            ms(*d)
        );
        println!("            {steps}");
    }
    if let Some((search, count)) = raw.plans().await {
        println!("      SQLite plan of the store's statement: {search}");
        println!("      and of the same join as a COUNT(*): {count}");
    }
    let mut all_matches = 0i64;
    let mut own_matches = 0i64;
    for (_, terms) in queries {
        let (all, own) = raw.matches(agent_id, terms).await;
        all_matches += all;
        own_matches += own;
    }
    println!(
        "      on average a query matches {:.0} chunks of the index ({:.0} of this agent's)",
        all_matches as f64 / queries.len() as f64,
        own_matches as f64 / queries.len() as f64
    );
    (
        p50,
        p99,
        queries.len() as f64 / elapsed.as_secs_f64(),
        hits_total as f64 / queries.len() as f64,
        empty,
    )
}

const DOC_CHUNKS: usize = 500;
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

struct Corpus {
    text_files: Vec<(String, Vec<u8>)>,
    pdf: Vec<u8>,
    pdf_pages: usize,
    chunks: Vec<NewChunk>,
    queries: Vec<(String, Vec<String>)>,
    warmup: Vec<(String, Vec<String>)>,
}

fn corpus() -> Corpus {
    let langs = Langs::new();
    let mut rng = Rng::new(0x0A0A_11C5);
    let text_files: Vec<(String, Vec<u8>)> = (1..=10)
        .map(|i| {
            (
                format!("handbook-{i:02}.txt"),
                text_file(&langs, &mut rng, 1_000_000).into_bytes(),
            )
        })
        .collect();
    let pdf_pages = 200;
    let pdf = pdf(&langs, &mut rng, pdf_pages);
    let max = *SIZES.last().unwrap();
    let chunks: Vec<NewChunk> = (0..max)
        .map(|i| search_chunk(&langs, &mut rng, (i % DOC_CHUNKS) as i64))
        .collect();
    let queries = (0..300).map(|_| query(&langs, &mut rng)).collect();
    let warmup = (0..40).map(|_| query(&langs, &mut rng)).collect();
    Corpus {
        text_files,
        pdf,
        pdf_pages,
        chunks,
        queries,
        warmup,
    }
}

async fn run_backend(name: &'static str, url: &str, corpus: &Corpus) -> Backend {
    println!("{name}:");
    let store = Store::connect(url).await.unwrap();
    store.migrate().await.unwrap();
    let raw = Raw::connect(url).await;
    let membership = store
        .accounts()
        .create(NewAccount {
            email: &EmailAddress::parse("bench@example.com").unwrap(),
            name: &PersonName::parse("Bench").unwrap(),
            password_hash: "not a real hash",
            workspace_name: &WorkspaceName::parse("Bench").unwrap(),
            now: now(),
        })
        .await
        .unwrap();
    let workspace_id = membership.workspace.id;
    let agent = |name: &str| AgentInput {
        name: Some(name.to_owned()),
        ..AgentInput::default()
    };
    let handbook = store
        .agents()
        .create(
            &workspace_id,
            AgentDraft::parse(&agent("Handbook")).unwrap(),
            now(),
        )
        .await
        .unwrap();
    let searched = store
        .agents()
        .create(
            &workspace_id,
            AgentDraft::parse(&agent("Searched")).unwrap(),
            now(),
        )
        .await
        .unwrap();

    // 1. Ingestion, into the "Handbook" agent (whose chunks then share the index).
    let mut text = Ingest::default();
    for (file, bytes) in &corpus.text_files {
        ingest_file(&store, &workspace_id, &handbook.id, file, bytes, &mut text).await;
    }
    println!(
        "  text: {:.1} MB in {} files → {} chunks in {:.2} s = {:.2} MB/s \
         (process {:.2} s, index_terms {:.2} s, store {:.2} s) [target < 10 s]",
        text.mb(),
        text.files,
        text.chunks,
        text.total().as_secs_f64(),
        text.mb() / text.total().as_secs_f64(),
        text.process.as_secs_f64(),
        text.terms.as_secs_f64(),
        text.store.as_secs_f64(),
    );
    let mut pdf = Ingest::default();
    ingest_file(
        &store,
        &workspace_id,
        &handbook.id,
        "handbook.pdf",
        &corpus.pdf,
        &mut pdf,
    )
    .await;
    println!(
        "  PDF: {} pages ({:.2} MB) → {} chunks in {:.2} s = {:.1} pages/s \
         (process {:.2} s, index_terms {:.2} s, store {:.2} s)",
        corpus.pdf_pages,
        pdf.mb(),
        pdf.chunks,
        pdf.total().as_secs_f64(),
        corpus.pdf_pages as f64 / pdf.total().as_secs_f64(),
        pdf.process.as_secs_f64(),
        pdf.terms.as_secs_f64(),
        pdf.store.as_secs_f64(),
    );
    let other_agent_chunks = text.chunks + pdf.chunks;

    // 2. Search, growing the "Searched" agent to each size in turn.
    println!(
        "  search (limit 5, {} queries after {} warm-up; the other agent holds {other_agent_chunks} chunks):",
        corpus.queries.len(),
        corpus.warmup.len()
    );
    let knowledge = store.knowledge();
    let mut own_docs = HashSet::new();
    let mut inserted = 0;
    let mut search = Vec::new();
    for size in SIZES {
        let t = Instant::now();
        let mut part = 0;
        for batch in corpus.chunks[inserted..size].chunks(DOC_CHUNKS) {
            let title = format!("Bench document {}", (inserted + part) / DOC_CHUNKS + 1);
            let bytes: usize = batch.iter().map(|c| c.text.len()).sum();
            let doc = knowledge
                .create_document(
                    &workspace_id,
                    &searched.id,
                    &title,
                    None,
                    bytes as i64,
                    now(),
                )
                .await
                .unwrap();
            knowledge.finish(&doc, "text", batch, now()).await.unwrap();
            own_docs.insert(doc.id);
            part += batch.len();
        }
        let insert_rows_per_s = part as f64 / t.elapsed().as_secs_f64();
        inserted = size;
        raw.settle().await;
        println!(
            "  {size:>7} chunks: inserted {part} at {insert_rows_per_s:.0} chunks/s ({:.1} s)",
            t.elapsed().as_secs_f64()
        );
        let (p50, p99, qps, avg_hits, empty) = measure_search(
            &store,
            &raw,
            &workspace_id,
            &searched.id,
            &own_docs,
            size,
            corpus,
        )
        .await;
        search.push(Search {
            chunks: size,
            insert_rows_per_s,
            p50,
            p99,
            qps,
            avg_hits,
            empty,
        });
    }
    Backend {
        name,
        text,
        pdf,
        pdf_pages: corpus.pdf_pages,
        other_agent_chunks,
        search,
    }
}

fn summary(results: &[Backend], corpus: &Corpus) {
    println!();
    println!("summary");
    println!(
        "  {:<11} {:>9} {:>9} {:>8} {:>9} {:>9}",
        "ingestion", "text MB", "seconds", "MB/s", "PDF s", "pages/s"
    );
    for b in results {
        println!(
            "  {:<11} {:>9.1} {:>9.2} {:>8.2} {:>9.2} {:>9.1}",
            b.name,
            b.text.mb(),
            b.text.total().as_secs_f64(),
            b.text.mb() / b.text.total().as_secs_f64(),
            b.pdf.total().as_secs_f64(),
            b.pdf_pages as f64 / b.pdf.total().as_secs_f64(),
        );
    }
    println!("  target: the 10 MB text corpus in < 10 s");
    println!();
    println!(
        "  {:<11} {:>8} {:>9} {:>9} {:>10} {:>10} {:>8}",
        "search", "chunks", "p50 ms", "p99 ms", "queries/s", "chunks/s*", "hits/q"
    );
    for b in results {
        for s in &b.search {
            println!(
                "  {:<11} {:>8} {:>9.2} {:>9.2} {:>10.1} {:>10.0} {:>8.2}{}",
                b.name,
                s.chunks,
                ms(s.p50),
                ms(s.p99),
                s.qps,
                s.insert_rows_per_s,
                s.avg_hits,
                if s.empty > 0 {
                    format!("  ({} empty)", s.empty)
                } else {
                    String::new()
                }
            );
        }
    }
    let others: Vec<String> = results
        .iter()
        .map(|b| format!("{} on {}", b.other_agent_chunks, b.name))
        .collect();
    println!(
        "  {} queries, limit 5, one at a time; a second agent holds {} chunks in the same tables",
        corpus.queries.len(),
        others.join(", ")
    );
    println!(
        "  * insert rate of the searched agent's chunks, in documents of {DOC_CHUNKS} via finish"
    );
    println!("  target: SQLite p99 ≤ 10 ms at 10,000 chunks");
}

#[tokio::main]
async fn main() {
    let t = Instant::now();
    let corpus = corpus();
    println!(
        "generated: {} text files ({:.1} MB), a {}-page PDF ({:.2} MB), {} chunks to search, in {:.1} s",
        corpus.text_files.len(),
        corpus
            .text_files
            .iter()
            .map(|(_, b)| b.len())
            .sum::<usize>() as f64
            / 1e6,
        corpus.pdf_pages,
        corpus.pdf.len() as f64 / 1e6,
        corpus.chunks.len(),
        t.elapsed().as_secs_f64()
    );
    let mut results = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    results.push(
        run_backend(
            "SQLite",
            &format!("sqlite://{}/bench.db", dir.path().display()),
            &corpus,
        )
        .await,
    );
    if let Some(admin) = std::env::var("AURALIX_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        use sqlx::Connection;
        let name = format!("auralix_bench_kb_{}", std::process::id());
        let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        results.push(run_backend("PostgreSQL", url.as_str(), &corpus).await);
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await;
    }
    summary(&results, &corpus);
}
