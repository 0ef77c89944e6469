//! Agents: the configured AI assistants a workspace embeds on its sites.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

use crate::{
    ai_settings::{AiInput, AiSettings, PrivacyInput, PrivacySettings},
    validation::{ValidationErrors, bounded_text},
};

/// An agent's name: 1 to 80 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentName(String);

impl AgentName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        bounded_text(raw, 1, 80).map(Self)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A web origin (`scheme://host[:port]`), the unit browsers send in `Origin`.
///
/// Only `http` and `https` are accepted; paths, queries, fragments and credentials are
/// refused rather than silently dropped, so a client who pastes a page URL learns that
/// an origin is something else. Stored in the canonical form the browser sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Origin(String);

impl Origin {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let url = url::Url::parse(raw)
            .map_err(|_| format!("`{raw}` is not an origin like https://shop.example"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err("must use http or https".to_owned());
        }
        let Some(host) = url.host_str() else {
            return Err("must have a host".to_owned());
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain credentials".to_owned());
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err("must be an origin without a path, like https://shop.example".to_owned());
        }
        let canonical = match url.port() {
            Some(port) => format!("{}://{}:{}", url.scheme(), host, port),
            None => format!("{}://{}", url.scheme(), host),
        };
        Ok(Self(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Origin {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Origin::parse(&value)
    }
}

impl From<Origin> for String {
    fn from(value: Origin) -> Self {
        value.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A colour as `#rrggbb` (short `#rgb` input is expanded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HexColor(String);

impl HexColor {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let hex = raw
            .strip_prefix('#')
            .ok_or("must be a hex colour like #4f46e5")?;
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("must be a hex colour like #4f46e5".to_owned());
        }
        match hex.len() {
            6 => Ok(Self(format!("#{}", hex.to_ascii_lowercase()))),
            3 => Ok(Self(format!(
                "#{}",
                hex.chars()
                    .flat_map(|c| [c, c])
                    .collect::<String>()
                    .to_ascii_lowercase()
            ))),
            _ => Err("must be a hex colour like #4f46e5".to_owned()),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for HexColor {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        HexColor::parse(&value)
    }
}

impl From<HexColor> for String {
    fn from(value: HexColor) -> Self {
        value.0
    }
}

/// A contact field the widget may ask a visitor for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeadField {
    Name,
    Email,
    Phone,
}

impl LeadField {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "name" => Ok(Self::Name),
            "email" => Ok(Self::Email),
            "phone" => Ok(Self::Phone),
            other => Err(format!("`{other}` is not one of name, email, phone")),
        }
    }
}

/// Which contact fields the widget asks for, and which of them are required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadCapture {
    pub fields: Vec<LeadField>,
    pub required: Vec<LeadField>,
}

impl Default for LeadCapture {
    fn default() -> Self {
        Self {
            fields: vec![LeadField::Name, LeadField::Email, LeadField::Phone],
            required: vec![LeadField::Email],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WidgetPosition {
    #[default]
    BottomRight,
    BottomLeft,
}

/// How the widget looks on the client's site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appearance {
    pub title: Option<String>,
    pub color: HexColor,
    #[serde(default)]
    pub position: WidgetPosition,
}

impl Default for Appearance {
    fn default() -> Self {
        Self {
            title: None,
            color: HexColor("#4f46e5".to_owned()),
            position: WidgetPosition::BottomRight,
        }
    }
}

/// A stored agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    pub id: String,
    pub workspace_id: String,
    pub public_id: String,
    pub name: AgentName,
    pub greeting: Option<String>,
    pub instructions: Option<String>,
    pub language: Option<String>,
    pub allowed_origins: Vec<Origin>,
    pub lead_capture: LeadCapture,
    pub appearance: Appearance,
    /// The client's privacy policy, linked from the widget (W4).
    pub privacy_url: Option<String>,
    pub ai: AiSettings,
    pub privacy: PrivacySettings,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Agent {
    /// An empty allow-list means "any origin", for trying the widget out.
    pub fn allows_origin(&self, origin: Option<&str>) -> bool {
        if self.allowed_origins.is_empty() {
            return true;
        }
        origin.is_some_and(|o| self.allowed_origins.iter().any(|a| a.as_str() == o))
    }
}

/// The raw agent fields a client sends; every field optional so one type serves
/// create and partial update. Parse it with [`AgentDraft::parse`] or [`AgentPatch::parse`].
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AgentInput {
    pub name: Option<String>,
    pub greeting: Option<String>,
    pub instructions: Option<String>,
    pub language: Option<String>,
    pub allowed_origins: Option<Vec<String>>,
    pub lead_capture: Option<LeadCaptureInput>,
    pub appearance: Option<AppearanceInput>,
    pub privacy_url: Option<String>,
    pub ai: Option<AiInput>,
    pub privacy: Option<PrivacyInput>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LeadCaptureInput {
    pub fields: Option<Vec<String>>,
    pub required: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppearanceInput {
    pub title: Option<String>,
    pub color: Option<String>,
    pub position: Option<String>,
}

/// A valid new agent.
#[derive(Debug, Clone)]
pub struct AgentDraft {
    pub name: AgentName,
    pub greeting: Option<String>,
    pub instructions: Option<String>,
    pub language: Option<String>,
    pub allowed_origins: Vec<Origin>,
    pub lead_capture: LeadCapture,
    pub appearance: Appearance,
    pub privacy_url: Option<String>,
    pub ai: AiSettings,
    pub privacy: PrivacySettings,
}

/// A valid partial update: `None` leaves a field as it is; `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct AgentPatch {
    pub name: Option<AgentName>,
    pub greeting: Option<Option<String>>,
    pub instructions: Option<Option<String>>,
    pub language: Option<Option<String>>,
    pub allowed_origins: Option<Vec<Origin>>,
    pub lead_capture: Option<LeadCapture>,
    pub appearance: Option<Appearance>,
    pub privacy_url: Option<Option<String>>,
    pub ai: Option<AiSettings>,
    pub privacy: Option<PrivacySettings>,
}

pub const MAX_GREETING_CHARS: usize = 1_000;
pub const MAX_INSTRUCTIONS_CHARS: usize = 8_000;
pub const MAX_ALLOWED_ORIGINS: usize = 50;

fn optional_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    bounded_text(raw, 1, max).map(Some)
}

fn language(raw: &str) -> Result<Option<String>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let (primary, region) = raw.split_once('-').unwrap_or((raw, ""));
    let ok = (2..=3).contains(&primary.len())
        && primary.chars().all(|c| c.is_ascii_alphabetic())
        && (region.is_empty()
            || (region.len() == 2 && region.chars().all(|c| c.is_ascii_alphabetic())));
    if ok {
        Ok(Some(primary.to_ascii_lowercase()))
    } else {
        Err("must be a language code like en or ru".to_owned())
    }
}

/// An absolute http(s) URL such as a privacy policy page; empty clears.
fn web_url(raw: &str) -> Result<Option<String>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match url::Url::parse(raw) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some()
                && raw.len() <= 2048 =>
        {
            Ok(Some(url.to_string()))
        }
        _ => Err("must be a web address like https://shop.example/privacy".to_owned()),
    }
}

fn origins(errors: &mut ValidationErrors, raw: &[String]) -> Vec<Origin> {
    if raw.len() > MAX_ALLOWED_ORIGINS {
        errors.add(
            "allowed_origins",
            format!("at most {MAX_ALLOWED_ORIGINS} origins"),
        );
        return Vec::new();
    }
    let mut out: Vec<Origin> = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        if let Some(origin) = errors.check(&format!("allowed_origins[{i}]"), Origin::parse(item))
            && !out.contains(&origin)
        {
            out.push(origin);
        }
    }
    out
}

fn fields(errors: &mut ValidationErrors, name: &str, raw: &[String]) -> Vec<LeadField> {
    let mut out = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        if let Some(field) = errors.check(&format!("{name}[{i}]"), LeadField::parse(item))
            && !out.contains(&field)
        {
            out.push(field);
        }
    }
    out
}

fn lead_capture(
    errors: &mut ValidationErrors,
    input: &LeadCaptureInput,
    base: &LeadCapture,
) -> LeadCapture {
    let fields_ = match &input.fields {
        Some(raw) => fields(errors, "lead_capture.fields", raw),
        None => base.fields.clone(),
    };
    let required = match &input.required {
        Some(raw) => fields(errors, "lead_capture.required", raw),
        None => base
            .required
            .iter()
            .copied()
            .filter(|f| fields_.contains(f))
            .collect(),
    };
    if required.iter().any(|f| !fields_.contains(f)) {
        errors.add(
            "lead_capture.required",
            "every required field must also be in fields",
        );
    }
    LeadCapture {
        fields: fields_,
        required,
    }
}

fn appearance(
    errors: &mut ValidationErrors,
    input: &AppearanceInput,
    base: &Appearance,
) -> Appearance {
    let mut out = base.clone();
    if let Some(title) = &input.title {
        out.title = errors
            .check("appearance.title", optional_text(title, 80))
            .flatten();
    }
    if let Some(color) = &input.color
        && let Some(c) = errors.check("appearance.color", HexColor::parse(color))
    {
        out.color = c;
    }
    if let Some(position) = &input.position {
        match position.as_str() {
            "bottom-right" => out.position = WidgetPosition::BottomRight,
            "bottom-left" => out.position = WidgetPosition::BottomLeft,
            _ => errors.add("appearance.position", "must be bottom-right or bottom-left"),
        }
    }
    out
}

impl AgentDraft {
    pub fn parse(input: &AgentInput) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let name = match &input.name {
            Some(raw) => errors.check("name", AgentName::parse(raw)),
            None => {
                errors.add("name", "is required");
                None
            }
        };
        let greeting = input
            .greeting
            .as_deref()
            .and_then(|g| errors.check("greeting", optional_text(g, MAX_GREETING_CHARS)))
            .flatten();
        let instructions = input
            .instructions
            .as_deref()
            .and_then(|t| errors.check("instructions", optional_text(t, MAX_INSTRUCTIONS_CHARS)))
            .flatten();
        let language = input
            .language
            .as_deref()
            .and_then(|l| errors.check("language", language(l)))
            .flatten();
        let allowed_origins = input
            .allowed_origins
            .as_deref()
            .map(|o| origins(&mut errors, o))
            .unwrap_or_default();
        let lead_capture = lead_capture(
            &mut errors,
            &input.lead_capture.clone().unwrap_or_default(),
            &LeadCapture::default(),
        );
        let appearance = appearance(
            &mut errors,
            &input.appearance.clone().unwrap_or_default(),
            &Appearance::default(),
        );
        let privacy_url = input
            .privacy_url
            .as_deref()
            .and_then(|u| errors.check("privacy_url", web_url(u)))
            .flatten();
        let ai = AiSettings::default().merge(&input.ai.clone().unwrap_or_default(), &mut errors);
        let privacy = PrivacySettings::default().merge(&input.privacy.clone().unwrap_or_default());
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            name: name.expect("checked above"),
            greeting,
            instructions,
            language,
            allowed_origins,
            lead_capture,
            appearance,
            privacy_url,
            ai,
            privacy,
        })
    }
}

impl AgentPatch {
    /// Parses a partial update against the agent it changes (nested objects merge).
    pub fn parse(input: &AgentInput, current: &Agent) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let patch = Self {
            name: input
                .name
                .as_deref()
                .and_then(|n| errors.check("name", AgentName::parse(n))),
            greeting: input
                .greeting
                .as_deref()
                .and_then(|g| errors.check("greeting", optional_text(g, MAX_GREETING_CHARS))),
            instructions: input.instructions.as_deref().and_then(|t| {
                errors.check("instructions", optional_text(t, MAX_INSTRUCTIONS_CHARS))
            }),
            language: input
                .language
                .as_deref()
                .and_then(|l| errors.check("language", language(l))),
            allowed_origins: input
                .allowed_origins
                .as_deref()
                .map(|o| origins(&mut errors, o)),
            lead_capture: input
                .lead_capture
                .as_ref()
                .map(|l| lead_capture(&mut errors, l, &current.lead_capture)),
            appearance: input
                .appearance
                .as_ref()
                .map(|a| appearance(&mut errors, a, &current.appearance)),
            privacy_url: input
                .privacy_url
                .as_deref()
                .and_then(|u| errors.check("privacy_url", web_url(u))),
            ai: input.ai.as_ref().map(|a| current.ai.merge(a, &mut errors)),
            privacy: input.privacy.as_ref().map(|p| current.privacy.merge(p)),
        };
        errors.finish(|| patch)
    }

    /// The agent with this patch applied.
    pub fn apply(self, mut agent: Agent) -> Agent {
        if let Some(v) = self.name {
            agent.name = v;
        }
        if let Some(v) = self.greeting {
            agent.greeting = v;
        }
        if let Some(v) = self.instructions {
            agent.instructions = v;
        }
        if let Some(v) = self.language {
            agent.language = v;
        }
        if let Some(v) = self.allowed_origins {
            agent.allowed_origins = v;
        }
        if let Some(v) = self.lead_capture {
            agent.lead_capture = v;
        }
        if let Some(v) = self.appearance {
            agent.appearance = v;
        }
        if let Some(v) = self.privacy_url {
            agent.privacy_url = v;
        }
        if let Some(v) = self.ai {
            agent.ai = v;
        }
        if let Some(v) = self.privacy {
            agent.privacy = v;
        }
        agent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_canonical_and_strict() {
        assert_eq!(
            Origin::parse("https://Shop.Example").unwrap().as_str(),
            "https://shop.example"
        );
        assert_eq!(
            Origin::parse("http://localhost:3000").unwrap().as_str(),
            "http://localhost:3000"
        );
        assert_eq!(
            Origin::parse("https://shop.example:443").unwrap().as_str(),
            "https://shop.example"
        );
        for bad in [
            "shop.example",
            "ftp://shop.example",
            "https://shop.example/page",
            "https://u:p@shop.example",
            "https://shop.example?x=1",
            "javascript:alert(1)",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn colours_are_hex() {
        assert_eq!(HexColor::parse("#ABC").unwrap().as_str(), "#aabbcc");
        assert_eq!(HexColor::parse("#4F46E5").unwrap().as_str(), "#4f46e5");
        for bad in ["red", "#12345", "4f46e5", "#ggg"] {
            assert!(HexColor::parse(bad).is_err());
        }
    }

    #[test]
    fn draft_reports_every_bad_field() {
        let input = AgentInput {
            name: Some(" ".into()),
            allowed_origins: Some(vec!["https://ok.example".into(), "nope".into()]),
            appearance: Some(AppearanceInput {
                color: Some("blue".into()),
                ..Default::default()
            }),
            lead_capture: Some(LeadCaptureInput {
                fields: Some(vec!["email".into()]),
                required: Some(vec!["phone".into()]),
            }),
            ..Default::default()
        };
        let errors = AgentDraft::parse(&input).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "allowed_origins[1]",
                "lead_capture.required",
                "appearance.color"
            ]
        );
    }
}
