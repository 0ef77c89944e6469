//! `GET /api/openapi.json`: an OpenAPI 3.1 description of the HTTP API, built from the
//! route table below (kept next to the router so a new route is one line here).

use axum::Json;
use serde_json::{Map, Value, json};

/// (method, path, tag, summary, security: "session" | "visitor" | "none")
const ROUTES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "post",
        "/api/v1/auth/signup",
        "auth",
        "Create an account and its first workspace",
        "none",
    ),
    (
        "post",
        "/api/v1/auth/login",
        "auth",
        "Sign in (session cookie)",
        "none",
    ),
    (
        "post",
        "/api/v1/auth/logout",
        "auth",
        "Sign out (revokes the session)",
        "session",
    ),
    (
        "post",
        "/api/v1/auth/token",
        "auth",
        "Create a bearer token for scripts",
        "none",
    ),
    (
        "get",
        "/api/v1/me",
        "auth",
        "The caller, their workspace and role",
        "session",
    ),
    ("get", "/api/v1/agents", "agents", "List agents", "session"),
    (
        "post",
        "/api/v1/agents",
        "agents",
        "Create an agent",
        "session",
    ),
    (
        "get",
        "/api/v1/agents/{id}",
        "agents",
        "Get an agent",
        "session",
    ),
    (
        "patch",
        "/api/v1/agents/{id}",
        "agents",
        "Update an agent (partial)",
        "session",
    ),
    (
        "delete",
        "/api/v1/agents/{id}",
        "agents",
        "Delete an agent",
        "session",
    ),
    (
        "get",
        "/api/v1/agents/{id}/documents",
        "knowledge",
        "List documents",
        "session",
    ),
    (
        "post",
        "/api/v1/agents/{id}/documents",
        "knowledge",
        "Upload a file (multipart `file`) or add text / a Q&A pair (JSON)",
        "session",
    ),
    (
        "get",
        "/api/v1/agents/{id}/documents/{doc_id}",
        "knowledge",
        "Get a document and its status",
        "session",
    ),
    (
        "delete",
        "/api/v1/agents/{id}/documents/{doc_id}",
        "knowledge",
        "Delete a document",
        "session",
    ),
    (
        "post",
        "/api/v1/agents/{id}/documents/{doc_id}/reindex",
        "knowledge",
        "Re-index a document",
        "session",
    ),
    (
        "get",
        "/api/v1/agents/{id}/search",
        "knowledge",
        "What the agent retrieves for `q`",
        "session",
    ),
    (
        "get",
        "/api/v1/providers",
        "ai",
        "List AI providers (keys never returned)",
        "session",
    ),
    (
        "post",
        "/api/v1/providers",
        "ai",
        "Add an AI provider",
        "session",
    ),
    (
        "get",
        "/api/v1/providers/{id}",
        "ai",
        "Get an AI provider",
        "session",
    ),
    (
        "patch",
        "/api/v1/providers/{id}",
        "ai",
        "Update an AI provider",
        "session",
    ),
    (
        "delete",
        "/api/v1/providers/{id}",
        "ai",
        "Delete an AI provider",
        "session",
    ),
    (
        "post",
        "/api/v1/providers/{id}/test",
        "ai",
        "Test the provider's connection",
        "session",
    ),
    (
        "get",
        "/api/v1/usage",
        "ai",
        "Messages and tokens per agent and day",
        "session",
    ),
    (
        "get",
        "/api/v1/leads",
        "leads",
        "List leads (filters: status, agent_id, q, since, until)",
        "session",
    ),
    (
        "get",
        "/api/v1/leads/export",
        "leads",
        "Export leads (format=csv|json|ndjson, bom=1)",
        "session",
    ),
    (
        "get",
        "/api/v1/leads/{id}",
        "leads",
        "Get a lead",
        "session",
    ),
    (
        "patch",
        "/api/v1/leads/{id}",
        "leads",
        "Update status, assignee or note",
        "session",
    ),
    (
        "delete",
        "/api/v1/leads/{id}",
        "leads",
        "Delete a lead",
        "session",
    ),
    (
        "get",
        "/api/v1/conversations",
        "conversations",
        "List conversations (filters: agent_id, status)",
        "session",
    ),
    (
        "get",
        "/api/v1/conversations/export",
        "conversations",
        "Export conversations (format=json|ndjson|csv)",
        "session",
    ),
    (
        "get",
        "/api/v1/conversations/{id}",
        "conversations",
        "A conversation with its messages and events",
        "session",
    ),
    (
        "delete",
        "/api/v1/conversations/{id}",
        "conversations",
        "Delete a conversation",
        "session",
    ),
    (
        "post",
        "/api/v1/widget/{public_id}/sessions",
        "widget",
        "Start a visitor session",
        "none",
    ),
    (
        "post",
        "/api/v1/widget/{public_id}/conversations",
        "widget",
        "Start a conversation",
        "visitor",
    ),
    (
        "post",
        "/api/v1/widget/{public_id}/conversations/{id}/messages",
        "widget",
        "Send a message (JSON or text/event-stream reply)",
        "visitor",
    ),
    (
        "get",
        "/api/v1/widget/{public_id}/conversations/{id}/messages",
        "widget",
        "Message history (after=<message id>)",
        "visitor",
    ),
    (
        "get",
        "/api/v1/widget/{public_id}/conversations/{id}/events",
        "widget",
        "Live events (text/event-stream)",
        "visitor",
    ),
    (
        "post",
        "/api/v1/widget/{public_id}/conversations/{id}/contact",
        "widget",
        "Leave contact details with consent",
        "visitor",
    ),
    (
        "get",
        "/widget.js",
        "widget",
        "The widget loader script",
        "none",
    ),
    ("get", "/healthz", "operations", "Liveness", "none"),
    (
        "get",
        "/readyz",
        "operations",
        "Readiness (database)",
        "none",
    ),
];

fn parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect()
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, tag, summary, security) in ROUTES {
        let security = match *security {
            "session" => json!([{"bearer": []}, {"session": []}]),
            "visitor" => json!([{"visitor": []}]),
            _ => json!([]),
        };
        let operation = json!({
            "tags": [tag],
            "summary": summary,
            "parameters": parameters(path),
            "security": security,
            "responses": {
                "2XX": {"description": "Success"},
                "default": {"description": "Error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            }
        });
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[*method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Auralix API", "version": env!("CARGO_PKG_VERSION"), "license": {"name": "AGPL-3.0-or-later"}},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API token from /api/v1/auth/token"},
                "session": {"type": "apiKey", "in": "cookie", "name": "auralix_session"},
                "visitor": {"type": "http", "scheme": "bearer", "description": "visitor_token from the widget session"}
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "code"],
                    "properties": {
                        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                        "code": {"type": "string"}, "detail": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}
                    }
                }
            }
        }
    })
}

pub async fn openapi() -> Json<Value> {
    Json(document())
}
