//! Dashboard texts in English and Russian. The language comes from the `auralix_lang`
//! cookie (set by the switcher) or else the browser's `Accept-Language`.

use axum::http::{HeaderMap, header};

use crate::http::auth::cookie;

pub const LANG_COOKIE: &str = "auralix_lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("en") => Some(Lang::En),
            Some("ru") => Some(Lang::Ru),
            _ => None,
        }
    }

    /// Cookie first; otherwise the first supported language in `Accept-Language`.
    pub fn from_headers(headers: &HeaderMap) -> Lang {
        if let Some(lang) = cookie(headers, LANG_COOKIE).and_then(Lang::parse) {
            return lang;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').find_map(|part| Lang::parse(part.trim())))
            .unwrap_or(Lang::En)
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Ru => &RU,
        }
    }
}

pub struct Texts {
    pub tagline: &'static str,
    pub sign_in: &'static str,
    pub sign_up: &'static str,
    pub sign_out: &'static str,
    pub email: &'static str,
    pub password: &'static str,
    pub password_hint: &'static str,
    pub your_name: &'static str,
    pub workspace_name: &'static str,
    pub optional: &'static str,
    pub no_account: &'static str,
    pub have_account: &'static str,
    pub bad_credentials: &'static str,
    pub too_many_attempts: &'static str,
    pub agents: &'static str,
    pub new_agent: &'static str,
    pub no_agents: &'static str,
    pub name: &'static str,
    pub public_id: &'static str,
    pub origins: &'static str,
    pub any_origin: &'static str,
    pub created: &'static str,
    pub greeting: &'static str,
    pub instructions: &'static str,
    pub language: &'static str,
    pub language_auto: &'static str,
    pub allowed_origins: &'static str,
    pub allowed_origins_hint: &'static str,
    pub lead_fields: &'static str,
    pub ask: &'static str,
    pub required: &'static str,
    pub field_name: &'static str,
    pub field_email: &'static str,
    pub field_phone: &'static str,
    pub appearance: &'static str,
    pub title: &'static str,
    pub color: &'static str,
    pub position: &'static str,
    pub bottom_right: &'static str,
    pub bottom_left: &'static str,
    pub save: &'static str,
    pub create: &'static str,
    pub cancel: &'static str,
    pub edit: &'static str,
    pub delete: &'static str,
    pub delete_confirm: &'static str,
    pub embed: &'static str,
    pub embed_hint: &'static str,
    pub copy: &'static str,
    pub copied: &'static str,
    pub fix_errors: &'static str,
    pub forbidden: &'static str,
    pub not_found: &'static str,
    pub back: &'static str,
    pub settings: &'static str,
    pub privacy_url: &'static str,
}

pub static EN: Texts = Texts {
    tagline: "AI chat widgets for your website, privacy first.",
    sign_in: "Sign in",
    sign_up: "Create account",
    sign_out: "Sign out",
    email: "E-mail",
    password: "Password",
    password_hint: "At least 10 characters.",
    your_name: "Your name",
    workspace_name: "Company or workspace",
    optional: "optional",
    no_account: "No account yet?",
    have_account: "Already have an account?",
    bad_credentials: "The e-mail or password is not correct.",
    too_many_attempts: "Too many attempts. Please wait a minute and try again.",
    agents: "Agents",
    new_agent: "New agent",
    no_agents: "No agents yet. Create one to get your embed code.",
    name: "Name",
    public_id: "Public id",
    origins: "Sites",
    any_origin: "any site",
    created: "Created",
    greeting: "Greeting",
    instructions: "Instructions",
    language: "Language",
    language_auto: "From the visitor's page",
    allowed_origins: "Allowed sites",
    allowed_origins_hint: "One origin per line, like https://shop.example. Leave empty to allow any site while trying it out.",
    lead_fields: "Contact form",
    ask: "Ask",
    required: "Required",
    field_name: "Name",
    field_email: "E-mail",
    field_phone: "Phone",
    appearance: "Appearance",
    title: "Title",
    color: "Colour",
    position: "Position",
    bottom_right: "Bottom right",
    bottom_left: "Bottom left",
    save: "Save",
    create: "Create",
    cancel: "Cancel",
    edit: "Edit",
    delete: "Delete",
    delete_confirm: "Delete this agent? Its widget stops working on your site.",
    embed: "Embed code",
    embed_hint: "Paste this line before </body> on every page where the chat should appear.",
    copy: "Copy",
    copied: "Copied",
    fix_errors: "Please correct the highlighted fields.",
    forbidden: "This request was refused. Reload the page and try again.",
    not_found: "Not found.",
    back: "Back",
    settings: "Settings",
    privacy_url: "Privacy policy link",
};

pub static RU: Texts = Texts {
    tagline: "ИИ-чат для вашего сайта с заботой о персональных данных.",
    sign_in: "Войти",
    sign_up: "Создать аккаунт",
    sign_out: "Выйти",
    email: "Эл. почта",
    password: "Пароль",
    password_hint: "Не короче 10 символов.",
    your_name: "Ваше имя",
    workspace_name: "Компания или пространство",
    optional: "необязательно",
    no_account: "Ещё нет аккаунта?",
    have_account: "Уже есть аккаунт?",
    bad_credentials: "Неверная эл. почта или пароль.",
    too_many_attempts: "Слишком много попыток. Подождите минуту и попробуйте снова.",
    agents: "Агенты",
    new_agent: "Новый агент",
    no_agents: "Агентов пока нет. Создайте агента, чтобы получить код для сайта.",
    name: "Название",
    public_id: "Публичный id",
    origins: "Сайты",
    any_origin: "любой сайт",
    created: "Создан",
    greeting: "Приветствие",
    instructions: "Инструкции",
    language: "Язык",
    language_auto: "По странице посетителя",
    allowed_origins: "Разрешённые сайты",
    allowed_origins_hint: "По одному адресу в строке, например https://shop.example. Пусто — любой сайт (для проверки).",
    lead_fields: "Форма контактов",
    ask: "Спрашивать",
    required: "Обязательно",
    field_name: "Имя",
    field_email: "Эл. почта",
    field_phone: "Телефон",
    appearance: "Внешний вид",
    title: "Заголовок",
    color: "Цвет",
    position: "Положение",
    bottom_right: "Справа внизу",
    bottom_left: "Слева внизу",
    save: "Сохранить",
    create: "Создать",
    cancel: "Отмена",
    edit: "Изменить",
    delete: "Удалить",
    delete_confirm: "Удалить агента? Виджет на вашем сайте перестанет работать.",
    embed: "Код для сайта",
    embed_hint: "Вставьте эту строку перед </body> на всех страницах, где нужен чат.",
    copy: "Копировать",
    copied: "Скопировано",
    fix_errors: "Исправьте отмеченные поля.",
    forbidden: "Запрос отклонён. Обновите страницу и попробуйте снова.",
    not_found: "Не найдено.",
    back: "Назад",
    settings: "Настройки",
    privacy_url: "Ссылка на политику конфиденциальности",
};
