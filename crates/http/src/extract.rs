//! Extractors that report bad input as problem+json with field paths:
//! JSON bodies, query strings, and validator-derived rules.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt;
use motcua_app::input::{field_error, json_has_nul};
use motcua_domain::numeric::count_i64;
use motcua_domain::rule::RuleCode;
use motcua_domain::validation::{FieldError, Problem};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};

/// Largest JSON body, set from configuration as app data.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimit(pub usize);

/// A JSON body. Malformed syntax → 400 `malformed_json`; well-formed but wrong
/// shape → 422 `validation_failed` naming the field; too big → 413; not JSON → 415.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|mime| mime == "application/json" || mime.ends_with("+json"));
        let limit = req.app_data::<JsonLimit>().map_or(1024 * 1024, |l| l.0);
        let declared = crate::middleware::declared_length(req.headers());
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json {
                return Err(ApiError::new(ErrorCode::UnsupportedMediaType).detail(
                    "Cần gửi Content-Type: application/json.",
                    "Send Content-Type: application/json.",
                ));
            }
            if declared.is_some_and(|n| n > limit as u64) {
                return Err(too_large(limit));
            }
            let bytes = read_limited(&mut payload, limit).await?;
            parse_json(&bytes).map(Json)
        })
    }
}

/// A body sent as JSON or as `application/x-www-form-urlencoded` (as OAuth2
/// clients send token requests, RFC 6749 §4.4.2), with the same field errors
/// either way.
#[derive(Debug)]
pub struct JsonOrForm<T>(pub T);

pub const FORM: &str = "application/x-www-form-urlencoded";

impl<T: DeserializeOwned + 'static> FromRequest for JsonOrForm<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|ct| ct.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case(FORM));
        if !is_form {
            let json = Json::<T>::from_request(req, payload);
            return Box::pin(async move { json.await.map(|Json(v)| JsonOrForm(v)) });
        }
        let limit = req.app_data::<JsonLimit>().map_or(1024 * 1024, |l| l.0);
        let mut payload = payload.take();
        Box::pin(async move {
            let bytes = read_limited(&mut payload, limit).await?;
            let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(&bytes));
            serde_path_to_error::deserialize::<_, T>(de)
                .map(JsonOrForm)
                .map_err(|err| {
                    let path = err.path().to_string();
                    data_error(&path, &err.into_inner().to_string())
                })
        })
    }
}

/// Reads a whole body, refusing it with 413 as soon as it passes `limit`.
pub async fn read_limited<S, E>(payload: &mut S, limit: usize) -> Result<web::BytesMut, ApiError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::new(ErrorCode::BadRequest).detail_same(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge).detail(
        format!("Tối đa {limit} byte."),
        format!("At most {limit} bytes."),
    )
}

/// 400 `invalid_character`: a NUL in a JSON string, path or query parameter.
pub fn nul_error() -> ApiError {
    ApiError::new(ErrorCode::InvalidCharacter).detail(
        "Không được gửi ký tự NUL (\\u0000).",
        "The NUL character (\\u0000) is not accepted.",
    )
}

/// Every JSON body of the API is an object; serde would also read a struct
/// from an array of its fields in order (`[null, null]`), which the contract
/// does not allow.
fn not_an_object() -> ApiError {
    data_error("", "the body must be a JSON object")
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if json_has_nul(bytes) {
        return Err(nul_error());
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(not_an_object());
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => {
            de.end()
                .map_err(|e| ApiError::new(ErrorCode::MalformedJson).detail_same(e.to_string()))?;
            Ok(value)
        }
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => Err(data_error(&path, &inner.to_string())),
                _ => Err(ApiError::new(ErrorCode::MalformedJson).detail_same(inner.to_string())),
            }
        }
    }
}

/// A JSON value already read (for example to fingerprint it) into a type, with field errors.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if value.is_array() {
        return Err(not_an_object());
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        data_error(&path, &message)
    })
}

/// A serde data error as field errors, for callers that collect them per row.
/// Turns a serde data error (JSON or query string) into a field error.
fn data_error(path: &str, message: &str) -> ApiError {
    let message = message.split(" at line ").next().unwrap_or(message);
    ApiError::validation(vec![field_error(path, message)]).detail_same(message.to_owned())
}

/// A query string. Unknown parameters and values → 400 `invalid_query` naming the parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    if form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(nul_error());
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize::<_, T>(de).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let mut e = data_error(&path, &message);
        e.code = ErrorCode::InvalidQuery;
        e
    })
}

/// Rules declared with `validator`'s derive, as field errors.
pub fn validate<T: validator::Validate>(value: &T) -> Result<(), ApiError> {
    value.validate().map_err(|errors| {
        let mut out = Vec::new();
        collect(&errors, "", &mut out);
        ApiError::validation(out)
    })
}

fn collect(errors: &validator::ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind;
    let mut fields: Vec<_> = errors.errors().iter().collect();
    fields.sort_by_key(|(name, _)| name.to_string());
    for (name, kind) in fields {
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    out.push(FieldError {
                        field: path.clone(),
                        problem: problem_of(e),
                    });
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    collect(inner, &format!("{path}[{i}]"), out);
                }
            }
        }
    }
}

/// A length bound of a validator rule; bounds are never negative.
fn length(bound: i64) -> u64 {
    u64::try_from(bound).unwrap_or(0)
}

fn problem_of(e: &validator::ValidationError) -> Problem {
    let param = |key: &str| e.params.get(key).and_then(serde_json::Value::as_i64);
    match e.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), _)
                if e.params
                    .get("value")
                    .and_then(|v| v.as_str())
                    .is_some_and(|v| count_i64(v.chars().count()) < min) =>
            {
                Problem::TooShort { min: length(min) }
            }
            (_, Some(max)) => Problem::TooLong { max: length(max) },
            (Some(min), None) => Problem::TooShort { min: length(min) },
            _ => Problem::rule(RuleCode::InvalidValue),
        },
        "range" => Problem::OutOfRange {
            min: param("min").unwrap_or(i64::MIN),
            max: param("max").unwrap_or(i64::MAX),
        },
        "required" => Problem::Required,
        "email" => Problem::format("name@example.vn"),
        other => Problem::rule(other.parse().unwrap_or(RuleCode::InvalidValue)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        level: motcua_domain::procedure::AdminLevel,
        days: u32,
    }

    fn problem(json: &str) -> (ErrorCode, Vec<(String, String)>) {
        let e = parse_json::<Body>(json.as_bytes()).unwrap_err();
        (
            e.code,
            e.errors
                .iter()
                .map(|f| (f.field.clone(), f.problem.code().to_owned()))
                .collect(),
        )
    }

    #[test]
    fn json_problems_name_the_field() {
        assert_eq!(problem("{").0, ErrorCode::MalformedJson);
        assert_eq!(problem("{\"name\": \"a\"").0, ErrorCode::MalformedJson);
        assert_eq!(
            problem(r#"{"name":"a","level":"province","days":1} x"#).0,
            ErrorCode::MalformedJson
        );
        let cases = [
            (r#"{"name":"a","level":"province"}"#, ("days", "required")),
            (
                r#"{"name":"a","level":"province","days":"3"}"#,
                ("days", "invalid_type"),
            ),
            (
                r#"{"name":"a","level":"province","days":-1}"#,
                ("days", "invalid_value"),
            ),
            (
                r#"{"name":"a","level":"state","days":1}"#,
                ("level", "not_allowed"),
            ),
            (
                r#"{"name":"a","level":"province","days":1,"x":2}"#,
                ("x", "unknown_field"),
            ),
            (r#""text""#, ("body", "invalid_type")),
        ];
        for (json, (field, code)) in cases {
            let (status, errors) = problem(json);
            assert_eq!(status, ErrorCode::ValidationFailed, "{json}");
            assert_eq!(errors, vec![(field.to_owned(), code.to_owned())], "{json}");
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Params {
        page: Option<u32>,
        online: Option<motcua_domain::procedure::OnlineFilter>,
    }

    #[test]
    fn a_body_must_be_an_object_not_an_array_of_its_fields() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct AllOptional {
            subject: Option<String>,
            body: Option<String>,
        }
        for text in ["[null, null]", "  [\"a\", \"b\"]", "[]"] {
            let e = parse_json::<AllOptional>(text.as_bytes()).unwrap_err();
            assert_eq!(e.code, ErrorCode::ValidationFailed, "{text}");
            assert!(from_value::<AllOptional>(serde_json::json!([null, null])).is_err());
        }
        assert!(parse_json::<AllOptional>(br#"{"body": null}"#).is_ok());
    }

    #[test]
    fn nul_is_refused_in_json_strings_and_queries() {
        for (json, nul) in [
            (r#"{"name":"a\u0000b"}"#, true),
            (r#"{"a\u0000":1}"#, true),
            (r#"{"name":"a\\u0000b"}"#, false),
            (r#"{"name":"a\\\u0000b"}"#, true),
            (r#"{"name":"a\u00001"}"#, true),
            (r#"{"name":"a\u0001"}"#, false),
            (r#"{"name":"\\"}"#, false),
        ] {
            assert_eq!(json_has_nul(json.as_bytes()), nul, "{json}");
        }
        let e =
            parse_json::<Body>(br#"{"name":"\u0000","level":"province","days":1}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidCharacter);
        let e = parse_query::<Params>("page=1&online=%00").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidCharacter);
    }

    #[test]
    fn query_problems_name_the_parameter() {
        assert!(parse_query::<Params>("page=2&online=full").is_ok());
        for (q, field, code) in [
            ("page=abc", "page", "invalid_type"),
            ("online=maybe", "online", "not_allowed"),
            ("x=1", "x", "unknown_field"),
            ("page=-1", "page", "invalid_type"),
        ] {
            let e = parse_query::<Params>(q).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidQuery);
            assert_eq!(e.errors[0].field, field, "{q}");
            assert_eq!(e.errors[0].problem.code(), code, "{q}");
        }
    }
}
