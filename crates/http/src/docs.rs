//! `/docs`: the interactive API reference, from a pinned copy of Scalar's
//! standalone bundle compiled into the binary (see `assets/scalar/README.md`).
//! Nothing is loaded from another origin.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};

/// `@scalar/api-reference` 1.76.4, `dist/browser/standalone.js`.
pub static SCALAR_JS: &[u8] = include_bytes!("../assets/scalar/standalone.js");
pub const SCALAR_VERSION: &str = "1.76.4";
pub const SCALAR_SHA256: &str = "93951f1794b0463b87ab58d0557a6610075af79a9f94c2a3f261c993bc7f3913";
pub static SCALAR_LICENSE: &str = include_str!("../assets/scalar/LICENSE");

/// Starts the reference on `/openapi.json`; a file, not an inline script, so
/// the page's policy can forbid inline scripts.
const INIT_JS: &str = "Scalar.createApiReference('#app', {\n  url: '/openapi.json',\n  withDefaultFonts: false,\n  hideClientButton: true,\n  telemetry: false\n});\n";

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>motcua API reference</title>
</head>
<body>
<noscript>The API reference needs JavaScript. The document itself is at <a href="/openapi.json">/openapi.json</a>.</noscript>
<div id="app"></div>
<script src="/docs/scalar.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"#;

/// Only this origin; Scalar injects its styles, hence `'unsafe-inline'` for styles only.
const PAGE_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
font-src 'self' data:; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/// The interactive API reference (HTML); it renders `/openapi.json` with the bundle below.
#[utoipa::path(operation_id = "get_api_reference", tag = "reference", responses((status = 200, description = "The reference page", body = String, content_type = "text/html")))]
#[get("/docs")]
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(PAGE)
}

/// This OpenAPI document.
#[utoipa::path(operation_id = "get_openapi_document", tag = "reference", responses((status = 200, description = "The OpenAPI 3.1 document, as committed in `openapi/openapi.json`", body = Object, content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi_json(spec: web::Data<String>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(spec.get_ref().clone())
}

fn script(body: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(body)
}

/// Scalar's standalone bundle, pinned (see `crates/http/assets/scalar/README.md`).
#[utoipa::path(operation_id = "get_reference_bundle", tag = "reference", responses((status = 200, description = "JavaScript", body = String, content_type = "text/javascript")))]
#[get("/docs/scalar.js")]
pub async fn scalar_js() -> HttpResponse {
    script(SCALAR_JS)
}

/// Starts the reference page.
#[utoipa::path(operation_id = "get_reference_init", tag = "reference", responses((status = 200, description = "JavaScript", body = String, content_type = "text/javascript")))]
#[get("/docs/init.js")]
pub async fn init_js() -> HttpResponse {
    script(INIT_JS.as_bytes())
}

/// The licence of the bundled reference renderer (MIT).
#[utoipa::path(operation_id = "get_reference_license", tag = "reference", responses((status = 200, description = "Plain text", body = String, content_type = "text/plain")))]
#[get("/docs/LICENSE")]
pub async fn license() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(SCALAR_LICENSE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn the_vendored_bundle_is_the_pinned_one_with_its_licence() {
        assert_eq!(hex::encode(sha2::Sha256::digest(SCALAR_JS)), SCALAR_SHA256);
        assert!(SCALAR_LICENSE.contains("Copyright (c) 2023-present Scalar"));
        assert!(
            !PAGE.contains("http"),
            "the page loads nothing from elsewhere"
        );
    }
}
