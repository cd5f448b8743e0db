//! Reading untrusted input the same way wherever it arrives (a request body,
//! a query string, an imported file): escaped NULs, and serde's data errors
//! as field errors naming the field.

use motcua_domain::rule::RuleCode;
use motcua_domain::validation::{FieldError, Problem};

/// Whether a JSON text has an escaped NUL (`\u0000`) inside a string. Raw
/// control characters are already invalid JSON; an escaped backslash
/// (`\\u0000`) is not a NUL.
pub fn json_has_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) == Some(&b'u')
                && bytes.get(i + 2..i + 6) == Some(b"0000".as_slice())
            {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// A serde data error at `path` (as `serde_path_to_error` prints it) as the
/// field error it stands for.
pub fn field_error(path: &str, message: &str) -> FieldError {
    let message = message.split(" at line ").next().unwrap_or(message);
    let join = |name: &str| {
        if path == "." || path.is_empty() || path == name || path.ends_with(&format!(".{name}")) {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |s: &str| s.split('`').nth(1).map(str::to_owned);
    let (field, problem) = if let Some(rest) = message.strip_prefix("missing field ") {
        (join(&quoted(rest).unwrap_or_default()), Problem::Required)
    } else if let Some(rest) = message.strip_prefix("unknown field ") {
        (
            join(&quoted(rest).unwrap_or_default()),
            Problem::rule(RuleCode::UnknownField),
        )
    } else if message.starts_with("unknown variant ") {
        let allowed: Vec<String> = message
            .split("expected ")
            .nth(1)
            .map(|list| {
                list.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        (path.to_owned(), Problem::NotAllowed { allowed })
    } else if message.starts_with("invalid type")
        || message.starts_with("invalid digit")
        || message.contains("number too large")
    {
        (path.to_owned(), Problem::rule(RuleCode::InvalidType))
    } else if message.starts_with("input contains invalid characters")
        || message.starts_with("premature end of input")
    {
        (path.to_owned(), Problem::rule(RuleCode::InvalidDate))
    } else {
        (path.to_owned(), Problem::rule(RuleCode::InvalidValue))
    };
    let field = if field.is_empty() || field == "." {
        "body".to_owned()
    } else {
        field
    };
    FieldError { field, problem }
}
