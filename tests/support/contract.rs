//! The contract check: every response the test client receives is held against
//! the committed OpenAPI document (`openapi/openapi.json`).
//!
//! For each response the checker finds the operation (method + path template),
//! then requires that
//! - the status is declared for that operation (exactly, as `4XX`, or `default`);
//! - the response's content type is one the document declares for that status
//!   (a body where none is declared is a violation, and so is a declared body
//!   that never came);
//! - the declared media type has a schema (no schema is a violation), and a
//!   JSON body (`application/json`, `*+json`) validates against it
//!   (JSON Schema draft 2020-12, `$ref`s resolved, formats checked).
//!
//! A request to a path the document does not know may only be answered 404, and
//! a known path with a method it does not declare only 405; both with the body
//! the document gives for problems.
//! CORS preflights (`OPTIONS` with `Access-Control-Request-Method`) are answered
//! by the CORS layer and are outside the contract.
//!
//! Mode, from `MOTCUA_CONTRACT`: `fail` panics on the first violation of a
//! response (the test fails and says why); `report` lets the test go on. Both
//! write a summary with counts per operation to `target/contract/violations.txt`
//! (or `$MOTCUA_CONTRACT_REPORT`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The mode when `MOTCUA_CONTRACT` is not set.
pub const DEFAULT_MODE: Mode = Mode::Fail;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A violation fails the test.
    Fail,
    /// Violations are counted in the summary file only.
    Report,
}

impl Mode {
    pub fn from_env() -> Mode {
        match std::env::var("MOTCUA_CONTRACT") {
            Err(_) => DEFAULT_MODE,
            Ok(v) if v.is_empty() => DEFAULT_MODE,
            Ok(v) if v == "fail" => Mode::Fail,
            Ok(v) if v == "report" => Mode::Report,
            Ok(v) => panic!("MOTCUA_CONTRACT={v}: expected `fail` or `report`"),
        }
    }
}

/// What one response was held against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// `METHOD /path/{template}` or, for an unknown path, `METHOD (undeclared path)`.
    pub operation: String,
    pub violations: Vec<String>,
}

/// A compiled view of one OpenAPI document.
pub struct Contract {
    doc: Value,
    /// (segments, template, path item pointer)
    paths: Vec<(Vec<Segment>, String)>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param,
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.ends_with("+json")
}

impl Contract {
    pub fn new(doc: Value) -> Contract {
        let mut paths = Vec::new();
        if let Some(map) = doc.get("paths").and_then(Value::as_object) {
            for template in map.keys() {
                let segments = template
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') && s.ends_with('}') {
                            Segment::Param
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect();
                paths.push((segments, template.clone()));
            }
        }
        Contract {
            doc,
            paths,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The committed document, read once per test process.
    pub fn committed() -> &'static Contract {
        static CONTRACT: OnceLock<Contract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let doc = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
            Contract::new(doc)
        })
    }

    /// The path template a concrete path falls under; literal segments win over
    /// parameters (`/payments/reconciliation` before `/payments/{id}`).
    fn template(&self, path: &str) -> Option<&str> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut best: Option<(&Vec<Segment>, &str)> = None;
        for (segments, template) in &self.paths {
            if segments.len() != parts.len() {
                continue;
            }
            let matches = segments.iter().zip(&parts).all(|(s, p)| match s {
                Segment::Literal(l) => l == p,
                Segment::Param => !p.is_empty(),
            });
            if !matches {
                continue;
            }
            let better = match best {
                None => true,
                Some((b, _)) => {
                    // First position where they differ: a literal is more specific.
                    segments
                        .iter()
                        .zip(b.iter())
                        .find(|(x, y)| x != y)
                        .is_some_and(|(x, _)| matches!(x, Segment::Literal(_)))
                }
            };
            if better {
                best = Some((segments, template));
            }
        }
        best.map(|(_, t)| t)
    }

    /// Follows `$ref`s (local ones only) to the object they name.
    fn resolve<'a>(&'a self, mut value: &'a Value, violations: &mut Vec<String>) -> &'a Value {
        for _ in 0..16 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return value;
            };
            match reference
                .strip_prefix('#')
                .and_then(|pointer| self.doc.pointer(pointer))
            {
                Some(target) => value = target,
                None => {
                    violations.push(format!("unresolvable $ref {reference}"));
                    return &Value::Null;
                }
            }
        }
        value
    }

    /// The schema used for problems (the `application/problem+json` schema the
    /// document declares first), for answers to requests outside the document.
    fn problem_schema_pointer(&self) -> Option<String> {
        let paths = self.doc.get("paths")?.as_object()?;
        for (template, item) in paths {
            for method in METHODS {
                let Some(responses) = item
                    .get(method)
                    .and_then(|o| o.get("responses"))
                    .and_then(Value::as_object)
                else {
                    continue;
                };
                for (status, response) in responses {
                    let base = match response.get("$ref").and_then(Value::as_str) {
                        Some(reference) => reference.trim_start_matches('#').to_owned(),
                        None => format!(
                            "/paths/{}/{method}/responses/{}",
                            escape(template),
                            escape(status)
                        ),
                    };
                    let pointer = format!("{base}/content/application~1problem+json/schema");
                    if self.doc.pointer(&pointer).is_some() {
                        return Some(pointer);
                    }
                }
            }
        }
        None
    }

    fn validator(&self, pointer: &str) -> Result<Arc<jsonschema::Validator>, String> {
        let mut cache = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(pointer) {
            return Ok(v.clone());
        }
        let schema = self
            .doc
            .pointer(pointer)
            .ok_or_else(|| format!("no schema at {pointer}"))?;
        // The schema itself under `allOf`, with the document's components at the
        // root so that `#/components/...` references resolve.
        let mut root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "allOf": [schema],
        });
        if let Some(components) = self.doc.get("components") {
            root["components"] = components.clone();
        }
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("schema at {pointer} does not compile: {e}"))?;
        let validator = Arc::new(validator);
        cache.insert(pointer.to_owned(), validator.clone());
        Ok(validator)
    }

    fn validate_json(&self, pointer: &str, body: &[u8], violations: &mut Vec<String>) {
        let instance: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                violations.push(format!("body is not JSON: {e}"));
                return;
            }
        };
        match self.validator(pointer) {
            Ok(validator) => {
                for error in validator.iter_errors(&instance).take(5) {
                    violations.push(format!(
                        "body at `{}`: {} (schema {})",
                        error.instance_path(),
                        truncate(&error.to_string(), 300),
                        error.schema_path()
                    ));
                }
            }
            Err(e) => violations.push(e),
        }
    }

    /// Holds one response against the document.
    pub fn check(
        &self,
        method: &Method,
        path: &str,
        request_headers: &HeaderMap,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Checked> {
        if method == Method::OPTIONS
            && request_headers.contains_key("access-control-request-method")
        {
            return None;
        }
        let mut violations = Vec::new();
        let method_lower = method.as_str().to_ascii_lowercase();
        let Some(template) = self.template(path) else {
            let operation = format!("{method} (undeclared path)");
            if status != StatusCode::NOT_FOUND {
                violations.push(format!(
                    "{path} is not in the document, answered {status} (only 404 may answer an unknown path)"
                ));
            }
            self.check_problem(headers, body, &mut violations);
            return Some(Checked {
                operation,
                violations,
            });
        };
        let operation = format!("{method} {template}");
        let item_pointer = format!("/paths/{}", escape(template));
        let Some(op) = self
            .doc
            .pointer(&item_pointer)
            .and_then(|item| item.get(&method_lower))
        else {
            if status != StatusCode::METHOD_NOT_ALLOWED {
                violations.push(format!(
                    "{method} is not declared for {template}, answered {status} (only 405 may)"
                ));
            }
            self.check_problem(headers, body, &mut violations);
            return Some(Checked {
                operation,
                violations,
            });
        };
        let responses = op.get("responses").and_then(Value::as_object);
        let code = status.as_u16().to_string();
        let range = format!("{}XX", status.as_u16() / 100);
        let key = responses.and_then(|r| {
            [code.as_str(), range.as_str(), "default"]
                .into_iter()
                .find(|k| r.contains_key(*k))
        });
        let Some(key) = key else {
            let declared: Vec<&String> = responses.map(|r| r.keys().collect()).unwrap_or_default();
            violations.push(format!(
                "status {} is not declared (declared: {declared:?}); body: {}",
                status.as_u16(),
                truncate(&String::from_utf8_lossy(body), 300)
            ));
            return Some(Checked {
                operation,
                violations,
            });
        };
        let response_pointer = format!("{item_pointer}/{method_lower}/responses/{}", escape(key));
        let mut response_pointer_resolved = response_pointer.clone();
        let raw = &op["responses"][key];
        if let Some(reference) = raw.get("$ref").and_then(Value::as_str) {
            response_pointer_resolved = reference.trim_start_matches('#').to_owned();
        }
        let response = self.resolve(raw, &mut violations);
        let head = method == Method::HEAD;
        self.check_body(
            response,
            (key, head),
            (headers, body),
            &response_pointer_resolved,
            &mut violations,
        );
        Some(Checked {
            operation,
            violations,
        })
    }

    /// The response's body and content type against what the document
    /// declares for its status `key` (the response object `response`, found
    /// at `response_pointer`); `head`: a HEAD request, which has no body.
    fn check_body(
        &self,
        response: &Value,
        (key, head): (&str, bool),
        (headers, body): (&HeaderMap, &[u8]),
        response_pointer_resolved: &str,
        violations: &mut Vec<String>,
    ) {
        let content = response.get("content").and_then(Value::as_object);
        let media = content_type(headers);
        match (content.filter(|c| !c.is_empty()), media) {
            (None, None) => {
                if !body.is_empty() && !head {
                    violations.push("a body came without a content type".into());
                }
            }
            (None, Some(media)) => {
                if !body.is_empty() {
                    violations.push(format!(
                        "status {key} declares no body, got {media} ({} bytes)",
                        body.len()
                    ));
                }
            }
            (Some(content), None) => {
                if !head {
                    let declared: Vec<&String> = content.keys().collect();
                    violations.push(format!(
                        "no content type on the response (declared: {declared:?})"
                    ));
                }
            }
            (Some(content), Some(media)) => {
                let declared = content.keys().find(|k| media_matches(k, &media));
                match declared {
                    None => {
                        let declared: Vec<&String> = content.keys().collect();
                        violations.push(format!(
                            "content type {media} is not declared for status {key} (declared: {declared:?})"
                        ));
                    }
                    Some(declared) => {
                        let media_object = self.resolve(&content[declared], violations);
                        if media_object.get("schema").is_none() {
                            violations.push(format!("{declared} for status {key} has no schema"));
                        } else if is_json(&media) && !head {
                            let pointer = if media_object.get("$ref").is_some() {
                                // A referenced media type object: validate from where it lives.
                                content[declared]["$ref"]
                                    .as_str()
                                    .map(|r| format!("{}/schema", r.trim_start_matches('#')))
                                    .unwrap_or_default()
                            } else {
                                format!(
                                    "{response_pointer_resolved}/content/{}/schema",
                                    escape(declared)
                                )
                            };
                            self.validate_json(&pointer, body, violations);
                        }
                    }
                }
            }
        }
    }

    fn check_problem(&self, headers: &HeaderMap, body: &[u8], violations: &mut Vec<String>) {
        match content_type(headers).as_deref() {
            Some("application/problem+json") => match self.problem_schema_pointer() {
                Some(pointer) => self.validate_json(&pointer, body, violations),
                None => violations.push("the document declares no problem schema".into()),
            },
            other => violations.push(format!(
                "expected an application/problem+json body, got {}",
                other.unwrap_or("no content type")
            )),
        }
    }
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
}

fn media_matches(declared: &str, actual: &str) -> bool {
    let declared = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if declared == actual || declared == "*/*" {
        return true;
    }
    match declared.strip_suffix("/*") {
        Some(kind) => actual.split('/').next() == Some(kind),
        None => false,
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[derive(Default)]
struct Tally {
    responses: u64,
    with_violations: u64,
    per_operation: BTreeMap<String, (u64, u64)>,
    /// (operation, message) → count
    messages: BTreeMap<(String, String), u64>,
}

fn tally() -> &'static Mutex<Tally> {
    static TALLY: OnceLock<Mutex<Tally>> = OnceLock::new();
    TALLY.get_or_init(|| Mutex::new(Tally::default()))
}

/// Where the summary goes.
pub fn report_path() -> PathBuf {
    if let Ok(p) = std::env::var("MOTCUA_CONTRACT_REPORT") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("contract/violations.txt")
}

fn record(checked: &Checked) {
    let mut t = tally().lock().unwrap_or_else(|e| e.into_inner());
    t.responses += 1;
    let bad = !checked.violations.is_empty();
    if bad {
        t.with_violations += 1;
    }
    let entry = t
        .per_operation
        .entry(checked.operation.clone())
        .or_default();
    entry.0 += 1;
    if bad {
        entry.1 += 1;
    }
    for v in &checked.violations {
        let kind = kind_of(v);
        *t.messages
            .entry((checked.operation.clone(), kind))
            .or_default() += 1;
    }
    if bad || t.responses % 50 == 1 {
        write_summary(&t);
    }
}

/// A violation without the values it quoted, so that one broken declaration
/// counts once: `body at /items/*/status (schema …/enum)`.
fn kind_of(violation: &str) -> String {
    if let Some(rest) = violation.strip_prefix("body at `") {
        let (path, rest) = rest.split_once('`').unwrap_or((rest, ""));
        let path: Vec<&str> = path
            .split('/')
            .map(|p| if p.parse::<u64>().is_ok() { "*" } else { p })
            .collect();
        let schema = rest
            .rsplit_once("(schema ")
            .map(|(_, s)| s.trim_end_matches(')'))
            .unwrap_or_default();
        return format!("body at {} (schema {schema})", path.join("/"));
    }
    let kind = violation.split("; body:").next().unwrap_or(violation);
    // "… got application/json (43 bytes)": the size is not part of the kind.
    match kind.rsplit_once(" (") {
        Some((head, tail)) if tail.ends_with(" bytes)") => head.to_owned(),
        _ => kind.to_owned(),
    }
}

fn write_summary(t: &Tally) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "contract check: {} responses checked, {} with violations, {} unique violations (operation × kind), {} operations seen",
        t.responses,
        t.with_violations,
        t.messages.len(),
        t.per_operation.len()
    );
    let _ = writeln!(
        out,
        "\n# per operation: responses checked / with violations"
    );
    for (op, (n, bad)) in &t.per_operation {
        let _ = writeln!(out, "{n:6} {bad:6}  {op}");
    }
    let _ = writeln!(out, "\n# violations: count  operation  message");
    for ((op, message), n) in &t.messages {
        let _ = writeln!(out, "{n:6}  {op}  {message}");
    }
    let path = report_path();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = std::fs::write(&path, out);
}

/// Checks a response against the committed document, records it, and in
/// `fail` mode panics with the violations.
pub fn enforce(
    method: &Method,
    url: &reqwest::Url,
    request_headers: &HeaderMap,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) {
    let Some(checked) =
        Contract::committed().check(method, url.path(), request_headers, status, headers, body)
    else {
        return;
    };
    record(&checked);
    if !checked.violations.is_empty() && Mode::from_env() == Mode::Fail {
        panic!(
            "contract violation: {} {} → {} ({}):\n  - {}\n(MOTCUA_CONTRACT=report counts them without failing)",
            method,
            url.path(),
            status.as_u16(),
            checked.operation,
            checked.violations.join("\n  - ")
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use reqwest::header::{CONTENT_TYPE, HeaderValue};

    fn doc() -> Contract {
        Contract::new(json!({
            "openapi": "3.1.0",
            "paths": {
                "/things/{id}": {
                    "get": {"responses": {
                        "200": {"description": "a thing", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                        "4XX": {"$ref": "#/components/responses/Problem"}
                    }},
                    "delete": {"responses": {"204": {"description": "gone"}}}
                },
                "/things/special": {
                    "get": {"responses": {"200": {"description": "csv", "content": {"text/csv": {"schema": {"type": "string"}}, "text/html": {}}}}}
                }
            },
            "components": {
                "schemas": {
                    "Thing": {"type": "object", "required": ["id", "kind"], "properties": {
                        "id": {"type": "integer"},
                        "kind": {"type": "string", "enum": ["small", "large"]},
                        "at": {"type": "string", "format": "date-time"}
                    }},
                    "Problem": {"type": "object", "required": ["status", "title"], "properties": {"status": {"type": "integer"}, "title": {"type": "string"}}}
                },
                "responses": {
                    "Problem": {"description": "a problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
                }
            }
        }))
    }

    fn headers(media: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(m) = media {
            h.insert(CONTENT_TYPE, HeaderValue::from_str(m).unwrap());
        }
        h
    }

    fn check(method: Method, path: &str, status: u16, media: Option<&str>, body: &str) -> Checked {
        doc()
            .check(
                &method,
                path,
                &HeaderMap::new(),
                StatusCode::from_u16(status).unwrap(),
                &headers(media),
                body.as_bytes(),
            )
            .unwrap()
    }

    #[test]
    fn a_conforming_response_passes() {
        let c = check(
            Method::GET,
            "/things/7",
            200,
            Some("application/json; charset=utf-8"),
            r#"{"id": 7, "kind": "small", "at": "2026-01-01T00:00:00Z"}"#,
        );
        assert_eq!(c.operation, "GET /things/{id}");
        assert!(c.violations.is_empty(), "{:?}", c.violations);
        let c = check(Method::DELETE, "/things/7", 204, None, "");
        assert!(c.violations.is_empty(), "{:?}", c.violations);
    }

    #[test]
    fn a_body_off_its_schema_is_a_violation() {
        for body in [
            r#"{"id": 7, "kind": "Small"}"#,
            r#"{"id": "7", "kind": "small"}"#,
            r#"{"kind": "small"}"#,
            r#"{"id": 7, "kind": "small", "at": "yesterday"}"#,
            "not json",
        ] {
            let c = check(
                Method::GET,
                "/things/7",
                200,
                Some("application/json"),
                body,
            );
            assert_eq!(c.violations.len(), 1, "{body}: {:?}", c.violations);
        }
    }

    #[test]
    fn undeclared_status_and_content_type_are_violations() {
        let c = check(
            Method::GET,
            "/things/7",
            500,
            Some("application/json"),
            "{}",
        );
        assert!(
            c.violations[0].contains("status 500 is not declared"),
            "{c:?}"
        );
        let c = check(Method::GET, "/things/7", 200, Some("text/plain"), "7");
        assert!(
            c.violations[0].contains("text/plain is not declared"),
            "{c:?}"
        );
        let c = check(
            Method::DELETE,
            "/things/7",
            204,
            Some("application/json"),
            "{}",
        );
        assert!(c.violations[0].contains("declares no body"), "{c:?}");
    }

    #[test]
    fn ranges_and_referenced_responses_resolve() {
        let c = check(
            Method::GET,
            "/things/7",
            404,
            Some("application/problem+json"),
            r#"{"status": 404, "title": "Not found"}"#,
        );
        assert!(c.violations.is_empty(), "{:?}", c.violations);
        let c = check(
            Method::GET,
            "/things/7",
            404,
            Some("application/problem+json"),
            r#"{"status": "404"}"#,
        );
        assert_eq!(c.violations.len(), 2, "{:?}", c.violations);
        let c = check(
            Method::GET,
            "/things/7",
            404,
            Some("application/json"),
            "{}",
        );
        assert!(c.violations[0].contains("is not declared"), "{c:?}");
    }

    #[test]
    fn literal_segments_win_and_a_media_type_needs_a_schema() {
        let c = check(
            Method::GET,
            "/things/special",
            200,
            Some("text/csv"),
            "a,b\n",
        );
        assert_eq!(c.operation, "GET /things/special");
        assert!(c.violations.is_empty(), "{:?}", c.violations);
        let c = check(
            Method::GET,
            "/things/special",
            200,
            Some("text/html"),
            "<p>",
        );
        assert!(c.violations[0].contains("has no schema"), "{c:?}");
    }

    #[test]
    fn unknown_paths_and_methods_may_only_be_404_and_405_problems() {
        let problem = r#"{"status": 404, "title": "Not found"}"#;
        let c = check(
            Method::GET,
            "/nowhere",
            404,
            Some("application/problem+json"),
            problem,
        );
        assert!(c.violations.is_empty(), "{:?}", c.violations);
        let c = check(Method::GET, "/nowhere", 200, Some("text/html"), "<p>");
        assert_eq!(c.violations.len(), 2, "{:?}", c.violations);
        let c = check(
            Method::PUT,
            "/things/7",
            405,
            Some("application/problem+json"),
            problem,
        );
        assert!(c.violations.is_empty(), "{:?}", c.violations);
        let c = check(Method::PUT, "/things/7", 404, Some("text/plain"), "");
        assert_eq!(c.violations.len(), 2, "{:?}", c.violations);
    }

    #[test]
    fn violations_are_counted_by_kind_not_by_value() {
        assert_eq!(
            kind_of(
                "body at `/items/3/status`: \"Open\" is not one of … (schema /components/schemas/S/enum)"
            ),
            "body at /items/*/status (schema /components/schemas/S/enum)"
        );
        assert_eq!(
            kind_of("status 200 declares no body, got application/json (43 bytes)"),
            "status 200 declares no body, got application/json"
        );
        assert_eq!(
            kind_of("status 500 is not declared (declared: [\"200\"]); body: {}"),
            "status 500 is not declared (declared: [\"200\"])"
        );
    }

    #[test]
    fn cors_preflights_are_outside_the_contract() {
        let mut request = HeaderMap::new();
        request.insert(
            "access-control-request-method",
            HeaderValue::from_static("GET"),
        );
        let checked = doc().check(
            &Method::OPTIONS,
            "/things/7",
            &request,
            StatusCode::OK,
            &HeaderMap::new(),
            b"",
        );
        assert_eq!(checked, None);
    }
}
