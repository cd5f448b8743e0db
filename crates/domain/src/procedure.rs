//! The procedure catalog (danh mục thủ tục hành chính).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::rule::RuleCode;
use crate::rules::{
    FeeAmountVnd, FeeCode, Paragraph, ProcedureName, ProcessingDays, RangeRule, SectorName,
    TextRule,
};
use crate::text::{fold, nfc, slug};
use crate::validation::{FieldErrors, Problem};

crate::string_enum! {
    /// Administrative level with authority over a procedure. District level was
    /// abolished on 1 July 2025 (two-tier local government) but stays valid for
    /// historical records.
    pub enum AdminLevel {
        Province => "province",
        District => "district",
        Commune => "commune",
    }
}

crate::string_enum! {
    /// Online public service level (Decree 42/2022/NĐ-CP).
    pub enum OnlineLevel {
        /// Toàn trình: submit, pay and receive the result online.
        Full => "full",
        /// Một phần: some steps need the applicant in person.
        Partial => "partial",
        None => "none",
    }
}

crate::string_enum! {
    pub enum ProcedureStatus {
        Active => "active",
        /// Repealed; kept readable for the dossiers that cite it.
        Abolished => "abolished",
    }
}

crate::string_enum! {
    pub enum TimeUnit {
        WorkingDays => "working_days",
        /// A few procedures count hours; one working day is 8 working hours.
        WorkingHours => "working_hours",
    }
}

crate::string_enum! {
    /// What a supplement request does to the processing clock.
    pub enum SupplementClock {
        /// The clock stops and resumes where it was.
        Pause => "pause",
        /// The clock restarts from zero when the applicant supplements.
        Restart => "restart",
    }
}

crate::string_enum! {
    pub enum ApplicantKind {
        Citizen => "citizen",
        Organization => "organization",
    }
}

crate::string_enum! {
    /// The `online=` filter of the public listing.
    pub enum OnlineFilter {
        Full => "full",
        Partial => "partial",
        None => "none",
        /// Full or partial.
        Any => "any",
    }
}

crate::string_enum! {
    /// The `status=` filter: active by default; abolished ones only on request.
    pub enum StatusFilter {
        Active => "active",
        Abolished => "abolished",
        All => "all",
    }
}

/// One component of the dossier (thành phần hồ sơ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RequiredDocument {
    /// Stable key within the procedure, cited by dossiers; `D1`, `D2`… when omitted.
    #[serde(default)]
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::rules::Paragraph))]
    pub name: String,
    #[serde(default = "one")]
    pub originals: u8,
    #[serde(default)]
    pub copies: u8,
    #[serde(default)]
    pub template: Option<String>,
    /// A document a citizen may reuse from their store instead of a new paper.
    #[serde(default)]
    pub reusable: bool,
    /// Needed only in some cases ("nếu có"); a dossier may go without it.
    #[serde(default)]
    pub optional: bool,
}

fn one() -> u8 {
    1
}

/// A fee (phí) or charge (lệ phí) in integer đồng.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Fee {
    #[cfg_attr(feature = "openapi", schema(value_type = crate::rules::FeeCode))]
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::rules::ProcedureName))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::rules::FeeAmountVnd))]
    pub amount_vnd: i64,
    pub payable_online: bool,
    /// The condition under which this tier applies; `None` when always due.
    #[serde(default)]
    pub applies_when: Option<String>,
}

/// Everything an administrator states about a procedure: the body of create,
/// update and import, and the content of a stored procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProcedureSpec {
    /// National procedure code, e.g. `1.001029`.
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = crate::rules::ProcedureCode, example = "1.001029")
    )]
    pub code: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::rules::ProcedureName))]
    pub name: String,
    /// Sector (lĩnh vực) name, e.g. `Nghệ thuật biểu diễn`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::rules::SectorName))]
    pub sector: String,
    pub levels: Vec<AdminLevel>,
    /// Processing time set by law.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::rules::ProcessingDays))]
    pub regulated_days: u32,
    /// The agency's committed time, at most the regulated one.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::rules::ProcessingDays))]
    pub committed_days: u32,
    #[serde(default = "default_time_unit")]
    pub time_unit: TimeUnit,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::rules::Paragraph>))]
    pub steps: Vec<String>,
    pub required_documents: Vec<RequiredDocument>,
    #[serde(default)]
    pub fees: Vec<Fee>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::rules::Paragraph>))]
    pub legal_basis: Vec<String>,
    /// What the applicant receives, e.g. `Giấy phép tổ chức biểu diễn nghệ thuật`.
    #[cfg_attr(feature = "openapi", schema(value_type = crate::rules::ProcedureName))]
    pub result: String,
    #[serde(default = "default_applicants")]
    pub applicant_types: Vec<ApplicantKind>,
    pub online_level: OnlineLevel,
    #[serde(default)]
    pub inter_agency: bool,
    #[serde(default = "default_clock")]
    pub supplement_clock: SupplementClock,
    #[serde(default = "default_status")]
    pub status: ProcedureStatus,
    /// Working days allowed to correct an issued result (đính chính);
    /// absent: [`crate::results::DEFAULT_CORRECTION_DAYS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::rules::ProcessingDays>))]
    pub correction_days: Option<u32>,
    pub effective_date: NaiveDate,
    /// Electronic code of the agency that handles it; `None` for the default agency.
    #[serde(default)]
    pub agency_code: Option<String>,
}

fn default_time_unit() -> TimeUnit {
    TimeUnit::WorkingDays
}
fn default_applicants() -> Vec<ApplicantKind> {
    vec![ApplicantKind::Citizen, ApplicantKind::Organization]
}
fn default_clock() -> SupplementClock {
    SupplementClock::Pause
}
fn default_status() -> ProcedureStatus {
    ProcedureStatus::Active
}

pub const MAX_NAME: u64 = <ProcedureName as TextRule>::MAX;
pub const MAX_TEXT: u64 = <Paragraph as TextRule>::MAX;
pub const MAX_DAYS: u32 = 365;
/// The largest fee a procedure may state (1,000 billion đồng).
pub const MAX_FEE_VND: i64 = 1_000_000_000_000;

/// National procedure codes look like `1.001029` or `2.000500`.
pub fn is_valid_procedure_code(code: &str) -> bool {
    let Some((head, tail)) = code.split_once('.') else {
        return false;
    };
    (1..=2).contains(&head.len())
        && (5..=7).contains(&tail.len())
        && head.bytes().chain(tail.bytes()).all(|b| b.is_ascii_digit())
}

impl ProcedureSpec {
    /// Canonical form: NFC text, trimmed, document codes assigned, sets deduplicated.
    pub fn normalize(&mut self) {
        self.code = self.code.trim().to_owned();
        self.name = nfc(&self.name);
        self.sector = nfc(&self.sector);
        self.result = nfc(&self.result);
        for s in self.steps.iter_mut().chain(self.legal_basis.iter_mut()) {
            *s = nfc(s);
        }
        for (i, doc) in self.required_documents.iter_mut().enumerate() {
            doc.name = nfc(&doc.name);
            doc.code = if doc.code.trim().is_empty() {
                format!("D{}", i + 1)
            } else {
                doc.code.trim().to_owned()
            };
            doc.template = doc.template.as_deref().map(nfc).filter(|t| !t.is_empty());
        }
        for fee in &mut self.fees {
            fee.code = fee.code.trim().to_owned();
            fee.name = nfc(&fee.name);
            fee.applies_when = fee
                .applies_when
                .as_deref()
                .map(nfc)
                .filter(|t| !t.is_empty());
        }
        self.levels.sort();
        self.levels.dedup();
        self.applicant_types.sort();
        self.applicant_types.dedup();
        self.agency_code = self
            .agency_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
    }

    /// Normalises, then validates: the one door every spec goes through before storage.
    pub fn prepared(mut self) -> Result<Self, Vec<crate::validation::FieldError>> {
        self.normalize();
        self.validate()?;
        Ok(self)
    }

    /// Every rule a procedure must satisfy; all problems at once.
    pub fn validate(&self) -> Result<(), Vec<crate::validation::FieldError>> {
        let mut errors = FieldErrors::new();
        if self.code.is_empty() {
            errors.add("code", Problem::Required);
        } else if !is_valid_procedure_code(&self.code) {
            errors.add("code", Problem::format("1.001029"));
        }
        ProcedureName::check(&mut errors, "name", &self.name);
        SectorName::check(&mut errors, "sector", &self.sector);
        if slug(&self.sector).is_empty() && !self.sector.trim().is_empty() {
            errors.add("sector", Problem::format("a sector name with letters"));
        }
        ProcedureName::check(&mut errors, "result", &self.result);
        if self.levels.is_empty() {
            errors.add("levels", Problem::Required);
        }
        if self.applicant_types.is_empty() {
            errors.add("applicant_types", Problem::Required);
        }
        ProcessingDays::check(&mut errors, "regulated_days", self.regulated_days.into());
        if self.committed_days > self.regulated_days {
            errors.add(
                "committed_days",
                Problem::rule(RuleCode::CommittedExceedsRegulated),
            );
        } else if self.committed_days == 0 && self.regulated_days > 0 {
            errors.add(
                "committed_days",
                Problem::OutOfRange {
                    min: 1,
                    max: self.regulated_days.into(),
                },
            );
        }
        if self.steps.is_empty() {
            errors.add("steps", Problem::Required);
        }
        for (i, step) in self.steps.iter().enumerate() {
            Paragraph::check(&mut errors, &format!("steps[{i}]"), step);
        }
        if self.legal_basis.is_empty() {
            errors.add("legal_basis", Problem::Required);
        }
        for (i, basis) in self.legal_basis.iter().enumerate() {
            Paragraph::check(&mut errors, &format!("legal_basis[{i}]"), basis);
        }
        let mut doc_codes = Vec::new();
        for (i, doc) in self.required_documents.iter().enumerate() {
            Paragraph::check(
                &mut errors,
                &format!("required_documents[{i}].name"),
                &doc.name,
            );
            if doc.originals == 0 && doc.copies == 0 {
                errors.add(
                    format!("required_documents[{i}].originals"),
                    Problem::rule(RuleCode::NoOriginalNorCopy),
                );
            }
            if doc_codes.contains(&doc.code) {
                errors.add(format!("required_documents[{i}].code"), Problem::Duplicate);
            }
            doc_codes.push(doc.code.clone());
        }
        let mut fee_codes = Vec::new();
        for (i, fee) in self.fees.iter().enumerate() {
            FeeCode::check(&mut errors, &format!("fees[{i}].code"), &fee.code);
            ProcedureName::check(&mut errors, &format!("fees[{i}].name"), &fee.name);
            FeeAmountVnd::check(
                &mut errors,
                &format!("fees[{i}].amount_vnd"),
                fee.amount_vnd,
            );
            if fee_codes.contains(&fee.code) {
                errors.add(format!("fees[{i}].code"), Problem::Duplicate);
            }
            fee_codes.push(fee.code.clone());
        }
        if let Some(agency) = &self.agency_code
            && agency != COMMUNE_AGENCY
            && !crate::identity::is_valid_agency_code(agency)
        {
            errors.add("agency_code", Problem::format("000.00.20.H12"));
        }
        errors.into_result()
    }

    pub fn sector_code(&self) -> String {
        slug(&self.sector)
    }

    pub fn has_fees(&self) -> bool {
        !self.fees.is_empty()
    }

    /// Fees can be paid online when every fee of the schedule can.
    pub fn fees_payable_online(&self) -> bool {
        self.has_fees() && self.fees.iter().all(|f| f.payable_online)
    }

    /// The publication is complete when every component a citizen needs is stated
    /// (transparency indicator of Decision 766).
    pub fn is_complete(&self) -> bool {
        !self.steps.is_empty()
            && !self.required_documents.is_empty()
            && !self.legal_basis.is_empty()
            && !self.result.trim().is_empty()
            && self.regulated_days > 0
    }

    /// Folded text every search term is matched against (word prefixes).
    pub fn search_text(&self) -> String {
        let mut text = String::from(" ");
        for part in [&self.code, &self.name, &self.sector, &self.result] {
            text.push_str(&fold(part));
            text.push(' ');
        }
        for doc in &self.required_documents {
            text.push_str(&fold(&doc.name));
            text.push(' ');
        }
        for basis in &self.legal_basis {
            text.push_str(&fold(basis));
            text.push(' ');
        }
        text
    }

    /// Fees due when the applicant has chosen the conditional tiers `chosen`:
    /// every unconditional fee plus the chosen tiers.
    pub fn fees_due<'a>(&'a self, chosen: &[String]) -> Result<Vec<&'a Fee>, FeeChoiceError> {
        for code in chosen {
            if !self.fees.iter().any(|f| &f.code == code) {
                return Err(FeeChoiceError::Unknown(code.clone()));
            }
        }
        let tiers: Vec<&Fee> = self
            .fees
            .iter()
            .filter(|f| f.applies_when.is_some())
            .collect();
        let chosen_tiers = tiers.iter().filter(|f| chosen.contains(&f.code)).count();
        if !tiers.is_empty() && chosen_tiers == 0 {
            return Err(FeeChoiceError::TierRequired(
                tiers.iter().map(|f| f.code.clone()).collect(),
            ));
        }
        Ok(self
            .fees
            .iter()
            .filter(|f| f.applies_when.is_none() || chosen.contains(&f.code))
            .collect())
    }
}

/// A stored procedure: the administrator's spec plus what the system keeps about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcedureRecord {
    pub id: i64,
    #[serde(flatten)]
    pub spec: ProcedureSpec,
    pub sector_code: String,
    /// The handling agency; `None` when every commune People's Committee handles it.
    pub agency: Option<crate::agency::AgencyRef>,
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub abolished_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// `agency_code` value that places a procedure with the commune People's Committees.
pub const COMMUNE_AGENCY: &str = "COMMUNE";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeChoiceError {
    #[error("fee {0:?} is not in the procedure's schedule")]
    Unknown(String),
    #[error("this procedure's fee depends on conditions: choose one of {0:?}")]
    TierRequired(Vec<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> ProcedureSpec {
        ProcedureSpec {
            code: "1.001029".into(),
            name: "Cấp giấy phép tổ chức biểu diễn nghệ thuật".into(),
            sector: "Nghệ thuật biểu diễn".into(),
            levels: vec![AdminLevel::Province],
            regulated_days: 5,
            committed_days: 4,
            time_unit: TimeUnit::WorkingDays,
            steps: vec!["Nộp hồ sơ".into()],
            required_documents: vec![RequiredDocument {
                code: String::new(),
                name: "Văn bản đề nghị".into(),
                originals: 1,
                copies: 0,
                template: None,
                reusable: false,
                optional: false,
            }],
            fees: vec![],
            legal_basis: vec!["Nghị định số 144/2020/NĐ-CP".into()],
            result: "Giấy phép".into(),
            applicant_types: vec![ApplicantKind::Organization],
            online_level: OnlineLevel::Full,
            inter_agency: false,
            supplement_clock: SupplementClock::Pause,
            correction_days: None,
            status: ProcedureStatus::Active,
            effective_date: NaiveDate::from_ymd_opt(2021, 2, 1).unwrap(),
            agency_code: None,
        }
    }

    fn fee(code: &str, amount: i64, when: Option<&str>) -> Fee {
        Fee {
            code: code.into(),
            name: "Phí".into(),
            amount_vnd: amount,
            payable_online: true,
            applies_when: when.map(Into::into),
        }
    }

    #[test]
    fn valid_sample_passes_and_gets_document_codes() {
        let mut spec = sample();
        spec.normalize();
        assert_eq!(spec.validate(), Ok(()));
        assert_eq!(spec.required_documents[0].code, "D1");
        assert_eq!(spec.sector_code(), "nghe-thuat-bieu-dien");
    }

    #[test]
    fn reports_every_problem() {
        let mut spec = sample();
        spec.code = "ABC".into();
        spec.name = "  ".into();
        spec.committed_days = 9;
        spec.levels.clear();
        spec.fees = vec![fee("F1", 0, None), fee("F1", 10, None)];
        let errors = spec.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "code",
                "name",
                "levels",
                "committed_days",
                "fees[0].amount_vnd",
                "fees[1].code"
            ]
        );
    }

    #[test]
    fn procedure_codes() {
        for ok in ["1.001029", "2.000500", "1.12345", "10.0012345"] {
            assert!(is_valid_procedure_code(ok), "{ok}");
        }
        for bad in ["1001029", "1.0010", "a.001029", "1.001029.1", ""] {
            assert!(!is_valid_procedure_code(bad), "{bad}");
        }
    }

    #[test]
    fn fees_due_with_tiers() {
        let mut spec = sample();
        spec.fees = vec![
            fee("F1", 100, None),
            fee("T1", 1_500_000, Some("≤ 50 phút")),
            fee("T2", 2_000_000, Some("> 50 phút")),
        ];
        assert_eq!(
            spec.fees_due(&[]),
            Err(FeeChoiceError::TierRequired(vec!["T1".into(), "T2".into()]))
        );
        let due: Vec<&str> = spec
            .fees_due(&["T2".into()])
            .unwrap()
            .iter()
            .map(|f| f.code.as_str())
            .collect();
        assert_eq!(due, ["F1", "T2"]);
        assert_eq!(
            spec.fees_due(&["X".into()]),
            Err(FeeChoiceError::Unknown("X".into()))
        );
        spec.fees.truncate(1);
        assert_eq!(spec.fees_due(&[]).unwrap().len(), 1);
    }

    #[test]
    fn payable_online_needs_every_fee() {
        let mut spec = sample();
        assert!(!spec.fees_payable_online());
        spec.fees = vec![fee("F1", 100, None)];
        assert!(spec.fees_payable_online());
        spec.fees.push(Fee {
            payable_online: false,
            ..fee("F2", 5, None)
        });
        assert!(!spec.fees_payable_online());
    }

    #[test]
    fn search_text_is_folded_with_word_boundaries() {
        let text = sample().search_text();
        assert!(text.contains(" giay phep to chuc bieu dien "));
        assert!(text.starts_with(" 1.001029 "));
    }
}
