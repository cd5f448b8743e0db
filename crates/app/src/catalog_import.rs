//! Reading catalog files for bulk import: a JSON array of procedure specs, or
//! a CSV with one procedure per row. Each row parses on its own, so a report
//! can name every bad row at once.

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

/// A JSON array; one entry's mistakes do not hide another's.
pub fn parse_json(bytes: &[u8]) -> Result<Vec<ImportInput>, FileError> {
    if json_has_nul(bytes) {
        return Err(FileError::Nul);
    }
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(bytes).map_err(|e| FileError::NotJsonArray(e.to_string()))?;
    Ok(rows
        .into_iter()
        .map(|row| {
            serde_path_to_error::deserialize::<_, ProcedureSpec>(row).map_err(|err| {
                let path = err.path().to_string();
                let message = err.into_inner().to_string();
                vec![field_error(&path, &message)]
            })
        })
        .collect())
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
