//! Reading catalog files for bulk import: a JSON array of procedure specs, or
//! a CSV with one procedure per row. Each row parses on its own, so a report
//! can name every bad row at once.

use motcua_domain::forms::{self, FormDefinition};
use motcua_domain::procedure::ProcedureSpec;
use motcua_domain::rule::RuleCode;
use motcua_domain::validation::{FieldError, Problem};
use motcua_persistence::repo::procedures::ImportInput;

use crate::input::{field_error, json_has_nul};

/// Why a catalog file cannot be read at all (as opposed to a bad row, which
/// is reported with the others).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// An escaped or raw NUL character.
    #[error("the NUL character (\\u0000) is not accepted")]
    Nul,
    /// Not a JSON array.
    #[error("the file must be a JSON array of procedures: {0}")]
    NotJsonArray(String),
    /// The CSV cannot be read (header or a record).
    #[error("CSV: {0}")]
    Csv(String),
    /// Columns of [`CSV_COLUMNS`] absent from the header.
    #[error("missing columns: {}", .0.join(", "))]
    MissingColumns(Vec<String>),
}

/// A catalog file read for import: the procedures, and the e-form each
/// entry carries (JSON entries only: `form`, a definition as
/// `PUT /procedures/{code}/form` takes it), position by position.
#[derive(Debug, Clone, Default)]
pub struct CatalogFile {
    pub rows: Vec<ImportInput>,
    /// One per row (or none at all, for a CSV file).
    pub forms: Vec<Option<FormDefinition>>,
}

impl From<Vec<ImportInput>> for CatalogFile {
    fn from(rows: Vec<ImportInput>) -> Self {
        Self {
            rows,
            forms: Vec::new(),
        }
    }
}

/// A JSON array; one entry's mistakes do not hide another's. An entry's
/// `form` is left out (see [`parse_json_file`]).
pub fn parse_json(bytes: &[u8]) -> Result<Vec<ImportInput>, FileError> {
    parse_json_file(bytes).map(|file| file.rows)
}

/// A JSON array of procedures, each of which may carry its e-form as
/// `form`, checked like `PUT /procedures/{code}/form` (its problems named
/// `form.…`); one entry's mistakes do not hide another's.
pub fn parse_json_file(bytes: &[u8]) -> Result<CatalogFile, FileError> {
    if json_has_nul(bytes) {
        return Err(FileError::Nul);
    }
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| FileError::NotJsonArray(e.to_string()))?;
    let mut file = CatalogFile::default();
    for mut row in rows {
        let form = row.as_object_mut().and_then(|o| o.remove("form"));
        let (form, mut errors) = match form {
            None | Some(serde_json::Value::Null) => (None, Vec::new()),
            Some(value) => form_of(value),
        };
        let spec = serde_path_to_error::deserialize::<_, ProcedureSpec>(row).map_err(|err| {
            let path = err.path().to_string();
            let message = err.into_inner().to_string();
            vec![field_error(&path, &message)]
        });
        let input = match spec {
            Ok(spec) if errors.is_empty() => Ok(spec),
            Ok(_) => Err(errors),
            Err(mut spec_errors) => {
                spec_errors.append(&mut errors);
                Err(spec_errors)
            }
        };
        file.rows.push(input);
        file.forms.push(form);
    }
    Ok(file)
}

/// An entry's `form`, read and checked; its problems named `form.…`.
fn form_of(value: serde_json::Value) -> (Option<FormDefinition>, Vec<FieldError>) {
    let prefixed = |errors: Vec<FieldError>| {
        errors
            .into_iter()
            .map(|e| FieldError {
                field: format!("form.{}", e.field),
                problem: e.problem,
            })
            .collect()
    };
    match serde_path_to_error::deserialize::<_, FormDefinition>(value) {
        Ok(form) => match forms::check_definition(&form) {
            Ok(()) => (Some(form), Vec::new()),
            Err(errors) => (None, prefixed(errors)),
        },
        Err(err) => {
            let path = err.path().to_string();
            let message = err.into_inner().to_string();
            (None, prefixed(vec![field_error(&path, &message)]))
        }
    }
}

/// Columns of the CSV format, in order. Lists are separated by `|`;
/// `required_documents` holds document names (one original each);
/// `fees` holds `name=amount` entries, payable online per `fees_payable_online`.
pub const CSV_COLUMNS: [&str; 17] = [
    "code",
    "name",
    "sector",
    "levels",
    "regulated_days",
    "committed_days",
    "online_level",
    "effective_date",
    "result",
    "steps",
    "required_documents",
    "legal_basis",
    "fees",
    "fees_payable_online",
    "inter_agency",
    "agency_code",
    "status",
];

pub fn parse_csv(bytes: &[u8]) -> Result<Vec<ImportInput>, FileError> {
    if bytes.contains(&0) {
        return Err(FileError::Nul);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| FileError::Csv(format!("header: {e}")))?
        .clone();
    let missing: Vec<&str> = CSV_COLUMNS
        .iter()
        .copied()
        .filter(|c| !headers.iter().any(|h| h == *c))
        .collect();
    if !missing.is_empty() {
        return Err(FileError::MissingColumns(
            missing.into_iter().map(str::to_owned).collect(),
        ));
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| FileError::Csv(e.to_string()))?;
        let row: std::collections::HashMap<&str, &str> =
            headers.iter().zip(record.iter()).collect();
        out.push(csv_row(&row));
    }
    Ok(out)
}

fn list(value: &str) -> Vec<String> {
    value
        .split('|')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn csv_row(row: &std::collections::HashMap<&str, &str>) -> ImportInput {
    let get = |name: &str| row.get(name).copied().unwrap_or("");
    let mut errors = Vec::new();
    let mut bad = |field: &str, problem: Problem| {
        errors.push(FieldError {
            field: field.to_owned(),
            problem,
        })
    };
    let boolean = |value: &str| {
        matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "x" | "có"
        )
    };
    let fees_online = boolean(get("fees_payable_online"));
    let mut fees = Vec::new();
    for (i, entry) in list(get("fees")).into_iter().enumerate() {
        match entry.rsplit_once('=') {
            Some((name, amount)) => match amount.trim().replace(['.', ','], "").parse::<i64>() {
                Ok(amount_vnd) => fees.push(serde_json::json!({
                    "code": format!("F{}", i + 1), "name": name.trim(), "amount_vnd": amount_vnd, "payable_online": fees_online,
                })),
                Err(_) => bad(&format!("fees[{i}]"), Problem::format("Lệ phí=50000")),
            },
            None => bad(&format!("fees[{i}]"), Problem::format("Lệ phí=50000")),
        }
    }
    let documents: Vec<serde_json::Value> = list(get("required_documents"))
        .into_iter()
        .map(|name| serde_json::json!({"name": name}))
        .collect();
    let number = |field: &str, bad: &mut dyn FnMut(&str, Problem)| match get(field).parse::<u32>() {
        Ok(n) => serde_json::json!(n),
        Err(_) => {
            bad(field, Problem::rule(RuleCode::InvalidType));
            serde_json::json!(0)
        }
    };
    let regulated = number("regulated_days", &mut bad);
    let committed = number("committed_days", &mut bad);
    let optional = |value: &str| {
        if value.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::json!(value)
        }
    };
    let status = if get("status").is_empty() {
        "active"
    } else {
        get("status")
    };
    let value = serde_json::json!({
        "code": get("code"),
        "name": get("name"),
        "sector": get("sector"),
        "levels": list(get("levels")),
        "regulated_days": regulated,
        "committed_days": committed,
        "online_level": get("online_level"),
        "effective_date": get("effective_date"),
        "result": get("result"),
        "steps": list(get("steps")),
        "required_documents": documents,
        "legal_basis": list(get("legal_basis")),
        "fees": fees,
        "inter_agency": boolean(get("inter_agency")),
        "agency_code": optional(get("agency_code")),
        "status": status,
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    serde_path_to_error::deserialize::<_, ProcedureSpec>(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        vec![field_error(&path, &message)]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "code,name,sector,levels,regulated_days,committed_days,online_level,effective_date,result,steps,required_documents,legal_basis,fees,fees_payable_online,inter_agency,agency_code,status\n";

    #[test]
    fn csv_rows_parse_each_on_its_own() {
        let csv = format!(
            "\u{feff}{HEADER}1.001029,Cấp giấy phép,Nghệ thuật biểu diễn,province,5,4,full,2021-02-01,Giấy phép,B1|B2,Đơn|Kịch bản,NĐ 144/2020,Phí thẩm định=1.500.000,true,false,,active\n\
             1.001030,Thông báo,Nghệ thuật biểu diễn,province|commune,x,0,partial,2021-02-01,Xác nhận,B1,Đơn,NĐ 144,,false,true,COMMUNE,\n\
             1.001031,Sai,Du lịch,state,5,4,full,2021-02-30,KQ,B1,Đơn,Luật,,false,false,,\n"
        );
        let rows = parse_csv(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 3);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.fees[0].amount_vnd, 1_500_000);
        assert!(first.fees[0].payable_online);
        assert_eq!(first.required_documents.len(), 2);
        assert_eq!(first.steps, ["B1", "B2"]);
        assert_eq!(rows[1].as_ref().unwrap_err()[0].field, "regulated_days");
        assert!(rows[2].is_err());
    }

    #[test]
    fn csv_without_columns_is_refused() {
        let e = parse_csv(b"code,name\n1,2\n").unwrap_err();
        assert!(matches!(e, FileError::MissingColumns(ref c) if c.len() == 15));
    }

    #[test]
    fn json_rows_parse_each_on_its_own() {
        let rows = parse_json(br#"[{"code": 1}, {"nonsense": true}]"#).unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(Result::is_err));
        assert!(parse_json(b"{}").is_err());
        assert!(parse_json(b"[").is_err());
    }

    #[test]
    fn json_entries_carry_forms_checked() {
        let form = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/forms/1.007450.json"
        ))
        .unwrap();
        let catalog = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/catalog.json"
        ))
        .unwrap();
        let entries: Vec<serde_json::Value> = serde_json::from_str(&catalog).unwrap();
        let mut good = entries[0].clone();
        good["form"] = serde_json::from_str(&form).unwrap();
        let mut bad = entries[1].clone();
        bad["form"] = serde_json::json!({"title": "Tờ khai", "schema": {"type": "string"},
            "sections": [{"title": "A", "fields": [{"pointer": "/x", "label": "X"}]}]});
        let plain = entries[2].clone();
        let bytes = serde_json::to_vec(&serde_json::json!([good, bad, plain])).unwrap();
        let file = parse_json_file(&bytes).unwrap();
        assert_eq!(file.rows.len(), 3);
        assert!(file.rows[0].is_ok() && file.forms[0].is_some());
        let errors = file.rows[1].as_ref().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["form.schema", "form.sections[0].fields[0].pointer"]
        );
        assert!(file.forms[1].is_none());
        assert!(file.rows[2].is_ok() && file.forms[2].is_none());
        // Without forms, the same file reads as before.
        assert!(parse_json(&bytes).unwrap()[0].is_ok());
    }

    #[test]
    fn shipped_catalog_is_valid() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/catalog.json"
        ))
        .unwrap();
        let rows = parse_json(&bytes).unwrap();
        assert!(rows.len() >= 40);
        for (i, row) in rows.into_iter().enumerate() {
            let spec = row.unwrap_or_else(|e| panic!("row {i}: {e:?}"));
            spec.clone()
                .prepared()
                .unwrap_or_else(|e| panic!("row {i} ({}): {e:?}", spec.code));
        }
    }
}
