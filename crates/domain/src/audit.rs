//! The audit trail of administrative changes: who (account id and name), when,
//! from where (client address, request id), what (entity type, id, action),
//! before → after as JSON. The rules here are pure; persistence appends the
//! entries, in the transaction of the change they describe.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntityType {
    /// A staff, integration or citizen account (id: the account id).
    User,
    /// An agency (id: the agency id).
    Agency,
    /// A procedure of the catalog (id: its code).
    Procedure,
    /// A procedure's fee schedule, recorded apart so money changes read on their own (id: the procedure code).
    ProcedureFees,
    /// A procedure's e-form, a new version of its definition (id: the procedure code).
    ProcedureForm,
    /// An exception of the working calendar (id: the date).
    CalendarDay,
    /// The payment gateway's configuration as a server started with it (id: the gateway kind).
    PaymentConfig,
    /// What an integration account may reach (id: chosen by the grant's owner).
    IntegrationGrant,
}

impl EntityType {
    pub const ALL: [EntityType; 8] = [
        EntityType::User,
        EntityType::Agency,
        EntityType::Procedure,
        EntityType::ProcedureFees,
        EntityType::ProcedureForm,
        EntityType::CalendarDay,
        EntityType::PaymentConfig,
        EntityType::IntegrationGrant,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::User => "user",
            EntityType::Agency => "agency",
            EntityType::Procedure => "procedure",
            EntityType::ProcedureFees => "procedure_fees",
            EntityType::ProcedureForm => "procedure_form",
            EntityType::CalendarDay => "calendar_day",
            EntityType::PaymentConfig => "payment_config",
            EntityType::IntegrationGrant => "integration_grant",
        }
    }
}

impl std::fmt::Display for EntityType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EntityType {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        EntityType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(())
    }
}

/// Who makes a change and from where. Persistence resolves the account's
/// username and name at the moment of the change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    /// The signed-in account; `None` for the system itself.
    pub user_id: Option<i64>,
    /// For the system: what acted (`seed`, `cli`, `startup`).
    pub system: Option<String>,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
}

impl Actor {
    /// An account acting through the API.
    pub fn user(user_id: i64, client_addr: Option<String>, request_id: Option<String>) -> Self {
        Self {
            user_id: Some(user_id),
            system: None,
            client_addr,
            request_id,
        }
    }

    /// The system acting on its own: seeding, the command line, start-up.
    pub fn system(what: &str) -> Self {
        Self {
            user_id: None,
            system: Some(what.to_owned()),
            client_addr: None,
            request_id: None,
        }
    }

    /// The name stored for a system actor: `system:<what>`.
    pub fn system_name(&self) -> String {
        match &self.system {
            Some(what) => format!("system:{what}"),
            None => "system".to_owned(),
        }
    }
}

/// One change to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub entity_type: EntityType,
    pub entity_id: String,
    /// `create`, `update`, `lock`, `role_change`, `abolish`, `import`, `set`, `remove`…
    pub action: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    pub fn new(
        entity_type: EntityType,
        entity_id: impl ToString,
        action: &str,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Self {
        Self {
            entity_type,
            entity_id: entity_id.to_string(),
            action: action.to_owned(),
            before: before.map(redact),
            after: after.map(redact),
        }
    }
}

/// A recorded entry, as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The account that acted; `null` for the system.
    pub actor_id: Option<i64>,
    pub actor_username: String,
    pub actor_name: String,
    pub client_addr: Option<String>,
    pub request_id: Option<String>,
    /// `user`, `agency`, `procedure`, `procedure_fees`, `procedure_form`, `calendar_day`, `payment_config`, `integration_grant`.
    pub entity_type: String,
    pub entity_id: String,
    pub action: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<serde_json::Value>))]
    pub before: Option<Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<serde_json::Value>))]
    pub after: Option<Value>,
    /// Top-level fields that differ between `before` and `after` (each any JSON:
    /// a record, or a list such as a procedure's fees).
    pub changed: Vec<String>,
}

/// Keys never written to the trail, at any depth: secrets stay out of it even
/// when a caller passes a whole record.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key == "password_hash"
        || key == "token"
        || key.ends_with("_token")
        || key.contains("secret")
        || key == "hash_secret"
}

/// Removes secret-looking keys from a snapshot, at any depth.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| !is_secret_key(k))
                .map(|(k, v)| (k, redact(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

/// Top-level fields whose values differ, sorted. A missing side counts as no
/// fields: a creation lists every field of `after`, a removal every field of
/// `before`. Scalars (not objects) are one field named `value`.
pub fn changed_fields(before: Option<&Value>, after: Option<&Value>) -> Vec<String> {
    let empty = serde_json::Map::new();
    let as_map = |v: Option<&Value>| -> Option<serde_json::Map<String, Value>> {
        match v {
            None | Some(Value::Null) => Some(empty.clone()),
            Some(Value::Object(m)) => Some(m.clone()),
            Some(_) => None,
        }
    };
    let (Some(b), Some(a)) = (as_map(before), as_map(after)) else {
        return if before == after {
            Vec::new()
        } else {
            vec!["value".to_owned()]
        };
    };
    let mut keys: Vec<String> = b
        .keys()
        .chain(a.keys())
        .filter(|k| b.get(*k) != a.get(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The action of an account change, by what changed: locking and unlocking
/// first, then a role, an agency, a password, anything else.
pub fn user_action(changed: &[String], before_active: bool, after_active: bool) -> &'static str {
    let has = |f: &str| changed.iter().any(|c| c == f);
    if before_active && !after_active {
        "lock"
    } else if !before_active && after_active {
        "unlock"
    } else if has("role") {
        "role_change"
    } else if has("agency_id") {
        "agency_change"
    } else if has("password") {
        "password_change"
    } else {
        "update"
    }
}

/// A CSV cell that a spreadsheet will not run: text starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP's advice for
/// CSV injection). Numbers keep their sign.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    let risky = text
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky && text.parse::<f64>().is_err() {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn entity_types_round_trip() {
        for t in EntityType::ALL {
            assert_eq!(t.as_str().parse::<EntityType>(), Ok(t));
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
        assert!("users".parse::<EntityType>().is_err());
        assert!("".parse::<EntityType>().is_err());
    }

    #[test]
    fn secrets_never_reach_the_trail() {
        let cases = [
            (
                json!({"username": "a", "password_hash": "$argon2id$…"}),
                json!({"username": "a"}),
            ),
            (
                json!({"client_secret": "x", "vnpay": {"hash_secret": "y", "tmn_code": "Z"}}),
                json!({"vnpay": {"tmn_code": "Z"}}),
            ),
            (json!([{"refresh_token": "r", "n": 1}]), json!([{"n": 1}])),
            (
                json!({"token": "t", "tokens_used": 3}),
                json!({"tokens_used": 3}),
            ),
            (json!("plain"), json!("plain")),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input.clone()), expected, "{input}");
        }
        let change = Change::new(
            EntityType::User,
            7,
            "create",
            None,
            Some(json!({"password_hash": "h", "role": "admin"})),
        );
        assert_eq!(change.after, Some(json!({"role": "admin"})));
        assert_eq!(change.entity_id, "7");
    }

    #[test]
    fn changed_fields_table() {
        let cases: [(Option<Value>, Option<Value>, &[&str]); 7] = [
            (None, None, &[]),
            (None, Some(json!({"b": 1, "a": 2})), &["a", "b"]),
            (Some(json!({"a": 1})), None, &["a"]),
            (
                Some(json!({"a": 1, "b": 2})),
                Some(json!({"a": 1, "b": 3})),
                &["b"],
            ),
            (Some(json!({"a": 1})), Some(json!({"c": 1})), &["a", "c"]),
            (
                Some(json!({"a": {"x": 1}})),
                Some(json!({"a": {"x": 1}})),
                &[],
            ),
            (Some(json!(1)), Some(json!(2)), &["value"]),
        ];
        for (before, after, expected) in cases {
            assert_eq!(
                changed_fields(before.as_ref(), after.as_ref()),
                expected,
                "{before:?} → {after:?}"
            );
        }
    }

    #[test]
    fn user_action_table() {
        let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let cases = [
            (s(&["active", "role"]), true, false, "lock"),
            (s(&["active"]), false, true, "unlock"),
            (s(&["role", "agency_id"]), true, true, "role_change"),
            (s(&["agency_id"]), true, true, "agency_change"),
            (s(&["password"]), true, true, "password_change"),
            (s(&["phone"]), true, true, "update"),
            (s(&[]), false, false, "update"),
        ];
        for (changed, before, after, expected) in cases {
            assert_eq!(
                user_action(&changed, before, after),
                expected,
                "{changed:?}"
            );
        }
    }

    #[test]
    fn csv_cells_cannot_run() {
        let cases = [
            ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"),
            ("+1+2", "'+1+2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-2+3", "'-2+3"),
            ("-5", "-5"),
            ("\tx", "'\tx"),
            ("Trần Thị Bình", "Trần Thị Bình"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(csv_cell(input), expected, "{input:?}");
        }
    }

    #[test]
    fn system_actors_are_named() {
        assert_eq!(Actor::system("seed").system_name(), "system:seed");
        assert_eq!(Actor::default().system_name(), "system");
        let a = Actor::user(3, Some("10.0.0.1".into()), Some("r-1".into()));
        assert_eq!(a.user_id, Some(3));
        assert!(a.system.is_none());
    }
}
