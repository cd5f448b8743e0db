//! Entity tags and `If-Match` (RFC 9110 §8.8.3, §13.1.1) for resources that
//! are edited in place: `If-Match` is optional on them, but when sent it must
//! name the current representation (or be `*`), else 412 with the current `ETag`.

use actix_web::HttpRequest;
use actix_web::http::header::{ETAG, IF_MATCH};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult, ErrorCode};

/// A strong tag from a version number: `"v3"`.
pub fn of_version(version: impl std::fmt::Display) -> String {
    format!("\"v{version}\"")
}

/// A strong tag from the representation itself, for resources with no version.
pub fn of_representation(value: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    // The first 10 bytes of the digest: 20 hex digits.
    format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..10]))
}

/// What the request's `If-Match` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// No header: the write goes ahead.
    Absent,
    /// `*`: any current representation.
    Any,
    /// One or more tags, compared weakly (`W/` ignored).
    Tags(Vec<String>),
}

impl IfMatch {
    pub fn of(req: &HttpRequest) -> Self {
        let Some(value) = req.headers().get(IF_MATCH) else {
            return IfMatch::Absent;
        };
        let text = value.to_str().unwrap_or("").trim();
        if text == "*" {
            return IfMatch::Any;
        }
        IfMatch::Tags(
            text.split(',')
                .map(|t| t.trim())
                .map(|t| t.strip_prefix("W/").unwrap_or(t).to_owned())
                .filter(|t| !t.is_empty())
                .collect(),
        )
    }

    /// 412 `precondition_failed`, carrying the current `ETag`, unless the tags allow `current`.
    pub fn check(&self, current: &str) -> ApiResult<()> {
        match self {
            IfMatch::Absent | IfMatch::Any => Ok(()),
            IfMatch::Tags(tags) if tags.iter().any(|t| t == current) => Ok(()),
            IfMatch::Tags(_) => {
                Err(ApiError::new(ErrorCode::PreconditionFailed).header(ETAG, current.to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_compares_weakly_and_takes_lists_and_star() {
        let current = "\"v3\"";
        let cases = [
            (None, true),
            (Some("*"), true),
            (Some("\"v3\""), true),
            (Some("W/\"v3\""), true),
            (Some("\"v1\", \"v3\""), true),
            (Some("\"v2\""), false),
            (Some("v3"), false),
            (Some(""), false),
        ];
        for (header, ok) in cases {
            let mut req = actix_web::test::TestRequest::default();
            if let Some(h) = header {
                req = req.insert_header((IF_MATCH, h));
            }
            let got = IfMatch::of(&req.to_http_request()).check(current);
            assert_eq!(got.is_ok(), ok, "{header:?}");
        }
        assert_ne!(
            of_representation(&serde_json::json!({"a": 1})),
            of_representation(&serde_json::json!({"a": 2}))
        );
    }
}
