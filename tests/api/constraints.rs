//! The constraints the document publishes are the ones the server enforces.
//!
//! 1. Every rule schema of the committed document (a component with a length,
//!    pattern or range of its own) is held against the domain check of the
//!    rule of the same name: for values at and just past the published limits,
//!    the document and the check give the same verdict.
//! 2. Through the server, on both databases: for request fields that name a
//!    rule, the values the document allows are accepted and the ones just past
//!    its limits are refused with that field in `errors` — the limits read
//!    from the document, never restated here.

use motcua_domain::Role;
use motcua_domain::rules::*;
use motcua_domain::validation::FieldErrors;
use motcua_tests::{TestApp, bearer, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(request_fields_enforce_the_published_rules);

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn rule_schema<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc.pointer(&format!("/components/schemas/{name}"))
        .unwrap_or_else(|| panic!("the document has no schema {name}"))
}

fn valid(schema: &Value, value: &Value) -> bool {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(schema)
        .unwrap()
        .is_valid(value)
}

/// Values at and just past a string schema's limits, plus its examples and
/// a few shapes every pattern must have a verdict on.
fn string_probes(schema: &Value) -> Vec<String> {
    let mut out = vec![
        String::new(),
        " ".into(),
        "x y".into(),
        "0".into(),
        "a@b.vn".into(),
    ];
    if let Some(max) = schema["maxLength"].as_u64() {
        let max = usize::try_from(max).unwrap();
        out.extend(["a".repeat(max), "a".repeat(max + 1), "ễ".repeat(max)]);
        out.push(format!(" {} ", "a".repeat(max.saturating_sub(2).max(1))));
    }
    if let Some(min) = schema["minLength"].as_u64() {
        let min = usize::try_from(min).unwrap();
        out.extend(["a".repeat(min), "a".repeat(min.saturating_sub(1))]);
        out.push("1".repeat(min.max(1)));
    }
    for example in schema["examples"].as_array().into_iter().flatten() {
        let example = example.as_str().unwrap();
        out.push(example.to_owned());
        // One character more, one less, one changed: just past the pattern.
        out.push(format!("{example}0"));
        let mut shorter = example.chars();
        shorter.next_back();
        out.push(shorter.as_str().to_owned());
        let mut changed = example.chars();
        changed.next();
        out.push(format!("x{}", changed.as_str()));
    }
    out
}

fn integer_probes(schema: &Value) -> Vec<i64> {
    let (min, max) = (
        schema["minimum"].as_i64().unwrap(),
        schema["maximum"].as_i64().unwrap(),
    );
    vec![min - 1, min, min + 1, max - 1, max, max + 1]
}

fn text<R: TextRule>(value: &str) -> bool {
    let mut e = FieldErrors::new();
    R::check(&mut e, "f", value);
    e.is_empty()
}

fn text_or_blank<R: TextRule>(value: &str) -> bool {
    let mut e = FieldErrors::new();
    R::check_optional(&mut e, "f", Some(value));
    e.is_empty()
}

fn blank_or(check: impl Fn(&str) -> bool) -> impl Fn(&str) -> bool {
    move |v: &str| v.trim().is_empty() || check(v)
}

fn phone(value: &str) -> bool {
    PhoneNumber::check(&mut FieldErrors::new(), "f", value).is_some()
}

fn citizen_id(value: &str) -> bool {
    CitizenIdNumber::check(&mut FieldErrors::new(), "f", value).is_some()
}

fn password(value: &str) -> bool {
    let mut e = FieldErrors::new();
    Password::check(&mut e, "f", value, "someone.else");
    e.is_empty()
}

fn username(value: &str) -> bool {
    let mut e = FieldErrors::new();
    Username::check(&mut e, "f", value);
    e.is_empty()
}

type StringCheck = Box<dyn Fn(&str) -> bool>;
type RangeCheck = fn(i64) -> bool;

/// Each string rule's check, by the name its schema has in the document.
fn string_rules() -> Vec<(&'static str, StringCheck)> {
    macro_rules! texts {
        ($($rule:ident / $blank:ident),+) => {
            vec![$(
                (stringify!($rule), Box::new(text::<$rule>) as StringCheck),
                (stringify!($blank), Box::new(text_or_blank::<$rule>) as StringCheck),
            )+]
        };
    }
    let mut rules = texts!(
        PersonName / PersonNameOrBlank,
        ShortText / ShortTextOrBlank,
        Message / MessageOrBlank,
        Reason / ReasonOrBlank,
        Note / NoteOrBlank,
        Comment / CommentOrBlank,
        ReceiptNumber / ReceiptNumberOrBlank,
        ProcedureName / ProcedureNameOrBlank,
        SectorName / SectorNameOrBlank,
        Paragraph / ParagraphOrBlank,
        FeeCode / FeeCodeOrBlank,
        AgencyName / AgencyNameOrBlank
    );
    let others: Vec<(&'static str, StringCheck)> = vec![
        ("CitizenIdNumber", Box::new(citizen_id)),
        ("CitizenIdNumberOrBlank", Box::new(blank_or(citizen_id))),
        ("PhoneNumber", Box::new(phone)),
        ("PhoneNumberOrBlank", Box::new(blank_or(phone))),
        ("Email", Box::new(Email::is_valid)),
        ("EmailOrBlank", Box::new(blank_or(Email::is_valid))),
        ("Password", Box::new(password)),
        ("Username", Box::new(username)),
        ("AgencyCode", Box::new(AgencyCode::is_valid)),
        ("ProcedureCode", Box::new(ProcedureCode::is_valid)),
        (
            "ContactOrBlank",
            Box::new(|v: &str| {
                let mut e = FieldErrors::new();
                ContactOrBlank::check(&mut e, "f", Some(v));
                e.is_empty()
            }),
        ),
        ("OneTimeCode", Box::new(OneTimeCode::is_valid)),
    ];
    rules.extend(others);
    // Credentials: `validator`'s `length` with the rule's bounds, counted in
    // characters (crates/http/src/routes/auth.rs runs the derive itself).
    macro_rules! lengths {
        ($($rule:ident),+) => {$(
            rules.push((
                stringify!($rule),
                Box::new(|v: &str| ($rule::MIN..=$rule::MAX).contains(&(v.chars().count() as u64))),
            ));
        )+};
    }
    lengths!(SignInName, Secret, OpaqueToken, ScopeList);
    rules
}

fn range_rules() -> Vec<(&'static str, RangeCheck)> {
    macro_rules! ranges {
        ($($rule:ident),+) => { vec![$((stringify!($rule), $rule::contains as RangeCheck)),+] };
    }
    ranges!(
        AmountVnd,
        FeeAmountVnd,
        ProcessingDays,
        YearNumber,
        DueWithinDays
    )
}

/// A tax code's check digit is beyond a pattern: the document may only be
/// looser there, never stricter.
#[test]
fn tax_codes_the_server_accepts_match_the_published_pattern() {
    let doc = document();
    let schema = rule_schema(&doc, "TaxCodeNumberOrBlank");
    let examples = ["0100233488", "0314409058-002", "0100112437"];
    for code in examples {
        assert!(TaxCodeNumber::parse(code).is_some(), "{code}");
        assert!(valid(schema, &json!(code)), "{code}");
    }
    for probe in string_probes(schema) {
        if TaxCodeNumber::parse(&probe).is_some_and(|c| c.as_str() == probe) {
            assert!(valid(schema, &json!(probe)), "{probe:?}");
        }
        if !valid(schema, &json!(probe)) {
            // Only the separators people type are accepted beyond the pattern.
            let canonical = TaxCodeNumber::parse(&probe).map(|c| c.as_str().to_owned());
            assert!(canonical.is_none_or(|c| c != probe), "{probe:?}");
        }
    }
}

#[test]
fn every_published_rule_agrees_with_its_check() {
    let doc = document();
    let strings = string_rules();
    let ranges = range_rules();
    let mut checked = Vec::new();
    let in_document = |name: &str| doc.pointer(&format!("/components/schemas/{name}"));
    // A rule no request names is not in the document: nothing to hold it to.
    for (name, check) in &strings {
        let Some(schema) = in_document(name) else {
            continue;
        };
        let (mut accepted, mut refused) = (0, 0);
        for probe in string_probes(schema) {
            let published = valid(schema, &json!(probe));
            assert_eq!(
                published,
                check(&probe),
                "{name}: the document says {published} for {probe:?}, the check does not"
            );
            if published {
                accepted += 1
            } else {
                refused += 1
            }
        }
        assert!(
            accepted > 0 && refused > 0,
            "{name}: probes on one side only"
        );
        checked.push(*name);
    }
    for (name, contains) in &ranges {
        let Some(schema) = in_document(name) else {
            continue;
        };
        for probe in integer_probes(schema) {
            assert_eq!(
                valid(schema, &json!(probe)),
                contains(probe),
                "{name}: {probe}"
            );
        }
        checked.push(*name);
    }
    checked.extend(["TaxCodeNumber", "TaxCodeNumberOrBlank"]);
    assert!(checked.len() > 20, "rules checked: {checked:?}");
    // Every constrained scalar schema of the document is a rule checked here.
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        let scalar = matches!(schema["type"].as_str(), Some("string" | "integer"));
        let constrained = ["pattern", "minLength", "maxLength", "minimum", "maximum"]
            .iter()
            .any(|k| schema.get(*k).is_some());
        if scalar && constrained {
            assert!(
                checked.contains(&name.as_str()),
                "{name} publishes constraints no test holds to a check"
            );
        }
    }
}

/// The rule a request field names in the document: `$ref`, alone or beside `null`.
fn rule_of(field_schema: &Value) -> String {
    let reference = field_schema["$ref"].as_str().or_else(|| {
        field_schema["oneOf"]
            .as_array()?
            .iter()
            .find_map(|s| s["$ref"].as_str())
    });
    let reference = reference.unwrap_or_else(|| panic!("no rule named in {field_schema}"));
    reference.rsplit('/').next().unwrap().to_owned()
}

/// What a request sends: a JSON body with the value at a pointer, or a query parameter.
enum Target {
    Body {
        method: reqwest::Method,
        path: String,
        body: Value,
        pointer: &'static str,
        /// The property's schema in the document, as a JSON pointer.
        schema: String,
    },
    Query {
        path: &'static str,
        name: &'static str,
    },
}

/// Whether the server refused the value: 400 or 422 naming `field` (other
/// fields may be refused for reasons of their own, e.g. a committed time
/// longer than the regulated one).
async fn refused(res: reqwest::Response, field: &str) -> bool {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(
        status < 300 || matches!(status, 400 | 422),
        "unexpected {status}: {body}"
    );
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| e["field"] == field)
}

async fn request_fields_enforce_the_published_rules(app: TestApp) {
    let doc = document();
    let admin_token = app.token(Role::Admin).await;
    let admin = bearer(&admin_token);
    let user = app.user_id("demo.officer").await;
    let mut procedure = app
        .get_json(&admin_token, "/api/v1/procedures/2.001584")
        .await;
    for key in [
        "id",
        "sector_code",
        "agency",
        "version",
        "created_at",
        "updated_at",
        "abolished_at",
    ] {
        procedure.as_object_mut().unwrap().remove(key);
    }
    let targets = targets(user, &procedure);
    for (field, target) in targets {
        let (rule, probes): (String, Vec<Value>) = match &target {
            Target::Body { schema, .. } => {
                let field_schema = doc.pointer(schema).unwrap_or_else(|| panic!("{schema}"));
                let rule = rule_of(field_schema);
                let probes = string_or_integer_probes(rule_schema(&doc, &rule));
                (rule, probes)
            }
            Target::Query { path, name } => {
                let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
                let param = params.iter().find(|p| p["name"] == *name).unwrap();
                let rule = rule_of(&param["schema"]);
                let probes = string_or_integer_probes(rule_schema(&doc, &rule));
                (rule, probes)
            }
        };
        let schema = rule_schema(&doc, &rule);
        let (mut accepted, mut refusals) = (0, 0);
        for probe in probes {
            let published = valid(schema, &probe);
            let res = match &target {
                Target::Body {
                    method,
                    path,
                    body,
                    pointer,
                    ..
                } => {
                    let mut body = body.clone();
                    if body.pointer(pointer).is_none() {
                        body[pointer.trim_start_matches('/')] = Value::Null;
                    }
                    *body.pointer_mut(pointer).unwrap() = probe.clone();
                    app.client
                        .request(method.clone(), app.url(path))
                        .header("authorization", &admin)
                        .json(&body)
                        .send()
                        .await
                        .unwrap()
                }
                Target::Query { path, name } => app
                    .get(path)
                    .header("authorization", &admin)
                    .query(&[(name, probe.to_string())])
                    .send()
                    .await
                    .unwrap(),
            };
            let was_refused = refused(res, field).await;
            assert_eq!(
                published,
                !was_refused,
                "{field} ({rule}) = {probe}: the document says {published}, the server {}",
                if was_refused { "refused" } else { "accepted" }
            );
            if published {
                accepted += 1
            } else {
                refusals += 1
            }
        }
        assert!(
            accepted > 0 && refusals > 0,
            "{field}: probes on one side only"
        );
    }
}

/// The fields probed: (field name in errors, where it goes), for the user
/// `user` and the procedure `procedure` (as the API shows it, without its
/// read-only members).
fn targets(user: i64, procedure: &Value) -> Vec<(&'static str, Target)> {
    let schemas = "/components/schemas";
    let user_field = |field: &'static str, pointer: &'static str| {
        (
            field,
            Target::Body {
                method: reqwest::Method::PATCH,
                path: format!("/api/v1/users/{user}"),
                body: json!({}),
                pointer,
                schema: format!("{schemas}/UpdateUserRequest/properties/{field}"),
            },
        )
    };
    vec![
        user_field("full_name", "/full_name"),
        user_field("phone", "/phone"),
        user_field("email", "/email"),
        user_field("password", "/password"),
        (
            "name",
            Target::Body {
                method: reqwest::Method::PUT,
                path: "/api/v1/calendar/days/2026-12-30".into(),
                body: json!({"kind": "holiday"}),
                pointer: "/name",
                schema: format!("{schemas}/DayRequest/properties/name"),
            },
        ),
        (
            "name",
            Target::Body {
                method: reqwest::Method::PUT,
                path: "/api/v1/procedures/2.001584".into(),
                body: procedure.clone(),
                pointer: "/name",
                schema: format!("{schemas}/ProcedureSpec/properties/name"),
            },
        ),
        (
            "regulated_days",
            Target::Body {
                method: reqwest::Method::PUT,
                path: "/api/v1/procedures/2.001584".into(),
                body: {
                    let mut p = procedure.clone();
                    p["committed_days"] = json!(0);
                    p
                },
                pointer: "/regulated_days",
                schema: format!("{schemas}/ProcedureSpec/properties/regulated_days"),
            },
        ),
        (
            "steps[0]",
            Target::Body {
                method: reqwest::Method::PUT,
                path: "/api/v1/procedures/2.001584".into(),
                body: procedure.clone(),
                pointer: "/steps/0",
                schema: format!("{schemas}/ProcedureSpec/properties/steps/items"),
            },
        ),
        (
            "year",
            Target::Query {
                path: "/api/v1/calendar/days",
                name: "year",
            },
        ),
        (
            "due_within",
            Target::Query {
                path: "/api/v1/dossiers",
                name: "due_within",
            },
        ),
    ]
}

fn string_or_integer_probes(schema: &Value) -> Vec<Value> {
    match schema["type"].as_str() {
        Some("integer") => integer_probes(schema)
            .into_iter()
            .map(Value::from)
            .collect(),
        _ => string_probes(schema)
            .into_iter()
            .map(Value::from)
            // Leading or trailing blanks are trimmed before a text is
            // measured; the document states the stricter, untrimmed length.
            .filter(|v| {
                v.as_str()
                    .is_none_or(|s| s.trim() == s || s.trim().is_empty())
            })
            .collect(),
    }
}
