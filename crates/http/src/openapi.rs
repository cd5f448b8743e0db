//! The OpenAPI document: paths collected from the handlers themselves (so the
//! contract cannot forget one), plus what no handler states on its own.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi as _, ToSchema};

use crate::error::{PROBLEM_JSON, ProblemBody};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "motcua",
        description = "One-stop shop (cơ chế một cửa, một cửa liên thông) backend for Vietnamese public administration: \
procedure catalog, dossiers, online payment of fees, KPIs.\n\n\
Errors are RFC 9457 `application/problem+json` with a stable `code`. Texts follow `Accept-Language` \
(Vietnamese by default, `en` on request). Lists are paged with `page` and `per_page` (max 100).",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "ops", description = "Health, readiness and metrics"),
        (name = "auth", description = "Registration, sign-in and sessions"),
        (name = "users", description = "Account administration"),
        (name = "identity", description = "Proving a citizen account's identity; integration grants and access log"),
        (name = "agencies", description = "Agencies and their electronic codes"),
        (name = "audit", description = "Who changed what: the append-only trail of administrative changes"),
        (name = "catalog", description = "The public procedure catalog"),
        (name = "calendar", description = "Working calendar: holidays and make-up working days"),
        (name = "documents", description = "Uploads, downloads and the citizen's document store"),
        (name = "dossiers", description = "Dossiers from submission to returned result"),
        (name = "payments", description = "Online payment of fees: attempts, gateway callbacks, refunds, reconciliation"),
        (name = "kpi", description = "KPIs: counts, rates and Decision 766 scores by agency, sector and period"),
        (name = "queue", description = "Counter queue tickets (số thứ tự)"),
        (name = "feedback", description = "Citizen feedback on administrative rules (phản ánh, kiến nghị)"),
        (name = "sandbox", description = "The built-in sandbox gateway (development only; absent in production)"),
    ),
    modifiers(&Contract),
)]
pub struct ApiDoc;

struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        let mut schemas = Vec::new();
        <ProblemBody as ToSchema>::schemas(&mut schemas);
        components.schemas.insert(
            <ProblemBody as utoipa::ToSchema>::name().into_owned(),
            <ProblemBody as utoipa::PartialSchema>::schema(),
        );
        for (name, schema) in schemas {
            components.schemas.insert(name, schema);
        }
    }
}

fn problem_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ProblemBody")))
                .build(),
        )
        .build()
        .into()
}

fn each_operation(openapi: &mut OpenApi, mut f: impl FnMut(&str, &mut Operation)) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            f(path, op);
        }
    }
}

/// Error responses every operation can give, added where a handler did not state them.
fn document_errors(openapi: &mut OpenApi) {
    each_operation(openapi, |path, op| {
        let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
        let responses = &mut op.responses.responses;
        let has_input =
            op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
        let mut add = |status: &str, text: &str| {
            responses
                .entry(status.to_owned())
                .or_insert_with(|| problem_response(text));
        };
        if path.starts_with("/api/") {
            if has_input {
                add("400", "Malformed request (bad JSON or query string)");
                add("422", "Validation failed; `errors` lists each field");
            }
            if secured {
                add("401", "Missing, invalid or expired access token");
                add("403", "The caller's role may not do this");
            }
            add("500", "Unexpected error; nothing about it is disclosed");
        }
    });
}

/// The complete document served at `/openapi.json` and committed as `openapi/openapi.json`.
pub fn document() -> OpenApi {
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
    document_errors(&mut base);
    base
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    let mut text = document()
        .to_pretty_json()
        .unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}
