//! A dossier as stored and shown: its code, what it is for, its clock, and
//! when its applicant may rate the service.

use serde::{Deserialize, Serialize};

use super::{Channel, DossierStatus, StatusFacts};

/// `<agency code>-<yymmdd>-<sequence>`, the sequence at least four digits.
pub fn dossier_code(agency_code: &str, day: chrono::NaiveDate, sequence: i64) -> String {
    format!("{}{sequence:04}", dossier_code_prefix(agency_code, day))
}

/// What a dossier's code is before its number of the day: the number is
/// appended in at least four digits (storage does it as it takes the number).
pub fn dossier_code_prefix(agency_code: &str, day: chrono::NaiveDate) -> String {
    format!("{agency_code}-{}-", day.format("%y%m%d"))
}

/// The procedure a dossier is for, as shown inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcedureRef {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// The applicant as shown inside a dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicantRef {
    pub id: i64,
    /// `person` or `organization`.
    pub kind: String,
    pub full_name: String,
    pub id_number: Option<String>,
    pub tax_code: Option<String>,
}

/// A dossier as stored: what it is for, where it stands, and its clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dossier {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(example = "000.00.20.H56-261123-0001"))]
    pub code: String,
    pub procedure: ProcedureRef,
    /// The agency that received it and returns the result.
    pub agency: crate::agency::AgencyRef,
    /// The agency handling it now (differs after an inter-agency transfer).
    pub handling_agency: crate::agency::AgencyRef,
    /// The receiving point (public service centre, commune counter) that
    /// took it in for `agency`, when that was another agency (Decree 118/2025).
    pub received_at_agency: Option<crate::agency::AgencyRef>,
    pub applicant: ApplicantRef,
    pub submitted_by: i64,
    pub channel: Channel,
    pub result_channel: Channel,
    pub status: DossierStatus,
    pub assignee_id: Option<i64>,
    pub assigned_unit_id: Option<i64>,
    pub time_unit: crate::procedure::TimeUnit,
    /// Working days (or hours) allowed: the agency's committed time.
    pub allowed_time: u32,
    pub regulated_days: u32,
    pub submitted_at: chrono::DateTime<chrono::Utc>,
    pub received_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The due moment the KPIs judge by (supplement pauses included, apologies not).
    pub due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The appointment shown to the applicant (moved by an apology letter).
    pub appointment_at: Option<chrono::DateTime<chrono::Utc>>,
    pub paused_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip)]
    pub paused_remaining: Option<crate::calendar::Remaining>,
    pub supplement_from: Option<DossierStatus>,
    /// Supplement requests made while in review.
    pub supplement_count: u32,
    /// When processing ended: result ready, rejected, refused or cancelled.
    pub processed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub fees_due_vnd: i64,
    pub fees_paid_vnd: i64,
    /// Fee items charged, frozen at submission.
    pub fees: Vec<crate::procedure::Fee>,
    pub note: Option<String>,
    pub version: i32,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Dossier {
    pub fn facts(&self) -> StatusFacts {
        StatusFacts {
            status: self.status,
            supplement_from: self.supplement_from,
        }
    }

    /// The `ETag` of this version.
    pub fn etag(&self) -> String {
        format!("\"v{}\"", self.version)
    }

    pub fn fees_unpaid(&self) -> bool {
        self.fees_paid_vnd < self.fees_due_vnd
    }

    pub fn portal_status(&self) -> u8 {
        self.status.portal_code(self.fees_unpaid())
    }
}

crate::string_enum! {
    /// The satisfaction scale of a rating.
    pub enum RatingScore {
        Satisfied => "satisfied",
        Normal => "normal",
        Unsatisfied => "unsatisfied",
    }
}

/// Statuses in which the applicant has had the outcome and may rate the service.
pub fn may_rate(status: DossierStatus) -> bool {
    matches!(
        status,
        DossierStatus::Returned | DossierStatus::Rejected | DossierStatus::Refused
    )
}
