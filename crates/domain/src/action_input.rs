//! What an action carries besides its name, checked without reading anything:
//! the note (a reason for the actions that need one), the items a supplement
//! request names, the document ids of a supplement or a result, the new
//! appointment date of an apology. What needs stored data (who may be
//! assigned, which documents are usable, the calendar) is in [`crate::handling`].

use chrono::NaiveDate;

use crate::dossier::Action;
use crate::rule::RuleCode;
use crate::rules::{Note, TextRule};
use crate::submission::DocumentInput;
use crate::text::nfc;
use crate::validation::{FieldError, Problem};

/// The most characters one item of a supplement request may have.
pub const MAX_MISSING_ITEM: u64 = 500;

fn error(field: &str, problem: Problem) -> FieldError {
    FieldError {
        field: field.to_owned(),
        problem,
    }
}

fn chars(text: &str) -> u64 {
    u64::try_from(text.chars().count()).unwrap_or(u64::MAX)
}

/// The note, normalised (a blank one is none): required for the actions
/// that must give a reason, at most [`Note::MAX`] characters.
pub fn note(action: Action, note: Option<&str>) -> Result<Option<String>, FieldError> {
    let note = note.map(nfc).filter(|n| !n.is_empty());
    match &note {
        None if action.needs_reason() => {
            Err(error("note", Problem::rule(RuleCode::ReasonRequired)))
        }
        Some(n) if chars(n) > Note::MAX => Err(error("note", Problem::TooLong { max: Note::MAX })),
        _ => Ok(note),
    }
}

/// The items a supplement request names, normalised, blanks dropped: at
/// least one, each at most [`MAX_MISSING_ITEM`] characters.
pub fn missing_items(items: &[String]) -> Result<Vec<String>, FieldError> {
    let items: Vec<String> = items
        .iter()
        .map(|m| nfc(m))
        .filter(|m| !m.is_empty())
        .collect();
    if items.is_empty() {
        return Err(error("missing", Problem::Required));
    }
    if items.iter().any(|m| chars(m) > MAX_MISSING_ITEM) {
        return Err(error(
            "missing",
            Problem::TooLong {
                max: MAX_MISSING_ITEM,
            },
        ));
    }
    Ok(items)
}

/// The field naming the `index`th document of an action.
pub fn document_field(index: usize) -> String {
    format!("documents[{index}].document_id")
}

/// The document id of each line of a supplement or a result, in order:
/// every line must name one.
pub fn document_ids(documents: &[DocumentInput]) -> Result<Vec<&str>, FieldError> {
    documents
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            doc.document_id
                .as_deref()
                .ok_or_else(|| error(&document_field(i), Problem::Required))
        })
        .collect()
}

/// An apology names the new appointment date.
pub fn apology_date(date: Option<NaiveDate>) -> Result<NaiveDate, FieldError> {
    date.ok_or_else(|| error("new_appointment_date", Problem::Required))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A note given, and the note kept or the problem's code.
    type NoteCase<'a> = (Action, Option<&'a str>, Result<Option<&'a str>, &'a str>);
    /// Items given, and the items kept or the problem's code.
    type ItemsCase<'a> = (Vec<&'a str>, Result<Vec<&'a str>, &'a str>);

    fn field(e: FieldError) -> (String, String) {
        (e.field, e.problem.code().to_owned())
    }

    #[test]
    fn notes_by_action() {
        let long = "a".repeat(2001);
        let cases: [NoteCase; 8] = [
            (Action::Receive, None, Ok(None)),
            (Action::Receive, Some("  "), Ok(None)),
            (Action::Receive, Some("ghi chú"), Ok(Some("ghi chú"))),
            (Action::Refuse, None, Err("reason_required")),
            (Action::Refuse, Some(" \n "), Err("reason_required")),
            (Action::Apology, Some("Xin lỗi"), Ok(Some("Xin lỗi"))),
            (Action::SendBack, Some(&long), Err("too_long")),
            (Action::Assign, Some(&long), Err("too_long")),
        ];
        for (action, given, expected) in cases {
            let got = note(action, given).map_err(field).map_err(|(f, code)| {
                assert_eq!(f, "note");
                code
            });
            let expected = expected
                .map(|n| n.map(str::to_owned))
                .map_err(str::to_owned);
            assert_eq!(got, expected, "{action:?} {given:?}");
        }
    }

    #[test]
    fn missing_items_are_named_and_bounded() {
        let long = "b".repeat(501);
        let ok = "c".repeat(500);
        let cases: [ItemsCase; 5] = [
            (vec![], Err("required")),
            (vec!["", "  "], Err("required")),
            (vec!["Bản sao CCCD", " "], Ok(vec!["Bản sao CCCD"])),
            (vec![&ok], Ok(vec![&ok])),
            (vec!["x", &long], Err("too_long")),
        ];
        for (given, expected) in cases {
            let items: Vec<String> = given.iter().map(|s| (*s).to_owned()).collect();
            let got = missing_items(&items).map_err(|e| field(e).1);
            let expected = expected
                .map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>())
                .map_err(str::to_owned);
            assert_eq!(got, expected, "{given:?}");
        }
    }

    #[test]
    fn every_document_line_names_a_document() {
        let line = |id: Option<&str>| DocumentInput {
            requirement: None,
            document_id: id.map(str::to_owned),
            paper: false,
        };
        assert_eq!(document_ids(&[]), Ok(vec![]));
        assert_eq!(
            document_ids(&[line(Some("a")), line(Some("b"))]),
            Ok(vec!["a", "b"])
        );
        let lines = [line(Some("a")), line(None)];
        let err = document_ids(&lines).map_err(field);
        assert_eq!(
            err,
            Err(("documents[1].document_id".to_owned(), "required".to_owned()))
        );
    }

    #[test]
    fn an_apology_names_its_date() {
        let day = NaiveDate::from_ymd_opt(2027, 1, 4);
        assert_eq!(apology_date(day).ok(), day);
        assert_eq!(
            apology_date(None).map_err(field),
            Err(("new_appointment_date".to_owned(), "required".to_owned()))
        );
    }
}
