use super::*;

#[test]
fn pattern_and_blank_forms() {
    assert!(CitizenIdNumber::pattern().starts_with("^(001|002|004|"));
    assert_eq!(
        PhoneNumber::pattern(),
        r"^(\+84|84|0)([35789][0-9]{8}|2[0-9]{9})$"
    );
    assert_eq!(Username::pattern(), "^[a-z0-9._-]{3,64}$");
    assert_eq!(OneTimeCode::pattern(), "^[0-9]{6}$");
}

#[test]
fn text_rules_measure_trimmed_characters() {
    let mut e = FieldErrors::new();
    PersonName::check(&mut e, "a", &"ễ".repeat(200));
    PersonName::check_optional(&mut e, "b", Some("  "));
    PersonName::check_optional(&mut e, "c", None);
    assert!(e.is_empty());
    PersonName::check(&mut e, "d", &"ễ".repeat(201));
    PersonName::check(&mut e, "e", " ");
    let codes: Vec<String> = e
        .into_vec()
        .iter()
        .map(|e| format!("{}:{}", e.field, e.problem.code()))
        .collect();
    assert_eq!(codes, ["d:too_long", "e:required"]);
}

#[test]
fn emails() {
    assert!(Email::is_valid("a@b.vn"));
    assert!(!Email::is_valid("a@b"));
    assert!(!Email::is_valid("a b@c.vn"));
    assert!(!Email::is_valid("a@.b.vn"));
}
