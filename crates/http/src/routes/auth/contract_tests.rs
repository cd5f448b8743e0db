use super::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use validator::Validate;

/// The lengths the document publishes are the ones `validator` enforces:
/// at the published bounds a value passes, one past them it fails.
fn lengths_agree<T: DeserializeOwned + Validate + utoipa::PartialSchema>(
    base: &Value,
    field: &str,
) {
    let schema = serde_json::to_value(T::schema()).unwrap();
    // The field names its rule; the rule's schema is in the document.
    let reference = schema["properties"][field]["$ref"]
        .as_str()
        .unwrap_or_else(|| panic!("{field}: no rule"));
    let doc = crate::openapi::document();
    let prop = doc
        .pointer(reference.trim_start_matches('#'))
        .unwrap_or_else(|| panic!("{field}: {reference} not in the document"));
    let max = usize::try_from(
        prop["maxLength"]
            .as_u64()
            .unwrap_or_else(|| panic!("{field}: no maxLength")),
    )
    .unwrap();
    let min = usize::try_from(prop["minLength"].as_u64().unwrap_or(0)).unwrap();
    let with = |n: usize| {
        let mut v = base.clone();
        v[field] = json!("a".repeat(n));
        serde_json::from_value::<T>(v).unwrap().validate().is_ok()
    };
    assert!(with(max), "{field} at maxLength {max}");
    assert!(!with(max + 1), "{field} past maxLength {max}");
    assert!(with(min.max(1)), "{field} at minLength");
    if min > 0 {
        assert!(!with(min - 1), "{field} under minLength {min}");
    }
}

#[test]
fn published_lengths_are_the_validated_ones() {
    let sign_in = json!({"username": "u", "password": "p"});
    lengths_agree::<LoginRequest>(&sign_in, "username");
    lengths_agree::<LoginRequest>(&sign_in, "password");
    let client =
        json!({"grant_type": "client_credentials", "client_id": "c", "client_secret": "s"});
    for field in ["client_id", "client_secret", "scope"] {
        lengths_agree::<ClientCredentialsRequest>(&client, field);
    }
    lengths_agree::<RefreshRequest>(&json!({"refresh_token": "t"}), "refresh_token");
}
