//! The OpenAPI document: paths collected from the handlers themselves (so the
//! contract cannot forget one), plus what no handler states on its own: the
//! problem responses every operation can give, `security: []` on public
//! operations, and the descriptions of standard responses.
//!
//! The conventions a new endpoint follows are in `docs/contract.md`; the tests
//! at the bottom hold every operation to them.

use serde_json::{Map, Value, json};
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{
    ClientCredentials, Flow, Http, HttpAuthScheme, OAuth2, Scopes, SecurityScheme,
};
use utoipa::{Modify, OpenApi as _};

use crate::error::PROBLEM_JSON;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "motcua",
        description = "One-stop shop (cơ chế một cửa, một cửa liên thông) backend for Vietnamese public administration: \
procedure catalog, dossiers, online payment of fees, KPIs.\n\n\
Errors are RFC 9457 `application/problem+json` (schema `Problem`) with a stable `code` (schema `ErrorCode`); \
field errors carry a `FieldErrorCode`. Texts follow `Accept-Language` (Vietnamese by default, `en` on request). \
Lists are paged with `page` and `per_page` (max 100).\n\n\
Staff and citizens sign in with `POST /api/v1/auth/login`; integrations use the OAuth2 client-credentials \
grant at `POST /api/v1/auth/token`. Either way the access token is sent as `Authorization: Bearer`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/", description = "The server that serves this document")),
    tags(
        (name = "ops", description = "Health, readiness and metrics"),
        (name = "auth", description = "Registration, sign-in and sessions"),
        (name = "users", description = "Account administration"),
        (name = "identity", description = "Proving a citizen account's identity; integration grants and access log"),
        (name = "agencies", description = "Agencies and their electronic codes"),
        (name = "audit", description = "Who changed what: the append-only trail of administrative changes"),
        (name = "catalog", description = "The public procedure catalog"),
        (name = "forms", description = "E-forms per procedure: definitions (JSON Schema 2020-12 with Vietnamese presentation hints) and pre-fill"),
        (name = "calendar", description = "Working calendar: holidays and make-up working days"),
        (name = "documents", description = "Uploads, downloads and the citizen's document store"),
        (name = "dossiers", description = "Dossiers from submission to returned result"),
        (name = "payments", description = "Online payment of fees: attempts, gateway callbacks, refunds, reconciliation"),
        (name = "results", description = "Results by post, corrected results, and results anyone can verify"),
        (name = "kpi", description = "KPIs: counts, rates and Decision 766 scores by agency, sector and period"),
        (name = "queue", description = "Counter queue tickets (số thứ tự)"),
        (name = "feedback", description = "Citizen feedback on administrative rules (phản ánh, kiến nghị)"),
        (name = "events", description = "The change feed of the outbox: what changed, in commit-safe order"),
        (name = "webhooks", description = "Webhook subscriptions: signed, retried deliveries of events, with their log"),
        (name = "notifications", description = "Citizen notifications: templates per event and channel, opt-outs, a dossier's messages with their status"),
        (name = "reference", description = "This document and the interactive reference page that renders it"),
        (name = "portal", description = "National Public Service Portal synchronisation: sync status, resync, filings from the portal"),
        (name = "sandbox", description = "The built-in sandbox gateway (development only; absent in production)"),
    ),
    components(schemas(
        crate::error::ProblemBody,
        crate::error::FieldErrorBody,
        crate::error::ErrorCode,
        crate::i18n::FieldErrorCode,
        motcua_domain::procedure::OnlineFilter,
        motcua_domain::procedure::StatusFilter,
        // Rules query parameters refer to (parameters do not register their schemas).
        motcua_domain::rules::YearNumber,
        motcua_domain::papers::PaperKind,
        motcua_domain::rules::DueWithinDays,
        // Event payloads by type (`Envelope.data`), versioned per type.
        motcua_domain::event::DossierEventData,
        motcua_domain::event::PaymentEventData,
        motcua_domain::event::FeedbackEventData,
        motcua_domain::event::ProcedureEventData,
        motcua_domain::event::WebhookEventData,
    )),
    modifiers(&Contract),
)]
pub struct ApiDoc;

struct Contract;

/// The bearer scheme every secured operation names.
pub const BEARER: &str = "bearer";
/// The OAuth2 client-credentials scheme integrations obtain their bearer token with.
pub const CLIENT_CREDENTIALS: &str = "client_credentials";

impl Modify for Contract {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from `/api/v1/auth/login`, `/api/v1/auth/refresh` or `/api/v1/auth/token`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            CLIENT_CREDENTIALS,
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    "/api/v1/auth/token",
                    Scopes::new(),
                ))],
                "Integration (service) accounts: RFC 6749 §4.4, form-encoded or JSON.",
            )),
        );
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// Members some problems add beside the standard ones (`ApiError::extension`).
fn problem_extensions() -> Value {
    json!({
        "allowed_actions": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Action"},
            "description": "`invalid_transition`: the actions the dossier's status allows."
        },
        "dossier_status": {
            "$ref": "#/components/schemas/DossierStatus"
        },
        "current_version": {
            "type": "integer",
            "format": "int64",
            "description": "`precondition_failed`: the version the `ETag` names now."
        },
        "amount_due_vnd": {"type": "integer", "format": "int64", "description": "Fees still due, in đồng."},
        "refundable_vnd": {"type": "integer", "format": "int64", "description": "What can still be refunded, in đồng."},
        "payment_id": {"type": "string", "description": "`payment_in_progress`: the open payment attempt."},
        "payment_status": {"$ref": "#/components/schemas/PaymentStatus"},
        "report": {
            "type": "object",
            "description": "`validation_failed` of a catalog import: the per-row report."
        }
    })
}

fn problem_content() -> Value {
    json!({ PROBLEM_JSON: { "schema": { "$ref": "#/components/schemas/Problem" } } })
}

/// Text for a response the handler described with no words of its own.
fn standard_description(status: &str) -> &'static str {
    match status {
        "200" => "Success",
        "201" => "Created; `Location` names the new resource",
        "202" => "Accepted",
        "204" => "Done; no body",
        "303" => "Redirect to `Location`",
        "304" => "Not modified",
        "400" => "Malformed request (bad JSON, query string or header)",
        "401" => "Missing, invalid or expired access token",
        "403" => "The caller's role may not do this",
        "404" => "No such resource, or not visible to the caller",
        "405" => "Method not allowed; `Allow` lists the methods",
        "406" => "No acceptable representation",
        "409" => "Conflicts with the resource's current state",
        "412" => "`If-Match` does not match the current `ETag`",
        "413" => "Payload too large",
        "415" => "Unsupported media type",
        "422" => "Validation failed; `errors` lists each field",
        "428" => "`If-Match` is required",
        "429" => "Too many requests; `Retry-After` says when to try again",
        "500" => "Unexpected error; nothing about it is disclosed",
        "502" => "The payment gateway did not answer",
        "503" => "The database is temporarily unavailable; `Retry-After` says when to try again",
        _ => "Response",
    }
}

/// The range the server accepts for an integer parameter: `page` and
/// `per_page` from `motcua_domain::page` (what `PageRequest::new` checks),
/// any other from the Rust type utoipa recorded as the format.
fn integer_bounds(name: &str, schema: &Map<String, Value>) -> Option<(i64, i64)> {
    use motcua_domain::page::{MAX_PAGE, MAX_PER_PAGE};
    match name {
        "page" => return Some((1, i64::from(MAX_PAGE))),
        "per_page" => return Some((1, i64::from(MAX_PER_PAGE))),
        _ => {}
    }
    let unsigned = schema
        .get("minimum")
        .and_then(Value::as_i64)
        .is_some_and(|m| m >= 0);
    match (schema.get("format").and_then(Value::as_str), unsigned) {
        (Some("int32"), true) => Some((0, i64::from(u32::MAX))),
        (Some("int32"), false) => Some((i64::from(i32::MIN), i64::from(i32::MAX))),
        (Some("int64"), true) => Some((0, i64::MAX)),
        (Some("int64"), false) => Some((i64::MIN, i64::MAX)),
        _ => None,
    }
}

/// Declares the accepted range on integer query and path parameters, so that
/// a schema-valid value (say `page=2^80`) is never refused.
fn bound_parameters(op: &mut Map<String, Value>) {
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for param in params {
        let name = param["name"].as_str().unwrap_or("").to_owned();
        let Some(schema) = param.get_mut("schema").and_then(Value::as_object_mut) else {
            continue;
        };
        let integer = match schema.get("type") {
            Some(Value::String(t)) => t == "integer",
            Some(Value::Array(types)) => types.iter().any(|t| t == "integer"),
            _ => false,
        };
        if !integer {
            continue;
        }
        if let Some((min, max)) = integer_bounds(&name, schema) {
            schema.insert("minimum".into(), json!(min));
            schema.insert("maximum".into(), json!(max));
        }
    }
}

/// Completes every operation: errors as problem+json, security stated,
/// descriptions present, integer parameters bounded.
fn finish(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        let api = path.starts_with("/api/");
        // Health probes answer 503 with their own readiness body.
        let probe = path.starts_with("/health/");
        // The sandbox portal answers its errors as the portal does (`PortalAnswer`).
        let own_answers = path == "/sandbox/portal/dossiers";
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            bound_parameters(op);
            let security = op.entry("security").or_insert_with(|| json!([]));
            let secured = security.as_array().is_some_and(|s| {
                s.iter()
                    .any(|r| r.as_object().is_some_and(|r| !r.is_empty()))
            });
            let has_body = op.contains_key("requestBody");
            let has_path_params = path.contains('{');
            let has_input = has_body
                || op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .is_some_and(|p| !p.is_empty());
            let responses = op
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut();
            let Some(responses) = responses else { continue };
            let mut standard = Vec::new();
            if api || path.starts_with("/sandbox/") {
                if has_input {
                    standard.extend(["400", "422"]);
                }
                if has_body {
                    standard.extend(["413", "415"]);
                }
                if has_path_params {
                    standard.push("404");
                }
                if secured {
                    standard.extend(["401", "403"]);
                }
                if api {
                    standard.extend(["500", "503"]);
                }
            }
            for status in standard {
                responses.entry(status).or_insert_with(|| json!({}));
            }
            for (status, response) in responses.iter_mut() {
                let Some(response) = response.as_object_mut() else {
                    continue;
                };
                if response.contains_key("$ref") {
                    continue;
                }
                let empty = response
                    .get("description")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty);
                if empty {
                    response.insert("description".into(), standard_description(status).into());
                }
                let error = status.starts_with('4') || status.starts_with('5');
                if error && !probe && !(own_answers && response.contains_key("content")) {
                    response.insert("content".into(), problem_content());
                }
            }
        }
    }
    if let Some(problem) = doc
        .pointer_mut("/components/schemas/Problem/properties")
        .and_then(Value::as_object_mut)
        && let Value::Object(extra) = problem_extensions()
    {
        for (name, schema) in extra {
            problem.entry(name).or_insert(schema);
        }
    }
}

/// A struct flattened into another (`#[serde(flatten)]`) is published as
/// `allOf: [$ref Inner, {…}]`; when `Inner` forbids other members
/// (`deny_unknown_fields` → `additionalProperties: false`) no object can
/// satisfy both. Inside an `allOf`, such a reference is replaced by a copy of
/// the schema that allows the members of its siblings.
fn open_flattened(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
    else {
        return;
    };
    open_flattened_in(doc, &schemas);
}

/// One step of [`open_flattened`]: `node` and everything below it.
fn open_flattened_in(node: &mut Value, schemas: &Map<String, Value>) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Array(parts)) = map.get_mut("allOf") {
                for part in parts.iter_mut() {
                    let target = part
                        .get("$ref")
                        .and_then(Value::as_str)
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                        .and_then(|name| schemas.get(name));
                    if let Some(Value::Object(target)) = target
                        && target.get("additionalProperties") == Some(&Value::Bool(false))
                    {
                        let mut copy = target.clone();
                        copy.remove("additionalProperties");
                        *part = Value::Object(copy);
                    }
                }
            }
            for child in map.values_mut() {
                open_flattened_in(child, schemas);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| open_flattened_in(c, schemas)),
        _ => {}
    }
}

/// The complete document served at `/openapi.json` and committed as `openapi/openapi.json`.
pub fn document() -> Value {
    let (_, mut openapi) = crate::app::routes(actix_web::App::new(), true).split_for_parts();
    let mut base = ApiDoc::openapi();
    base.paths = std::mem::take(&mut openapi.paths);
    if let Some(found) = openapi.components.take() {
        let components = base.components.get_or_insert_with(Default::default);
        for (name, schema) in found.schemas {
            components.schemas.entry(name).or_insert(schema);
        }
    }
    base.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut doc = serde_json::to_value(&base).unwrap_or_else(|_| Value::Object(Map::new()));
    finish(&mut doc);
    open_flattened(&mut doc);
    doc
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// Every operation of the document: (path, method, operation).
pub fn operations(doc: &Value) -> Vec<(String, String, &Map<String, Value>)> {
    let mut out = Vec::new();
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in paths {
            for method in METHODS {
                if let Some(op) = item.get(method).and_then(Value::as_object) {
                    out.push((path.clone(), method.to_owned(), op));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        out.push(v);
        match v {
            Value::Object(m) => m.values().for_each(|c| walk(c, out)),
            Value::Array(a) => a.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }

    #[test]
    fn operation_ids_are_unique_verb_noun_snake_case() {
        let doc = document();
        let mut seen = std::collections::HashMap::new();
        for (path, method, op) in operations(&doc) {
            let id = op.get("operationId").and_then(Value::as_str).unwrap_or("");
            assert!(
                id.contains('_') && id.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{method} {path}: operationId {id:?} is not verb_noun snake_case \
                 (set `operation_id = \"…\"` in its #[utoipa::path])"
            );
            if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("operationId {id} used by {other} and {method} {path}");
            }
        }
    }

    #[test]
    fn every_operation_is_tagged_summarised_secured_and_described() {
        let doc = document();
        let tags: Vec<&str> = doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        for (path, method, op) in operations(&doc) {
            let at = format!("{method} {path}");
            let tag = op["tags"][0].as_str().unwrap_or("");
            assert!(tags.contains(&tag), "{at}: tag {tag:?} is not declared");
            assert!(
                op.get("summary")
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.is_empty()),
                "{at}: no summary (write a doc comment on the handler)"
            );
            assert!(op.get("security").is_some_and(Value::is_array), "{at}");
            for (status, response) in op["responses"].as_object().unwrap() {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{at} {status}: no description"
                );
                if status.starts_with('4') || status.starts_with('5') {
                    // Probes, and the sandbox portal answering as the portal does.
                    if path.starts_with("/health/") || path == "/sandbox/portal/dossiers" {
                        continue;
                    }
                    let content = response["content"].as_object().unwrap();
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        vec![PROBLEM_JSON],
                        "{at} {status}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_reference_resolves_and_enums_are_spelled_as_on_the_wire() {
        let doc = document();
        let mut nodes = Vec::new();
        walk(&doc, &mut nodes);
        for node in nodes {
            if let Some(target) = node.get("$ref").and_then(Value::as_str) {
                let pointer = target.trim_start_matches('#');
                assert!(doc.pointer(pointer).is_some(), "dangling {target}");
            }
            if let Some(values) = node.get("enum").and_then(Value::as_array) {
                for v in values.iter().filter_map(Value::as_str) {
                    assert!(
                        !v.starts_with(|c: char| c.is_ascii_uppercase()),
                        "enum value {v:?} in {values:?} is not the wire spelling"
                    );
                }
            }
        }
    }

    #[test]
    fn error_and_field_codes_are_published_from_their_tables() {
        let doc = document();
        let codes = doc["components"]["schemas"]["ErrorCode"]["enum"]
            .as_array()
            .unwrap();
        assert_eq!(codes.len(), crate::error::ErrorCode::ALL.len());
        for code in crate::error::ErrorCode::ALL {
            assert!(codes.contains(&json!(code.as_str())));
        }
        let fields = doc["components"]["schemas"]["FieldErrorCode"]["enum"]
            .as_array()
            .unwrap();
        for rule in motcua_domain::rule::RuleCode::ALL {
            assert!(fields.contains(&json!(rule.as_str())), "{rule}");
        }
        assert_eq!(
            doc["components"]["schemas"]["Problem"]["properties"]["code"]["$ref"],
            "#/components/schemas/ErrorCode"
        );
    }
}
