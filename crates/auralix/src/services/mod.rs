//! Application services: the rules, reachable from handlers and tests without HTTP.

pub mod accounts;
pub mod answerer;
pub mod chat;
pub mod consent;
pub mod events;
pub mod knowledge;
pub mod leads;
pub mod llm;
pub mod visitor_token;
