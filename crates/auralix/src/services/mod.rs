//! Application services: the rules, reachable from handlers and tests without HTTP.

pub mod accounts;
