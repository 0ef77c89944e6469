//! How an agent answers (built-in or a language model) and what it shares with models.

use serde::{Deserialize, Serialize};

use crate::validation::ValidationErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AiMode {
    /// The offline answerer: no outside service.
    #[default]
    Builtin,
    /// A configured LLM provider, with the built-in answerer as fallback.
    Llm,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AiSettings {
    pub mode: AiMode,
    pub provider_id: Option<String>,
    pub model: Option<String>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// Words or phrases that hand the conversation to a manager when a visitor uses them.
    #[serde(default)]
    pub handoff_keywords: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacySettings {
    /// Replace personal data with placeholders in what is sent to a third-party model.
    pub redact_before_ai: bool,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            redact_before_ai: true,
        }
    }
}

/// Raw `ai` input; merged over the current settings. An absent field keeps its value; an
/// explicit `null` clears it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AiInput {
    pub mode: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub provider_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub model: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub temperature: Option<Option<f32>>,
    #[serde(default, deserialize_with = "present")]
    pub max_tokens: Option<Option<u32>>,
    pub handoff_keywords: Option<Vec<String>>,
}

/// Tells a present `null` (`Some(None)`) from an absent field (`None`, via `default`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct PrivacyInput {
    pub redact_before_ai: Option<bool>,
}

impl AiSettings {
    /// Applies `input` over `self`, recording bad fields under `ai.*`. Whether the
    /// provider exists in the workspace is the caller's check.
    pub fn merge(&self, input: &AiInput, errors: &mut ValidationErrors) -> AiSettings {
        let mut out = self.clone();
        match input.mode.as_deref() {
            None => {}
            Some("builtin") => out.mode = AiMode::Builtin,
            Some("llm") => out.mode = AiMode::Llm,
            Some(_) => errors.add("ai.mode", "must be builtin or llm"),
        }
        if let Some(p) = &input.provider_id {
            out.provider_id = p.clone().filter(|p| !p.trim().is_empty());
        }
        if let Some(m) = &input.model {
            match m.as_deref().map(str::trim) {
                Some(m) if m.chars().count() > 200 => {
                    errors.add("ai.model", "must be at most 200 characters")
                }
                Some("") | None => out.model = None,
                Some(m) => out.model = Some(m.to_owned()),
            }
        }
        if let Some(t) = input.temperature {
            match t {
                Some(t) if !(0.0..=2.0).contains(&t) => {
                    errors.add("ai.temperature", "must be between 0 and 2")
                }
                t => out.temperature = t,
            }
        }
        if let Some(m) = input.max_tokens {
            match m {
                Some(m) if !(1..=16_384).contains(&m) => {
                    errors.add("ai.max_tokens", "must be between 1 and 16384")
                }
                m => out.max_tokens = m,
            }
        }
        if let Some(keywords) = &input.handoff_keywords {
            let cleaned: Vec<String> = keywords
                .iter()
                .map(|k| k.trim().to_lowercase())
                .filter(|k| !k.is_empty())
                .collect();
            if cleaned.len() > 50 || cleaned.iter().any(|k| k.chars().count() > 80) {
                errors.add(
                    "ai.handoff_keywords",
                    "at most 50 phrases of at most 80 characters",
                );
            } else {
                out.handoff_keywords = cleaned;
            }
        }
        if out.mode == AiMode::Llm && out.provider_id.is_none() {
            errors.add("ai.provider_id", "is required when mode is llm");
        }
        out
    }
}

impl PrivacySettings {
    pub fn merge(&self, input: &PrivacyInput) -> PrivacySettings {
        PrivacySettings {
            redact_before_ai: input.redact_before_ai.unwrap_or(self.redact_before_ai),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_clears_and_absence_keeps() {
        let current = AiSettings {
            temperature: Some(0.5),
            max_tokens: Some(100),
            ..Default::default()
        };
        let input: AiInput = serde_json::from_str(r#"{"temperature": null}"#).unwrap();
        let mut errors = ValidationErrors::new();
        let merged = current.merge(&input, &mut errors);
        assert!(errors.is_empty());
        assert_eq!(merged.temperature, None);
        assert_eq!(merged.max_tokens, Some(100));
    }
}
