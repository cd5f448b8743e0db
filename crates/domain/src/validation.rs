//! Field-level validation outcomes shared by every rule in the domain.
//!
//! Rules report *what* is wrong with a stable code and its parameters; the
//! HTTP layer turns these into messages in the caller's language.

use serde::Serialize;

use crate::rule::RuleCode;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    Required,
    TooShort {
        min: u64,
    },
    TooLong {
        max: u64,
    },
    OutOfRange {
        min: i64,
        max: i64,
    },
    InvalidFormat {
        expected: String,
    },
    NotAllowed {
        allowed: Vec<String>,
    },
    Duplicate,
    /// A rule with no parameters, named by its own code (e.g. `committed_exceeds_regulated`).
    Rule {
        rule: RuleCode,
    },
}

impl Problem {
    pub fn code(&self) -> &str {
        match self {
            Problem::Required => "required",
            Problem::TooShort { .. } => "too_short",
            Problem::TooLong { .. } => "too_long",
            Problem::OutOfRange { .. } => "out_of_range",
            Problem::InvalidFormat { .. } => "invalid_format",
            Problem::NotAllowed { .. } => "not_allowed",
            Problem::Duplicate => "duplicate",
            Problem::Rule { rule } => rule.as_str(),
        }
    }

    pub fn rule(rule: RuleCode) -> Self {
        Problem::Rule { rule }
    }

    pub fn format(expected: &str) -> Self {
        Problem::InvalidFormat {
            expected: expected.to_owned(),
        }
    }

    pub fn one_of(allowed: &[&str]) -> Self {
        Problem::NotAllowed {
            allowed: allowed.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub problem: Problem,
}

/// Collects every problem of an input instead of stopping at the first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, problem: Problem) {
        self.0.push(FieldError {
            field: field.into(),
            problem,
        });
    }

    /// Checks a trimmed text: required, and at most `max` characters.
    pub fn text(&mut self, field: &str, value: &str, max: u64) {
        let len = value.trim().chars().count() as u64;
        if len == 0 {
            self.add(field, Problem::Required);
        } else if len > max {
            self.add(field, Problem::TooLong { max });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many errors so far (a check can tell whether it added any).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    pub fn extend_prefixed(&mut self, prefix: &str, other: FieldErrors) {
        for e in other.0 {
            self.add(format!("{prefix}{}", e.field), e.problem);
        }
    }

    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}
